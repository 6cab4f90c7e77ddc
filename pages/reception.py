"""Reception: find or register patients, today's appointments with check-in, walk-ins and ticket slips."""
from __future__ import annotations

from fastapi.responses import Response
from nicegui import ui

from clinic_ui import appointment_rows
from clinic_ui.live import subscribe
from clinic_ui.pickers import SlotGrid, patient_search
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import data_table, error_text, on_row, section_title, staff_action, staff_read
from models.types import utcnow
from services import appointments, booking, checkin, clinic_settings, documents, patients
from services.access import Actor
from services.booking import Slot
from services.core.clock import local_today
from services.core.db import get_db
from services.core.events import AppointmentChanged, PatientChanged

ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn v-if="props.row.can_check_in" unelevated dense no-caps color="primary" label="Check in" class="q-px-sm"
         @click="$parent.$emit('check_in', props.row.id)" />
  <q-btn v-if="props.row.checked_in" flat dense no-caps color="primary" icon="print" label="Ticket"
         @click="$parent.$emit('ticket', props.row.id)" />
  <q-btn v-if="props.row.can_change" flat dense round icon="more_vert" aria-label="More">
    <q-menu auto-close>
      <q-list style="min-width: 11rem">
        <q-item clickable @click="$parent.$emit('reschedule', props.row.id)"><q-item-section>Reschedule</q-item-section></q-item>
        <q-item clickable @click="$parent.$emit('cancel', props.row.id)"><q-item-section>Cancel…</q-item-section></q-item>
        <q-item clickable @click="$parent.$emit('no_show', props.row.id)"><q-item-section>Did not come</q-item-section></q-item>
      </q-list>
    </q-menu>
  </q-btn>
</q-td>
'''
PRIORITIES = {0: 'Normal', 1: 'Elderly / disability', 2: 'Pregnant / young child', 3: 'Urgent'}



def priority_fields() -> tuple[ui.select, ui.input]:
    """Priority, and the reason that becomes required once a priority is chosen."""
    priority = ui.select(PRIORITIES, value=0, label='Priority').props('outlined dense').classes('w-full')
    reason = ui.input('Why first? (needed for a priority)').props('outlined dense').classes('w-full')
    reason.bind_visibility_from(priority, 'value', backward=bool)
    return priority, reason


def ticket_url(visit_id: int) -> str:
    return f'/reception/tickets/{visit_id}.pdf'


def show_ticket(ticket: checkin.Ticket) -> None:
    """The ticket just issued, big, with a button to print the slip."""
    with ui.dialog() as dialog, ui.card().classes('items-center gap-2 p-6 min-w-[18rem]').mark('ticket-dialog'):
        ui.label(ticket.patient_name).classes('text-lg font-medium')
        ui.label(ticket.label).classes('text-6xl font-bold text-primary').mark('ticket-number')
        ui.label(f'{ticket.queue_name} · {ticket.room}').classes('text-slate-700')
        ui.label(f'Patients ahead: {ticket.waiting_ahead}').classes('text-slate-600')
        with ui.row():
            ui.button('Print ticket', icon='print',
                      on_click=lambda: ui.navigate.to(ticket_url(ticket.visit_id), new_tab=True)) \
                .props('unelevated no-caps')
            ui.button('Done', on_click=dialog.close).props('flat no-caps')
    dialog.open()


async def open_check_in(actor: Actor, appointment_id: int) -> None:
    """Verify the profile (phone, email can be corrected on the spot), choose a priority, check in."""
    settings = clinic_settings.current()
    async with get_db().read() as session:
        detail = await appointments.detail(session, actor, appointment_id)
        patient = await patients.get(session, actor, detail.patient_id)
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('check-in-dialog'):
        ui.label(f'Check in {patient.full_name}').classes('text-xl font-semibold')
        ui.label(' · '.join(p for p in (patient.code, patient.date_of_birth.strftime('%d/%m/%Y')
                                        if patient.date_of_birth else '') if p)).classes('text-slate-600')
        if patient.allergies:
            ui.label(f'Allergies: {patient.allergies}').classes('text-negative font-medium')
        phone = ui.input('Phone', value=patient.phone or '').props('outlined dense').classes('w-full') \
            .mark('check-in-phone')
        email = ui.input('Email', value=patient.email or '').props('outlined dense').classes('w-full') \
            .mark('check-in-email')
        priority, reason = priority_fields()
        error = error_text()

        async def confirm() -> None:
            ticket = await staff_action(lambda s: checkin.check_in(
                s, actor, appointment_id, tz=settings.tz, now=utcnow(), priority=priority.value or 0,
                priority_reason=reason.value or '', phone=phone.value or '', email=email.value or ''),
                error_label=error)
            if ticket is not None:
                dialog.close()
                show_ticket(ticket)

        with ui.row().classes('w-full justify-end'):
            ui.button('Back', on_click=dialog.close).props('flat no-caps')
            ui.button('Check in', on_click=confirm).props('unelevated no-caps').mark('confirm-check-in')
    dialog.open()


async def open_walk_in(actor: Actor, patient_id: int | None = None, patient_name: str = '') -> None:
    """A patient without an appointment: choose the doctor (the complaint suggests specialties), give a ticket."""
    settings = clinic_settings.current()
    chosen = {'patient_id': patient_id}
    async with get_db().read() as session:
        doctors = await booking.doctors_for(session)
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-xl gap-2').mark('walk-in-dialog'):
        ui.label('Walk-in').classes('text-xl font-semibold')
        who = ui.label(patient_name).classes('text-lg font-medium')
        if patient_id is None:
            async def pick(hit: patients.PatientHit) -> None:
                chosen['patient_id'] = hit.id
                who.set_text(f'{hit.full_name} · {hit.code}')
            patient_search(actor, pick, today=local_today(settings.tz))
            ui.link('Not found? Register a new patient', '/reception/patients/new').classes('text-sm')
        complaint = ui.input('What brings them in? (e.g. fever, rash)').props('outlined dense').classes('w-full') \
            .mark('walk-in-complaint')
        suggestion = ui.label().classes('text-sm text-slate-600')
        doctor = ui.select({d.id: f'{d.name} — {d.specialties}' for d in doctors}, label='Doctor') \
            .props('outlined dense').classes('w-full').mark('walk-in-doctor')
        priority, reason = priority_fields()
        error = error_text()

        async def suggest() -> None:
            async def read(session):
                found = await booking.specialties_for_complaint(session, complaint.value or '')
                return found, (await booking.doctors_for(session, specialty_ids=[s.id for s in found]) if found
                               else [])
            answer = await staff_read(read)
            if answer is None:
                return
            found, fitting = answer
            if found:
                suggestion.set_text('Suggested: ' + ', '.join(s.name for s in found[:2]))
                doctor.set_options({d.id: f'{d.name} — {d.specialties}' for d in fitting + [
                    d for d in doctors if d.id not in {f.id for f in fitting}]})
                if fitting and doctor.value is None:
                    doctor.set_value(fitting[0].id)
            else:
                suggestion.set_text('')

        complaint.props('debounce=400')
        complaint.on_value_change(suggest)

        async def confirm() -> None:
            if chosen['patient_id'] is None:
                error.set_text('Please find the patient first (or register them).')
                return
            if doctor.value is None:
                error.set_text('Please choose the doctor.')
                return
            ticket = await staff_action(lambda s: checkin.walk_in(
                s, actor, patient_id=chosen['patient_id'], doctor_id=doctor.value, tz=settings.tz, now=utcnow(),
                reason=complaint.value or '', priority=priority.value or 0, priority_reason=reason.value or ''),
                error_label=error)
            if ticket is not None:
                dialog.close()
                show_ticket(ticket)

        with ui.row().classes('w-full justify-end'):
            ui.button('Back', on_click=dialog.close).props('flat no-caps')
            ui.button('Give a ticket', on_click=confirm).props('unelevated no-caps').mark('confirm-walk-in')
    dialog.open()


async def open_reschedule(actor: Actor, appointment_id: int) -> None:
    settings = clinic_settings.current()
    async with get_db().read() as session:
        detail = await appointments.detail(session, actor, appointment_id)
        doctors = {d.id: d.name for d in await booking.doctors_for(session, service_id=detail.service_id)}
    picked: dict[str, Slot | None] = {'slot': None}
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-4xl gap-2').mark('reschedule-dialog'):
        ui.label('Reschedule').classes('text-xl font-semibold')
        ui.label('Now: ' + detail.start_at.astimezone(settings.tz).strftime('%a %d/%m/%Y %H:%M')) \
            .classes('text-slate-600')
        doctor = ui.select(doctors, value=detail.doctor_id, label='Doctor').props('outlined dense') \
            .classes('w-full sm:w-96')
        grid = SlotGrid(settings.tz, lambda slot: picked.update(slot=slot), lambda first_day: free(first_day))
        error = error_text()

        async def free(first_day):
            picked['slot'] = None
            async with get_db().read() as session:
                return await booking.free_slots(session, service_id=detail.service_id, doctor_ids=[doctor.value],
                                                start_day=first_day, days=7, tz=settings.tz, now=utcnow())

        doctor.on_value_change(grid.reload)

        async def confirm() -> None:
            slot = picked['slot']
            if slot is None:
                error.set_text('Please choose the new time.')
                return
            done = await staff_action(lambda s: booking.reschedule(
                s, actor, appointment_id, start_at=slot.start_at, doctor_id=slot.doctor_id, tz=settings.tz,
                now=utcnow()), error_label=error, success='Appointment moved. The patient gets an email if we have '
                                                          'their address.')
            if done is not None:
                dialog.close()
            else:
                await grid.reload()

        with ui.row().classes('w-full justify-end'):
            ui.button('Back', on_click=dialog.close).props('flat no-caps')
            ui.button('Move appointment', on_click=confirm).props('unelevated no-caps').mark('confirm-reschedule')
    await grid.reload()
    dialog.open()


def open_cancel(actor: Actor, appointment_id: int, label: str) -> None:
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('cancel-dialog'):
        ui.label(f'Cancel the appointment of {label}?').classes('text-lg font-semibold')
        reason = ui.input('Reason (required)').props('outlined autofocus').classes('w-full').mark('cancel-reason')
        error = error_text()

        async def confirm() -> None:
            done = await staff_action(lambda s: booking.cancel(s, actor, appointment_id, reason=reason.value or '',
                                                               now=utcnow()),
                                      error_label=error, success='Appointment cancelled.')
            if done is not None:
                dialog.close()

        with ui.row().classes('w-full justify-end'):
            ui.button('Keep it', on_click=dialog.close).props('flat no-caps')
            ui.button('Cancel appointment', on_click=confirm).props('unelevated no-caps color=negative') \
                .mark('confirm-cancel')
    dialog.open()


@staff_page(RECEPTION)
async def reception_page(actor: Actor):
    settings = clinic_settings.current()
    today = local_today(settings.tz)
    with ui.row().classes('w-full items-start gap-3'):
        with ui.column().classes('grow min-w-[18rem] gap-1'):
            patient_search(actor, lambda hit: ui.navigate.to(f'/reception/patients/{hit.id}'), today=today,
                           autofocus=True)
        with ui.row().classes('gap-2'):
            ui.button('New patient', icon='person_add', on_click=lambda: ui.navigate.to('/reception/patients/new')) \
                .props('unelevated no-caps size=lg').mark('new-patient')
            ui.button('Walk-in', icon='directions_walk', on_click=lambda: open_walk_in(actor)) \
                .props('outline no-caps size=lg').mark('walk-in')
    with ui.row().classes('w-full items-baseline justify-between'):
        rows = await appointment_rows.todays_rows(actor)
        title = section_title("Today's appointments", len(rows))
        with ui.row().classes('items-baseline gap-4'):
            ui.label(today.strftime('%A %d %B %Y')).classes('text-slate-600')
            ui.link('All appointments', '/reception/appointments')
            ui.link('Queues', '/reception/queues')
            ui.link('Email outbox', '/outbox')
    to_check = ui.row().classes('w-full items-baseline gap-x-3 gap-y-0 rounded bg-amber-50 px-3 py-1') \
        .mark('changes-to-check')
    table = data_table([*appointment_rows.COLUMNS, {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False}], rows,
                       empty='No appointments today.', mark='appointments')
    table.add_slot('body-cell-actions', ACTIONS_SLOT)


    async def on_ticket(row: dict) -> None:
        async with get_db().read() as session:
            visit_id = await checkin.visit_of_appointment(session, actor, row['id'])
        if visit_id is not None:
            ui.navigate.to(ticket_url(visit_id), new_tab=True)

    async def on_no_show(row: dict) -> None:
        await staff_action(lambda s: booking.mark_no_show(s, actor, row['id'], now=utcnow()),
                           success=f'{row["patient_name"]} marked as not come.')

    on_row(table, 'check_in', lambda row: open_check_in(actor, row['id']))
    on_row(table, 'reschedule', lambda row: open_reschedule(actor, row['id']))
    on_row(table, 'cancel', lambda row: open_cancel(actor, row['id'], row['patient_name']))
    on_row(table, 'no_show', on_no_show)
    on_row(table, 'ticket', on_ticket)

    async def refresh() -> None:
        fresh = await appointment_rows.todays_rows(actor)
        if fresh == table.rows:
            return
        table.rows = fresh
        title.set_text(f"Today's appointments ({len(fresh)})")

    async def show_changes_to_check() -> None:
        """Details typed on the booking page wait for reception: how many, and whose pages to open."""
        async with get_db().read() as session:
            total, people = await patients.patients_with_pending_changes(session, actor, limit=5)
        to_check.clear()
        to_check.visible = total > 0
        with to_check:
            ui.label(f'Details typed online to check: {total}').classes('font-medium')
            for person in people:
                ui.link(f'{person.full_name} · {person.code}', f'/reception/patients/{person.patient_id}')

    await show_changes_to_check()
    subscribe(AppointmentChanged, refresh)
    subscribe(PatientChanged, show_changes_to_check)


@staff_file(RECEPTION, '/reception/tickets/{visit_id}.pdf')
async def ticket_pdf(actor: Actor, visit_id: int):
    settings = clinic_settings.current()
    async with get_db().read() as session:
        ticket = await checkin.ticket_for_visit(session, actor, visit_id)
    pdf = await documents.render_ticket_slip(
        clinic_name=settings.clinic_name, ticket=ticket.label, patient_name=ticket.patient_name,
        doctor=ticket.queue_name, room=ticket.room, issued_at_local=ticket.issued_at.astimezone(settings.tz),
        waiting_ahead=ticket.waiting_ahead)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="ticket-{ticket.label}.pdf"'})
