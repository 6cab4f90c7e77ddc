"""The one adapter from domain events to screens: every station subscribes here.

``subscribe(QueueChanged, callback)`` inside a page function: the callback runs for each event of that class, in
the tab's own context, and the subscription ends with the tab. Underneath, one NiceGUI ``Event`` per event class
is fed by the foundation's bus (``services.core.events``), so a tab that closes mid-update is simply skipped.

Several app processes on PostgreSQL hear each other's events (``services.core.fanout``); when that news was cut
for a while, ``EventsMissed`` comes instead of what was lost. A callback without arguments is a re-read: it runs
then too. A callback that looks at the event names its re-read with ``on_missed(callback)``. Nothing reloads a
staff page (what was typed would be lost): the views read afresh in place.

``read_once(event, key, loader)`` shares one database read between every screen that reacts to the same event
(the boards, the worklists and reception's queue view all show a queue after a call): the first asks, the others
await the same answer. The answer is kept beside the event here, for a few seconds, never on the event itself.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from nicegui import Client, Event, context, core, helpers

from models.types import utcnow
from services import clinic_settings, queue
from services.core.db import get_db
from services.core.events import DomainEvent, EventsMissed, QueueChanged, bus

log = logging.getLogger(__name__)

E = TypeVar('E', bound=DomainEvent)
T = TypeVar('T')

_bridges: dict[type[DomainEvent], tuple[Event, int]] = {}


def _event_for(kind: type[DomainEvent]) -> Event:
    """The NiceGUI event fed by the bus for ``kind``; made again after the app was rebuilt (between tests)."""
    bridge = _bridges.get(kind)
    if bridge is None or bridge[0] not in Event.instances or bridge[1] != bus.generation:
        event = Event()
        bus.subscribe(kind, event.emit)
        bridge = _bridges[kind] = (event, bus.generation)
    return bridge[0]


def subscribe(kind: type[E], callback: Callable[[E], Any] | Callable[[], Any]) -> None:
    """Call ``callback`` (with the event, or without arguments) for each ``kind`` event while this tab is open.

    Call it inside a page function. A tab can close while its callback awaits the database; the update is then
    simply dropped. A callback without arguments also runs after ``EventsMissed`` (see ``on_missed``)."""
    takes_event = helpers.expects_arguments(callback)
    _subscribe(kind, callback, takes_event)
    if not takes_event and kind is not EventsMissed:
        on_missed(callback)


_rereads: dict[str, set[Callable[[], Any]]] = {}  # tab -> its re-reads after EventsMissed (each once)


def on_missed(callback: Callable[[], Any]) -> None:
    """Call ``callback`` (a re-read of what this tab shows) when events of other processes may have been lost:
    the listening connection to the database dropped and came back. For views whose ``subscribe`` callbacks
    look at the event; callbacks without arguments re-read then by themselves. Each re-read runs once, however
    many kinds of event it follows."""
    client = context.client
    if client.id not in _rereads:
        _rereads[client.id] = set()
        client.on_delete(lambda: _rereads.pop(client.id, None))
    if callback not in _rereads[client.id]:
        _rereads[client.id].add(callback)
        _subscribe(EventsMissed, callback, False)


def _subscribe(kind: type[E], callback: Callable[..., Any], takes_event: bool) -> None:
    client = context.client

    async def guarded(event: E) -> None:
        if client.is_deleted:
            return
        try:
            result = callback(event) if takes_event else callback()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            if not client.is_deleted:
                raise

    _event_for(kind).subscribe(guarded)


def subscribe_process(kind: type[E], callback: Callable[[E], Any]) -> Callable[[], None]:
    """A subscription that belongs to no tab (e.g. the boards' hub); returns the unsubscribe function."""
    return bus.subscribe(kind, callback)


_reads: dict[tuple[int, str], asyncio.Future] = {}
KEEP_READ_S = 5.0


def read_once(event: DomainEvent, key: str, loader: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """The answer of ``loader()`` for this event, asked once however many screens want it."""
    slot = (event.number, key)
    future = _reads.get(slot)
    if future is None:
        future = asyncio.ensure_future(loader())
        _keep(slot, future)
    return asyncio.shield(future)


def _keep(slot: tuple[int, str], future: asyncio.Future) -> None:
    _reads[slot] = future
    asyncio.get_running_loop().call_later(KEEP_READ_S, _reads.pop, slot, None)


@asynccontextmanager
async def acting_first() -> AsyncIterator[dict[int, queue.QueueView]]:
    """For a screen that acts and shows the outcome itself ("Call next"): events its action commits inside the
    block reach the other screens and the boards only once this screen's update went out, when the block ends.
    Put the queues the action returned in the dict it yields: every screen then shows that state without reading
    it again."""
    known: dict[int, queue.QueueView] = {}
    client = context.client
    with bus.holding() as held:
        yield known
        for event in held:
            view = known.get(event.queue_id) if isinstance(event, QueueChanged) else None
            if view is not None and (event.number, 'queue') not in _reads:
                future = asyncio.get_running_loop().create_future()
                future.set_result(view)
                _keep((event.number, 'queue'), future)
        if held:
            await _sent(client)


async def call_next_first(call: Callable[[], Awaitable[queue.Called | None]], queue_id: int,
                          show: Callable[[queue.QueueView], None]) -> queue.Called | None:
    """"Call next" on a screen that shows the queue (the worklist, a service point): ``call()`` runs the action
    (``queue.call_next_shown`` through ``staff_action``), ``show`` puts the queue as it now stands on this screen
    (if it still shows ``queue_id``), and only then do the boards and everybody else hear of it."""
    async with acting_first() as shown:
        called = await call()
        if called is not None:
            shown[called.queue.id] = called.queue
            if called.queue.id == queue_id:
                show(called.queue)
    return called


async def _sent(client: Client, at_most_s: float = 0.1) -> None:
    """Until what ``client``'s tab has to send went out (NiceGUI sends it on its own task, within milliseconds)."""
    outbox = client.outbox
    if not client.has_socket_connection or not (outbox.updates or outbox.messages):
        return
    target = outbox.next_message_id + 1
    deadline = asyncio.get_running_loop().time() + at_most_s
    while outbox.next_message_id < target and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)


async def _read_queue(queue_id: int) -> queue.QueueView | None:
    try:
        async with get_db().read() as session:
            views = await queue.board_views(session, [queue_id], tz=clinic_settings.current().tz, now=utcnow())
        return views[0] if views else None
    except Exception:  # noqa: BLE001 - a screen must survive a failed read; the next event or reconnect heals it
        log.exception('live: reading queue %s failed', queue_id)
        return None


def queue_view(event: QueueChanged) -> Awaitable[queue.QueueView | None]:
    """The queue's new state after ``event``, read once for every screen. Callers show it only where the person or
    display key may see that queue (checked when their page was built)."""
    return read_once(event, 'queue', lambda: _read_queue(event.queue_id))


async def send_together(clients: list[Client], kind: str, payload: dict) -> None:
    """One message to many tabs, serialised once and written to each tab's socket (NiceGUI's socket.io room per
    tab), for screens that put it in place with their own script: the waiting-room boards. Not kept for a
    reconnect, unlike NiceGUI's own updates: a screen that was away reads afresh when it is back."""
    rooms = [client.id for client in clients if client.has_socket_connection]
    if rooms:
        await core.sio.emit(kind, payload, room=rooms)
