"""The patient's live ticket page on their own phone: ``/t/<token>``, opened from the QR code on the ticket slip or
reception's screen. No sign-in: the signed link is the credential (``services.ticket_links``), and it shows only
this visit's ticket (``services.ticket_status``).

It follows the visit live (queue, visit and bill news), also when the doctor sends the patient to the lab and back;
when they are called the room is shown big, the phone chimes (``assets/ticket/ticket.js``, after a first tap) and
vibrates where it can. After a reconnect or lost news it reads afresh. In the patient's language, or the one chosen
with the switch (``?lang=``). Bad links are counted per address: too many and the page answers nothing more.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path

from fastapi import Request
from nicegui import context, ui

from clinic_ui import live, theme, transaction
from clinic_ui.i18n import show_in, visitor_language
from clinic_ui.ratelimit import RateLimiter, client_address, client_key
from clinic_ui.routes import public_page
from clinic_ui.widgets import language_switch, money
from models import QueueKind
from models.types import utcnow
from services import clinic_settings, qr, ticket_status
from services.core import i18n
from services.core.errors import DomainError
from services.core.events import BillingChanged, QueueChanged, ResultsReady, VisitChanged
from services.core.i18n import N_, _, ngettext
from services.core.settings import Settings
from services.ticket_status import Stage, TicketState

log = logging.getLogger(__name__)

TICKET_JS = (Path(__file__).resolve().parent.parent / 'assets' / 'ticket' / 'ticket.js').read_text(encoding='utf-8')
BAD_LINKS = RateLimiter('ticket_links', limit=20, window_s=600)  # per address: guessing links is futile anyway
TOO_MANY = N_('Too many wrong links from your connection. Please wait a few minutes, or ask at reception.')

CSS = '''
.ticket-sound-prompt { position: fixed; left: 50%; bottom: 16px; transform: translateX(-50%); z-index: 50;
  padding: 14px 22px; border-radius: 16px; border: 0; background: #0f766e; color: #fff; font-size: 17px;
  font-weight: 600; box-shadow: 0 6px 20px rgba(15, 23, 42, .25); width: calc(100vw - 32px); max-width: 420px; }
.ticket-sound-prompt[hidden] { display: none; }
.ticket-called { animation: ticket-pulse 1.2s ease-in-out 3; }
@keyframes ticket-pulse { 50% { transform: scale(1.03); } }
'''

PLACES = {QueueKind.DOCTOR: N_('Please go to the doctor'), QueueKind.LAB: N_('Please go to the laboratory'),
          QueueKind.IMAGING: N_('Please go to imaging'), QueueKind.PROCEDURE: N_('Please go to the procedure room'),
          QueueKind.PHARMACY: N_('Please go to the pharmacy'), QueueKind.CASHIER: N_('Please go to the cashier')}


def problem(message: str, mark: str) -> None:
    with ui.card().classes('w-full gap-3 p-5').mark(mark):
        ui.icon('link_off', size='lg').classes('text-slate-500')
        ui.label(message).classes('text-xl font-medium').mark('ticket-problem')


def wait_text(state: TicketState) -> str:
    if state.ahead == 0:
        return _('You are next.')
    return ngettext('{count} patient ahead of you', '{count} patients ahead of you', state.ahead)


LINE_FIELDS = ('ahead', 'wait_minutes', 'now_serving')  # what another patient's turn changes


class Line:
    """While waiting: how many are ahead, about how long, the number served now. Updated in place (hundreds of
    phones may follow one queue: each call then changes three texts per phone, and builds nothing)."""

    def __init__(self, state: TicketState) -> None:
        with ui.card().classes('w-full gap-1 p-4').mark('ticket-wait'):
            self.ahead = ui.label().classes('text-2xl font-bold ticket-ahead').mark('ticket-ahead')
            self.minutes = ui.label().classes('text-lg').mark('ticket-minutes')
            self.serving = ui.label().classes('text-base text-slate-600').mark('ticket-now-serving')
        self.show(state)

    def show(self, state: TicketState) -> None:
        self.ahead.set_text(wait_text(state))
        minutes = state.wait_minutes if state.ahead else None
        self.minutes.set_text(_('About {minutes} min').format(minutes=minutes) if minutes else '')
        self.minutes.set_visibility(bool(minutes))
        self.serving.set_text(_('Now serving: {number}').format(number=state.now_serving) if state.now_serving else '')
        self.serving.set_visibility(bool(state.now_serving))


class TicketView:
    """The page's one card, drawn again from each new state; the title follows the number."""

    def __init__(self, token: str, state: TicketState, settings: Settings) -> None:
        self.token, self.state, self.settings = token, state, settings
        self.client = context.client
        self.connections = 0
        self.reading: asyncio.Task | None = None
        self.pending: QueueChanged | str | None = None  # what to read next: 'all', or a queue's news to follow
        self.body = ui.column().classes('w-full gap-4').mark('ticket-body')
        self.line: Line | None = None  # where the patient stands in the line, while waiting
        self.draw()

    # -- reading ---------------------------------------------------------------------------------------------------

    def on_queue(self, event: QueueChanged) -> None:
        if event.visit_id == self.state.visit_id:  # this patient's own turn: the visit may have moved on too
            self.refresh()
        elif event.queue_id == self.state.queue_id:  # someone else's turn in the same queue
            self.refresh(event)

    def on_visit(self, event: VisitChanged | BillingChanged | ResultsReady) -> None:
        if event.visit_id == self.state.visit_id:
            self.refresh()

    async def on_connect(self) -> None:
        """Back after a network drop or the phone's sleep: what was missed meanwhile is read at once."""
        self.connections += 1
        if self.connections > 1:
            self.refresh()

    def refresh(self, news: QueueChanged | None = None) -> None:
        """Read afresh: everything, or (``news`` of another patient's turn) only the queue's new view, which every
        screen following that queue shares. News arriving during a read leads to one more read after it, not one
        per event; a read of everything covers any news."""
        if news is None or self.pending == 'all':
            self.pending = 'all'
        else:
            self.pending = news  # the latest news: its view is the freshest
        if self.reading is None or self.reading.done():
            self.reading = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while self.pending is not None:
            job, self.pending = self.pending, None
            state = None
            if isinstance(job, QueueChanged):
                view = await live.queue_view(job)
                state = ticket_status.following(self.state, view) if view is not None else None
            if state is None:
                try:
                    with self.body:  # a refusal is written in this tab's language
                        state = await transaction.read(lambda s: ticket_status.read(
                            s, self.token, settings=self.settings, now=utcnow()))
                except DomainError as refused:  # the day ended meanwhile (expired), or the visit is gone
                    if not self.client.is_deleted:
                        self.body.clear()
                        with self.body:
                            problem(str(refused), 'ticket-expired')
                    return
                except Exception:  # noqa: BLE001 - the page must survive a failed read; the next news heals it
                    log.exception('ticket page: reading the visit failed')
                    return
            if self.client.is_deleted:
                return
            self.show(state)

    def show(self, state: TicketState) -> None:
        called = state.stage == Stage.CALLED and (self.state.stage != Stage.CALLED
                                                  or state.call_count > self.state.call_count)
        only_the_line_moved = self.line is not None and state.stage == Stage.WAITING and state.ahead is not None \
            and replace(self.state, **{name: getattr(state, name) for name in LINE_FIELDS}) == state
        self.state = state
        if only_the_line_moved:  # another patient's turn, the common news: three texts change, nothing is rebuilt
            with self.body:
                self.line.show(state)
        else:
            self.draw()
        if called:
            self.client.run_javascript('clinicTicket.alert()')

    # -- drawing ---------------------------------------------------------------------------------------------------

    def draw(self) -> None:
        state = self.state
        self.body.clear()
        self.line = None
        with self.body:
            heading = state.label or _('Your visit')
            ui.page_title(f'{heading} · {self.settings.clinic_name}')
            if state.stage == Stage.DONE:
                self.thanks()
            elif state.stage == Stage.CANCELLED:
                problem(_('This visit was cancelled. If this is a mistake, please ask at reception.'),
                        'ticket-cancelled')
            elif state.stage == Stage.CALLED:
                self.called()
            else:
                self.waiting()
            if state.amount_due is not None:
                self.bill()
            if state.stage not in (Stage.DONE, Stage.CANCELLED):
                ui.label(_('This page updates by itself: keep it open. You can also follow your number on the '
                           'screens in the waiting room.')).classes('text-sm text-slate-500 px-1')

    def number(self, classes: str = 'text-6xl') -> None:
        if self.state.label:
            ui.label(_('Your number')).classes('text-sm uppercase tracking-wide opacity-80')
            ui.label(self.state.label).classes(f'{classes} font-extrabold leading-none tabular-nums') \
                .mark('ticket-number').classes('ticket-number')

    def called(self) -> None:
        """The room big (its code on one line, its name under it), then the number: read at a glance."""
        state = self.state
        with ui.card().classes('w-full gap-2 p-5 bg-amber-300 text-slate-900 ticket-called items-center text-center') \
                .props('role=alert aria-live=assertive').mark('ticket-called'):
            ui.label(_("It's your turn!")).classes('text-2xl font-bold ticket-headline').mark('ticket-headline')
            ui.label(_('Please go to')).classes('text-lg')
            with ui.column().classes('items-center gap-0 ticket-room').mark('ticket-room'):
                if state.room_code:
                    ui.label(state.room_code).classes('text-6xl font-extrabold leading-tight break-all')
                name = state.room_name_shown or (state.queue if not state.room_code else '')
                if name:
                    ui.label(name).classes('text-2xl font-bold leading-tight break-words')
            self.number('text-5xl')
            if state.queue and (state.room_code or state.room_name_shown):
                ui.label(state.queue).classes('text-base')

    def waiting(self) -> None:
        state = self.state
        with ui.card().classes('w-full gap-2 p-5 items-center text-center').mark('ticket-card'):
            ui.label(self.headline()).classes('text-xl font-semibold text-primary ticket-headline') \
                .mark('ticket-headline')
            self.number()
            if state.queue and state.queue != state.room_name_shown:  # the lab's queue is often named as its room
                ui.label(state.queue).classes('text-lg font-medium ticket-queue').mark('ticket-queue')
            if state.room:
                with ui.row().classes('items-center gap-1 no-wrap'):
                    ui.icon('meeting_room').classes('text-slate-500')
                    ui.label(_('Room: {room}').format(room=state.room)).classes('text-lg ticket-room') \
                        .mark('ticket-room')
        if state.stage == Stage.WAITING and state.ahead is not None:
            self.line = Line(state)

    def headline(self) -> str:
        state = self.state
        if state.stage == Stage.SERVING:
            return _('You are being seen') if state.kind == QueueKind.DOCTOR else _('You are being served')
        if state.stage == Stage.MISSED:
            return _('You were called but we could not find you. Please tell reception that you are here.')
        if state.back_with_results:
            return _('Your results are in: the doctor will see you again soon')
        if state.kind == QueueKind.DOCTOR and state.label:
            return _('Please wait to be called')
        if state.kind in PLACES:
            return _(PLACES[state.kind])
        return _('Please wait to be called')

    def bill(self) -> None:
        with ui.card().classes('w-full gap-2 p-5 ticket-bill').mark('ticket-bill'):
            ui.label(_('Your bill is ready')).classes('text-lg font-semibold')
            ui.label(_('To pay: {amount}').format(amount=money(self.state.amount_due))) \
                .classes('text-3xl font-bold tabular-nums ticket-due').mark('ticket-due')
            ui.label(_('Please pay at the cashier.')).classes('text-slate-600')
            for transfer in self.state.transfers:  # the clinic's bank account is set: pay by transfer (VietQR)
                with ui.column().classes('w-full items-center gap-1 ticket-payment-qr').mark('ticket-payment-qr'):
                    ui.label(_('Or pay by bank transfer: scan with your banking app')).classes('text-slate-600')
                    ui.image(qr.svg_data_uri(transfer.payload)).classes('w-56 h-56').props('no-spinner no-transition') \
                        .mark('ticket-transfer-qr')
                    ui.label(f'{transfer.bank} · {transfer.account}').classes('font-medium')
                    ui.label(_('Transfer note: {note}').format(note=transfer.purpose)).classes('text-sm text-slate-600')

    def thanks(self) -> None:
        with ui.card().classes('w-full gap-3 p-6 items-center text-center bg-teal-50').mark('ticket-done'):
            ui.icon('favorite', size='xl').classes('text-primary')
            ui.label(_('Thank you!')).classes('text-3xl font-bold text-primary ticket-headline').mark('ticket-headline')
            ui.label(_('Your visit is complete. We wish you good health.')).classes('text-lg')


@public_page('/t/{token}', title=N_('Your ticket'))
async def ticket_page(request: Request, token: str):
    """In the language the visitor chose (``?lang=``, remembered by the browser), else the patient's, else the
    clinic's."""
    settings = clinic_settings.current()
    theme.apply()
    ui.add_css(CSS)
    heading = _('Your ticket')
    ui.page_title(f'{heading} · {settings.clinic_name}')
    key = client_key(client_address(request), settings.resolved_storage_secret())
    page = ui.column().classes('w-full max-w-md mx-auto p-3 pb-24 gap-4')  # room under the sound button
    if await BAD_LINKS.exhausted(key):
        with page:
            header(settings, i18n.current())
            problem(_(TOO_MANY), 'ticket-too-many')
        return
    try:
        state = await transaction.read(lambda s: ticket_status.read(s, token, settings=settings, now=utcnow()))
    except ticket_status.InvalidLink as refused:
        await BAD_LINKS.allow(key)
        with page:
            header(settings, i18n.current())
            problem(str(refused), 'ticket-invalid')
        return
    except ticket_status.ExpiredLink as expired:
        with page:
            header(settings, i18n.current())
            problem(str(expired), 'ticket-expired')
        return
    if visitor_language() is None and state.language:
        show_in(state.language)  # the patient's own language, unless this browser chose one
    with page:
        header(settings, i18n.current())
        view = TicketView(token, state, settings)
    live.subscribe(QueueChanged, view.on_queue)
    live.subscribe(VisitChanged, view.on_visit)
    live.subscribe(BillingChanged, view.on_visit)
    live.subscribe(ResultsReady, view.on_visit)
    live.on_missed(view.refresh)
    context.client.on_connect(view.on_connect)
    if state.expires_at is not None:  # at the end of the clinic day the open page says the ticket has expired
        ui.timer(max((state.expires_at - utcnow()).total_seconds(), 0) + 1, view.refresh, once=True)
    options = json.dumps({'enableText': _('Tap here to turn on the sound')})
    ui.add_body_html(f'<script>{TICKET_JS}</script><script>document.addEventListener("DOMContentLoaded", () => '
                     f'clinicTicket.init({options}));</script>')


def header(settings: Settings, language: str) -> None:
    with ui.row().classes('w-full items-center justify-between no-wrap gap-2'):
        ui.label(settings.clinic_name).classes('text-lg font-semibold text-primary min-w-0 truncate') \
            .mark('ticket-clinic')
        language_switch(language)

