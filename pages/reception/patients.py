"""A patient's page at reception: profile (create or edit), details typed online to check, upcoming appointments
and past visits."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from nicegui import ui

from clinic_ui.appointment_rows import status_label
from clinic_ui.live import on_missed, subscribe
from clinic_ui.pickers import date_field
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, section_title, staff_action, staff_read
from models import AppointmentStatus, MessageChannel, Patient, Sex
from models.types import utcnow
from services import appointments, clinic_settings, patients, phones
from services.access import Actor
from services.core import i18n
from services.core.clock import local_today
from services.core.errors import ValidationError
from services.core.events import AppointmentChanged, PatientChanged
from services.core.i18n import N_, _
from services.patients import PatientInput, parse_date

from . import dialogs, merge

SEXES = {Sex.FEMALE: N_('Female'), Sex.MALE: N_('Male'), Sex.OTHER: N_('Other'), Sex.UNKNOWN: N_('Not said')}
# a past visit's status, as the patients service writes it ('in consultation')
VISIT_STATUSES = {'waiting': N_('waiting'), 'in consultation': N_('in consultation'), 'in services': N_('in services'),
                  'awaiting pharmacy': N_('awaiting pharmacy'), 'awaiting payment': N_('awaiting payment'),
                  'paid': N_('paid'), 'closed': N_('closed'), 'cancelled': N_('cancelled')}
CHANNELS = {'': N_('Automatic: email if the patient has one, else SMS'), 'email': N_('Email'), 'sms': N_('SMS'),
            'zalo': N_('Zalo')}
CHANGED_FIELDS = {'full_name': N_('Name'), 'email': N_('Email')}  # details typed online, by field
CHANGE_SOURCES = {'online booking': N_('online booking')}  # where they were typed, as the service records it
UPCOMING = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN)
CHANGEABLE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


def _today():
    return local_today(clinic_settings.current().tz)


class ProfileForm:
    """The profile fields; ``data()`` turns them into a PatientInput (or shows what is wrong)."""

    def __init__(self, patient: Patient | None, address: str) -> None:
        p = patient
        with ui.grid().classes('w-full gap-3 grid-cols-1 sm:grid-cols-2'):
            self.name = ui.input(_('Full name *'), value=p.full_name if p else '').props('outlined') \
                .classes('sm:col-span-2').mark('full-name')
            self.born = date_field(_('Date of birth (dd/mm/yyyy)'),
                                   p.date_of_birth.strftime('%d/%m/%Y') if p and p.date_of_birth else '') \
                .props('outlined inputmode=numeric').mark('date-of-birth')
            self.sex = ui.select({s.value: _(label) for s, label in SEXES.items()},
                                 value=(p.sex if p else Sex.UNKNOWN).value, label=_('Sex')).props('outlined')
            self.phone = ui.input(_('Phone'), value=phones.editable(p.phone) if p else '') \
                .props('outlined inputmode=tel').mark('phone')
            if p and p.phone and not phones.is_stored_valid(p.phone):  # kept as typed before numbers were checked
                self.phone.props['hint'] = _('Not a valid number: please correct or clear it.')
            self.email = ui.input(_('Email'), value=(p.email or '') if p else '').props('outlined inputmode=email') \
                .mark('email')
            self.national_id = ui.input(_('National ID'), value=(p.national_id or '') if p else '').props('outlined')
            self.address = ui.input(_('Address'), value=address).props('outlined')
            self.allergies = ui.input(_('Allergy note'), value=p.allergies if p else '').props('outlined') \
                .classes('sm:col-span-2').mark('allergies')
            self.allergies.props['hint'] = _('Free text; the allergy list is kept at check-in and in the chart.')
            self.notes = ui.textarea(_('Notes'), value=p.notes if p else '').props('outlined autogrow') \
                .classes('sm:col-span-2')
            self.channel = ui.select({'': _(CHANNELS['']), **{c.value: _(CHANNELS[c.value]) for c in MessageChannel}},
                                     value=p.preferred_channel.value if p and p.preferred_channel else '',
                                     label=_('Reminders and messages by')).props('outlined') \
                .classes('sm:col-span-2').mark('preferred-channel')
        ui.label(_('* required, and a phone number or a date of birth')).classes('text-xs text-slate-500')

    def data(self, error: ui.label) -> PatientInput | None:
        born_text = (self.born.value or '').strip()
        born = parse_date(born_text) if born_text else None
        if born_text and born is None:
            error.set_text(_('Please write the date of birth as dd/mm/yyyy, e.g. 23/11/1980.'))
            return None
        return PatientInput(full_name=self.name.value or '', phone=self.phone.value or '', date_of_birth=born,
                            sex=Sex(self.sex.value), email=self.email.value or '',
                            national_id=self.national_id.value or '', allergies=self.allergies.value or '',
                            notes=self.notes.value or '', address=self.address.value or '',
                            preferred_channel=MessageChannel(self.channel.value) if self.channel.value else None)


# -- a new patient -----------------------------------------------------------------------------------------------

@staff_page(RECEPTION, '/reception/patients/new', title=N_('New patient'))
async def new_patient_page(actor: Actor):
    ui.link(_('← Reception'), '/reception')
    NewPatient(actor)


class NewPatient:
    """Register a patient; a likely duplicate (same name and birth date, or same phone) is shown first."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.card().classes('w-full max-w-3xl gap-3'):
            section_title(_('Register a new patient'))
            self.form = ProfileForm(None, '')
            self.error = error_text()
            ui.button(_('Register patient'), icon='save', on_click=self.register).props('unelevated no-caps size=lg') \
                .mark('save-patient')

    async def register(self) -> None:
        self.error.set_text('')
        data = self.form.data(self.error)
        if data is None:
            return
        try:
            data = patients.validate(data, today=_today())
        except ValidationError as e:
            self.error.set_text(str(e))
            return
        twins = await staff_read(lambda s: patients.likely_duplicates(s, self.actor, data), error_label=self.error)
        if twins:
            dialogs.DuplicateWarning(twins, lambda: self.create(data))
        elif twins is not None:
            await self.create(data)

    async def create(self, data: PatientInput) -> None:
        patient = await staff_action(lambda s: patients.create(s, self.actor, data, today=_today()),
                                     error_label=self.error, success=_('Patient registered.'))
        if patient is not None:
            ui.navigate.to(f'/reception/patients/{patient.id}')


# -- a known patient ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    address: str
    visits: list[patients.PastVisit]
    survivor: Patient | None = None  # the record this one was merged into


async def _record(session, actor: Actor, patient_id: int) -> PatientRecord:
    patient = await patients.get(session, actor, patient_id)
    if patient.merged_into_id is not None:
        return PatientRecord(patient, '', [], await patients.get(session, actor, patient.merged_into_id))
    return PatientRecord(patient, await patients.primary_address(session, patient_id),
                         await patients.past_visits(session, actor, patient_id))


@staff_page(RECEPTION, '/reception/patients/{patient_id}', title=N_('Patient'))
async def patient_page(actor: Actor, patient_id: int):
    problem = ui.label().classes('text-lg')
    record = await staff_read(lambda s: _record(s, actor, patient_id), error_label=problem)
    if record is None:
        ui.link(_('← Reception'), '/reception')
        return
    problem.delete()
    ui.link(_('← Reception'), '/reception')
    if record.survivor is not None:
        merged_notice(record.patient, record.survivor)
        return
    header = PatientHeader(actor, record.patient)
    changes = PendingChanges(actor, patient_id)
    with ui.grid().classes('w-full gap-4 grid-cols-1 lg:grid-cols-5'):
        profile = Profile(actor, record, on_saved=header.show)
        with ui.column().classes('lg:col-span-2 gap-4'):
            upcoming = UpcomingAppointments(actor, record.patient)
            past_visits(record.visits)
    changes.on_accepted = profile.take
    await upcoming.refresh()
    await changes.refresh()
    subscribe(AppointmentChanged, upcoming.refresh)
    subscribe(PatientChanged, lambda event: changes.refresh() if event.patient_id == patient_id else None)
    on_missed(changes.refresh)


class PatientHeader:
    """The patient's name and code, with the ways to book or to give a walk-in ticket."""

    def __init__(self, actor: Actor, patient: Patient) -> None:
        self.actor, self.patient = actor, patient
        with ui.row().classes('w-full items-center justify-between'):
            self.heading = ui.label().classes('text-2xl font-semibold').mark('patient-heading')
            with ui.row().classes('gap-2'):
                ui.button(_('Book appointment'), icon='event', on_click=self.book) \
                    .props('unelevated no-caps').mark('book')
                ui.button(_('Walk-in now'), icon='directions_walk', on_click=self.walk_in) \
                    .props('outline no-caps').mark('walk-in-now')
                ui.button(_('Merge with…'), icon='call_merge', on_click=self.merge_with) \
                    .props('flat no-caps').mark('merge-with')
        self.show(patient)

    def show(self, patient: Patient) -> None:
        self.heading.set_text(f'{patient.full_name} · {patient.code}')

    def book(self) -> None:
        ui.navigate.to(f'/reception/book/{self.patient.id}')

    async def walk_in(self) -> None:
        await dialogs.open_walk_in(self.actor, self.patient.id, self.patient.full_name)

    async def merge_with(self) -> None:
        await merge.open_merge(self.actor, self.patient, today=_today())


def merged_notice(patient: Patient, survivor: Patient) -> None:
    """A record merged into another: nothing to do here any more but go to the survivor."""
    with ui.card().classes('w-full max-w-3xl gap-2 bg-amber-50').mark('merged-notice'):
        ui.label(f'{patient.full_name} · {patient.code}').classes('text-2xl font-semibold')
        merged_at = patient.merged_at.astimezone(clinic_settings.current().tz).strftime('%d/%m/%Y')
        ui.label(_('This record was merged into {code} ({name}) on {date}: its visits, appointments, invoices and '
                   'everything else are there now.').format(code=survivor.code, name=survivor.full_name,
                                                           date=merged_at))
        ui.link(_('Open {code} · {name}').format(code=survivor.code, name=survivor.full_name),
                f'/reception/patients/{survivor.id}').classes('text-lg font-medium').mark('merged-into-link')


class Profile:
    """The profile, saved only if nobody changed it meanwhile (else the person is told)."""

    def __init__(self, actor: Actor, record: PatientRecord, *, on_saved: Callable[[Patient], None]) -> None:
        self.actor, self.patient_id, self.on_saved = actor, record.patient.id, on_saved
        self.updated_at = record.patient.updated_at
        with ui.card().classes('lg:col-span-3 gap-3'):
            section_title(_('Profile'))
            self.form = ProfileForm(record.patient, record.address)
            self.error = error_text()
            ui.button(_('Save profile'), icon='save', on_click=self.save).props('unelevated no-caps') \
                .mark('save-patient')

    async def save(self) -> None:
        self.error.set_text('')
        data = self.form.data(self.error)
        if data is None:
            return
        saved = await staff_action(lambda s: patients.update(
            s, self.actor, self.patient_id, data, today=_today(), expected_updated_at=self.updated_at),
            error_label=self.error, success=_('Profile saved.'))
        if saved is not None:
            self.updated_at = saved.updated_at
            self.on_saved(saved)

    def take(self, record: Patient) -> None:
        """An accepted change: show the new values; a later save must not count it as someone else's."""
        self.form.name.value, self.form.email.value = record.full_name, record.email or ''
        self.updated_at = record.updated_at
        self.on_saved(record)


class UpcomingAppointments:
    """The patient's next appointments, live, each with reschedule and cancel."""

    def __init__(self, actor: Actor, patient: Patient) -> None:
        self.actor, self.patient = actor, patient
        with ui.card().classes('w-full gap-2'):
            self.title = section_title(_('Upcoming appointments'))
            self.list = ui.column().classes('w-full gap-1').mark('upcoming')

    async def refresh(self) -> None:
        tz, today = clinic_settings.current().tz, _today()
        answer = await staff_read(lambda s: appointments.list_range(
            s, self.actor, start_day=today, end_day=today + timedelta(days=365), tz=tz, patient_id=self.patient.id,
            limit=20), touch=False)
        if answer is not None:
            self.show([row for row in answer[0] if row.status in UPCOMING])

    def show(self, rows: list[appointments.AppointmentRow]) -> None:
        tz = clinic_settings.current().tz
        self.list.clear()
        self.title.set_text(_('Upcoming appointments ({count})').format(count=len(rows)))
        with self.list:
            if not rows:
                ui.label(_('None booked.')).classes('text-slate-500')
            for r in rows:
                with ui.row().classes('w-full items-center justify-between border-b py-1 no-wrap'):
                    with ui.column().classes('gap-0'):
                        start = r.start_at.astimezone(tz)
                        ui.label(f'{i18n.weekday(start.date(), "short")} {start:%d/%m/%Y} {i18n.clock(start)}') \
                            .classes('font-medium')
                        ui.label(f'{r.doctor_name} · {r.services} · {status_label(r.status)}') \
                            .classes('text-sm text-slate-600')
                    if r.status in CHANGEABLE:
                        self._buttons(r.id)

    def _buttons(self, appointment_id: int) -> None:
        with ui.row().classes('gap-0 no-wrap'):
            reschedule_label = _('Reschedule')
            ui.button(icon='edit_calendar', on_click=lambda: self.reschedule(appointment_id)) \
                .props(f'flat round dense aria-label="{reschedule_label}"').tooltip(reschedule_label)
            cancel_label = _('Cancel')
            ui.button(icon='event_busy', on_click=lambda: self.cancel(appointment_id)) \
                .props(f'flat round dense color=negative aria-label="{cancel_label}"').tooltip(cancel_label)

    async def reschedule(self, appointment_id: int) -> None:
        await dialogs.open_reschedule(self.actor, appointment_id)

    def cancel(self, appointment_id: int) -> None:
        dialogs.open_cancel(self.actor, appointment_id, self.patient.full_name)


def past_visits(visits: list[patients.PastVisit]) -> None:
    with ui.card().classes('w-full gap-2'):
        section_title(_('Past visits'))
        if not visits:
            ui.label(_('No visits yet.')).classes('text-slate-500')
        with ui.column().classes('w-full gap-0 max-h-96 overflow-y-auto').mark('past-visits'):
            for visit in visits:
                with ui.row().classes('w-full justify-between border-b py-1'):
                    ui.label(visit.visit_date.strftime('%d/%m/%Y'))
                    ui.label(visit.doctor_name).classes('text-slate-700')
                    status = _(VISIT_STATUSES.get(visit.status, visit.status))
                    ui.label(_('walk-in · {status}').format(status=status) if visit.walk_in else status) \
                        .classes('text-sm text-slate-500')


class PendingChanges:
    """Details typed on the booking page that differ from the record: reception checks them with the patient, then
    accepts or rejects each."""

    def __init__(self, actor: Actor, patient_id: int) -> None:
        self.actor, self.patient_id = actor, patient_id
        self.on_accepted: Callable[[Patient], None] = lambda record: None
        self.card = ui.card().classes('w-full gap-1 bg-amber-50').mark('pending-changes')

    async def refresh(self) -> None:
        pending = await staff_read(lambda s: patients.pending_changes(s, self.actor, self.patient_id), touch=False)
        if pending is not None:
            self.show(pending)

    def show(self, pending: list[patients.ChangeView]) -> None:
        tz = clinic_settings.current().tz
        self.card.clear()
        self.card.visible = bool(pending)
        with self.card:
            section_title(_('Details typed online, to check'), len(pending))
            ui.label(_('The record is unchanged until you accept. Please check with the patient first: whoever typed '
                       'these only needed their name, birth date and phone.')).classes('text-sm text-slate-600')
            for change in pending:
                with ui.row().classes('w-full items-center justify-between border-b py-1 gap-2'):
                    with ui.column().classes('gap-0'):
                        field = CHANGED_FIELDS.get(change.field)
                        ui.label(_('{field}: {old} → {new}').format(
                            field=_(field) if field else change.label, old=change.old_value or _('(none)'),
                            new=change.new_value)) \
                            .classes('font-medium').mark('pending-change')
                        typed_at, source = change.created_at.astimezone(tz), CHANGE_SOURCES.get(change.source)
                        ui.label(f'{_(source) if source else change.source}, {typed_at:%d/%m/%Y} '
                                 f'{i18n.clock(typed_at)}') \
                            .classes('text-xs text-slate-500')
                    with ui.row().classes('gap-1 no-wrap'):
                        ui.button(_('Accept'), icon='check', on_click=lambda c=change.id: self.accept(c)) \
                            .props('unelevated dense no-caps').mark('accept-change')
                        ui.button(_('Reject'), icon='close', on_click=lambda c=change.id: self.reject(c)) \
                            .props('outline dense no-caps color=negative').mark('reject-change')

    async def accept(self, change_id: int) -> None:
        record = await staff_action(lambda s: patients.decide_change(s, self.actor, change_id, accept=True,
                                                                     now=utcnow()),
                                    success=_('Accepted: the record is updated.'))
        if record is not None:
            self.on_accepted(record)
        await self.refresh()

    async def reject(self, change_id: int) -> None:
        await staff_action(lambda s: patients.decide_change(s, self.actor, change_id, accept=False, now=utcnow()),
                           success=_('Rejected: the record stays as it was.'))
        await self.refresh()
