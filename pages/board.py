"""The waiting-room board: a 1080p TV, read from across the room. Opened with an admin-issued display key
(``/board?key=...``, optionally ``&department=<specialty id>``), no keyboard, no staff session.

Per queue: the room, the number now being served (with a masked name at most), the next numbers and the estimated
wait; the clinic's name and clock on top. A new call is highlighted, chimes and is announced aloud by the browser
(``assets/board/board.js``). The page is built once and then updated in place on ``QueueChanged`` events: one
database read per event is shared by every board. After a reconnect it re-reads everything; after a server
restart NiceGUI reloads the page by itself (the key is in the URL); a revoked key closes open boards.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from nicegui import context, ui

from clinic_ui import live, transaction
from clinic_ui.i18n import show_in
from clinic_ui.live import subscribe
from clinic_ui.routes import public_page
from models import TicketStatus
from models.types import utcnow
from services import clinic_settings, display_keys, queue
from services.core import i18n
from services.core.events import DisplayKeyChanged, DisplayKeyRevoked, QueueChanged, SettingsChanged, bus
from services.core.i18n import N_, _
from services.core.settings import Settings
from services.display_keys import DisplayScope

log = logging.getLogger(__name__)

BOARD_JS = (Path(__file__).resolve().parent.parent / 'assets' / 'board' / 'board.js').read_text(encoding='utf-8')
NEXT_SHOWN = 3
FIT_MIN_CHARS = 6  # a short text is not made larger than a six-character one (the numbers keep one size)
SHOWN_SETTINGS = {'clinic_name', 'language', 'timezone', 'board_stations', 'queue_prefix'}  # what a board shows
ONE_COLUMN_MAX = 5  # more queues than this: two columns

# What the board says, translated into the board's language(s); the voice and the clock's locale per language
TEXTS = {'call': N_('Number {number}, please go to {room}.'),
         'now': N_('Now serving'), 'next': N_('Next'), 'wait': N_('Wait'), 'room': N_('Room'), 'no_wait': N_('No wait'),
         'minutes': N_('≈ {minutes} min'), 'calling': N_('Now calling'),
         'idle': N_('Please wait to be called. Your number will appear here.'),
         'none': N_('Nobody is waiting right now.'),
         'priority': N_('Elderly, pregnant and urgent patients may be called first.'),
         'sound': N_('Tap here to turn on the sound for announcements'),
         'reconnecting': N_('Reconnecting… the board will update by itself.'),
         'invalid': N_('This display key is not valid. Please ask the administrator for a new board link.')}
VOICES = {'en': {'speech': 'en-US', 'locale': 'en-GB'}, 'vi': {'speech': 'vi-VN', 'locale': 'vi-VN'}}
LATEST = '{label}  →  {room}'
ROTATE_S = 10  # a board in two languages shows each for this long

CSS = '''
body { background: #0b1a2b; overflow: hidden; }
.nicegui-content { padding: 0; }
.board { position: fixed; inset: 0; display: flex; flex-direction: column; color: #f8fafc;
         font-family: "DejaVu Sans", Roboto, "Noto Sans", sans-serif; }
.board-head { display: flex; align-items: center; justify-content: space-between; padding: 1vh 2.2vw;
              background: #0f766e; }
.board-clinic { font-size: 5vh; font-weight: 700; line-height: 1.1; }
.board-scope { font-size: 2.8vh; opacity: .9; }
.board-clock { font-size: 7.5vh; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1; }
.board-date { font-size: 2.6vh; text-align: right; opacity: .9; }
.board-call { display: flex; align-items: center; gap: 2vw; padding: 1vh 2.2vw; min-height: 11vh;
              background: #fde047; color: #0b1a2b; font-size: 7vh; font-weight: 800; }
.board-call-title { font-size: 3.4vh; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; }
.board-latest { flex: 1; min-width: 0; container-type: inline-size; }
/* one line whatever the room's name: the text shrinks to its length (--chars), never below a size read afar */
.board-latest span { display: block; white-space: nowrap; line-height: 1.15;
                     font-size: max(4.5vh, min(7vh, calc(100cqw / (var(--chars, 20) * 0.62)))); }
.board-columns { display: grid; gap: 0 1.2vw; padding: 1vh 1.2vw 0; }
.board-columns > div, .board-card { display: grid; grid-template-columns: 26% 38% 36%; align-items: center;
                                    padding: 0 1.4vw; }
.board-card > div { container-type: inline-size; min-width: 0; }  /* texts below are sized to their column */
.board-grid { flex: 1; display: grid; gap: 1vh 1.2vw; padding: .6vh 1.2vw 1vh; grid-auto-flow: column;
              min-height: 0; }
.board-card { background: #12304d; border-radius: 1.2vh; min-height: 0; overflow: hidden; }
.board-empty { display: flex; align-items: center; justify-content: center; font-size: 4vh; opacity: .8; }
/* ticket numbers and room codes never wrap ("A-002 A-" / "003"): one line, the font sized to fit the column
   (--chars: the line's length; a bold letter or digit is at most about .75 of the font size wide) */
.board-room { font-size: min(5.4vh, calc(130cqi / var(--chars))); font-weight: 800; line-height: 1.05;
              white-space: nowrap; }
/* a doctor's whole name: on two lines and smaller rather than cut */
.board-who { font-size: min(2.5vh, 9cqi); opacity: .85; line-height: 1.2; white-space: normal;
             overflow-wrap: anywhere; max-height: 2.4em; overflow: hidden; }
.board-caption { font-size: 2.2vh; text-transform: uppercase; letter-spacing: .06em; opacity: .75; }
.board-now { font-size: min(9vh, calc(130cqi / var(--chars))); font-weight: 800; color: #fde047; line-height: 1;
             font-variant-numeric: tabular-nums; white-space: nowrap; }
.board-now.board-none { color: #64748b; }
.board-name { font-size: 2.8vh; line-height: 1.2; min-height: 3.4vh; }
.board-next { font-size: min(4.4vh, calc(130cqi / var(--chars))); font-weight: 700; line-height: 1.15;
              font-variant-numeric: tabular-nums; white-space: pre; }
.board-wait { font-size: min(3.4vh, 12cqi); font-weight: 600; color: #a7f3d0; white-space: nowrap; }
.board-dense .board-now { font-size: min(6.5vh, calc(130cqi / var(--chars))); }
.board-dense .board-room { font-size: min(4.2vh, calc(130cqi / var(--chars))); }
.board-dense .board-next { font-size: min(3.4vh, calc(130cqi / var(--chars))); }
.board-dense .board-name, .board-dense .board-wait { font-size: min(2.6vh, 12cqi); }
.board-foot { display: flex; justify-content: space-between; padding: .8vh 2.2vw 1.2vh; font-size: 2.6vh;
              opacity: .85; }
@keyframes board-flash { 0%, 100% { background: #12304d; } 50% { background: #b45309; } }
.board-flash { animation: board-flash 1s ease-in-out 8; }
.board-sound-prompt { position: fixed; left: 50%; bottom: 4vh; transform: translateX(-50%); z-index: 50;
                      padding: 2vh 3vw; font-size: 3.6vh; font-weight: 700; border-radius: 1.5vh; border: 0;
                      background: #f8fafc; color: #0b1a2b; box-shadow: 0 0 0 .6vh #fde047; cursor: pointer;
                      font-family: inherit; white-space: nowrap; }
.board-sound-prompt[hidden] { display: none; }
/* a board in two languages shows one at a time (data-show, switched by board.js) */
''' + ''.join(f'.board[data-show="{code}"] .board-l:not([data-l="{code}"]) {{ display: none; }}\n'
              for code in i18n.LANGUAGES) + '''
#popup.nicegui-error-popup { left: 0; right: 0; top: 0; bottom: auto; margin: 0; border-radius: 0;
                             padding: 2vh 3vw; background: #b91c1c; color: #fff; font-size: 4vh; z-index: 60;
                             align-items: center; }
#popup[aria-hidden="false"] { transition-delay: 1500ms; }
#popup > span:first-child::before { content: none; }
#popup > span:first-child { display: none; }
'''


class Room:
    """The boards open with one display key (and department): the same queues in the same languages. A queue's
    change is built once for all of them and sent in one message, serialised once whatever the number of boards,
    which each board's own script puts in place (``board.js``). The calls still to announce and the "Now calling"
    line belong to the room, so that every board of it shows the very same markup."""

    def __init__(self, language_choice: str | None) -> None:
        self.language_choice = language_choice
        self.boards: set[Board] = set()
        self.views: dict[int, queue.QueueView] = {}  # each queue as last shown
        self.changes: dict[int, int] = {}  # per queue: how many of its changes were shown (see ``newer_than``)
        # (sequence, announcement, queue prefix, voice, part): one entry per language of each call (part 0, 1)
        self.calls: deque[tuple[int, str, str, str, int]] = deque(maxlen=8)
        self.sequence = itertools.count(1)
        self.latest_text: list[tuple[str, str]] = [('', '—')]
        self.latest = latest_markup(self.latest_text, [])

    def tongues(self) -> list[dict[str, str]]:
        return tongues(languages_of(self.language_choice))

    def open_with(self, views: list[queue.QueueView]) -> None:
        """The first board of the room (again): its state starts from what that board read."""
        self.views = {view.id: view for view in views}
        self.calls.clear()
        self.latest_text = []
        self.relabel(self.tongues())

    def newer_than(self, seen: dict[int, int], views: list[queue.QueueView]) -> list[queue.QueueView]:
        """Of ``views`` (read when the changes shown were ``seen``), those no change shown since has overtaken: a
        read that started before a call must not put the board back to before it."""
        return [view for view in views if self.changes.get(view.id, 0) == seen.get(view.id, 0)]

    def record(self, view: queue.QueueView, event: QueueChanged, tongues_: list[dict[str, str]]) -> bool:
        """The queue's new state, a call to announce; whether "Now calling" changed."""
        self.views[view.id] = view
        self.changes[view.id] = self.changes.get(view.id, 0) + 1
        ticket = next((t for t in view.active if t.id == event.ticket_id), None) \
            if event.action in ('called', 'recalled') else None
        if ticket is None:
            return self.relabel(tongues_)
        for part, words in enumerate(tongues_):  # in each language, one after the other
            self.calls.append((next(self.sequence), announcement(ticket, words, view), view.prefix, words['speech'],
                               part))
        self.latest_text = latest_texts(ticket, view, tongues_)
        self.latest = latest_markup(self.latest_text, self.calls)
        return True

    def forget(self, queue_id: int, tongues_: list[dict[str, str]]) -> bool:
        self.views.pop(queue_id, None)
        return self.relabel(tongues_)

    def relabel(self, tongues_: list[dict[str, str]]) -> bool:
        """"Now calling": the latest call of a patient still called; nothing once they came in, left, were skipped
        or sent elsewhere. Whether it changed."""
        called = [(t, v) for v in self.views.values() for t in v.active
                  if t.status == TicketStatus.CALLED and t.called_at]
        ticket, view = max(called, key=lambda pair: pair[0].called_at, default=(None, None))
        texts = latest_texts(ticket, view, tongues_) if ticket else [('', '—')]
        if texts == self.latest_text:
            return False
        self.latest_text = texts
        self.latest = latest_markup(texts, self.calls)
        return True

    async def update(self, view: queue.QueueView, event: QueueChanged, boards: list[Board]) -> None:
        tongues_ = self.tongues()
        if view.kind.value not in shown_kinds():
            relabelled = self.forget(view.id, tongues_)
            for board in boards:
                board.remove_card(view.id, self.latest if relabelled else None)
            return
        markup = card_markup(view, tongues_)
        latest = self.latest if self.record(view, event, tongues_) else None
        together = []
        for board in boards:
            if board.follows(view.id):
                board.sent_together(view, markup, latest)
                together.append(board.client)
            else:  # a queue new on this board: its card is added the usual way
                board.show(view, markup, latest)
        if together:
            await live.send_together(together, 'clinic_board', {'queue': view.id, 'card': markup, 'latest': latest})


class Hub:
    """Every board open in this process, by room, and their one subscriber: on a queue change it reads the queue
    once and updates each room that shows it with one message (no task, read or serialisation per board). Boards
    leave with their tab. Staff pages subscribe on their own; they are few."""

    def __init__(self) -> None:
        self.rooms: dict[tuple, Room] = {}
        self.generation: int | None = None

    @property
    def screens(self) -> set[Board]:
        return {board for room in self.rooms.values() for board in room.boards}

    def room_for(self, scope: DisplayScope, department: int | None, views: list[queue.QueueView]) -> Room:
        if self.generation != bus.generation:  # first board, or the app was built again (between tests)
            self.generation = bus.generation
            self.rooms.clear()
            live.subscribe_process(QueueChanged, self.received)
        room = self.rooms.setdefault((scope.key_id, department, scope.language), Room(scope.language))
        if not any(not board.client.is_deleted for board in room.boards):
            room.boards.clear()
            room.open_with(views)
        return room

    def join(self, room: Room, board: Board) -> None:
        room.boards.add(board)
        board.client.on_delete(lambda: room.boards.discard(board))

    def received(self, event: QueueChanged) -> Awaitable[None] | None:
        """It belongs to no board (not to the tab that happened to open first)."""
        if any(board.in_scope(event.queue_id) for board in self.screens):
            return self.update(event)
        return None

    async def update(self, event: QueueChanged) -> None:
        view = await live.queue_view(event)
        if view is None:
            return
        for room in list(self.rooms.values()):  # a board may have closed while the read ran
            boards = [board for board in room.boards if not board.client.is_deleted and board.in_scope(view.id)]
            if not boards:
                continue
            try:
                await room.update(view, event, boards)
            except Exception:  # noqa: BLE001 - one broken room must not stop the others
                log.exception('board: updating the boards of a key failed')


hub = Hub()


def languages_of(choice: str | None) -> tuple[str, ...]:
    """A board's languages: its own choice ('en', 'vi'), both ('both': the clinic's first), else the clinic's."""
    clinic = i18n.normalize(clinic_settings.current().language) or i18n.SOURCE
    if choice == 'both':
        return (clinic, *(code for code in i18n.LANGUAGES if code != clinic))
    return (i18n.normalize(choice) or clinic,)


def words_in(language: str) -> dict[str, str]:
    """The board's texts in one language, with its voice and clock locale (``language``: that language)."""
    with i18n.use(language) as code:
        words = {key: _(text) for key, text in TEXTS.items()}
    return {**words, **VOICES.get(code, VOICES['en']), 'language': code}


def tongues(languages: tuple[str, ...]) -> list[dict[str, str]]:
    return [words_in(code) for code in languages]


def in_turn(texts: list[tuple[str, str]]) -> str:
    """Markup for a text given as (language, text) for each of the board's languages: escaped; in several, one span
    per language (one shown at a time)."""
    if len(texts) == 1:
        return escape(texts[0][1])
    return ''.join(f'<span class="board-l" data-l="{code}">{escape(text)}</span>' for code, text in texts)


def said(tongues_: list[dict[str, str]], text: Callable[[dict[str, str]], str]) -> str:
    """Markup for ``text(words)`` in each of the board's languages."""
    return in_turn([(words['language'], text(words)) for words in tongues_])


def place(ticket: queue.TicketView, view: queue.QueueView | None = None, language: str = '') -> str:
    """Where the called patient goes, named in ``language`` where the clinic gave that name: the counter or room
    of the call ("Laboratory, counter 2"), else the queue."""
    if ticket.room_name:
        return ticket.room_names.get(language) or ticket.room_name
    if ticket.room_code:
        return ticket.room_code
    return (view.names.get(language) or view.name) if view else ''


def announcement(ticket: queue.TicketView, words: dict[str, str], view: queue.QueueView | None = None) -> str:
    """What the board says: "Number L 3, please go to Laboratory, counter 2."."""
    return words['call'].format(number=ticket.spoken, room=place(ticket, view, words['language']))


def head_markup(clinic_name: str, scope_name: str, local: datetime, language: str) -> str:
    with i18n.use(language):
        today = i18n.day(local.date(), 'full')
    return (f'<div><div class="board-clinic">{escape(clinic_name)}</div>'
            f'<div class="board-scope">{escape(scope_name)}</div></div>'
            f'<div><div class="board-clock">{local:%H:%M}</div>'
            f'<div class="board-date">{escape(today)}</div></div>')


def foot_markup(tongues_: list[dict[str, str]]) -> str:
    return (f'<div>{said(tongues_, lambda words: words["idle"])}</div>'
            f'<div>{said(tongues_, lambda words: words["priority"])}</div>')


def shown_kinds() -> tuple[str, ...]:
    """The kinds of queue the clinic calls through the board (the ``board_stations`` setting)."""
    return clinic_settings.current().board_kinds


def wait_text(view: queue.QueueView, words: dict[str, str]) -> str:
    minutes = view.wait_for_newcomer
    return words['no_wait'] if minutes <= 0 else words['minutes'].format(minutes=minutes)


def latest_markup(texts: list[tuple[str, str]], calls) -> str:
    """The latest call (``texts``: (language, text) for each of the board's languages), with the calls still to be
    announced (one change per call on every board)."""
    longest = max((len(text) for __, text in texts), default=1)
    return (f'<span style="--chars: {max(longest, 1)}" data-say="{escape(json.dumps(list(calls)), quote=True)}">'
            f'{in_turn(texts)}</span>')


def latest_texts(ticket: queue.TicketView, view: queue.QueueView, tongues_: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(words['language'], LATEST.format(label=ticket.label, room=place(ticket, view, words['language'])))
            for words in tongues_]


def card_markup(view: queue.QueueView, tongues_: list[dict[str, str]]) -> str:
    """A queue's card: room and doctor, the number being served with its masked name, the next numbers and the
    wait. Built once per change for every board; every text is escaped (names come from patients' records)."""
    serving = view.now_serving
    room = (serving.room_code if serving and serving.room_code else view.room_code) or view.prefix

    now = serving.label if serving else '—'
    upcoming = '  '.join(t.label for t in view.waiting[:NEXT_SHOWN]) or '—'

    def part(css: str, text: str, markup: str | None = None) -> str:
        return f'<div class="{css}">{escape(text) if markup is None else markup}</div>'

    def column(text: str) -> str:  # its longest line's length, for the CSS to size the font so that it fits
        return f'<div class="min-w-0" style="--chars: {max(len(text), FIT_MIN_CHARS)}">'

    who = said(tongues_, lambda words: view.names.get(words['language']) or view.name)
    wait = said(tongues_, lambda words: wait_text(view, words))
    return (column(room) + part('board-room', room) + part('board-who', '', who) + '</div>'
            + column(now) + part('board-now' if serving else 'board-now board-none', now)
            + part('board-name', serving.masked_name if serving else '') + '</div>'
            + column(upcoming) + part('board-next', upcoming) + part('board-wait', '', wait) + '</div>')


async def _scope(key: str | None) -> DisplayScope | None:
    return await transaction.write(lambda s: display_keys.verify(s, key, now=utcnow()))


@dataclass(frozen=True)
class Opening:
    """What a board shows when it opens: the queues it may show today, and those at work now."""
    eligible_ids: set[int]
    views: list[queue.QueueView]


async def _opening(scope: DisplayScope, department: int | None, tz: ZoneInfo, now: datetime) -> Opening:
    async def read(session) -> Opening:
        eligible = await queue.board_queues(session, queue_ids=scope.queue_ids, department_id=department,
                                            day=now.astimezone(tz).date())
        views = [v for v in await queue.board_views(session, [q.id for q in eligible], tz=tz, now=now)
                 if v.active or v.waiting or v.skipped or v.finished]  # only the queues at work today
        return Opening({q.id for q in eligible}, views)
    return await transaction.read(read)


async def _fresh(scope: DisplayScope, queue_ids: list[int], tz: ZoneInfo) -> list[queue.QueueView] | None:
    """The queues' state now; None when the key no longer opens the board."""
    async def read(session) -> list[queue.QueueView] | None:
        if not await display_keys.is_valid(session, scope.key_id):
            return None
        return await queue.board_views(session, queue_ids, tz=tz, now=utcnow())
    return await transaction.read(read)


class Board:
    """One open board: its elements (one per queue card, its content replaced when the queue changes) and which
    queues it shows. What it announces is its room's (``Room``)."""

    def __init__(self, settings: Settings, scope: DisplayScope, department: int | None, opening: Opening,
                 now: datetime, room: Room) -> None:
        self.scope = scope
        self.department = department
        self.room = room
        self.eligible_ids = opening.eligible_ids
        self.languages = languages_of(scope.language)
        self.tongues = tongues(self.languages)
        self.client = context.client
        self.cards: dict[int, ui.html] = {}
        self.views: dict[int, queue.QueueView] = {}  # each card's queue as last shown
        self.connections = 0
        self._build(settings, now)

    def _build(self, settings: Settings, now: datetime) -> None:
        local = now.astimezone(settings.tz)
        with ui.element('div').classes('board').props(f'data-show={self.languages[0]}').mark('board'):
            # parts that never change are plain markup: fewer elements per board to keep in memory and to scan
            self.head = ui.html(head_markup(settings.clinic_name, self.scope.name, local, self.languages[0]),
                                sanitize=False) \
                .classes('board-head').mark('board-head')
            with ui.element('div').classes('board-call').mark('board-call'):
                self.call_title = ui.html(self.said('calling'), sanitize=False).classes('board-call-title')
                # also carries the latest calls to announce (data-say: [[sequence, text, queue prefix], ...]);
                # board.js speaks each one newer than those it found on opening and flashes its card. In the same
                # update as the new numbers, and never lost when two calls go out together
                self.latest = ui.html(self.room.latest, sanitize=False).classes('board-latest') \
                    .mark('board-latest')
            self.header = ui.html('', sanitize=False).classes('board-columns')
            self.grid = ui.element('div').classes('board-grid').mark('board-grid')
            self.empty = ui.html(self.said('none'), sanitize=False).classes('board-empty')
            self.foot = ui.html(foot_markup(self.tongues), sanitize=False).classes('board-foot').mark('board-foot')

    def said(self, key: str) -> str:
        return said(self.tongues, lambda words: words[key])

    def start(self, views: list[queue.QueueView]) -> None:
        """The queues at work (the last call made so far is not announced again)."""
        for view in views:
            self.show(view)
        self.lay_out()

    def lay_out(self) -> None:
        """One column for a few queues, two for more; the cards share the height."""
        count = len(self.cards)
        columns = 1 if count <= ONE_COLUMN_MAX else 2
        rows = max(1, math.ceil(count / columns))
        self.grid.style(f'grid-template-rows: repeat({rows}, minmax(0, 1fr)); '
                        f'grid-template-columns: repeat({columns}, minmax(0, 1fr))')
        self.grid.classes(add='board-dense' if rows > 4 else '', remove='' if rows > 4 else 'board-dense')
        self.header.style(f'grid-template-columns: repeat({columns}, minmax(0, 1fr))')
        captions = ''.join(f'<div class="board-caption">{said(self.tongues, caption)}</div>'
                           for caption in (lambda words: words['room'], lambda words: words['now'],
                                           lambda words: f'{words["next"]} · {words["wait"]}'))
        self.header.set_content(f'<div>{captions}</div>' * (columns if count else 0))
        self.empty.set_visibility(count == 0)
        self.grid.set_visibility(count > 0)

    def add_card(self, view: queue.QueueView) -> ui.html:
        """A queue's card, in its place: the same order as a fresh board's however late the queue starts."""
        with self.grid:
            card = self.cards[view.id] = ui.html('', sanitize=False).classes('board-card') \
                .props(f'data-queue={view.prefix} data-queue-id={view.id}').mark(f'board-queue-{view.prefix}')
        self.views[view.id] = view
        ordered = sorted(self.cards, key=lambda queue_id: queue.board_order(self.views[queue_id]))
        card.move(target_index=ordered.index(view.id))
        self.lay_out()
        return card

    def remove_card(self, queue_id: int, latest: str | None = None) -> None:
        card = self.cards.pop(queue_id, None)
        self.views.pop(queue_id, None)
        if card is not None:
            card.delete()
            self.lay_out()
        if latest is not None:
            self.latest.set_content(latest)

    def follows(self, queue_id: int) -> bool:
        """Whether this board already shows the queue (its change can then come with the room's message)."""
        return queue_id in self.cards

    def show(self, view: queue.QueueView, markup: str | None = None, latest: str | None = None) -> None:
        """The queue's card (and "Now calling"), sent to this board alone; also when it looks unchanged here, as
        after a reconnect (the room's messages sent meanwhile never arrived)."""
        card = self.cards.get(view.id) or self.add_card(view)
        self.views[view.id] = view
        card.set_content(markup or card_markup(view, self.tongues))
        card.update()
        if latest is not None:
            self.latest.set_content(latest)
            self.latest.update()

    def sent_together(self, view: queue.QueueView, markup: str, latest: str | None) -> None:
        """The room's message brings this to the browser: the server's copy of the page follows, sending nothing
        (so that a later full update of the page, or a test, sees what the screen shows)."""
        self.views[view.id] = view
        card = self.cards[view.id]
        with card._props.suspend_updates():
            card.set_content(markup)
        if latest is not None:
            with self.latest._props.suspend_updates():
                self.latest.set_content(latest)

    def in_scope(self, queue_id: int) -> bool:
        if queue_id in self.cards or queue_id in self.eligible_ids:
            return True
        return self.department is None and (not self.scope.queue_ids or queue_id in self.scope.queue_ids)

    async def on_settings(self, event: SettingsChanged) -> None:
        """A new clinic name, announcement language or choice of stations: applied at once, without a reload."""
        if not set(event.keys) & SHOWN_SETTINGS:
            return
        settings = clinic_settings.current()
        self.languages = languages_of(self.scope.language)
        self.tongues = tongues(self.languages)
        self.head.set_content(head_markup(settings.clinic_name, self.scope.name, utcnow().astimezone(settings.tz),
                                          self.languages[0]))
        self.call_title.set_content(self.said('calling'))
        self.empty.set_content(self.said('none'))
        self.foot.set_content(foot_markup(self.tongues))
        self.client.run_javascript(f'clinicBoard.configure({json.dumps(browser_options(settings, self.tongues))})')
        seen = dict(self.room.changes)
        opening = await _opening(self.scope, self.department, settings.tz, utcnow())
        self.eligible_ids = opening.eligible_ids
        for queue_id in [q for q in self.cards if q not in opening.eligible_ids]:
            self.remove_card(queue_id)
            self.room.views.pop(queue_id, None)
        fresh = {view.id: view for view in self.room.newer_than(seen, opening.views)}
        self.room.views.update(fresh)
        self.room.relabel(self.tongues)  # the same for every board of the room: done by the first one
        for view in [*fresh.values(), *(v for v in self.views.values() if v.id not in fresh)]:
            self.show(view)  # in the new words
        self.lay_out()
        self.latest.set_content(self.room.latest)

    async def refresh_all(self) -> None:
        seen = dict(self.room.changes)
        fresh = await _fresh(self.scope, list(self.cards), clinic_settings.current().tz)
        if fresh is None:
            self.client.run_javascript('location.reload()')
            return
        for view in self.room.newer_than(seen, fresh):
            self.show(view)
        self.latest.set_content(self.room.latest)
        self.latest.update()

    def on_revoked(self, event: DisplayKeyRevoked | DisplayKeyChanged) -> None:
        if event.key_id == self.scope.key_id:
            self.client.run_javascript('location.reload()')  # the key no longer opens the board

    async def on_connect(self) -> None:
        """After a network drop or sleep: missed events are re-read at once."""
        self.connections += 1
        if self.connections > 1:
            await self.refresh_all()


def invalid_key(words: dict[str, str]) -> None:
    with ui.column().classes('w-full h-screen items-center justify-center p-10'):
        ui.label(words['invalid']).classes('text-5xl text-white text-center max-w-5xl').mark('board-invalid')


def browser_options(settings: Settings, tongues_: list[dict[str, str]]) -> dict:
    """What board.js needs: the clinic's time zone, and per language (shown in turn when several) how to write
    the date, which voice speaks and the sound prompt."""
    first = tongues_[0]
    return {'timeZone': settings.timezone, 'locale': first['locale'], 'lang': first['speech'],
            'enableText': first['sound'], 'rotateSeconds': ROTATE_S,
            'languages': [{'code': words['language'], 'locale': words['locale'], 'lang': words['speech'],
                           'enableText': words['sound']} for words in tongues_]}


def scripts(settings: Settings, tongues_: list[dict[str, str]]) -> None:
    """board.js (the clock, sound and speech, flashing a called card) and the reconnecting banner's text."""
    ui.add_body_html(f'<script>{BOARD_JS}</script>'
                     f'<script>clinicBoard.init({json.dumps(browser_options(settings, tongues_))});</script>')
    # NiceGUI's own "connection lost" popup, restyled above as a red banner across the top
    ui.add_body_html('<script>document.addEventListener("DOMContentLoaded", () => {'
                     'const p = document.querySelector("#popup > span:last-child");'
                     f'if (p) p.textContent = {json.dumps(" / ".join(w["reconnecting"] for w in tongues_))};'
                     '});</script>')


@public_page('/board', title=N_('Waiting room'))
async def board_page(key: str | None = None, department: int | None = None):
    settings = clinic_settings.current()
    ui.add_css(CSS)
    scope = await _scope(key)
    if scope is None:
        invalid_key(words_in(languages_of(None)[0]))
        return
    now = utcnow()
    opening = await _opening(scope, department, settings.tz, now)
    show_in(languages_of(scope.language)[0])  # Quasar's own texts and the page's language attribute
    room = hub.room_for(scope, department, opening.views)
    board = Board(settings, scope, department, opening, now, room)
    board.start(opening.views)
    hub.join(room, board)
    subscribe(DisplayKeyRevoked, board.on_revoked)
    subscribe(DisplayKeyChanged, board.on_revoked)  # e.g. a new language: opened afresh with it
    subscribe(SettingsChanged, board.on_settings)
    live.on_missed(board.refresh_all)  # another process's calls may have been lost
    board.client.on_connect(board.on_connect)
    scripts(settings, board.tongues)
