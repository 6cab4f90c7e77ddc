"""Domain events across processes: several app servers on one PostgreSQL database stay in step.

On PostgreSQL only (SQLite is the one-process default and never starts this). Every domain event a transaction
publishes is also sent with ``pg_notify`` inside that very transaction, so PostgreSQL delivers it only if the
transaction commits, like the local bus. The payload is small JSON, ids only (events carry nothing else)::

    {"origin": "<this process's random id>", "kind": "QueueChanged", "fields": {"queue_id": 3, ...}}

Each process listens on its own asyncpg connection (never one of the pool's), skips what it sent itself, rebuilds
the event from its class name and hands it to its subscribers on the event loop, in the order received. Some
kinds need the process to catch up first (a changed clinic setting: read the settings again before any screen
shows them): ``prepare(kind, coroutine_function)``; the events after it wait for it.

The notification leaves with the COMMIT, also for events that ``bus.holding()`` keeps from this process's own
subscribers a moment longer (the acting screen first): holding orders the work of one process, the others have
their own.

PostgreSQL keeps nothing for a listener that is away: when the listening connection drops, the listener connects
again (waiting longer after each failure, up to a few seconds) and then publishes ``EventsMissed`` here, so every
live view reads afresh.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from .events import _PENDING, Bus, DomainEvent, EventsMissed, bus

log = logging.getLogger(__name__)

CHANNEL = 'clinic_events'
MAX_PAYLOAD = 7_900  # PostgreSQL refuses a notification of 8,000 bytes or more
FIRST_RETRY_S = 0.1
LAST_RETRY_S = 5.0  # the longest wait between two attempts to connect again
CHECK_EVERY_S = 15.0  # an idle listening connection is asked whether it is alive this often
CHECK_TIMEOUT_S = 5.0

_senders: dict[Engine, Fanout] = {}  # the engine a session commits through -> the fanout sending its events

Prepare = Callable[[DomainEvent], Awaitable[Any]]


def registry() -> dict[str, type[DomainEvent]]:
    """Every event class by name (all subclasses of ``DomainEvent``, wherever defined)."""
    found: dict[str, type[DomainEvent]] = {}
    pending = list(DomainEvent.__subclasses__())
    while pending:
        kind = pending.pop()
        found[kind.__name__] = kind
        pending += kind.__subclasses__()
    found.pop(EventsMissed.__name__, None)  # said by each process of itself, never sent
    return found


def encode(origin: str, event: DomainEvent) -> str:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.init}
    payload = json.dumps({'origin': origin, 'kind': type(event).__name__, 'fields': fields},
                         separators=(',', ':'), default=str)
    if len(payload.encode()) > MAX_PAYLOAD:  # never with ids only; if it happens, the others re-read everything
        log.warning('fanout: %s is too large to send (%d bytes); the other processes re-read instead',
                    type(event).__name__, len(payload.encode()))
        payload = json.dumps({'origin': origin, 'kind': EventsMissed.__name__, 'fields': {}})
    return payload


def decode(payload: str, kinds: dict[str, type[DomainEvent]]) -> tuple[str, DomainEvent] | None:
    """The origin and the event of a notification; None for one this version does not know."""
    try:
        message = json.loads(payload)
        origin, name, fields = message['origin'], message['kind'], message['fields']
        if name == EventsMissed.__name__:
            return origin, EventsMissed()
        kind = kinds[name]
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        values = {key: tuple(value) if isinstance(value, list) else value
                  for key, value in fields.items() if key in known}
        return origin, kind(**values)
    except (ValueError, KeyError, TypeError):  # another version of the app, or not ours
        log.warning('fanout: ignoring a notification it cannot read: %.200s', payload)
        return None


@sa_event.listens_for(Session, 'before_commit')
def _send_with_the_transaction(session: Session) -> None:
    """The transaction about to commit published events: send them inside it (PostgreSQL delivers them only if
    it commits)."""
    if not _senders:
        return
    pending = session.info.get(_PENDING)
    if not pending:
        return
    fanout = _senders.get(session.bind) if isinstance(session.bind, Engine) else None
    if fanout is None:
        return
    statement = sa.text('SELECT pg_notify(:channel, :payload)')
    for event in pending:
        session.execute(statement, {'channel': fanout.channel, 'payload': encode(fanout.origin, event)})


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+asyncpg://...``) as asyncpg's own connection string."""
    return make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)


class Fanout:
    """Sends this process's events to the others and delivers theirs here. ``start()`` once the database is
    migrated (it waits for the first connection), ``stop()`` at shutdown."""

    def __init__(self, url: str, engine: Engine, *, target: Bus = bus, channel: str = CHANNEL,
                 origin: str | None = None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.engine = engine
        self.bus = target
        self.channel = channel
        self.origin = origin or secrets.token_hex(8)
        self.connection: asyncpg.Connection | None = None
        self.reconnects = 0  # how many times the listener connected again after losing its connection
        self._prepare: dict[type[DomainEvent], list[Prepare]] = {}
        self._inbox: asyncio.Queue[DomainEvent] = asyncio.Queue()
        self._lost = asyncio.Event()
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._kinds = registry()

    def prepare(self, kind: type[DomainEvent], step: Prepare) -> None:
        """Await ``step(event)`` before an event of ``kind`` from another process (or ``EventsMissed``) reaches
        this process's subscribers."""
        self._prepare.setdefault(kind, []).append(step)

    async def start(self, timeout: float = 10.0) -> None:
        _senders[self.engine] = self
        self._tasks = [asyncio.create_task(self._listen(), name='fanout listener'),
                       asyncio.create_task(self._hand_out(), name='fanout delivery')]
        try:
            async with asyncio.timeout(timeout):
                await self._listening.wait()
        except TimeoutError:
            log.warning('fanout: not listening yet after %g s; events from the other processes come once it is',
                        timeout)

    async def stop(self) -> None:
        if _senders.get(self.engine) is self:
            del _senders[self.engine]
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def listener_pid(self) -> int | None:
        """The server process of the listening connection (for tests that cut it)."""
        return self.connection.get_server_pid() if self.connection is not None else None

    # -- listening ------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = FIRST_RETRY_S
        attempts = 0
        while True:
            attempts += 1
            try:
                self.connection = await asyncpg.connect(self.dsn, timeout=CHECK_TIMEOUT_S)
                self._lost.clear()
                self.connection.add_termination_listener(lambda _connection: self._lost.set())
                await self.connection.add_listener(self.channel, self._received)
                if attempts > 1:  # what was sent while nobody listened is gone: every view reads afresh
                    self.reconnects += 1
                    log.warning('fanout: listening again; events sent meanwhile are lost, live views re-read')
                    self._inbox.put_nowait(EventsMissed())
                attempts, delay = 1, FIRST_RETRY_S
                self._listening.set()
                await self._until_lost()
            except asyncio.CancelledError:
                await self._close()
                raise
            except Exception as error:  # noqa: BLE001 - the database is away: try again, waiting longer each time
                log.warning('fanout: listening connection failed (%s: %s); trying again in %.1f s',
                            type(error).__name__, error, delay)
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_S)

    async def _until_lost(self) -> None:
        """Returns when the listening connection is gone (closed by the server, or no longer answering)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHECK_EVERY_S):
                    await self._lost.wait()
            if self._lost.is_set() or self.connection is None or self.connection.is_closed():
                raise ConnectionError('the listening connection was closed')
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await self.connection.execute('SELECT 1')

    async def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), CHECK_TIMEOUT_S)
        if connection is not None:
            connection.terminate()

    def _received(self, _connection, _pid: int, _channel: str, payload: str) -> None:
        decoded = decode(payload, self._kinds)
        if decoded is None or decoded[0] == self.origin:
            return  # this process's own event reached its subscribers already
        self._inbox.put_nowait(decoded[1])

    # -- delivering here, in order ---------------------------------------------------------------------------

    async def _hand_out(self) -> None:
        while True:
            event = await self._inbox.get()
            for step in self._prepare.get(type(event), ()):
                try:
                    await step(event)
                except Exception:  # noqa: BLE001 - the screens still hear of it
                    log.exception('fanout: preparing for %s failed', type(event).__name__)
            self.bus.deliver(event)
