"""Administration: the doctors, with their specialties, services, hours, queue and account; a row opens the
doctor's page (``doctor.py``)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, data_table, on_row, section_title, staff_read, translated_columns
from services import doctors_admin
from services.access import Actor
from services.core.events import StaffChanged
from services.core.i18n import N_, _

from .dialogs import NewDoctorDialog

COLUMNS = [
    {'name': 'name', 'label': N_('Doctor'), 'field': 'name'},
    {'name': 'license', 'label': N_('License'), 'field': 'license'},
    {'name': 'specialties', 'label': N_('Specialties'), 'field': 'specialties'},
    {'name': 'services', 'label': N_('Services'), 'field': 'services'},
    {'name': 'hours', 'label': N_('Works'), 'field': 'hours'},
    {'name': 'queue', 'label': N_('Queue'), 'field': 'queue'},
    {'name': 'account', 'label': N_('Account'), 'field': 'account'},
    {'name': 'state', 'label': N_('State'), 'field': 'state'},
]


def _row(doctor: doctors_admin.DoctorRow) -> dict:
    return {'id': doctor.id, 'name': doctor.name, 'license': doctor.license_number,
            'specialties': doctor.specialties or '—', 'services': doctor.services, 'hours': doctor.hours,
            'queue': doctor.queue_prefix, 'account': doctor.username or '—',
            'state': _('active') if doctor.is_active else _('deactivated')}


class DoctorList:
    """Every doctor in a table; clicking a row opens the doctor's page."""

    def __init__(self, actor: Actor, doctors: list[doctors_admin.DoctorRow]) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-center'):
            self.title = section_title(_('Doctors'), len(doctors))
            ui.space()
            ui.button(_('New doctor'), icon='add', on_click=self.create).props('flat no-caps').mark('new-doctor')
            ui.button(_('New doctor account'), icon='person_add', on_click=lambda: ui.navigate.to('/admin/staff')) \
                .props('unelevated no-caps')
        ui.label(_('Click a doctor to set specialties, services, weekly hours and leave.')) \
            .classes('text-sm text-slate-600')
        self.table = data_table(translated_columns(COLUMNS),
                                [_row(d) for d in doctors], mark='doctors',
                                empty=_('No doctors yet: create a doctor account on the staff page.'))
        self.table.props('table-class="cursor-pointer"')
        on_row(self.table, 'rowClick', self.open)

    def show(self, doctors: list[doctors_admin.DoctorRow]) -> None:
        self.table.rows = [_row(d) for d in doctors]
        self.title.set_text(_('Doctors ({count})').format(count=len(doctors)))

    async def load(self) -> None:
        doctors = await staff_read(lambda s: doctors_admin.list_doctors(s, self.actor), touch=False)
        if doctors is not None:
            self.show(doctors)

    def create(self) -> None:
        NewDoctorDialog(self.actor)

    def open(self, row: dict) -> None:
        ui.navigate.to(f'/admin/doctors/{row["id"]}')


@staff_page(ADMIN, '/admin/doctors', title=N_('Doctors & schedules'))
async def doctors_page(actor: Actor):
    back_link()
    doctors = await staff_read(lambda s: doctors_admin.list_doctors(s, actor))
    if doctors is None:
        return
    listed = DoctorList(actor, doctors)
    subscribe(StaffChanged, listed.load)
