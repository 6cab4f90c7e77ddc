"""A service point: the live queue of a station (laboratory, imaging, procedures, a pharmacy or cashier window)
with the same steps everywhere: call next to a chosen counter, recall, skip, back in line, no-show, start,
finish, send to another queue.

``await service_point(actor, kinds, title)`` inside a station's page: one panel for the station's queues of those
kinds (a choice when there are several), updated on ``QueueChanged`` like the doctors' worklist and the board.
The counter chosen is remembered by the browser, per queue, so a technician at counter 2 stays at counter 2.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from nicegui import ui

from models import QueueKind, TicketStatus
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.clock import local_time_text
from services.core.events import QueueChanged
from services.core.i18n import N_, _, ngettext, pick

from . import auth, live
from .live import subscribe
from .widgets import KeyedList, section_title, staff_action, staff_read

STATES = {TicketStatus.CALLED: N_('called'), TicketStatus.IN_SERVICE: N_('being served'),
          TicketStatus.SKIPPED: N_('skipped'), TicketStatus.WAITING: N_('waiting')}


def clock(moment: datetime | None) -> str:
    return local_time_text(moment, clinic_settings.current().tz) if moment else ''


def ticket_text(ticket: queue.TicketView) -> str:
    """Who, and where they are: ``Lê Thị Hồng · P0000001 · called at 09:05 to LAB2 (2×)``."""
    parts = [ticket.patient_name, ticket.patient_code]
    if ticket.status == TicketStatus.CALLED:
        room = ticket.room or ticket.room_code
        parts.append(_('called at {time} to {room} ({count}×)').format(
            time=clock(ticket.called_at), room=room, count=ticket.call_count) if ticket.call_count > 1
            else _('called at {time} to {room}').format(time=clock(ticket.called_at), room=room))
    elif ticket.status == TicketStatus.IN_SERVICE:
        parts.append(_('being served since {time}').format(time=clock(ticket.started_at)))
    elif ticket.status == TicketStatus.WAITING:
        parts.append(_('≈ {minutes} min').format(minutes=ticket.wait_minutes) if ticket.wait_minutes else _('next'))
    else:
        parts.append(_(STATES[ticket.status]) if ticket.status in STATES else ticket.status.value)
    if ticket.priority:
        parts.append(_('priority: {reason}').format(reason=ticket.priority_reason))
    return ' · '.join(parts)


class ServicePoint:
    """The panel: which queue, which counter, "Call next", and the tickets with their steps."""

    def __init__(self, actor: Actor, queues: dict[int, str], targets: dict[int, str], title: str) -> None:
        self.actor, self.queues, self.targets = actor, queues, targets
        self.queue_id = next(iter(queues))
        self.view: queue.QueueView | None = None
        with ui.card().classes('w-full gap-2').mark('service-point'):
            with ui.row().classes('w-full items-center justify-between gap-3'):
                with ui.column().classes('gap-0'):
                    self.title = section_title(_(title)).mark('point-title')
                    self.summary = ui.label().classes('text-slate-600').mark('point-summary')
                with ui.row().classes('items-center gap-2'):
                    self._choices()
                    self.call_button = ui.button(_('Call next'), icon='campaign', on_click=self.call_next) \
                        .props('no-caps unelevated').mark('point-call-next')
            self.tickets = KeyedList(ui.column().classes('w-full gap-1'), self._row, key=lambda t: t.id)
            self.nobody = ui.label(_('Nobody is waiting.')).classes('text-slate-500').mark('point-nobody')

    def _choices(self) -> None:
        if len(self.queues) > 1:
            ui.select(self.queues, value=self.queue_id, label=_('Queue'), on_change=lambda e: self.choose(e.value)) \
                .props('outlined dense').classes('w-48').mark('point-queue')
        self.counter = ui.select({}, label=_('Counter'), on_change=lambda e: self.remember_counter(e.value)) \
            .props('outlined dense').classes('w-56').mark('point-counter')

    async def choose(self, queue_id: int) -> None:
        self.queue_id = queue_id
        await self.load()

    async def load(self) -> None:
        """The queue's counters (the remembered one chosen) and its state."""
        rooms = await staff_read(lambda s: queue.counters(s, self.actor, self.queue_id))
        if rooms is None:
            return
        options = {room.id: room.name for room in rooms}
        remembered = auth.remembered(f'counter-{self.queue_id}')
        self.counter.set_options(options, value=remembered if remembered in options else next(iter(options), None))
        self.counter.set_visibility(len(options) > 1)
        await self.refresh()

    def remember_counter(self, room_id: int | None) -> None:
        if room_id is not None:
            auth.remember(f'counter-{self.queue_id}', room_id)

    async def refresh(self, *, touch: bool = True) -> None:
        view = await staff_read(lambda s: queue.queue_view(s, self.actor, self.queue_id,
                                                           tz=clinic_settings.current().tz, now=utcnow()), touch=touch)
        if view is not None:
            self.show(view)

    async def follow(self, event: QueueChanged) -> None:
        if event.queue_id == self.queue_id:  # a queue this person may see (checked when it was first read)
            view = await live.queue_view(event)
            if view is not None:
                self.show(view)

    def show(self, view: queue.QueueView) -> None:
        self.view = view
        serving = ', '.join(t.label for t in view.active) or _('nobody')
        self.summary.set_text(ngettext('{prefix} · now {serving} · {count} waiting',
                                       '{prefix} · now {serving} · {count} waiting', len(view.waiting),
                                       prefix=view.prefix, serving=serving))
        self.call_button.set_enabled(bool(view.waiting))
        self.tickets.show([*view.active, *view.skipped, *view.waiting])
        self.nobody.set_visibility(not (view.active or view.skipped or view.waiting))

    async def call_next(self) -> None:
        self.call_button.props('loading')
        try:
            called = await live.call_next_first(lambda: staff_action(lambda s: queue.call_next_shown(
                s, self.actor, self.queue_id, tz=clinic_settings.current().tz, now=utcnow(),
                room_id=self.counter.value)), self.queue_id, self.show)
        finally:
            self.call_button.props(remove='loading')
        ticket = called.ticket if called is not None else None
        if ticket is not None:
            ui.notify(_('{ticket} called to {room}: {patient}').format(
                ticket=ticket.label, room=ticket.room or ticket.room_code, patient=ticket.patient_name),
                type='positive')
        elif self.view is not None and not self.view.waiting:
            ui.notify(_('Nobody is waiting.'), type='info')

    def _row(self, ticket: queue.TicketView) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
        return TicketRow(self, ticket).keyed()


class TicketRow:
    """One ticket: its number, who and where, and the steps its state allows (rebuilt only when the state
    changes)."""

    def __init__(self, point: ServicePoint, ticket: queue.TicketView) -> None:
        self.point, self.ticket, self.status = point, ticket, None
        with ui.row().classes('w-full items-center gap-3 no-wrap').mark(f'point-{ticket.label}') as self.root:
            ui.label(ticket.label).classes('text-xl font-bold w-20 shrink-0 whitespace-nowrap')
            self.text = ui.label().classes('grow min-w-0').mark(f'point-who-{ticket.label}')
            self.actions = ui.row().classes('gap-1 shrink-0')

    def keyed(self) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
        return self.root, self.show

    def show(self, ticket: queue.TicketView) -> None:
        self.ticket = ticket
        self.text.set_text(ticket_text(ticket))
        if ticket.status != self.status:
            self.status = ticket.status
            self.actions.clear()
            with self.actions:
                self._buttons(ticket.status)

    def _buttons(self, status: TicketStatus) -> None:
        def button(text: str, icon: str, step: Callable, mark: str) -> None:
            ui.button(text, icon=icon, on_click=lambda: self.step(step)) \
                .props('dense no-caps outline').mark(f'{mark}-{self.ticket.label}')

        if status == TicketStatus.CALLED:
            button(_('Start'), 'play_arrow', queue.start, 'start')
            button(_('Recall'), 'replay', queue.recall, 'recall')
            button(_('Skip'), 'skip_next', queue.skip, 'skip')
        elif status == TicketStatus.IN_SERVICE:
            button(_('Finish'), 'check', queue.finish, 'finish')
        elif status == TicketStatus.SKIPPED:
            button(_('Call again'), 'replay', queue.recall, 'recall')
            button(_('Back in line'), 'undo', queue.back_in_line, 'back')
            button(_('No-show'), 'person_off', queue.mark_no_show, 'no-show')
        if status != TicketStatus.WAITING:
            self._send_menu()

    def _send_menu(self) -> None:
        targets = {queue_id: name for queue_id, name in self.point.targets.items() if queue_id != self.point.queue_id}
        if not targets:
            return
        with ui.button(_('Send to…'), icon='forward').props('dense no-caps flat').mark(f'send-{self.ticket.label}'), \
                ui.menu():
            for queue_id, name in targets.items():
                ui.menu_item(name, on_click=partial(self.send, queue_id)).mark(f'send-to-{queue_id}')

    async def step(self, step: Callable) -> None:
        await staff_action(lambda s: step(s, self.point.actor, self.ticket.id, now=utcnow()))

    async def send(self, target: int) -> None:
        await staff_action(lambda s: queue.transfer(s, self.point.actor, self.ticket.id, target,
                                                    tz=clinic_settings.current().tz, now=utcnow()),
                           success=_('{ticket} sent to {queue}.').format(ticket=self.ticket.label,
                                                                 queue=self.point.targets[target]))


async def service_point(actor: Actor, kinds: set[QueueKind], title: str) -> ServicePoint | None:
    """The station's service point for its queues of ``kinds`` (None: the clinic has no such queue yet); ``title``
    marked with ``N_()`` by the station, translated here."""
    queues = await staff_read(lambda s: queue.list_queues(s, actor))
    targets = await staff_read(lambda s: queue.transfer_targets(s, actor))
    if queues is None or targets is None:
        return None
    mine = {q.id: f'{q.prefix} · {pick(q.name, q.name_translations)}' for q in queues if q.kind in kinds}
    if not mine:
        return None
    point = ServicePoint(actor, mine, {q.id: f'{q.prefix} · {pick(q.name, q.name_translations)}' for q in targets}, title)
    subscribe(QueueChanged, point.follow)
    live.on_missed(lambda: point.refresh(touch=False))
    await point.load()
    return point
