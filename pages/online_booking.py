"""The public booking page: patients book themselves from a phone. No staff login; shows only free times."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from nicegui import ui

from clinic_ui import theme, transaction
from clinic_ui.pickers import SlotGrid
from clinic_ui.ratelimit import RateLimiter, client_address, client_key
from clinic_ui.routes import public_page
from clinic_ui.widgets import error_text, language_switch, money, run_action
from models import Service
from models.types import utcnow
from services import booking, clinic_settings, online_booking
from services.booking import Slot
from services.core import i18n
from services.core.errors import DomainError
from services.core.i18n import N_, _
from services.core.settings import Settings
from services.patients import parse_date
from services.text import normalize_phone

DAYS_SHOWN = 7
ANY_DOCTOR = 0
SLOT_LOOKUPS = RateLimiter('slot_lookups', limit=60, window_s=60)  # per address
HOLDS = RateLimiter('holds', limit=15, window_s=600)
BOOKINGS = RateLimiter('bookings', limit=5, window_s=3600)
LINK_OPENS = RateLimiter('link_opens', limit=30, window_s=600)  # the manage page: opening a link (guessing is futile)
LINK_CHANGES = RateLimiter('link_changes', limit=10, window_s=3600)  # moves and cancellations through links
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
        with ui.card().classes('w-full gap-2 scroll-mt-2') as self.card:
            ui.label(_('3. Your details')).classes('font-semibold')
            self.chosen = ui.label('').classes('text-sm text-primary font-medium').mark('chosen-time')
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


def clinic_contact(settings: Settings) -> None:
    """The clinic's phone (a link that dials it) and address, when set."""
    if settings.clinic_phone:
        with ui.row().classes('items-center gap-2 no-wrap'):
            ui.icon('call', size='sm').classes('text-primary')
            ui.link(settings.clinic_phone, f'tel:{normalize_phone(settings.clinic_phone)}') \
                .classes('text-lg font-semibold text-primary min-h-[44px] flex items-center').mark('clinic-phone')
    if settings.clinic_address:
        with ui.row().classes('items-start gap-2 no-wrap'):
            ui.icon('place', size='sm').classes('text-primary')
            ui.label(settings.clinic_address).mark('clinic-address')


def when_text(start, tz: ZoneInfo) -> str:
    start = start.astimezone(tz)
    return _('{day}, {time}').format(day=i18n.day(start.date(), 'full'), time=i18n.clock(start))


def show_confirmation(confirmation: online_booking.Confirmation, settings: Settings) -> None:
    tz = settings.tz
    with ui.card().classes('w-full gap-2 bg-teal-50 scroll-mt-2').mark('online-done') as card:
        ui.label(_('Your appointment is booked')).classes('text-xl font-semibold text-primary')
        ui.label(when_text(confirmation.start_at, tz)).classes('text-lg')
        ui.label(_('{doctor} · room {room}').format(doctor=confirmation.doctor_name, room=confirmation.room)
                 if confirmation.room else confirmation.doctor_name)
        ui.label(_('Reference {reference}').format(reference=confirmation.reference)).classes('font-mono')
        if confirmation.details_to_check:
            ui.label(_('Some details you typed differ from what the clinic has on record: reception will check '
                       'them with you before using them. Until then the clinic uses the contact details it '
                       'already has. To change or cancel, please call the clinic.')).classes('text-slate-600')
        elif confirmation.change_until is not None:
            ui.label(_('A confirmation with a calendar invitation is on its way to {email}. With the link in it '
                       'you can move or cancel the appointment until {until}; or call the clinic.').format(
                email=confirmation.email, until=when_text(confirmation.change_until, tz))).classes('text-slate-600')
        else:
            ui.label(_('A confirmation with a calendar invitation is on its way to {email}. '
                       'To change or cancel, please call the clinic.').format(email=confirmation.email)) \
                .classes('text-slate-600')
        clinic_contact(settings)
    bring_into_view(card)


# after the scroll, unless the person already put the cursor in the form (typing there must stay there)
FOCUS_FIRST_FIELD = ('setTimeout(() => { const f = el.querySelector("input, textarea"); '
                     'if (f && !el.contains(document.activeElement)) f.focus({preventScroll: true}); }, '
                     'calm ? 0 : 450);')


def bring_into_view(element: ui.element, *, focus: bool = False) -> None:
    """Scroll ``element`` smoothly to the top of the screen once it is drawn (at once for people who asked for
    less motion); ``focus``: then put the cursor in its first field. The field is near the element's top, so a
    phone's keyboard, which covers the lower half, leaves it and its label in view; it is focused without another
    scroll, after the smooth one has ended."""
    element.client.run_javascript(f'''
        (() => {{
          let tries = 0;
          const go = () => {{
            const el = document.getElementById("c{element.id}");
            if (!el || !el.offsetParent) {{ if (tries++ < 40) setTimeout(go, 25); return; }}
            const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
            el.scrollIntoView({{behavior: calm ? "auto" : "smooth", block: "start"}});
            {FOCUS_FIRST_FIELD if focus else ''}
          }};
          go();
        }})();
    ''')


class OnlineBooking:
    """Choose, hold a free time for five minutes, type one's details, book. ``key`` stands for the patient's
    connection in the rate limits and the holds."""

    def __init__(self, key: str, services: list[Service], settings: Settings, language: str | None) -> None:
        self.key = key
        self.settings = settings
        self.tz = settings.tz
        self.hold: str | None = None  # the token of the time held for this patient
        self.choice = Choice(services)
        with ui.card().classes('w-full gap-2') as self.time_card:
            self.grid = SlotGrid(self.tz, self.pick, self.free_slots, title=_('2. Choose a time'))
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
        if not await SLOT_LOOKUPS.allow(self.key):
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
        if not await HOLDS.allow(self.key):
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
        self.details.chosen.set_text(_('{day} at {time} with {doctor} is kept for you for 5 minutes.').format(
            day=i18n.day(start.date(), 'full'), time=i18n.clock(start),
            doctor=self.choice.doctors.get(slot.doctor_id, '')))
        self.held.set_text('')
        self.details.card.visible = True
        bring_into_view(self.details.card, focus=True)  # on a phone the form is below the fold

    async def book(self) -> None:
        error = self.details.error
        error.set_text('')
        if self.hold is None:
            error.set_text(_('Please choose a time first.'))
            return
        request = self.details.request()
        if request is None:
            return
        if not await BOOKINGS.allow(self.key):
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
                show_confirmation(confirmation, self.settings)


def clinic_heading(settings: Settings, language: str, target: Callable[[], str] = lambda: '/book?',
                   title: str = N_('Book an appointment')) -> None:
    with ui.row().classes('w-full items-start justify-between no-wrap gap-2'):
        with ui.column().classes('gap-0 min-w-0'):
            ui.label(settings.clinic_name).classes('text-2xl font-semibold text-primary')
            details = ' · '.join(p for p in (settings.clinic_address, settings.clinic_phone) if p)
            if details:
                ui.label(details).classes('text-slate-600')
        language_switch(language, target)
    ui.label(_(title)).classes('text-xl font-semibold')


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
        online = OnlineBooking(key, services, settings, language if language in i18n.LANGUAGES else None)
    if len(services) == 1:
        online.choice.service.set_value(services[0].id)


class ManageBooking:
    """The patient's own booking, opened from the link in their email: see it, move it to another free time of
    the same doctor, or cancel it, until the clinic's cutoff. Every action checks the link again in its own
    transaction; the link of the version shown is kept (a move gives a new one)."""

    def __init__(self, key: str, managed: online_booking.ManagedBooking, settings: Settings) -> None:
        self.key = key
        self.settings = settings
        self.tz = settings.tz
        self.managed = managed
        self.new_time: Slot | None = None
        self.view = ui.column().classes('w-full gap-4')
        self.show()

    def show(self, done: str = '') -> None:
        managed = self.managed
        self.view.clear()
        with self.view:
            with ui.card().classes('w-full gap-2 scroll-mt-2').mark('manage-booking') as card:
                if done:
                    ui.label(done).classes('text-lg font-semibold text-primary').mark('manage-done')
                ui.label(when_text(managed.start_at, self.tz)).classes('text-xl font-semibold').mark('manage-when')
                ui.label(_('{doctor} · room {room}').format(doctor=managed.doctor_name, room=managed.room)
                         if managed.room else managed.doctor_name)
                ui.label(managed.service_name).classes('text-slate-600')
                ui.label(_('Reference {reference}').format(reference=managed.reference)).classes('font-mono')
                if managed.can_change:
                    ui.label(_('You can move or cancel this appointment here until {until}.').format(
                        until=when_text(managed.change_until, self.tz))).classes('text-slate-600')
                else:
                    ui.label(_('Changes online were possible until {until}. To change or cancel now, please call '
                               'the clinic.').format(until=when_text(managed.change_until, self.tz))) \
                        .classes('text-slate-600').mark('manage-too-late')
                clinic_contact(self.settings)
                self.error = error_text()
                if managed.can_change:
                    with ui.column().classes('w-full gap-2'):
                        ui.button(_('Move to another time'), icon='event_repeat', on_click=self.open_times) \
                            .props('unelevated no-caps size=lg').classes('w-full').mark('manage-move')
                        ui.button(_('Cancel the appointment'), icon='event_busy', on_click=self.ask_cancel) \
                            .props('outline no-caps size=lg color=negative').classes('w-full').mark('manage-cancel')
            with ui.card().classes('w-full gap-2 scroll-mt-2') as self.time_card:
                self.grid = SlotGrid(self.tz, self.pick, self.free_slots, title=_('Choose a new time'))
                self.limit = ui.label('').classes('text-sm text-slate-600')
            self.time_card.visible = False
            with ui.card().classes('w-full gap-2 scroll-mt-2 bg-teal-50') as self.move_card:
                self.move_text = ui.label('').classes('text-lg font-medium').mark('manage-new-time')
                self.move_error = error_text()
                ui.button(_('Move to this time'), icon='check', on_click=self.move) \
                    .props('unelevated no-caps size=lg').classes('w-full').mark('manage-move-confirm')
            self.move_card.visible = False
        if done:
            bring_into_view(card)

    async def open_times(self) -> None:
        self.time_card.visible = True
        self.grid.start = max(self.grid.start, self.managed.start_at.astimezone(self.tz).date())
        await self.grid.reload()
        bring_into_view(self.time_card)

    async def free_slots(self, first_day: date) -> dict[date, list[Slot]] | None:
        self.move_card.visible = False
        self.new_time = None
        if not await SLOT_LOOKUPS.allow(self.key):
            self.limit.set_text(_(TOO_MANY))
            return None
        self.limit.set_text('')
        token = self.managed.token
        return await run_action(lambda s: online_booking.free_times_by_link(
            s, token, start_day=first_day, days=DAYS_SHOWN, tz=self.tz, now=utcnow()), write=False,
            error_label=self.limit)

    def pick(self, slot: Slot) -> None:
        self.new_time = slot
        self.move_text.set_text(_('New time: {when}').format(when=when_text(slot.start_at, self.tz)))
        self.move_error.set_text('')
        self.move_card.visible = True
        bring_into_view(self.move_card)

    async def move(self) -> None:
        if self.new_time is None:
            return
        if not await LINK_CHANGES.allow(self.key):
            self.move_error.set_text(_(TOO_MANY))
            return
        token, start_at = self.managed.token, self.new_time.start_at
        moved = await run_action(lambda s: online_booking.move_by_link(s, token, start_at=start_at, tz=self.tz,
                                                                       now=utcnow()), error_label=self.move_error)
        if moved is None:
            await self.grid.reload()  # taken meanwhile: the times as they are now
            return
        self.managed = moved
        self.view.client.run_javascript(  # the old link no longer works: reloading the page shows the new one
            f'history.replaceState(null, "", {json.dumps(manage_path(moved.token))})')
        self.show(_('Your appointment has been moved. A confirmation of the new time is on its way by email.'))

    def ask_cancel(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('gap-3'):
            ui.label(_('Cancel your appointment on {when}?').format(when=when_text(self.managed.start_at, self.tz))) \
                .classes('text-lg font-medium')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Keep it'), on_click=dialog.close).props('flat no-caps')
                ui.button(_('Cancel the appointment'), on_click=lambda: self.cancel(dialog)) \
                    .props('unelevated no-caps color=negative').mark('manage-cancel-confirm')
        dialog.open()

    async def cancel(self, dialog: ui.dialog) -> None:
        dialog.close()
        if not await LINK_CHANGES.allow(self.key):
            self.error.set_text(_(TOO_MANY))
            return
        token = self.managed.token
        cancelled = await run_action(lambda s: online_booking.cancel_by_link(s, token, now=utcnow()),
                                     error_label=self.error)
        if cancelled is None:
            return
        self.view.clear()
        with self.view, ui.card().classes('w-full gap-2').mark('manage-cancelled'):
            ui.label(_('Your appointment has been cancelled')).classes('text-xl font-semibold text-primary')
            ui.label(when_text(cancelled.start_at, self.tz)).classes('line-through text-slate-600')
            ui.label(_('A confirmation is on its way by email. We hope to see you another time.')) \
                .classes('text-slate-600')
            ui.link(_('Book another appointment'), '/book') \
                .classes('text-lg text-primary min-h-[44px] flex items-center')
            clinic_contact(self.settings)


def manage_path(token: str) -> str:
    return f'/book/manage?{urlencode({"token": token})}'


def link_problem(message: str, settings: Settings) -> None:
    with ui.card().classes('w-full gap-2').mark('manage-problem'):
        ui.label(message).classes('text-lg font-medium')
        ui.link(_('Book an appointment'), '/book').classes('text-lg text-primary min-h-[44px] flex items-center')
        clinic_contact(settings)


@public_page('/book/manage', title=N_('Your appointment'))
async def manage_booking_page(request: Request, token: str = ''):
    """Opened from the link in an appointment email; in the language of the link (the booking's), which the
    visitor can switch."""
    settings = clinic_settings.current()
    key = client_key(client_address(request), settings.resolved_storage_secret())
    language = i18n.current()
    theme.apply()
    heading = _('Your appointment')
    ui.page_title(f'{heading} · {settings.clinic_name}')
    with ui.column().classes('w-full max-w-3xl mx-auto p-3 sm:p-6 gap-4'):
        manage: ManageBooking | None = None
        clinic_heading(settings, language, lambda: manage_path(manage.managed.token if manage else token) + '&',
                       N_('Your appointment'))
        if not await LINK_OPENS.allow(key):
            link_problem(_(TOO_MANY), settings)
            return
        try:
            managed = await transaction.read(lambda s: online_booking.open_link(s, token, now=utcnow()))
        except DomainError as refused:  # garbled, forged, expired, stale or cancelled: say which, change nothing
            link_problem(str(refused), settings)
            return
        manage = ManageBooking(key, managed, settings)
