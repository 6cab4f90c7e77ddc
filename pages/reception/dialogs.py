"""Reception's dialogs: check in, walk in, reschedule, cancel, the ticket just issued, a likely duplicate before
registering, and a queue ticket's priority or move. Each ``open_…`` reads what the dialog needs, then shows it;
each dialog's button calls one service action."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from clinic_ui.allergies import AllergyDialog, AllergyLine
from clinic_ui.pickers import SlotGrid, patient_search
from clinic_ui.ticket_qr import ticket_qr
from clinic_ui.widgets import error_text, staff_action, staff_read
from models import Patient
from models.types import utcnow
from services import allergies, appointments, booking, checkin, clinic_settings, patients, phones, queue
from services.access import Actor
from services.allergies import Allergies
from services.booking import Slot
from services.core import i18n
from services.core.clock import local_today
from services.core.i18n import N_, _

from .tickets import ticket_url

PRIORITIES = {0: N_('Normal'), 1: N_('Elderly / disability'), 2: N_('Pregnant / young child'), 3: N_('Urgent')}
QUEUE_PRIORITIES = {0: N_('Normal'), 1: N_('Priority'), 2: N_('High priority'), 3: N_('Urgent')}
PRIORITY_REASONS = [N_('Elderly'), N_('Pregnant'), N_('Urgent'), N_('Disability'), N_('Young child')]


def translated(labels: dict[int, str]) -> dict[int, str]:
    """Select options in the reader's language (the values stay)."""
    return {value: _(label) for value, label in labels.items()}


def priority_fields() -> tuple[ui.select, ui.input]:
    """Priority, and the reason that becomes required once a priority is chosen."""
    priority = ui.select(translated(PRIORITIES), value=0, label=_('Priority')).props('outlined dense') \
        .classes('w-full').mark('ticket-priority')
    reason = ui.input(_('Why first? (needed for a priority)')).props('outlined dense').classes('w-full') \
        .mark('ticket-priority-reason')
    reason.bind_visibility_from(priority, 'value', backward=bool)
    return priority, reason


def show_ticket(ticket: checkin.Ticket) -> None:
    """The ticket just issued, big, with a button to print the slip."""
    with ui.dialog() as dialog, ui.card().classes('items-center gap-2 p-6 min-w-[18rem]').mark('ticket-dialog'):
        ui.label(ticket.patient_name).classes('text-lg font-medium')
        ui.label(ticket.label).classes('text-6xl font-bold text-primary').mark('ticket-number')
        ui.label(_('{queue} · {room}').format(queue=ticket.queue_name, room=ticket.room)).classes('text-slate-700')
        ui.label(_('Patients ahead: {count}').format(count=ticket.waiting_ahead)).classes('text-slate-600') \
            .mark('ticket-ahead')
        ticket_qr(ticket.visit_id, ticket.issued_at)
        with ui.row():
            ui.button(_('Print ticket'), icon='print',
                      on_click=lambda: ui.navigate.to(ticket_url(ticket.visit_id), new_tab=True)) \
                .props('unelevated no-caps')
            ui.button(_('Done'), on_click=dialog.close).props('flat no-caps')
    dialog.open()


async def _patient_of(session, actor: Actor, appointment_id: int) -> Patient:
    detail = await appointments.detail(session, actor, appointment_id)
    return await patients.get(session, actor, detail.patient_id)


async def _patient_with_allergies(session, actor: Actor, appointment_id: int) -> tuple[Patient, Allergies]:
    patient = await _patient_of(session, actor, appointment_id)
    return patient, await allergies.patient_allergies(session, actor, patient.id)


async def open_check_in(actor: Actor, appointment_id: int) -> None:
    found = await staff_read(lambda s: _patient_with_allergies(s, actor, appointment_id))
    if found is not None:
        CheckInDialog(actor, appointment_id, *found).dialog.open()


class CheckInDialog:
    """Verify the profile (phone, email can be corrected on the spot), choose a priority, check in."""

    def __init__(self, actor: Actor, appointment_id: int, patient: Patient, shown: Allergies) -> None:
        self.actor, self.appointment_id = actor, appointment_id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('check-in-dialog'):
            ui.label(_('Check in {name}').format(name=patient.full_name)).classes('text-xl font-semibold')
            born = patient.date_of_birth.strftime('%d/%m/%Y') if patient.date_of_birth else ''
            ui.label(' · '.join(p for p in (patient.code, born) if p)).classes('text-slate-600')
            with ui.row().classes('items-center gap-2'):
                self.shown, self.allergies = shown, AllergyLine(shown)
                ui.button(_('Allergies…'), icon='edit_note', on_click=self.edit_allergies) \
                    .props('flat dense no-caps').mark('edit-allergies')
            self.phone = ui.input(_('Phone'), value=phones.editable(patient.phone)).props('outlined dense') \
                .classes('w-full').mark('check-in-phone')
            self.email = ui.input(_('Email'), value=patient.email or '').props('outlined dense').classes('w-full') \
                .mark('check-in-email')
            self.priority, self.reason = priority_fields()
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Check in'), on_click=self.check_in).props('unelevated no-caps').mark('confirm-check-in')

    def edit_allergies(self) -> None:
        AllergyDialog(self.actor, self.shown, on_changed=self.allergies_changed).open()

    def allergies_changed(self, shown: Allergies) -> None:
        self.shown = shown
        self.allergies.show(shown)

    async def check_in(self) -> None:
        ticket = await staff_action(lambda s: checkin.check_in(
            s, self.actor, self.appointment_id, tz=clinic_settings.current().tz, now=utcnow(),
            priority=self.priority.value or 0, priority_reason=self.reason.value or '',
            phone=self.phone.value or '', email=self.email.value or ''), error_label=self.error)
        if ticket is not None:
            self.dialog.close()
            show_ticket(ticket)


async def open_walk_in(actor: Actor, patient_id: int | None = None, patient_name: str = '') -> None:
    doctors = await staff_read(lambda s: checkin.walk_in_doctors(s, actor, tz=clinic_settings.current().tz,
                                                                 now=utcnow()))
    if doctors is not None:
        WalkInDialog(actor, doctors, patient_id, patient_name).dialog.open()


async def _walk_in_choices(session, actor: Actor, complaint: str) -> tuple[list, list[checkin.WalkInDoctor]]:
    """The specialties a complaint suggests, and the doctors (those of the suggested specialties first)."""
    return (await booking.specialties_for_complaint(session, complaint),
            await checkin.walk_in_doctors(session, actor, tz=clinic_settings.current().tz, now=utcnow(),
                                          complaint=complaint))


def _doctor_row(doctor: checkin.WalkInDoctor, chosen: bool, choose: Callable[[checkin.WalkInDoctor], None]) -> None:
    """A doctor of the walk-in list: who, their hours today, their queue; greyed out (not clickable) with their
    hours when they take no walk-in now."""
    item = ui.item(on_click=lambda: choose(doctor)).classes('rounded').mark(f'walk-in-doctor-{doctor.id}')
    if chosen:
        item.props('active active-class="bg-blue-1 text-primary"')
    if not doctor.takes_walk_ins:
        item.disable()
    hours = _('Hours today: {hours}').format(hours=doctor.hours_today) if doctor.hours_today else ''
    queue_text = _('{waiting} waiting · about {minutes} min').format(
        waiting=doctor.waiting, minutes=doctor.wait_minutes) if doctor.takes_walk_ins else ''
    with item:
        with ui.item_section():
            ui.item_label(doctor.name).classes('font-medium')
            ui.item_label(_('{specialties} · suggested').format(specialties=doctor.specialties) if doctor.suggested
                          else doctor.specialties).props('caption')
        with ui.item_section().props('side'):
            ui.item_label(doctor.duty).classes('text-positive' if doctor.on_duty else '') \
                .mark(f'walk-in-duty-{doctor.id}')
            ui.item_label(' · '.join(t for t in (queue_text, hours) if t)).props('caption') \
                .mark(f'walk-in-detail-{doctor.id}')


class WalkInDialog:
    """A patient without an appointment: choose a doctor who works now (the complaint suggests specialties), give a
    ticket. The doctors on duty come first, with their queue; those whose hours have ended are shown, greyed out.
    The chosen doctor follows the complaint's suggestion until the receptionist picks one by hand."""

    def __init__(self, actor: Actor, doctors: list[checkin.WalkInDoctor], patient_id: int | None,
                 patient_name: str) -> None:
        self.actor, self.doctors, self.patient_id = actor, doctors, patient_id
        self.doctor_id: int | None = None
        self.picked_by_hand = False
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-2').mark('walk-in-dialog'):
            ui.label(_('Walk-in')).classes('text-xl font-semibold')
            self.who = ui.label(patient_name).classes('text-lg font-medium')
            if patient_id is None:
                patient_search(actor, self.choose_patient, today=local_today(clinic_settings.current().tz))
                ui.link(_('Not found? Register a new patient'), '/reception/patients/new').classes('text-sm')
            self.complaint = ui.input(_('What brings them in? (e.g. fever, rash)')).props('outlined dense') \
                .classes('w-full').mark('walk-in-complaint')
            self.suggestion = ui.label().classes('text-sm text-slate-600')
            self.chosen = ui.label().classes('font-medium').mark('walk-in-chosen')
            self.list = ui.list().props('bordered separator dense').classes('w-full max-h-80 overflow-auto') \
                .mark('walk-in-doctors')
            self.priority, self.reason = priority_fields()
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Give a ticket'), on_click=self.give_ticket).props('unelevated no-caps') \
                    .mark('confirm-walk-in')
        self.complaint.props('debounce=400')
        self.complaint.on_value_change(self.suggest_doctor)
        self.show_doctors()

    def choose_patient(self, hit: patients.PatientHit) -> None:
        self.patient_id = hit.id
        self.who.set_text(f'{hit.full_name} · {hit.code}')

    def show_doctors(self) -> None:
        chosen = next((d for d in self.doctors if d.id == self.doctor_id), None)
        self.chosen.set_text(_('Doctor: {name}').format(name=chosen.name) if chosen else _('Choose the doctor:'))
        self.list.clear()
        with self.list:
            for doctor in self.doctors:
                _doctor_row(doctor, doctor.id == self.doctor_id, self.pick)

    def pick(self, doctor: checkin.WalkInDoctor) -> None:
        if doctor.takes_walk_ins:
            self.doctor_id, self.picked_by_hand = doctor.id, True
            self.show_doctors()

    async def suggest_doctor(self) -> None:
        """The complaint changed: the list again (the suggested doctors first), and, unless the receptionist picked
        a doctor by hand, the first suggested doctor who takes walk-ins now (none when nothing is suggested)."""
        answer = await staff_read(lambda s: _walk_in_choices(s, self.actor, self.complaint.value or ''))
        if answer is None:
            return
        found, self.doctors = answer
        specialties = ', '.join(i18n.pick(s.name, s.name_translations) for s in found[:2])
        self.suggestion.set_text(_('Suggested: {specialties}').format(specialties=specialties) if found else '')
        if not self.picked_by_hand:
            self.doctor_id = next((d.id for d in self.doctors if d.suggested and d.takes_walk_ins), None)
        self.show_doctors()

    async def give_ticket(self) -> None:
        if self.patient_id is None:
            self.error.set_text(_('Please find the patient first (or register them).'))
            return
        if self.doctor_id is None:
            self.error.set_text(_('Please choose the doctor.'))
            return
        ticket = await staff_action(lambda s: checkin.walk_in(
            s, self.actor, patient_id=self.patient_id, doctor_id=self.doctor_id, tz=clinic_settings.current().tz,
            now=utcnow(), reason=self.complaint.value or '', priority=self.priority.value or 0,
            priority_reason=self.reason.value or ''), error_label=self.error)
        if ticket is not None:
            self.dialog.close()
            show_ticket(ticket)


async def _reschedule_choices(session, actor: Actor, appointment_id: int):
    detail = await appointments.detail(session, actor, appointment_id)
    return detail, {d.id: d.name for d in await booking.doctors_for(session, service_id=detail.service_id)}


async def open_reschedule(actor: Actor, appointment_id: int) -> None:
    answer = await staff_read(lambda s: _reschedule_choices(s, actor, appointment_id))
    if answer is not None:
        dialog = RescheduleDialog(actor, *answer)
        await dialog.times.reload()
        dialog.dialog.open()


class RescheduleDialog:
    """Another time, with the same doctor or another one who provides the service."""

    def __init__(self, actor: Actor, detail: appointments.AppointmentDetail, doctors: dict[int, str]) -> None:
        self.actor, self.detail = actor, detail
        self.slot: Slot | None = None
        tz = clinic_settings.current().tz
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-4xl gap-2').mark('reschedule-dialog'):
            ui.label(_('Reschedule')).classes('text-xl font-semibold')
            now = detail.start_at.astimezone(tz)
            ui.label(_('Now: {weekday} {day} {time}').format(weekday=i18n.weekday(now.date(), 'short'),
                                                             day=now.strftime('%d/%m/%Y'), time=i18n.clock(now))) \
                .classes('text-slate-600')
            self.doctor = ui.select(doctors, value=detail.doctor_id, label=_('Doctor')).props('outlined dense') \
                .classes('w-full sm:w-96')
            self.times = SlotGrid(tz, self.choose, self.free_times)
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Move appointment'), on_click=self.move).props('unelevated no-caps') \
                    .mark('confirm-reschedule')
        self.doctor.on_value_change(self.times.reload)

    def choose(self, slot: Slot) -> None:
        self.slot = slot

    async def free_times(self, first_day: date) -> dict[date, list[Slot]] | None:
        self.slot = None
        return await staff_read(lambda s: booking.free_slots(
            s, service_id=self.detail.service_id, doctor_ids=[self.doctor.value], start_day=first_day, days=7,
            tz=clinic_settings.current().tz, now=utcnow()))

    async def move(self) -> None:
        slot = self.slot
        if slot is None:
            self.error.set_text(_('Please choose the new time.'))
            return
        done = await staff_action(lambda s: booking.reschedule(
            s, self.actor, self.detail.id, start_at=slot.start_at, doctor_id=slot.doctor_id,
            tz=clinic_settings.current().tz, now=utcnow()), error_label=self.error,
            success=_('Appointment moved. The patient gets an email if we have their address.'))
        if done is not None:
            self.dialog.close()
        else:
            await self.times.reload()


def open_cancel(actor: Actor, appointment_id: int, label: str) -> None:
    CancelDialog(actor, appointment_id, label).dialog.open()


class CancelDialog:
    """Cancelling needs a reason (the patient is told by email when we have their address)."""

    def __init__(self, actor: Actor, appointment_id: int, label: str) -> None:
        self.actor, self.appointment_id = actor, appointment_id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('cancel-dialog'):
            ui.label(_('Cancel the appointment of {name}?').format(name=label)).classes('text-lg font-semibold')
            self.reason = ui.input(_('Reason (required)')).props('outlined autofocus').classes('w-full') \
                .mark('cancel-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Keep it'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Cancel appointment'), on_click=self.cancel).props('unelevated no-caps color=negative') \
                    .mark('confirm-cancel')

    async def cancel(self) -> None:
        done = await staff_action(lambda s: booking.cancel(s, self.actor, self.appointment_id,
                                                           reason=self.reason.value or '', now=utcnow()),
                                  error_label=self.error, success=_('Appointment cancelled.'))
        if done is not None:
            self.dialog.close()


class DuplicateWarning:
    """Before registering: patients with the same name and birth date, or the same phone. Open one of them, or
    register the new one anyway."""

    def __init__(self, twins: list[patients.PatientHit], register: Callable[[], Awaitable[None]]) -> None:
        self.register = register
        with ui.dialog() as self.dialog, ui.card().classes('max-w-lg gap-2').mark('duplicate-warning'):
            ui.label(_('This patient may already be registered')).classes('text-lg font-semibold')
            ui.label(_('Same name and birth date, or same phone:')).classes('text-slate-600')
            for twin in twins:
                born = twin.date_of_birth.strftime('%d/%m/%Y') if twin.date_of_birth else ''
                with ui.row().classes('w-full items-center justify-between'):
                    ui.label(f'{twin.full_name} · {twin.code} · {born} · {phones.shown(twin.phone)}')
                    ui.button(_('Open'), on_click=lambda t=twin: ui.navigate.to(f'/reception/patients/{t.id}')) \
                        .props('flat no-caps')
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Register anyway'), on_click=self.register_anyway).props('unelevated no-caps') \
                    .mark('register-anyway')
        self.dialog.open()

    async def register_anyway(self) -> None:
        self.dialog.close()
        await self.register()


class PriorityDialog:
    """A waiting patient goes first, with the reason (elderly, pregnant, urgent…)."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.ticket_id: int | None = None
        with ui.dialog() as self.dialog, ui.card().classes('w-96'):
            self.title = ui.label().classes('text-lg font-semibold')
            self.level = ui.select(translated(QUEUE_PRIORITIES), value=1, label=_('Priority')).props('outlined') \
                .classes('w-full').mark('priority-level')
            self.reason = ui.input(_('Reason'), placeholder=_('Elderly, pregnant, urgent…'),
                                   autocomplete=[_(reason) for reason in PRIORITY_REASONS]) \
                .props('outlined').classes('w-full').mark('priority-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.save).props('unelevated no-caps').mark('priority-save')

    def edit(self, ticket: queue.TicketView) -> None:
        self.ticket_id = ticket.id
        self.title.set_text(_('Priority for {ticket} · {name}').format(ticket=ticket.label, name=ticket.patient_name))
        self.level.value = ticket.priority or 1
        self.reason.value = ticket.priority_reason
        self.error.set_text('')
        self.dialog.open()

    async def save(self) -> None:
        ticket_id = self.ticket_id
        done = await staff_action(lambda s: queue.set_priority(s, self.actor, ticket_id, self.level.value or 0,
                                                               self.reason.value or '', now=utcnow()),
                                  error_label=self.error, success=_('Priority saved.'))
        if done is not None:
            self.dialog.close()


class MoveDialog:
    """Send a patient to another doctor's queue or to a station (lab, imaging)."""

    def __init__(self, actor: Actor, targets: dict[int, str]) -> None:
        self.actor, self.targets = actor, targets
        self.ticket_id: int | None = None
        with ui.dialog() as self.dialog, ui.card().classes('w-96'):
            self.title = ui.label().classes('text-lg font-semibold')
            self.target = ui.select(targets, label=_('Send to')).props('outlined').classes('w-full').mark('move-target')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Move'), on_click=self.move).props('unelevated no-caps').mark('move-save')

    def edit(self, ticket: queue.TicketView) -> None:
        self.ticket_id = ticket.id
        self.title.set_text(_('Move {ticket} · {name}').format(ticket=ticket.label, name=ticket.patient_name))
        self.target.value = None
        self.error.set_text('')
        self.dialog.open()

    async def move(self) -> None:
        ticket_id, target = self.ticket_id, self.target.value
        if target is None:
            self.error.set_text(_('Please choose where to send the patient.'))
            return
        done = await staff_action(lambda s: queue.transfer(s, self.actor, ticket_id, target,
                                                           tz=clinic_settings.current().tz, now=utcnow()),
                                  error_label=self.error)
        if done is not None:
            ui.notify(_('Moved: now {ticket} in {queue}').format(ticket=done.label, queue=self.targets[done.queue_id]),
                      type='positive')
            self.dialog.close()
