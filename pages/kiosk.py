"""The self check-in kiosk: a tablet at the entrance (1280×800, touch), opened with an admin-issued kiosk key
(``/kiosk?key=...``), no staff session.

The patient shows the QR code of their appointment email (to the camera, where the browser reads QR codes, or to a
USB/Bluetooth scanner, which types the code and Enter into the focused input) or types their phone number and date
of birth on the big keypad; confirms today's appointment; gets their ticket on the screen, with a QR code of their
live ticket page and a button to print the slip. If the clinic allows it, a known patient without an appointment
takes a walk-in ticket. Vietnamese and English at a tap; after ``IDLE_S`` seconds without a touch the kiosk returns
to its start screen in its own language and forgets the previous patient. The rules are in ``services.kiosk``.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from nicegui import context, ui

from clinic_ui import theme, transaction
from clinic_ui.i18n import show_in
from clinic_ui.live import subscribe
from clinic_ui.routes import public_file, public_page
from models.types import utcnow
from services import clinic_settings, documents, kiosk, qr, queue, ticket_links
from services.core import i18n
from services.core.errors import DomainError
from services.core.events import DisplayKeyRevoked
from services.core.i18n import N_, _
from services.core.settings import Settings
from services.display_keys import DisplayScope

log = logging.getLogger(__name__)

KIOSK_JS = (Path(__file__).resolve().parent.parent / 'assets' / 'kiosk' / 'kiosk.js').read_text(encoding='utf-8')
IDLE_S = 60.0          # back to the start screen after this long without a touch
IDLE_CHECK_S = 2.0
SLIP_PATH = '/kiosk/slip.pdf'
PHONE_DIGITS = 15
LANGUAGE_NAMES = {'vi': 'Tiếng Việt', 'en': 'English'}

CSS = '''
body { background: #f1f5f9; }
.nicegui-content { padding: 0; }
.kiosk { min-height: 100vh; display: flex; flex-direction: column; user-select: none; }
.kiosk-head { background: #0f766e; color: #fff; padding: 14px 28px; }
.kiosk-body { flex: 1; padding: 20px 28px; }
.kiosk-big .q-btn__content { font-size: 1.6rem; font-weight: 600; }
.kiosk-key { width: 100%; min-height: 80px; }
.kiosk-key .q-btn__content { font-size: 2.2rem; font-weight: 600; }
.kiosk-field { border: 3px solid #cbd5e1; border-radius: 14px; background: #fff; padding: 10px 18px;
               font-size: 2.4rem; font-variant-numeric: tabular-nums; min-height: 76px; cursor: pointer; }
.kiosk-field.kiosk-active { border-color: #0f766e; box-shadow: 0 0 0 4px #99f6e4; }
.kiosk-camera video { width: 100%; max-height: 230px; object-fit: cover; border-radius: 12px; background: #0f172a;
                      display: none; }
.kiosk-camera.kiosk-camera-on video { display: block; }
.kiosk-error { font-size: 1.5rem; color: #b91c1c; font-weight: 600; min-height: 2rem; }
.kiosk-ticket { font-size: 9rem; line-height: 1; font-weight: 800; color: #0f766e; letter-spacing: .02em; }
'''


def slip_url(key: str, token: str, language: str) -> str:
    return f'{SLIP_PATH}?{urlencode({"key": key, "t": token, "lang": language})}'


def printable(text: str) -> str:
    """What a scanner typed, without control characters (some send a tab or a prefix byte before the code)."""
    return ''.join(ch for ch in (text or '') if ch.isprintable()).strip()


def clock(moment) -> str:
    return moment.astimezone(clinic_settings.current().tz).strftime('%H:%M')


def birth_text(digits: str) -> str:
    """``17051980`` as typed so far -> ``17/05/1980``."""
    return '/'.join(part for part in (digits[:2], digits[2:4], digits[4:8]) if part)


def birth_date(digits: str) -> date | None:
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None


class Kiosk:
    """One kiosk tab: a header with the language switch, and one screen at a time below it."""

    def __init__(self, key: str, scope: DisplayScope, settings: Settings, base_url: str) -> None:
        self.key, self.scope, self.base_url = key, scope, base_url
        self.home_language = i18n.normalize(scope.language) or i18n.normalize(settings.language) or 'vi'
        self.language = show_in(self.home_language)
        self.last_touch = time.monotonic()
        self.at_start = True
        self.redraw: Callable[[], None] = self.start
        self.phone = ''
        self.born = ''
        self.field = 'phone'
        self.scanner: ui.input | None = None
        self.error: ui.label | None = None
        self.busy = False
        self.client = context.client
        with ui.element('div').classes('kiosk w-full').mark('kiosk'):
            self.head = ui.row().classes('kiosk-head w-full items-center justify-between no-wrap')
            self.body = ui.column().classes('kiosk-body w-full gap-4')
        self.draw_head()
        self.start()
        ui.timer(IDLE_CHECK_S, self.check_idle)
        ui.on('kiosk_code', self.camera_code)

    # ------------------------------------------------------------------ frame

    def draw_head(self) -> None:
        self.head.clear()
        with self.head:
            ui.label(clinic_settings.current().clinic_name).classes('text-3xl font-bold')
            with ui.row().classes('gap-2 no-wrap'):
                for code, name in LANGUAGE_NAMES.items():
                    button = ui.button(name, on_click=lambda c=code: self.choose_language(c)) \
                        .props(f'no-caps unelevated lang={code} padding="12px 22px"') \
                        .classes('text-xl min-h-[60px]').mark(f'kiosk-lang-{code}')
                    button.props('color=white text-color=primary' if code == self.language
                                 else 'outline color=white')

    def choose_language(self, code: str) -> None:
        self.touch()
        self.language = show_in(code)
        self.draw_head()
        self.redraw()

    def touch(self) -> None:
        self.last_touch = time.monotonic()

    def screen(self, redraw: Callable[[], None], *, start: bool = False) -> ui.column:
        """Clear the body for a new screen; ``redraw`` draws it again (another language)."""
        self.redraw, self.at_start = redraw, start
        self.body.clear()
        self.client.run_javascript('clinicKiosk.startCamera()' if start else 'clinicKiosk.stopCamera()')
        return self.body

    def error_label(self) -> ui.label:
        return ui.label().classes('kiosk-error').props('role=alert').mark('kiosk-error')

    async def run(self, call: Callable[[Any], Awaitable[Any]], error: ui.label, *, write: bool = True) -> Any:
        """A service call; a refusal is shown in ``error`` (nothing changed), the result returned otherwise. One
        at a time: a second tap while the first is under way does nothing."""
        self.touch()
        if self.busy:
            return None
        self.busy = True
        error.set_text('')
        try:
            return await (transaction.write(call) if write else transaction.read(call))
        except DomainError as refused:
            error.set_text(str(refused))
        except Exception:  # noqa: BLE001 - the patient gets a message, the log gets the trace
            log.exception('kiosk: a request failed')
            error.set_text(_('Something went wrong. Please ask at reception.'))
        finally:
            self.busy = False
        return None

    async def check_idle(self) -> None:
        if time.monotonic() - self.last_touch < IDLE_S:
            return
        if not self.at_start or self.language != self.home_language or self.phone or self.born \
                or (self.scanner is not None and self.scanner.value) or self.error.text:
            self.reset()

    def reset(self) -> None:
        """Back to the start, in the kiosk's own language: nothing of the previous patient stays."""
        self.touch()
        self.phone = self.born = ''
        self.field = 'phone'
        self.language = show_in(self.home_language)
        self.draw_head()
        self.start()

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        self.phone = self.born = ''
        with self.screen(self.start, start=True):
            ui.label(_('Welcome! Check in for your appointment here.')).classes('text-4xl font-bold') \
                .mark('kiosk-welcome')
            with ui.element('div').classes('w-full grid grid-cols-2 gap-6'):
                with ui.card().classes('p-6 gap-3 items-stretch'):
                    with ui.row().classes('items-center gap-3 no-wrap'):
                        ui.icon('qr_code_scanner', size='56px').classes('text-primary')
                        ui.label(_('Show the QR code from your appointment email')).classes('text-2xl font-semibold')
                    ui.label(_('Hold it in front of the camera, or under the scanner.')).classes('text-xl')
                    with ui.element('div').classes('kiosk-camera w-full').mark('kiosk-camera'):
                        ui.element('video').props('muted playsinline')
                    self.scanner = ui.input(_('Check-in code')).props('outlined inputmode=none autocomplete=off '
                                                                      'spellcheck=false') \
                        .classes('kiosk-scanner w-full text-lg').mark('kiosk-scanner')
                    self.scanner.on('keydown.enter', self.scanned)
                with ui.card().classes('p-6 gap-4 items-stretch'):
                    with ui.row().classes('items-center gap-3 no-wrap'):
                        ui.icon('dialpad', size='56px').classes('text-primary')
                        ui.label(_('No QR code?')).classes('text-2xl font-semibold')
                    ui.label(_('Type your phone number and date of birth.')).classes('text-xl')
                    ui.button(_('Phone number and date of birth'), icon='phone_iphone', on_click=self.phone_screen) \
                        .props('unelevated no-caps padding="22px 20px"').classes('kiosk-big w-full') \
                        .mark('kiosk-by-phone')
            self.error = self.error_label()
            ui.label(_('No appointment? Type your phone number and date of birth to take a ticket, or go to '
                       'reception.') if clinic_settings.current().kiosk_walk_ins else
                     _('No appointment? Please go to reception.')).classes('text-xl text-slate-600') \
                .mark('kiosk-walk-in-note')

    async def scanned(self) -> None:
        text = printable(self.scanner.value)
        self.scanner.value = ''
        await self.code_entered(text)

    async def camera_code(self, event) -> None:
        if self.at_start:
            await self.code_entered(printable(str(event.args)))

    async def code_entered(self, code: str) -> None:
        if not code:
            return
        settings = clinic_settings.current()
        found = await self.run(lambda s: kiosk.find_by_code(s, self.key, code, now=utcnow(), settings=settings),
                               self.error, write=False)
        if found is not None:
            self.confirm(found, {'code': code})

    # ------------------------------------------------------------------ phone and date of birth

    def phone_screen(self) -> None:
        self.touch()
        with self.screen(self.phone_screen):
            ui.label(_('Your phone number and date of birth')).classes('text-3xl font-bold')
            with ui.row().classes('w-full gap-8 no-wrap items-start'):
                with ui.column().classes('w-1/2 gap-3'):
                    ui.label(_('Phone number')).classes('text-xl font-medium')
                    self.phone_field = ui.label().classes('kiosk-field w-full').mark('kiosk-phone')
                    self.phone_field.on('click', lambda: self.select_field('phone'))
                    ui.label(_('Date of birth (day / month / year)')).classes('text-xl font-medium')
                    self.born_field = ui.label().classes('kiosk-field w-full').mark('kiosk-birth')
                    self.born_field.on('click', lambda: self.select_field('born'))
                    self.error = self.error_label()
                    with ui.row().classes('w-full gap-3 no-wrap'):
                        ui.button(_('Back'), icon='arrow_back', on_click=self.reset) \
                            .props('outline no-caps padding="18px 24px"').classes('kiosk-big').mark('kiosk-back')
                        ui.button(_('Find my appointment'), icon='search', on_click=self.find_by_phone) \
                            .props('unelevated no-caps padding="18px 24px"').classes('kiosk-big grow') \
                            .mark('kiosk-find')
                with ui.element('div').classes('w-1/2 grid grid-cols-3 gap-3'):
                    for label in ('1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0', '→'):
                        mark = {'⌫': 'kiosk-key-back', '→': 'kiosk-key-next'}.get(label, f'kiosk-key-{label}')
                        ui.button(label, on_click=lambda k=label: self.keypad(k)) \
                            .props('unelevated no-caps color=white text-color=dark') \
                            .classes('kiosk-key shadow').mark(mark)
        self.show_fields()

    def select_field(self, field: str) -> None:
        self.touch()
        self.field = field
        self.show_fields()

    def show_fields(self) -> None:
        self.phone_field.set_text(self.phone)
        self.born_field.set_text(birth_text(self.born) or _('DD/MM/YYYY'))
        self.born_field.classes(replace='kiosk-field w-full' + ('' if self.born else ' text-slate-400'))
        for field, element in (('phone', self.phone_field), ('born', self.born_field)):
            element.classes(add='kiosk-active') if self.field == field else element.classes(remove='kiosk-active')

    def keypad(self, key: str) -> None:
        self.touch()
        if key == '→':
            self.field = 'born' if self.field == 'phone' else 'phone'
        elif self.field == 'phone':
            self.phone = self.phone[:-1] if key == '⌫' else (self.phone + key)[:PHONE_DIGITS]
        else:
            self.born = self.born[:-1] if key == '⌫' else (self.born + key)[:8]
        self.show_fields()

    async def find_by_phone(self) -> None:
        born = birth_date(self.born)
        if born is None:
            self.error.set_text(_('Please type your date of birth as day, month and year, e.g. 17/05/1980.'))
            self.field = 'born'
            self.show_fields()
            return
        if len(self.phone) < 6:
            self.error.set_text(_('Please type your phone number.'))
            self.field = 'phone'
            self.show_fields()
            return
        settings = clinic_settings.current()
        phone = self.phone
        match = await self.run(lambda s: kiosk.find_by_phone(s, self.key, phone, born, now=utcnow(),
                                                             settings=settings), self.error)
        if match is None:
            return
        proof = {'phone': phone, 'birth_date': born}
        if len(match.appointments) == 1:
            self.confirm(match.appointments[0], proof)
        elif match.appointments:
            self.choose(match.appointments, proof)
        else:
            await self.walk_in_screen(proof)

    # ------------------------------------------------------------------ confirm and check in

    def appointment_card(self, found: kiosk.Found) -> None:
        with ui.row().classes('items-center gap-8 no-wrap'):
            ui.label(clock(found.start_at)).classes('text-6xl font-bold text-primary').mark('kiosk-time')
            with ui.column().classes('gap-1'):
                ui.label(found.initials).classes('text-3xl font-semibold').mark('kiosk-initials')
                ui.label(found.doctor).classes('text-2xl').mark('kiosk-doctor')
                if found.room:
                    ui.label(_('Room: {room}').format(room=found.room)).classes('text-xl text-slate-600')

    def confirm(self, found: kiosk.Found, proof: dict) -> None:
        with self.screen(lambda: self.confirm(found, proof)):
            ui.label(_('Is this your appointment today?') if not found.refusal else _('Your appointment')) \
                .classes('text-4xl font-bold').mark('kiosk-confirm-title')
            with ui.card().classes('p-8 w-full max-w-3xl'):
                self.appointment_card(found)
            self.error = self.error_label()
            if found.refusal:
                self.error.set_text(found.refusal)
                ui.button(_('Back to the start'), icon='home', on_click=self.reset) \
                    .props('unelevated no-caps padding="20px 32px"').classes('kiosk-big').mark('kiosk-back')
                return
            with ui.row().classes('gap-4'):
                ui.button(_('Yes, check me in'), icon='check_circle',
                          on_click=lambda: self.check_in(found, proof)) \
                    .props('unelevated no-caps color=positive padding="22px 40px"').classes('kiosk-big') \
                    .mark('kiosk-check-in')
                ui.button(_('No, go back'), icon='arrow_back', on_click=self.reset) \
                    .props('outline no-caps padding="22px 32px"').classes('kiosk-big').mark('kiosk-back')

    def choose(self, appointments: tuple[kiosk.Found, ...], proof: dict) -> None:
        with self.screen(lambda: self.choose(appointments, proof)):
            ui.label(_('Your appointments today')).classes('text-4xl font-bold')
            self.error = self.error_label()
            for found in appointments:
                with ui.card().classes('p-6 w-full max-w-4xl'):
                    with ui.row().classes('w-full items-center justify-between no-wrap'):
                        self.appointment_card(found)
                        if found.refusal:
                            ui.label(found.refusal).classes('text-lg text-negative max-w-xs')
                        else:
                            ui.button(_('Check in'), icon='check_circle',
                                      on_click=lambda f=found: self.check_in(f, proof)) \
                                .props('unelevated no-caps color=positive padding="18px 28px"') \
                                .classes('kiosk-big').mark('kiosk-check-in')
            ui.button(_('Back to the start'), icon='home', on_click=self.reset) \
                .props('outline no-caps padding="18px 28px"').classes('kiosk-big').mark('kiosk-back')

    async def check_in(self, found: kiosk.Found, proof: dict) -> None:
        settings = clinic_settings.current()
        ticket = await self.run(lambda s: kiosk.check_in(s, self.key, found.appointment_id, now=utcnow(),
                                                         settings=settings, **proof), self.error)
        if ticket is not None:
            self.ticket(ticket)

    # ------------------------------------------------------------------ walk-in

    async def walk_in_screen(self, proof: dict) -> None:
        settings = clinic_settings.current()
        doctors = await self.run(lambda s: kiosk.walk_in_doctors(s, self.key, now=utcnow(), settings=settings),
                                 self.error, write=False)
        if doctors is not None:
            self.walk_in_choice(doctors, proof)

    def walk_in_choice(self, doctors: list[kiosk.KioskDoctor], proof: dict) -> None:
        with self.screen(lambda: self.walk_in_choice(doctors, proof)):
            ui.label(_('You have no appointment today.')).classes('text-4xl font-bold').mark('kiosk-walk-in')
            ui.label(_('Choose a doctor to take a ticket:') if doctors else
                     _('No doctor takes walk-ins now. Please ask at reception.')).classes('text-2xl')
            self.error = self.error_label()
            with ui.element('div').classes('w-full grid grid-cols-2 gap-4'):
                for doctor in doctors:
                    wait = _('≈ {minutes} min').format(minutes=doctor.wait_minutes) if doctor.wait_minutes else \
                        _('No wait')
                    ui.button(f'{doctor.name} · {wait}', icon='person',
                              on_click=lambda d=doctor: self.walk_in(d.id, proof)) \
                        .props('unelevated no-caps align=left padding="20px 24px"').classes('kiosk-big w-full') \
                        .mark(f'kiosk-doctor-{doctor.id}')
            ui.button(_('Back to the start'), icon='home', on_click=self.reset) \
                .props('outline no-caps padding="18px 28px"').classes('kiosk-big').mark('kiosk-back')

    async def walk_in(self, doctor_id: int, proof: dict) -> None:
        settings = clinic_settings.current()
        ticket = await self.run(lambda s: kiosk.walk_in(s, self.key, phone=proof['phone'],
                                                        birth_date=proof['birth_date'], doctor_id=doctor_id,
                                                        now=utcnow(), settings=settings), self.error)
        if ticket is not None:
            self.ticket(ticket)

    # ------------------------------------------------------------------ the ticket

    def ticket(self, ticket: kiosk.KioskTicket) -> None:
        self.phone = self.born = ''
        url = ticket_links.ticket_url(ticket.token, clinic_settings.current(), base_url=self.base_url)
        with self.screen(lambda: self.ticket(ticket)):
            with ui.row().classes('w-full items-center justify-center gap-16 no-wrap pt-2'):
                with ui.column().classes('items-center gap-2'):
                    ui.label(_('You are checked in. Your number:')).classes('text-3xl font-semibold')
                    ui.label(ticket.label).classes('kiosk-ticket').mark('kiosk-ticket-number')
                    ui.label(ticket.doctor).classes('text-3xl font-medium')
                    if ticket.room:
                        ui.label(_('Room: {room}').format(room=ticket.room)).classes('text-2xl')
                    ui.label(_('Patients ahead of you: {count}').format(count=ticket.waiting_ahead)) \
                        .classes('text-2xl font-semibold').mark('kiosk-ahead')
                with ui.column().classes('items-center gap-2'):
                    ui.image(qr.svg_data_uri(url)).classes('w-64 h-64').props('no-spinner no-transition') \
                        .mark('kiosk-ticket-qr')
                    ui.label(_('Scan to follow your turn on your phone')).classes('text-xl text-center max-w-xs')
            ui.label(_('Please take a seat. Your number will be shown on the screen and called.')) \
                .classes('text-2xl text-center w-full')
            self.error = self.error_label()
            with ui.row().classes('w-full justify-center gap-6'):
                ui.button(_('Print ticket'), icon='print',
                          on_click=lambda: self.print(ticket)) \
                    .props('unelevated no-caps padding="22px 40px"').classes('kiosk-big').mark('kiosk-print')
                ui.button(_('Done'), icon='check', on_click=self.reset) \
                    .props('outline no-caps padding="22px 40px"').classes('kiosk-big').mark('kiosk-done')

    def print(self, ticket: kiosk.KioskTicket) -> None:
        self.touch()
        self.client.run_javascript(f'clinicKiosk.print({json.dumps(slip_url(self.key, ticket.token, self.language))})')


def invalid_key() -> None:
    with ui.column().classes('w-full h-screen items-center justify-center p-10'):
        ui.icon('lock', size='96px').classes('text-slate-400')
        ui.label(_('This kiosk is not set up (its key is not valid). Please ask at reception.')) \
            .classes('text-4xl text-center max-w-4xl').mark('kiosk-invalid')


@public_page('/kiosk', title=N_('Self check-in'))
async def kiosk_page(key: str | None = None):
    settings = clinic_settings.current()
    theme.apply()
    ui.add_css(CSS)
    scope = await transaction.write(lambda s: kiosk.open_kiosk(s, key, now=utcnow()))
    if scope is None:
        invalid_key()
        return
    base_url = str(context.client.request.base_url).rstrip('/')
    screen = Kiosk(key or '', scope, settings, base_url)
    ui.add_body_html(f'<script>{KIOSK_JS}</script>')

    def on_revoked(event: DisplayKeyRevoked) -> None:
        if event.key_id == scope.key_id:
            screen.client.run_javascript('location.reload()')

    subscribe(DisplayKeyRevoked, on_revoked)


@public_file(SLIP_PATH)
async def kiosk_slip(key: str = '', t: str = '', lang: str = '') -> Response:
    """The slip of the ticket this kiosk has just shown (the kiosk's key and the ticket's own token), printed from
    the kiosk; the patient's name is masked, as on the board (a slip left at the printer says little)."""
    settings = clinic_settings.current()
    with i18n.use(lang if lang in i18n.LANGUAGES else None):
        ticket = await transaction.read(lambda s: kiosk.slip(s, key, t, now=utcnow(), settings=settings))
        pdf = await documents.render_ticket_slip(
            clinic_name=settings.clinic_name, ticket=ticket.label, patient_name=queue.masked_name(ticket.patient_name),
            doctor=ticket.queue_name, room=ticket.room, issued_at_local=ticket.issued_at.astimezone(settings.tz),
            waiting_ahead=ticket.waiting_ahead, language=i18n.current())
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="ticket-{ticket.label}.pdf"',
                             'Cache-Control': 'no-store',
                             # printed from a hidden frame of the kiosk's own page (every other response: DENY)
                             'X-Frame-Options': 'SAMEORIGIN', 'Content-Security-Policy': "frame-ancestors 'self'"})
