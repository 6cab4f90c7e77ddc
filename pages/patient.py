"""A patient's page at reception: profile (create or edit), details typed online to check, upcoming appointments
and past visits."""
from __future__ import annotations

from datetime import timedelta

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, section_title, staff_action, staff_read
from models import Patient, Sex
from models.types import utcnow
from services import appointments, clinic_settings, patients
from services.access import Actor
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import NotFound, ValidationError
from services.core.events import AppointmentChanged, PatientChanged
from services.patients import PatientInput, parse_date

from .reception import open_cancel, open_reschedule, open_walk_in

SEXES = {Sex.FEMALE: 'Female', Sex.MALE: 'Male', Sex.OTHER: 'Other', Sex.UNKNOWN: 'Not said'}


class ProfileForm:
    """The profile fields; ``data()`` turns them into a PatientInput (or shows what is wrong)."""

    def __init__(self, patient: Patient | None, address: str) -> None:
        p = patient
        with ui.grid().classes('w-full gap-3 grid-cols-1 sm:grid-cols-2'):
            self.name = ui.input('Full name *', value=p.full_name if p else '').props('outlined') \
                .classes('sm:col-span-2').mark('full-name')
            self.born = ui.input('Date of birth (dd/mm/yyyy)',
                                 value=p.date_of_birth.strftime('%d/%m/%Y') if p and p.date_of_birth else '') \
                .props('outlined inputmode=numeric').mark('date-of-birth')
            self.sex = ui.select({s.value: label for s, label in SEXES.items()},
                                 value=(p.sex if p else Sex.UNKNOWN).value, label='Sex').props('outlined')
            self.phone = ui.input('Phone', value=(p.phone or '') if p else '').props('outlined inputmode=tel') \
                .mark('phone')
            self.email = ui.input('Email', value=(p.email or '') if p else '').props('outlined inputmode=email') \
                .mark('email')
            self.national_id = ui.input('National ID', value=(p.national_id or '') if p else '').props('outlined')
            self.address = ui.input('Address', value=address).props('outlined')
            self.allergies = ui.input('Allergies', value=p.allergies if p else '').props('outlined') \
                .classes('sm:col-span-2').mark('allergies')
            self.notes = ui.textarea('Notes', value=p.notes if p else '').props('outlined autogrow') \
                .classes('sm:col-span-2')
        ui.label('* required, and a phone number or a date of birth').classes('text-xs text-slate-500')

    def data(self, error: ui.label) -> PatientInput | None:
        born_text = (self.born.value or '').strip()
        born = parse_date(born_text) if born_text else None
        if born_text and born is None:
            error.set_text('Please write the date of birth as dd/mm/yyyy, e.g. 23/11/1980.')
            return None
        return PatientInput(full_name=self.name.value or '', phone=self.phone.value or '', date_of_birth=born,
                            sex=Sex(self.sex.value), email=self.email.value or '',
                            national_id=self.national_id.value or '', allergies=self.allergies.value or '',
                            notes=self.notes.value or '', address=self.address.value or '')


@staff_page(RECEPTION, '/reception/patients/new', title='New patient')
async def new_patient_page(actor: Actor):
    settings = clinic_settings.current()
    ui.link('← Reception', '/reception')
    with ui.card().classes('w-full max-w-3xl gap-3'):
        section_title('Register a new patient')
        form = ProfileForm(None, '')
        error = error_text()

        async def create(data: PatientInput) -> None:
            patient = await staff_action(lambda s: patients.create(s, actor, data, today=local_today(settings.tz)),
                                         error_label=error, success='Patient registered.')
            if patient is not None:
                ui.navigate.to(f'/reception/patients/{patient.id}')

        async def save() -> None:
            error.set_text('')
            data = form.data(error)
            if data is None:
                return
            try:
                data = patients.validate(data, today=local_today(settings.tz))
            except ValidationError as e:
                error.set_text(str(e))
                return
            twins = await staff_read(lambda session: patients.likely_duplicates(session, actor, data),
                                     error_label=error)
            if twins is None:
                return
            if not twins:
                await create(data)
                return
            with ui.dialog() as dialog, ui.card().classes('max-w-lg gap-2').mark('duplicate-warning'):
                ui.label('This patient may already be registered').classes('text-lg font-semibold')
                ui.label('Same name and birth date, or same phone:').classes('text-slate-600')
                for twin in twins:
                    with ui.row().classes('w-full items-center justify-between'):
                        ui.label(f'{twin.full_name} · {twin.code} · '
                                 f'{twin.date_of_birth.strftime("%d/%m/%Y") if twin.date_of_birth else ""} · '
                                 f'{twin.phone or ""}')
                        ui.button('Open', on_click=lambda t=twin: ui.navigate.to(f'/reception/patients/{t.id}')) \
                            .props('flat no-caps')
                with ui.row().classes('w-full justify-end'):
                    ui.button('Back', on_click=dialog.close).props('flat no-caps')

                    async def anyway() -> None:
                        dialog.close()
                        await create(data)
                    ui.button('Register anyway', on_click=anyway).props('unelevated no-caps') \
                        .mark('register-anyway')
            dialog.open()

        ui.button('Register patient', icon='save', on_click=save).props('unelevated no-caps size=lg') \
            .mark('save-patient')


@staff_page(RECEPTION, '/reception/patients/{patient_id}', title='Patient')
async def patient_page(actor: Actor, patient_id: int):
    settings = clinic_settings.current()
    tz = settings.tz
    try:
        async with get_db().read() as session:
            patient = await patients.get(session, actor, patient_id)
            address = await patients.primary_address(session, patient_id)
    except NotFound as e:
        ui.label(str(e)).classes('text-lg')
        ui.link('← Reception', '/reception')
        return
    state = {'updated_at': patient.updated_at}
    ui.link('← Reception', '/reception')
    with ui.row().classes('w-full items-center justify-between'):
        heading = ui.label(f'{patient.full_name} · {patient.code}').classes('text-2xl font-semibold') \
            .mark('patient-heading')
        with ui.row().classes('gap-2'):
            ui.button('Book appointment', icon='event',
                      on_click=lambda: ui.navigate.to(f'/reception/book/{patient_id}')) \
                .props('unelevated no-caps').mark('book')
            ui.button('Walk-in now', icon='directions_walk',
                      on_click=lambda: open_walk_in(actor, patient_id, patient.full_name)) \
                .props('outline no-caps').mark('walk-in-now')
    changes = ui.card().classes('w-full gap-1 bg-amber-50').mark('pending-changes')
    with ui.grid().classes('w-full gap-4 grid-cols-1 lg:grid-cols-5'):
        with ui.card().classes('lg:col-span-3 gap-3'):
            section_title('Profile')
            form = ProfileForm(patient, address)
            error = error_text()

            async def save() -> None:
                error.set_text('')
                data = form.data(error)
                if data is None:
                    return
                saved = await staff_action(lambda s: patients.update(
                    s, actor, patient_id, data, today=local_today(tz), expected_updated_at=state['updated_at']),
                    error_label=error, success='Profile saved.')
                if saved is not None:
                    state['updated_at'] = saved.updated_at
                    heading.set_text(f'{saved.full_name} · {saved.code}')

            ui.button('Save profile', icon='save', on_click=save).props('unelevated no-caps').mark('save-patient')
        with ui.column().classes('lg:col-span-2 gap-4'):
            with ui.card().classes('w-full gap-2'):
                upcoming_title = section_title('Upcoming appointments')
                upcoming = ui.column().classes('w-full gap-1').mark('upcoming')
            with ui.card().classes('w-full gap-2'):
                section_title('Past visits')
                async with get_db().read() as session:
                    visits = await patients.past_visits(session, actor, patient_id)
                if not visits:
                    ui.label('No visits yet.').classes('text-slate-500')
                with ui.column().classes('w-full gap-0 max-h-96 overflow-y-auto').mark('past-visits'):
                    for visit in visits:
                        with ui.row().classes('w-full justify-between border-b py-1'):
                            ui.label(visit.visit_date.strftime('%d/%m/%Y'))
                            ui.label(visit.doctor_name).classes('text-slate-700')
                            ui.label(('walk-in · ' if visit.walk_in else '') + visit.status) \
                                .classes('text-sm text-slate-500')

    async def show_upcoming() -> None:
        today = local_today(tz)
        async with get_db().read() as session:
            rows, total = await appointments.list_range(session, actor, start_day=today,
                                                        end_day=today + timedelta(days=365), tz=tz,
                                                        patient_id=patient_id, limit=20)
        rows = [r for r in rows if r.status.value in ('scheduled', 'confirmed', 'checked_in')]
        upcoming.clear()
        upcoming_title.set_text(f'Upcoming appointments ({len(rows)})')
        with upcoming:
            if not rows:
                ui.label('None booked.').classes('text-slate-500')
            for r in rows:
                with ui.row().classes('w-full items-center justify-between border-b py-1 no-wrap'):
                    with ui.column().classes('gap-0'):
                        ui.label(r.start_at.astimezone(tz).strftime('%a %d/%m/%Y %H:%M')).classes('font-medium')
                        ui.label(f'{r.doctor_name} · {r.services} · {r.status.value.replace("_", " ")}') \
                            .classes('text-sm text-slate-600')
                    if r.status.value in ('scheduled', 'confirmed'):
                        with ui.row().classes('gap-0 no-wrap'):
                            ui.button(icon='edit_calendar', on_click=lambda a=r.id: open_reschedule(actor, a)) \
                                .props('flat round dense aria-label=Reschedule').tooltip('Reschedule')
                            ui.button(icon='event_busy',
                                      on_click=lambda a=r.id: open_cancel(actor, a, patient.full_name)) \
                                .props('flat round dense color=negative aria-label=Cancel').tooltip('Cancel')

    async def show_changes() -> None:
        """Details typed on the booking page that differ from the record: reception checks them with the patient."""
        async with get_db().read() as session:
            pending = await patients.pending_changes(session, actor, patient_id)
        changes.clear()
        changes.visible = bool(pending)
        with changes:
            section_title('Details typed online, to check', len(pending))
            ui.label('The record is unchanged until you accept. Please check with the patient first: whoever typed '
                     'these only needed their name, birth date and phone.').classes('text-sm text-slate-600')
            for change in pending:
                with ui.row().classes('w-full items-center justify-between border-b py-1 gap-2'):
                    with ui.column().classes('gap-0'):
                        ui.label(f'{change.label}: {change.old_value or "(none)"} → {change.new_value}') \
                            .classes('font-medium').mark('pending-change')
                        ui.label(f'{change.source}, {change.created_at.astimezone(tz).strftime("%d/%m/%Y %H:%M")}') \
                            .classes('text-xs text-slate-500')
                    with ui.row().classes('gap-1 no-wrap'):
                        ui.button('Accept', icon='check', on_click=lambda c=change.id: decide(c, True)) \
                            .props('unelevated dense no-caps').mark('accept-change')
                        ui.button('Reject', icon='close', on_click=lambda c=change.id: decide(c, False)) \
                            .props('outline dense no-caps color=negative').mark('reject-change')

    async def decide(change_id: int, accept: bool) -> None:
        record = await staff_action(lambda s: patients.decide_change(s, actor, change_id, accept=accept, now=utcnow()),
                                    success='Accepted: the record is updated.' if accept else
                                    'Rejected: the record stays as it was.')
        if record is not None and accept:  # show the new value; a later save must not count it as someone else's
            form.name.value, form.email.value = record.full_name, record.email or ''
            state['updated_at'] = record.updated_at
            heading.set_text(f'{record.full_name} · {record.code}')
        await show_changes()

    await show_upcoming()
    await show_changes()
    subscribe(AppointmentChanged, show_upcoming)
    subscribe(PatientChanged, lambda event: show_changes() if event.patient_id == patient_id else None)
