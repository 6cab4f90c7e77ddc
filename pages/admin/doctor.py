"""Administration: one doctor's page: details, specialties and services, weekly hours per room, and leave (the
last two in ``doctor_schedule.py``)."""
from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.subject import read_subject
from clinic_ui.widgets import error_text, section_title, staff_action, staff_read
from models import Doctor
from services import catalog, doctors_admin
from services.access import Actor
from services.core import i18n
from services.core.events import StaffChanged
from services.core.i18n import N_, _

from .doctor_schedule import HoursPanel, LeavePanel


@dataclass(frozen=True)
class DoctorForm:
    """The doctor and the choices the page offers."""
    detail: doctors_admin.DoctorDetail
    specialties: dict[int, str]
    services: dict[int, str]
    rooms: dict[int, str]


async def read_form(actor: Actor, doctor_id: int) -> DoctorForm | None:
    async def read(session) -> DoctorForm:
        detail = await doctors_admin.detail(session, actor, doctor_id)
        services = (await catalog.list_services(session, actor, limit=500)).rows
        return DoctorForm(
            detail,
            {s.id: i18n.pick(s.name, s.name_translations) if s.is_active
             else _('{name} (deactivated)').format(name=i18n.pick(s.name, s.name_translations))
             for s in await catalog.list_specialties(session, actor)
             if s.is_active or s.id in detail.specialty_ids},  # a deactivated one only where the doctor has it
            {s.id: _('{name} ({minutes} min)').format(name=i18n.pick(s.name, s.name_translations),
                                                     minutes=s.duration_minutes)
             for s in services if s.is_active or s.id in detail.service_ids},
            {r.id: f'{r.code} · {i18n.pick(r.name, r.name_translations)}'
             for r in await catalog.list_rooms(session, actor, active_only=True)})
    return await read_subject(read)


def _state(doctor: Doctor) -> tuple[str, str]:
    return (_('active'), 'positive') if doctor.is_active else (_('deactivated'), 'grey-6')


class DoctorHeading:
    """The doctor's name with the queue, the account and whether the doctor is active."""

    def __init__(self, detail: doctors_admin.DoctorDetail) -> None:
        ui.link(_('← Doctors'), '/admin/doctors').classes('text-sm text-primary no-underline')
        with ui.row().classes('w-full items-center gap-3'):
            self.name = ui.label().classes('text-2xl font-semibold').mark('doctor-heading')
            ui.badge(_('Queue {prefix}').format(prefix=detail.queue_prefix) if detail.queue_prefix
                     else _('no queue')).props('outline')
            if detail.username:
                ui.badge(_('signs in as {username}').format(username=detail.username)).props('outline color=grey-7')
            self.state = ui.badge()
        self.show(detail.doctor)

    def show(self, doctor: Doctor) -> None:
        text, color = _state(doctor)
        self.name.set_text(doctors_admin.doctor_name(doctor))
        self.state.set_text(text)
        self.state.props(f'color={color}')


class DetailsPanel:
    """Title, name, license and contacts; deactivate or reactivate the doctor."""

    def __init__(self, actor: Actor, doctor: Doctor, heading: DoctorHeading) -> None:
        self.actor = actor
        self.doctor_id = doctor.id
        self.active = doctor.is_active
        self.heading = heading
        with ui.card().classes('gap-2'):
            section_title(_('Details'))
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.title = ui.input(_('Title'), value=doctor.title).props('outlined dense').classes('w-24')
                self.full_name = ui.input(_('Full name'), value=doctor.full_name).props('outlined dense') \
                    .classes('grow')
            self.license_number = ui.input(_('License number'), value=doctor.license_number) \
                .props('outlined dense').classes('w-full').mark('doctor-license')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.phone = ui.input(_('Phone'), value=doctor.phone or '').props('outlined dense').classes('grow')
                self.email = ui.input(_('Email'), value=doctor.email or '').props('outlined dense').classes('grow')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                self.active_button = ui.button(_('Deactivate') if self.active else _('Reactivate'),
                                               on_click=self.toggle_active).props('flat no-caps color=grey-8')
                ui.button(_('Save details'), on_click=self.save).props('unelevated no-caps').mark('save-details')

    async def save(self) -> None:
        saved = await staff_action(lambda s: doctors_admin.update_doctor(
            s, self.actor, self.doctor_id, full_name=self.full_name.value or '', title=self.title.value or '',
            license_number=self.license_number.value or '', phone=self.phone.value, email=self.email.value),
            error_label=self.error, success=_('Saved.'))
        if saved is not None:
            self.heading.show(saved)

    async def toggle_active(self) -> None:
        active = not self.active
        saved = await staff_action(lambda s: doctors_admin.set_active(s, self.actor, self.doctor_id, active),
                                   error_label=self.error)
        if saved is not None:
            self.active = saved.is_active
            self.heading.show(saved)
            self.active_button.set_text(_('Deactivate') if saved.is_active else _('Reactivate'))


class OfferPanel:
    """The doctor's specialties, and the services patients can book with the doctor."""

    def __init__(self, actor: Actor, form: DoctorForm) -> None:
        self.actor = actor
        self.doctor_id = form.detail.doctor.id
        with ui.card().classes('gap-2'):
            section_title(_('Specialties and services'))
            self.specialties = ui.select(form.specialties, multiple=True, value=form.detail.specialty_ids,
                                         label=_('Specialties')).props('outlined dense use-chips') \
                .classes('w-full').mark('doctor-specialties')
            self.services = ui.select(form.services, multiple=True, value=form.detail.service_ids,
                                      label=_('Services the doctor provides (what patients can book)')) \
                .props('outlined dense use-chips').classes('w-full').mark('doctor-services')
            if not form.specialties or not form.services:
                ui.link(_('Add specialties and services in the catalog first'), '/admin/catalog').classes('text-sm')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Save'), on_click=self.save).props('unelevated no-caps').mark('save-offer')

    async def save(self) -> None:
        await staff_action(lambda s: doctors_admin.set_offer(
            s, self.actor, self.doctor_id, specialty_ids=list(self.specialties.value or []),
            service_ids=list(self.services.value or [])), error_label=self.error, success=_('Saved.'))


@staff_page(ADMIN, '/admin/doctors/{doctor_id}', title=N_('Doctor'))
async def doctor_page(actor: Actor, doctor_id: int):
    form = await read_form(actor, doctor_id)
    if form is None:
        return
    heading = DoctorHeading(form.detail)
    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
        DetailsPanel(actor, form.detail.doctor, heading)
        OfferPanel(actor, form)
        hours = HoursPanel(actor, doctor_id, form.rooms)
        leave = LeavePanel(actor, doctor_id)
    hours.show(form.detail)
    leave.show(form.detail)

    async def refresh(event: StaffChanged) -> None:
        if event.doctor_id == doctor_id:
            fresh = await staff_read(lambda s: doctors_admin.detail(s, actor, doctor_id), touch=False)
            if fresh is not None:
                hours.show(fresh)
                leave.show(fresh)

    subscribe(StaffChanged, refresh)
