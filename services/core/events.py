"""Domain events: services say what changed; the news goes out only after the transaction committed.

Each kind of change is one small frozen class (one payload shape per topic) carrying ids and small facts only:
whoever listens re-reads what it shows. ``publish(session, event)`` queues the event on the session; right after
the commit every subscriber of its class is called on the event loop (a rollback drops the queue).

The bus knows nothing of screens: the app shell adapts it to NiceGUI (``clinic_ui/live.py``), background workers
subscribe directly. Subscribers of one class are called in the order they subscribed; one that fails is logged
and the others still run. With several app processes on PostgreSQL, ``fanout.py`` also sends each committed event
to the other processes and delivers theirs here (``EventsMissed`` when some may have been lost).
"""
from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

_PENDING = 'clinic_pending_events'
_numbers = itertools.count(1)
_held: ContextVar[list | None] = ContextVar('clinic_held_events', default=None)


@dataclass(frozen=True, eq=False)
class DomainEvent:
    """Base of every event. ``number`` orders events within this process; events compare by identity, so one
    publication is one event even when two carry the same facts."""
    topic: ClassVar[str] = ''
    number: int = field(default_factory=lambda: next(_numbers), init=False, repr=False)


@dataclass(frozen=True, eq=False)
class PatientChanged(DomainEvent):
    topic: ClassVar[str] = 'patients'
    patient_id: int


@dataclass(frozen=True, eq=False)
class AppointmentChanged(DomainEvent):
    topic: ClassVar[str] = 'appointments'
    appointment_id: int | None = None


@dataclass(frozen=True, eq=False)
class VisitChanged(DomainEvent):
    topic: ClassVar[str] = 'visits'
    visit_id: int
    patient_id: int | None = None
    status: str = ''


@dataclass(frozen=True, eq=False)
class ResultsReady(DomainEvent):
    """Every ordered result of a visit whose doctor waits for them is in: the patient is back in the doctor's queue."""
    topic: ClassVar[str] = 'results_ready'
    visit_id: int
    doctor_id: int | None = None
    queue_id: int | None = None
    ticket_id: int | None = None


@dataclass(frozen=True, eq=False)
class QueueChanged(DomainEvent):
    """A ticket moved in a queue: ``action`` is issued, called, recalled, started, finished, skipped, ..."""
    topic: ClassVar[str] = 'queue'
    queue_id: int
    ticket_id: int | None = None
    visit_id: int | None = None
    action: str = ''
    label: str = ''


@dataclass(frozen=True, eq=False)
class OrdersChanged(DomainEvent):
    topic: ClassVar[str] = 'orders'
    visit_id: int
    order_ids: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class CriticalResult(DomainEvent):
    """A saved lab result has a value beyond its critical limits: the ordering doctor (``doctor_id``) is alerted."""
    topic: ClassVar[str] = 'critical_results'
    order_id: int
    visit_id: int
    doctor_id: int


@dataclass(frozen=True, eq=False)
class PrescriptionChanged(DomainEvent):
    topic: ClassVar[str] = 'prescriptions'
    prescription_id: int
    visit_id: int


@dataclass(frozen=True, eq=False)
class StockChanged(DomainEvent):
    topic: ClassVar[str] = 'stock'
    medicine_ids: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class BillingChanged(DomainEvent):
    topic: ClassVar[str] = 'billing'
    visit_id: int
    invoice_id: int | None = None
    action: str = ''


@dataclass(frozen=True, eq=False)
class OutboxChanged(DomainEvent):
    """An email was queued or queued again (or the way to send changed): wakes the sender."""
    topic: ClassVar[str] = 'outbox'
    outbox_id: int | None = None


@dataclass(frozen=True, eq=False)
class StaffChanged(DomainEvent):
    topic: ClassVar[str] = 'staff'
    user_id: int | None = None
    doctor_id: int | None = None


@dataclass(frozen=True, eq=False)
class SettingsChanged(DomainEvent):
    """Clinic settings saved on the settings page (``keys``), or the queues' prefixes."""
    topic: ClassVar[str] = 'settings'
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CatalogChanged(DomainEvent):
    """A room, service, specialty or medicine was added, changed or (de)activated."""
    topic: ClassVar[str] = 'catalog'
    entity: str
    entity_id: int


@dataclass(frozen=True, eq=False)
class DisplayKeyRevoked(DomainEvent):
    topic: ClassVar[str] = 'display_keys'
    key_id: int


@dataclass(frozen=True, eq=False)
class DisplayKeyChanged(DomainEvent):
    """A board's settings changed (its language): boards open with the key show them."""
    topic: ClassVar[str] = 'display_keys'
    key_id: int


@dataclass(frozen=True, eq=False)
class EventsMissed(DomainEvent):
    """Events of other processes may have been lost (their news channel was cut for a while, see
    ``services.core.fanout``): every live view reads afresh. Published by this process about itself, never sent."""
    topic: ClassVar[str] = 'missed'


E = TypeVar('E', bound=DomainEvent)
Handler = Callable[[Any], Any]


class Bus:
    """Subscribers per event class, in this process."""

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
        self._tasks: set[asyncio.Task] = set()
        self.observers: list[Callable[[DomainEvent], None]] = []  # see every event first (benchmarks, tracing)
        self.generation = 0  # counts clear(): adapters that bridge the bus know when to subscribe again

    def subscribe(self, kind: type[E], handler: Callable[[E], Any]) -> Callable[[], None]:
        """Call ``handler(event)`` (plain or async) for each event of ``kind``; returns the unsubscribe function."""
        handlers = self._handlers[kind]
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)
        return unsubscribe

    def committed(self, event: DomainEvent) -> None:
        """``event``'s transaction has just committed: tell the observers now, the subscribers on the next turn of
        the event loop (the code that committed goes on first)."""
        for observer in self.observers:
            observer(event)
        held = _held.get()
        if held is not None:
            held.append(event)
            return
        asyncio.get_running_loop().call_soon(self.deliver, event)

    @contextmanager
    def holding(self) -> Iterator[list[DomainEvent]]:
        """Events committed by this task inside the block reach their subscribers only when it ends (in order, on
        the next turn of the event loop), also when it fails: the screen that acted shows the outcome first, and
        everybody else (the boards) hears of it after. Yields the events held so far. Nested blocks are one."""
        if _held.get() is not None:
            yield _held.get()
            return
        events: list[DomainEvent] = []
        token = _held.set(events)
        try:
            yield events
        finally:
            _held.reset(token)
            loop = asyncio.get_running_loop()
            for event in events:
                loop.call_soon(self.deliver, event)

    def deliver(self, event: DomainEvent) -> None:
        """Hand ``event`` to its subscribers now."""
        for handler in list(self._handlers.get(type(event), ())):
            try:
                result = handler(event)
            except Exception:  # noqa: BLE001 - one failing subscriber must not keep the news from the others
                log.exception('event subscriber failed on %s', type(event).__name__)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error('event subscriber failed', exc_info=task.exception())

    def clear(self) -> None:
        """Forget every subscriber (the app is built again, e.g. between tests)."""
        self._handlers.clear()
        self.observers.clear()
        self.generation += 1


bus = Bus()


def publish(session: AsyncSession | Session, event: DomainEvent) -> None:
    """Queue ``event`` on the session's transaction: delivered right after it commits, dropped on a rollback."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    sync_session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(Session, 'after_commit')
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # committed outside the event loop (e.g. a command-line tool): nobody is listening
        return
    for event in pending:
        bus.committed(event)


@sa_event.listens_for(Session, 'after_rollback')
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
