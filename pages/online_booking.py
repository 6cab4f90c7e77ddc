"""The public booking page: patients book themselves from a phone. No staff login; shows only free times."""
from __future__ import annotations

from fastapi import Request
from nicegui import ui

from clinic_ui import theme
from clinic_ui.pickers import SlotGrid
from clinic_ui.ratelimit import RateLimiter, client_address, client_key
from clinic_ui.routes import public_page
from clinic_ui.widgets import error_text, money, run_action
from models.types import utcnow
from services import booking, clinic_settings, online_booking
from services.booking import Slot
from services.core.db import get_db
from services.patients import parse_date

DAYS_SHOWN = 7
ANY_DOCTOR = 0
SLOT_LOOKUPS = RateLimiter(limit=60, window_s=60)      # per address
HOLDS = RateLimiter(limit=15, window_s=600)
BOOKINGS = RateLimiter(limit=5, window_s=3600)
TOO_MANY = 'Too many requests from your connection. Please wait a few minutes, or call the clinic.'



@public_page('/book', title='Book an appointment')
async def online_booking_page(request: Request):
    settings = clinic_settings.current()
    tz = settings.tz
    key = client_key(client_address(request), settings.resolved_storage_secret())
    theme.apply()
    ui.page_title(f'Book an appointment · {settings.clinic_name}')
    async with get_db().read() as session:
        services = [s for s in await booking.bookable_services(session) if s.kind.value == 'consultation']
    state: dict = {'hold': None, 'doctors': {}}

    with ui.column().classes('w-full max-w-3xl mx-auto p-3 sm:p-6 gap-4'):
        with ui.column().classes('gap-0'):
            ui.label(settings.clinic_name).classes('text-2xl font-semibold text-primary')
            details = ' · '.join(p for p in (settings.clinic_address, settings.clinic_phone) if p)
            if details:
                ui.label(details).classes('text-slate-600')
        ui.label('Book an appointment').classes('text-xl font-semibold')

        with ui.card().classes('w-full gap-3'):
            ui.label('1. What do you need?').classes('font-semibold')
            service = ui.select({s.id: f'{s.name} · {s.duration_minutes} min · '
                                       f'{money(s.price)}'
                                 for s in services}, label='Consultation').props('outlined').classes('w-full') \
                .mark('online-service')
            doctor = ui.select({ANY_DOCTOR: 'Any doctor'}, value=ANY_DOCTOR, label='Doctor') \
                .props('outlined').classes('w-full').mark('online-doctor')

        with ui.card().classes('w-full gap-2') as time_card:
            grid = SlotGrid(tz, lambda slot: pick(slot), lambda first_day: free_slots(first_day),
                            title='2. Choose a time')
            held = ui.label('').classes('text-sm text-slate-600').mark('held')

        with ui.card().classes('w-full gap-2') as form_card:
            ui.label('3. Your details').classes('font-semibold')
            name = ui.input('Full name').props('outlined maxlength=120 autocomplete=name').classes('w-full') \
                .mark('online-name')
            phone = ui.input('Phone').props('outlined maxlength=20 inputmode=tel autocomplete=tel') \
                .classes('w-full').mark('online-phone')
            email = ui.input('Email (the confirmation is sent here)') \
                .props('outlined maxlength=254 inputmode=email autocomplete=email').classes('w-full') \
                .mark('online-email')
            born = ui.input('Date of birth (dd/mm/yyyy)').props('outlined maxlength=10 inputmode=numeric') \
                .classes('w-full').mark('online-dob')
            reason = ui.textarea('Reason for the visit (optional)').props('outlined maxlength=500 autogrow') \
                .classes('w-full')
            error = error_text()
            ui.button('Book', icon='event_available', on_click=lambda: confirm()) \
                .props('unelevated no-caps size=lg').classes('w-full').mark('online-confirm')
        form_card.visible = False
        done = ui.column().classes('w-full')

    async def load_doctors() -> None:
        async with get_db().read() as session:
            options = await booking.doctors_for(session, service_id=service.value)
        state['doctors'] = {d.id: d.name for d in options}
        doctor.set_options({ANY_DOCTOR: 'Any doctor', **{d.id: d.name for d in options}}, value=ANY_DOCTOR)
        await grid.reload()

    async def free_slots(first_day):
        await release()
        form_card.visible = False
        if service.value is None:
            held.set_text('Choose the consultation first.')
            return None
        if not SLOT_LOOKUPS.allow(key):
            held.set_text(TOO_MANY)
            return None
        held.set_text('')
        ids = list(state['doctors']) if doctor.value == ANY_DOCTOR else [doctor.value]
        async with get_db().read() as session:
            return await booking.free_slots(session, service_id=service.value, doctor_ids=ids, start_day=first_day,
                                            days=DAYS_SHOWN, tz=tz, now=utcnow(), limit_per_day=30)

    async def release() -> None:
        if state['hold'] is not None:
            token, state['hold'] = state['hold'], None
            await run_action(lambda s: booking.release_hold(s, token, now=utcnow()))

    async def pick(slot: Slot) -> None:
        await release()
        if not HOLDS.allow(key):
            held.set_text(TOO_MANY)
            return
        hold = await run_action(lambda s: booking.hold_slot(s, doctor_id=slot.doctor_id, service_id=service.value,
                                                            start_at=slot.start_at, tz=tz, now=utcnow(),
                                                            client_key=key))
        if hold is None:
            await grid.reload()
            return
        state['hold'] = hold.token
        held.set_text(f'{slot.start_at.astimezone(tz).strftime("%A %d/%m/%Y at %H:%M")} with '
                      f'{state["doctors"].get(slot.doctor_id, "")} is kept for you for 5 minutes.')
        form_card.visible = True

    async def confirm() -> None:
        error.set_text('')
        if state['hold'] is None:
            error.set_text('Please choose a time first.')
            return
        born_text = (born.value or '').strip()
        date_of_birth = parse_date(born_text) if born_text else None
        if born_text and date_of_birth is None:
            error.set_text('Please write your date of birth as dd/mm/yyyy, e.g. 23/11/1980.')
            return
        if not BOOKINGS.allow(key):
            error.set_text(TOO_MANY)
            return
        request_data = online_booking.OnlineRequest(full_name=name.value or '', phone=phone.value or '',
                                                    email=email.value or '', date_of_birth=date_of_birth,
                                                    reason=reason.value or '')
        confirmation = await run_action(lambda s: online_booking.book(
            s, hold_token=state['hold'], request=request_data, tz=tz, now=utcnow()), error_label=error)
        if confirmation is None:
            return
        state['hold'] = None
        form_card.visible = False
        time_card.visible = False
        with done, ui.card().classes('w-full gap-1 bg-teal-50').mark('online-done'):
            ui.label('Your appointment is booked').classes('text-xl font-semibold text-primary')
            ui.label(confirmation.start_at.astimezone(tz).strftime('%A %d %B %Y, %H:%M')).classes('text-lg')
            ui.label(f'{confirmation.doctor_name}' + (f' · room {confirmation.room}' if confirmation.room else ''))
            ui.label(f'Reference {confirmation.reference}').classes('font-mono')
            if confirmation.details_to_check:
                ui.label('Some details you typed differ from what the clinic has on record: reception will check '
                         'them with you before using them. Until then the clinic uses the contact details it '
                         'already has. To change or cancel, please call the clinic.').classes('text-slate-600')
            else:
                ui.label(f'A confirmation with a calendar invitation is on its way to {confirmation.email}. '
                         'To change or cancel, please call the clinic.').classes('text-slate-600')

    service.on_value_change(load_doctors)
    doctor.on_value_change(grid.reload)
    if len(services) == 1:
        service.set_value(services[0].id)
