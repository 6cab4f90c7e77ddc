"""The stations of the clinic: who may open which, and where each role lands after signing in."""
from __future__ import annotations

from dataclasses import dataclass

from models import Role


@dataclass(frozen=True)
class Station:
    path: str
    title: str
    icon: str
    roles: tuple[Role, ...]  # admins may open every station

    def allows(self, role: Role) -> bool:
        return role == Role.ADMIN or role in self.roles


RECEPTION = Station('/reception', 'Reception', 'how_to_reg', (Role.RECEPTIONIST,))
CONSULTATION = Station('/consultation', 'Consultation', 'medical_services', (Role.DOCTOR,))
SERVICES = Station('/lab', 'Lab & imaging', 'biotech', (Role.TECHNICIAN,))
PHARMACY = Station('/pharmacy', 'Pharmacy', 'medication', (Role.PHARMACIST,))
CASHIER = Station('/cashier', 'Cashier', 'point_of_sale', (Role.CASHIER,))
ADMIN = Station('/admin', 'Administration', 'admin_panel_settings', ())
# Pages every signed-in person may open (own account); not shown in the navigation.
ACCOUNT = Station('/account', 'Account', 'key', tuple(Role))

STATIONS: tuple[Station, ...] = (RECEPTION, CONSULTATION, SERVICES, PHARMACY, CASHIER, ADMIN)

HOME: dict[Role, Station] = {
    Role.ADMIN: ADMIN,
    Role.RECEPTIONIST: RECEPTION,
    Role.DOCTOR: CONSULTATION,
    Role.TECHNICIAN: SERVICES,
    Role.PHARMACIST: PHARMACY,
    Role.CASHIER: CASHIER,
}


def stations_for(role: Role) -> list[Station]:
    return [station for station in STATIONS if station.allows(role)]
