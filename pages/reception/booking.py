"""Booking at reception: what for (service or complaint), which doctor, which free slot, confirm."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from clinic_ui.pickers import SlotGrid
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, money, section_title, staff_action, staff_read
from models import BookingSource, Patient, Service
from models.types import utcnow
from services import booking, clinic_settings, patients
from services.access import Actor
from services.booking import Slot
from services.core import i18n
from services.core.i18n import N_, _

DAYS_SHOWN = 7
ANY_DOCTOR = 0
SOURCES = {BookingSource.PHONE.value: N_('Phone'), BookingSource.IN_PERSON.value: N_('In person')}


async def _patient_and_services(session, actor: Actor, patient_id: int) -> tuple[Patient, list[Service]]:
    return await patients.get(session, actor, patient_id), await booking.bookable_services(session)


@staff_page(RECEPTION, '/reception/book/{patient_id}', title=N_('Book an appointment'))
async def book_page(actor: Actor, patient_id: int):
    problem = ui.label()
    answer = await staff_read(lambda s: _patient_and_services(s, actor, patient_id), error_label=problem)
    if answer is None:
        return
    problem.delete()
    patient, services = answer
    ui.link(f'← {patient.full_name}', f'/reception/patients/{patient_id}')
    section_title(_('Book an appointment for {name} · {code}').format(name=patient.full_name, code=patient.code))
    what = WhatFor(services)
    when = FreeTimes(what)
    BookingDetails(actor, patient, what, when)
    what.on_doctors(when.reload)
    await what.find_doctors()


async def _doctors(session, service_id: int | None, complaint: str):
    """The specialties the complaint suggests; a consultation of the first when no service is chosen yet (the page
    then books that); otherwise the doctors who fit."""
    found = await booking.specialties_for_complaint(session, complaint) if complaint else []
    if found and service_id is None:  # a complaint alone: book that specialty's consultation
        fitting = await booking.consultation_for_specialty(session, found[0].id)
        if fitting is not None:
            return found, fitting, []
    return found, None, await booking.doctors_for(session, service_id=service_id,
                                                  specialty_ids=[s.id for s in found] or None)


class WhatFor:
    """The service (or the complaint, which suggests a specialty), and the doctor: one or "any doctor".

    A complaint chooses the consultation of the specialty it suggests. When the complaint changes, the service
    follows the new suggestion (or is cleared when nothing is suggested), unless the receptionist chose the service
    by hand since the last suggestion: then their choice stays and only the doctors are narrowed."""

    def __init__(self, services: list[Service]) -> None:
        self.doctors: dict[int, str] = {}
        self.suggested_service: int | None = None  # the service the last suggestion chose
        self.doctors_changed: Callable[[], Awaitable[None]] | None = None
        with ui.card().classes('w-full gap-3'):
            with ui.row().classes('w-full gap-3 items-start'):
                self.service = ui.select({s.id: _('{service} · {minutes} min · {price}').format(
                    service=i18n.pick(s.name, s.name_translations), minutes=s.duration_minutes, price=money(s.price))
                    for s in services}, label=_('Service'), with_input=True) \
                    .props('outlined').classes('grow min-w-[16rem]').mark('service')
                self.complaint = ui.input(_('Or: what is the problem? (suggests the doctor)')) \
                    .props('outlined debounce=400').classes('grow min-w-[16rem]').mark('complaint')
            self.suggestion = ui.label().classes('text-sm text-slate-600')
            self.doctor = ui.select({ANY_DOCTOR: _('Any doctor')}, value=ANY_DOCTOR, label=_('Doctor')) \
                .props('outlined').classes('w-full sm:w-[28rem]').mark('doctor')
        self.service.on_value_change(self.find_doctors)
        self.complaint.on_value_change(self.complaint_changed)

    def on_doctors(self, changed: Callable[[], Awaitable[None]]) -> None:
        """``changed()`` runs when the doctors to choose from, or the chosen one, change."""
        self.doctors_changed = changed
        self.doctor.on_value_change(changed)

    def doctor_ids(self) -> list[int]:
        return list(self.doctors) if self.doctor.value == ANY_DOCTOR else [self.doctor.value]

    async def complaint_changed(self) -> None:
        if self.service.value not in (None, self.suggested_service):  # chosen by hand: it stays
            await self.find_doctors()
            return
        self.suggested_service = None
        if self.service.value is None:
            await self.find_doctors()
        else:
            self.service.set_value(None)  # finds the doctors (and suggests again) through on_value_change

    async def find_doctors(self) -> None:
        complaint = self.complaint.value or ''
        answer = await staff_read(lambda s: _doctors(s, self.service.value, complaint))
        if answer is None:
            return
        found, fitting, options = answer
        if fitting is not None:
            self.suggested_service = fitting.id
            self.service.set_value(fitting.id)  # finds the doctors again through on_value_change
            return
        specialties = ', '.join(i18n.pick(s.name, s.name_translations) for s in found[:2])
        self.suggestion.set_text(_('Suggested specialty: {specialties}').format(specialties=specialties) if found else
                                 (_('No specialty matches these words: choose the service.') if complaint else ''))
        self.doctors = {d.id: d.name for d in options}
        self.doctor.set_options({ANY_DOCTOR: _('Any doctor'), **{d.id: f'{d.name} — {d.specialties}' for d in options}},
                                value=self.doctor.value if self.doctor.value in self.doctors else ANY_DOCTOR)
        if self.doctors_changed is not None:
            await self.doctors_changed()


class FreeTimes:
    """Free times of the chosen doctor (or of every fitting one) for the service, a week at a time."""

    def __init__(self, what: WhatFor) -> None:
        self.what = what
        self.slot: Slot | None = None
        with ui.card().classes('w-full gap-2'):
            self.grid = SlotGrid(clinic_settings.current().tz, self.choose, self.free_slots)
            self.chosen = ui.label(_('Choose a free time above.')).classes('text-slate-600').mark('chosen-slot')

    async def reload(self) -> None:
        await self.grid.reload()

    def choose(self, slot: Slot) -> None:
        self.slot = slot
        start = slot.start_at.astimezone(clinic_settings.current().tz)
        self.chosen.set_text(_('Chosen: {weekday} {day} at {time} with {doctor}').format(
            weekday=i18n.weekday(start.date()), day=start.strftime('%d/%m/%Y'), time=i18n.clock(start),
            doctor=self.what.doctors.get(slot.doctor_id, '')))

    async def free_slots(self, first_day: date) -> dict[date, list[Slot]] | None:
        self.slot = None
        service_id = self.what.service.value
        self.chosen.set_text(_('Choose a free time above.') if service_id else _('Choose the service first.'))
        if service_id is None:
            return None
        ids = self.what.doctor_ids()
        return await staff_read(lambda s: booking.free_slots(
            s, service_id=service_id, doctor_ids=ids, start_day=first_day, days=DAYS_SHOWN,
            tz=clinic_settings.current().tz, now=utcnow(), limit_per_day=40))


class BookingDetails:
    """How the patient asked (phone, in person), the reason and notes, and the button that books."""

    def __init__(self, actor: Actor, patient: Patient, what: WhatFor, when: FreeTimes) -> None:
        self.actor, self.patient, self.what, self.when = actor, patient, what, when
        with ui.card().classes('w-full gap-2'):
            with ui.row().classes('w-full gap-3'):
                self.source = ui.toggle({key: _(label) for key, label in SOURCES.items()},
                                        value=BookingSource.PHONE.value).props('no-caps').mark('source')
            self.reason = ui.input(_('Reason for the visit')).props('outlined').classes('w-full').mark('reason')
            self.notes = ui.input(_('Notes for the doctor or reception')).props('outlined').classes('w-full')
            self.error = error_text()
            ui.button(_('Book appointment'), icon='event_available', on_click=self.book) \
                .props('unelevated no-caps size=lg').mark('confirm-booking')

    async def book(self) -> None:
        service_id, slot = self.what.service.value, self.when.slot
        if service_id is None:
            self.error.set_text(_('Please choose the service.'))
            return
        if slot is None:
            self.error.set_text(_('Please choose a free time.'))
            return
        appointment = await staff_action(lambda s: booking.book(
            s, self.actor, patient_id=self.patient.id, service_id=service_id, doctor_id=slot.doctor_id,
            start_at=slot.start_at, source=BookingSource(self.source.value), tz=clinic_settings.current().tz,
            now=utcnow(), reason=self.reason.value or '', notes=self.notes.value or ''), error_label=self.error)
        if appointment is None:
            await self.when.reload()  # the slot may have been taken meanwhile: show what is free now
            return
        ui.notify(_('Appointment booked: a confirmation email is on its way.') if self.patient.email else
                  _('Appointment booked.'), type='positive')
        ui.navigate.to(f'/reception/patients/{self.patient.id}')
