"""The public booking page: patients book themselves from a phone. No staff login; shows only free times."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import Request
from nicegui import ui

from clinic_ui import theme
from clinic_ui.pickers import SlotGrid
from clinic_ui.ratelimit import RateLimiter, client_address, client_key
from clinic_ui.routes import public_page
from clinic_ui.widgets import error_text, money, run_action
from models import Service
from models.types import utcnow
from services import booking, clinic_settings, online_booking
from services.booking import Slot
from services.core import i18n
from services.core.i18n import N_, _
from services.core.settings import Settings
from services.patients import parse_date

DAYS_SHOWN = 7
ANY_DOCTOR = 0
SLOT_LOOKUPS = RateLimiter(limit=60, window_s=60)      # per address
HOLDS = RateLimiter(limit=15, window_s=600)
BOOKINGS = RateLimiter(limit=5, window_s=3600)
TOO_MANY = N_('Too many requests from your connection. Please wait a few minutes, or call the clinic.')


class Choice:
    """1. What do you need: the consultation, and a doctor or any doctor."""

    def __init__(self, services: list[Service]) -> None:
        self.doctors: dict[int, str] = {}
        with ui.card().classes('w-full gap-3'):
            ui.label(_('1. What do you need?')).classes('font-semibold')
            self.service = ui.select({s.id: _('{name} · {minutes} min · {price}').format(
                                          name=i18n.pick(s.name, s.name_translations), minutes=s.duration_minutes,
                                          price=money(s.price))
                                      for s in services}, label=_('Consultation')).props('outlined') \
                .classes('w-full').mark('online-service')
            self.doctor = ui.select({ANY_DOCTOR: _('Any doctor')}, value=ANY_DOCTOR, label=_('Doctor')) \
                .props('outlined').classes('w-full').mark('online-doctor')

    def doctor_ids(self) -> list[int]:
        return list(self.doctors) if self.doctor.value == ANY_DOCTOR else [self.doctor.value]

    async def load_doctors(self) -> None:
        """The doctors who provide the chosen consultation."""
        options = await run_action(lambda s: booking.doctors_for(s, service_id=self.service.value), write=False)
        if options is not None:
            self.doctors = {d.id: d.name for d in options}
            self.doctor.set_options({ANY_DOCTOR: _('Any doctor'), **self.doctors}, value=ANY_DOCTOR)


class Details:
    """3. The patient's details, shown once a time is held."""

    def __init__(self, on_book, language: str | None) -> None:
        self.language = language
        with ui.card().classes('w-full gap-2') as self.card:
            ui.label(_('3. Your details')).classes('font-semibold')
            self.name = ui.input(_('Full name')).props('outlined maxlength=120 autocomplete=name').classes('w-full') \
                .mark('online-name')
            self.phone = ui.input(_('Phone')).props('outlined maxlength=20 inputmode=tel autocomplete=tel') \
                .classes('w-full').mark('online-phone')
            self.email = ui.input(_('Email (the confirmation is sent here)')) \
                .props('outlined maxlength=254 inputmode=email autocomplete=email').classes('w-full') \
                .mark('online-email')
            self.born = ui.input(_('Date of birth (dd/mm/yyyy)')).props('outlined maxlength=10 inputmode=numeric') \
                .classes('w-full').mark('online-dob')
            self.reason = ui.textarea(_('Reason for the visit (optional)')).props('outlined maxlength=500 autogrow') \
                .classes('w-full')
            self.error = error_text()
            ui.button(_('Book'), icon='event_available', on_click=on_book) \
                .props('unelevated no-caps size=lg').classes('w-full').mark('online-confirm')
        self.card.visible = False

    def request(self) -> online_booking.OnlineRequest | None:
        """What the patient typed; None (and the reason shown) when the birth date cannot be read."""
        born_text = (self.born.value or '').strip()
        date_of_birth = parse_date(born_text) if born_text else None
        if born_text and date_of_birth is None:
            self.error.set_text(_('Please write your date of birth as dd/mm/yyyy, e.g. 23/11/1980.'))
            return None
        return online_booking.OnlineRequest(full_name=self.name.value or '', phone=self.phone.value or '',
                                            email=self.email.value or '', date_of_birth=date_of_birth,
                                            reason=self.reason.value or '', language=self.language)


def show_confirmation(confirmation: online_booking.Confirmation, tz: ZoneInfo) -> None:
    with ui.card().classes('w-full gap-1 bg-teal-50').mark('online-done'):
        ui.label(_('Your appointment is booked')).classes('text-xl font-semibold text-primary')
        start = confirmation.start_at.astimezone(tz)
        ui.label(_('{day}, {time}').format(day=i18n.day(start.date(), 'full'), time=i18n.clock(start))) \
            .classes('text-lg')
        ui.label(_('{doctor} · room {room}').format(doctor=confirmation.doctor_name, room=confirmation.room)
                 if confirmation.room else confirmation.doctor_name)
        ui.label(_('Reference {reference}').format(reference=confirmation.reference)).classes('font-mono')
        if confirmation.details_to_check:
            ui.label(_('Some details you typed differ from what the clinic has on record: reception will check '
                       'them with you before using them. Until then the clinic uses the contact details it '
                       'already has. To change or cancel, please call the clinic.')).classes('text-slate-600')
        else:
            ui.label(_('A confirmation with a calendar invitation is on its way to {email}. '
                       'To change or cancel, please call the clinic.').format(email=confirmation.email)) \
                .classes('text-slate-600')


class OnlineBooking:
    """Choose, hold a free time for five minutes, type one's details, book. ``key`` stands for the patient's
    connection in the rate limits and the holds."""

    def __init__(self, key: str, services: list[Service], tz: ZoneInfo, language: str | None) -> None:
        self.key = key
        self.tz = tz
        self.hold: str | None = None  # the token of the time held for this patient
        self.choice = Choice(services)
        with ui.card().classes('w-full gap-2') as self.time_card:
            self.grid = SlotGrid(tz, self.pick, self.free_slots, title=_('2. Choose a time'))
            self.held = ui.label('').classes('text-sm text-slate-600').mark('held')
        self.details = Details(on_book=self.book, language=language)
        self.done = ui.column().classes('w-full')
        self.choice.service.on_value_change(self.choose_service)
        self.choice.doctor.on_value_change(self.grid.reload)

    async def choose_service(self) -> None:
        await self.choice.load_doctors()
        await self.grid.reload()

    async def free_slots(self, first_day: date) -> dict[date, list[Slot]] | None:
        await self.release()
        self.details.card.visible = False
        if self.choice.service.value is None:
            self.held.set_text(_('Choose the consultation first.'))
            return None
        if not SLOT_LOOKUPS.allow(self.key):
            self.held.set_text(_(TOO_MANY))
            return None
        self.held.set_text('')
        return await run_action(lambda s: booking.free_slots(
            s, service_id=self.choice.service.value, doctor_ids=self.choice.doctor_ids(), start_day=first_day,
            days=DAYS_SHOWN, tz=self.tz, now=utcnow(), limit_per_day=30), write=False)

    async def release(self) -> None:
        if self.hold is not None:
            token, self.hold = self.hold, None
            await run_action(lambda s: booking.release_hold(s, token, now=utcnow()))

    async def pick(self, slot: Slot) -> None:
        await self.release()
        if not HOLDS.allow(self.key):
            self.held.set_text(_(TOO_MANY))
            return
        hold = await run_action(lambda s: booking.hold_slot(
            s, doctor_id=slot.doctor_id, service_id=self.choice.service.value, start_at=slot.start_at, tz=self.tz,
            now=utcnow(), client_key=self.key))
        if hold is None:
            await self.grid.reload()
            return
        self.hold = hold.token
        start = slot.start_at.astimezone(self.tz)
        self.held.set_text(_('{day} at {time} with {doctor} is kept for you for 5 minutes.').format(
            day=i18n.day(start.date(), 'full'), time=i18n.clock(start),
            doctor=self.choice.doctors.get(slot.doctor_id, '')))
        self.details.card.visible = True

    async def book(self) -> None:
        error = self.details.error
        error.set_text('')
        if self.hold is None:
            error.set_text(_('Please choose a time first.'))
            return
        request = self.details.request()
        if request is None:
            return
        if not BOOKINGS.allow(self.key):
            error.set_text(_(TOO_MANY))
            return
        hold = self.hold
        confirmation = await run_action(lambda s: online_booking.book(s, hold_token=hold, request=request,
                                                                      tz=self.tz, now=utcnow()), error_label=error)
        if confirmation is not None:
            self.hold = None
            self.details.card.visible = False
            self.time_card.visible = False
            with self.done:
                show_confirmation(confirmation, self.tz)


def language_switch(shown: str) -> None:
    """EN | VI: /book again in the other language (the browser remembers the choice). Big enough for a thumb."""
    label = _('Language')
    with ui.row().classes('items-center gap-0 no-wrap shrink-0').props(f'role=navigation aria-label="{label}"') \
            .mark('language-switch'):
        for index, code in enumerate(i18n.LANGUAGES):
            if index:
                ui.label('|').classes('text-slate-400 px-1')
            button = ui.button(code.upper(), on_click=lambda c=code: ui.navigate.to(f'/book?lang={c}')) \
                .props(f'flat no-caps size=md padding="8px 12px" lang={code} '
                       f'aria-label="{i18n.LANGUAGES[code]}" aria-current={"true" if code == shown else "false"}') \
                .classes('min-w-[48px] min-h-[44px] text-base font-semibold').mark(f'lang-{code}')
            if code == shown:
                button.classes('text-primary underline underline-offset-4')
            else:
                button.classes('text-slate-600')


def clinic_heading(settings: Settings, language: str) -> None:
    with ui.row().classes('w-full items-start justify-between no-wrap gap-2'):
        with ui.column().classes('gap-0 min-w-0'):
            ui.label(settings.clinic_name).classes('text-2xl font-semibold text-primary')
            details = ' · '.join(p for p in (settings.clinic_address, settings.clinic_phone) if p)
            if details:
                ui.label(details).classes('text-slate-600')
        language_switch(language)
    ui.label(_('Book an appointment')).classes('text-xl font-semibold')


@public_page('/book', title=N_('Book an appointment'))
async def online_booking_page(request: Request):
    """In the language chosen with the switch (``?lang=vi``, remembered by the browser), else the clinic's; the
    booking keeps that language (its emails, and a new patient's record)."""
    settings = clinic_settings.current()
    key = client_key(client_address(request), settings.resolved_storage_secret())
    language = i18n.current()  # the visitor's choice or the clinic's (set by the page wrapper, see routes)
    theme.apply()
    heading = _('Book an appointment')
    ui.page_title(f'{heading} · {settings.clinic_name}')
    bookable = await run_action(booking.bookable_services, write=False) or []
    services = [s for s in bookable if s.kind.value == 'consultation']
    with ui.column().classes('w-full max-w-3xl mx-auto p-3 sm:p-6 gap-4'):
        clinic_heading(settings, language)
        online = OnlineBooking(key, services, settings.tz, language if language in i18n.LANGUAGES else None)
    if len(services) == 1:
        online.choice.service.set_value(services[0].id)
