"""Booking at reception: what for (service or complaint), which doctor, which free slot, confirm."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.pickers import SlotGrid
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, money, section_title, staff_action, staff_read
from models import BookingSource
from models.types import utcnow
from services import booking, clinic_settings, patients
from services.access import Actor
from services.booking import Slot
from services.core.db import get_db
from services.core.errors import NotFound

DAYS_SHOWN = 7
ANY_DOCTOR = 0
SOURCES = {BookingSource.PHONE.value: 'Phone', BookingSource.IN_PERSON.value: 'In person'}


@staff_page(RECEPTION, '/reception/book/{patient_id}', title='Book an appointment')
async def book_page(actor: Actor, patient_id: int):
    settings = clinic_settings.current()
    tz = settings.tz
    try:
        async with get_db().read() as session:
            patient = await patients.get(session, actor, patient_id)
            services = await booking.bookable_services(session)
    except NotFound as e:
        ui.label(str(e))
        return
    state: dict = {'slot': None, 'doctors': {}}
    ui.link(f'← {patient.full_name}', f'/reception/patients/{patient_id}')
    section_title(f'Book an appointment for {patient.full_name} · {patient.code}')

    with ui.card().classes('w-full gap-3'):
        with ui.row().classes('w-full gap-3 items-start'):
            service = ui.select({s.id: f'{s.name} · {s.duration_minutes} min · '
                                       f'{money(s.price)}'
                                 for s in services}, label='Service', with_input=True) \
                .props('outlined').classes('grow min-w-[16rem]').mark('service')
            complaint = ui.input('Or: what is the problem? (suggests the doctor)') \
                .props('outlined debounce=400').classes('grow min-w-[16rem]').mark('complaint')
        suggestion = ui.label().classes('text-sm text-slate-600')
        doctor = ui.select({ANY_DOCTOR: 'Any doctor'}, value=ANY_DOCTOR, label='Doctor') \
            .props('outlined').classes('w-full sm:w-[28rem]').mark('doctor')

    with ui.card().classes('w-full gap-2'):
        grid = SlotGrid(tz, lambda slot: choose(slot), lambda first_day: free_slots(first_day))
        chosen = ui.label('Choose a free time above.').classes('text-slate-600').mark('chosen-slot')

    with ui.card().classes('w-full gap-2'):
        with ui.row().classes('w-full gap-3'):
            source = ui.toggle(SOURCES, value=BookingSource.PHONE.value).props('no-caps').mark('source')
        reason = ui.input('Reason for the visit').props('outlined').classes('w-full').mark('reason')
        notes = ui.input('Notes for the doctor or reception').props('outlined').classes('w-full')
        error = error_text()
        ui.button('Book appointment', icon='event_available', on_click=lambda: confirm()) \
            .props('unelevated no-caps size=lg').mark('confirm-booking')

    def choose(slot: Slot) -> None:
        state['slot'] = slot
        chosen.set_text('Chosen: ' + slot.start_at.astimezone(tz).strftime('%A %d/%m/%Y at %H:%M') +
                        f' with {state["doctors"].get(slot.doctor_id, "")}')

    async def load_doctors() -> None:
        async def read(session):
            found = await booking.specialties_for_complaint(session, complaint.value or '') \
                if complaint.value else []
            if found and service.value is None:  # a complaint alone: book that specialty's consultation
                fitting = await booking.consultation_for_specialty(session, found[0].id)
                if fitting is not None:
                    return found, fitting, []
            return found, None, await booking.doctors_for(session, service_id=service.value,
                                                          specialty_ids=[s.id for s in found] or None)

        answer = await staff_read(read)
        if answer is None:
            return
        found, fitting, options = answer
        if fitting is not None:
            service.set_value(fitting.id)  # reloads the doctors through on_value_change
            return
        suggestion.set_text('Suggested specialty: ' + ', '.join(s.name for s in found[:2]) if found else
                            ('No specialty matches these words: choose the service.' if complaint.value else ''))
        state['doctors'] = {d.id: d.name for d in options}
        doctor.set_options({ANY_DOCTOR: 'Any doctor', **{d.id: f'{d.name} — {d.specialties}' for d in options}},
                           value=doctor.value if doctor.value in state['doctors'] else ANY_DOCTOR)
        await grid.reload()

    async def free_slots(first_day):
        state['slot'] = None
        chosen.set_text('Choose a free time above.' if service.value else 'Choose the service first.')
        if service.value is None:
            return None
        ids = list(state['doctors']) if doctor.value == ANY_DOCTOR else [doctor.value]
        return await staff_read(lambda s: booking.free_slots(s, service_id=service.value, doctor_ids=ids,
                                                             start_day=first_day, days=DAYS_SHOWN, tz=tz,
                                                             now=utcnow(), limit_per_day=40))

    async def confirm() -> None:
        slot: Slot | None = state['slot']
        if service.value is None:
            error.set_text('Please choose the service.')
            return
        if slot is None:
            error.set_text('Please choose a free time.')
            return
        appointment = await staff_action(lambda s: booking.book(
            s, actor, patient_id=patient_id, service_id=service.value, doctor_id=slot.doctor_id,
            start_at=slot.start_at, source=BookingSource(source.value), tz=tz, now=utcnow(),
            reason=reason.value or '', notes=notes.value or ''), error_label=error)
        if appointment is None:
            await grid.reload()  # the slot may have been taken meanwhile: show what is free now
            return
        ui.notify('Appointment booked' + (': a confirmation email is on its way.' if patient.email else '.'),
                  type='positive')
        ui.navigate.to(f'/reception/patients/{patient_id}')

    service.on_value_change(load_doctors)
    complaint.on_value_change(load_doctors)
    doctor.on_value_change(grid.reload)
    await load_doctors()
