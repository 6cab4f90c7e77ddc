"""The stations of the clinic: who may open which, and where each role lands after signing in."""
from __future__ import annotations

from dataclasses import dataclass

from models import Role
from services.core.i18n import N_


@dataclass(frozen=True)
class Station:
    path: str
    title: str  # English, marked for the catalog: shown as ``_(station.title)``
    icon: str
    roles: tuple[Role, ...]  # admins may open every station

    def allows(self, role: Role) -> bool:
        return role == Role.ADMIN or role in self.roles


RECEPTION = Station('/reception', N_('Reception'), 'how_to_reg', (Role.RECEPTIONIST,))
CONSULTATION = Station('/consultation', N_('Consultation'), 'medical_services', (Role.DOCTOR,))
SERVICES = Station('/lab', N_('Lab & imaging'), 'biotech', (Role.TECHNICIAN,))
PHARMACY = Station('/pharmacy', N_('Pharmacy'), 'medication', (Role.PHARMACIST,))
CASHIER = Station('/cashier', N_('Cashier'), 'point_of_sale', (Role.CASHIER,))
ADMIN = Station('/admin', N_('Administration'), 'admin_panel_settings', ())
# Pages every signed-in person may open (own account); not shown in the navigation.
ACCOUNT = Station('/account', N_('Account'), 'key', tuple(Role))

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
