"""Closing the clinic's day: what was left open when the (clinic-local) day ended is ended, once.

* Appointments of the day still scheduled or confirmed became no-shows.
* Tickets still in a queue are ended with the reason "Day closed": one in service is done, the others (never
  called, or called and never came in) are no-shows.
* Visits of the day still open are closed, with the step they were at as the reason ("Day closed: was awaiting
  payment"); their appointment is completed.

``close_day`` runs once per day: a ``DayClosure`` row (the day is its key) says it ran, with the counts the
dashboard shows. Several server processes may try at once: the day is serialized (an advisory lock on
PostgreSQL, the single writer on SQLite) and the second finds the row. ``DayCloser`` is the background task of a
server process: at start it catches up every day of the last ``CATCH_UP_DAYS`` left open (the server was off at
midnight), then sleeps until the next local midnight of the clinic's time zone, read again at each wake (it may
be changed on the settings page).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Appointment, AppointmentStatus, DayClosure, QueueTicket, Visit, VisitStatus
from models.types import utcnow

from . import clinic_settings, queue, visit_path
from .core.boundary import action
from .core.clock import day_bounds, local_today
from .core.db import Database, get_db, serialize
from .core.errors import ValidationError
from .core.events import AppointmentChanged, VisitChanged, publish
from .core.i18n import _

log = logging.getLogger(__name__)

REASON = 'Day closed'
CATCH_UP_DAYS = 31
NOT_COME = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
OPEN_VISIT = (VisitStatus.WAITING, VisitStatus.IN_CONSULTATION, VisitStatus.IN_SERVICES,
              VisitStatus.AWAITING_PHARMACY, VisitStatus.AWAITING_PAYMENT, VisitStatus.PAID)
MAX_SLEEP_S = 3600.0  # wake at least hourly: the clinic's time zone may have changed meanwhile
AFTER_MIDNIGHT_S = 5.0
ERROR_PAUSE_S = 60.0


@action
async def close_day(session: AsyncSession, *, day: date, tz: ZoneInfo, now: datetime) -> DayClosure | None:
    """End what ``day`` left open (see the module); None when the day was already closed."""
    if day >= local_today(tz, now):
        raise ValidationError(_('A day is closed once it is over.'), 'day')
    await serialize(session, f'day-close:{day.isoformat()}')
    if await session.get(DayClosure, day) is not None:
        return None
    start, end = day_bounds(day, tz)
    appointments = list((await session.exec(select(Appointment).where(
        Appointment.start_at >= start, Appointment.start_at < end, Appointment.status.in_(list(NOT_COME)))
        .execution_options(populate_existing=True))).all())
    for appointment in appointments:
        appointment.status = AppointmentStatus.NO_SHOW
        session.add(appointment)
    tickets = await queue.close_open_tickets(session, day, reason=REASON, now=now)
    visits = list((await session.exec(select(Visit).where(Visit.visit_date == day, Visit.status.in_(list(OPEN_VISIT)))
                                      .execution_options(populate_existing=True))).all())
    for visit in visits:
        await _close_visit(session, visit, now=now)
    closure = DayClosure(service_date=day, closed_at=now, no_shows=len(appointments), tickets_closed=len(tickets),
                         visits_closed=len(visits))
    session.add(closure)
    await session.flush()
    if appointments:
        publish(session, AppointmentChanged())
    return closure


async def _close_visit(session: AsyncSession, visit: Visit, *, now: datetime) -> None:
    if visit.status != VisitStatus.PAID:  # a paid visit was done: nothing was left unfinished
        visit.close_reason = f'{REASON}: was {visit.status.value.replace("_", " ")}'
    visit.status = VisitStatus.CLOSED
    visit.closed_at = now
    visit.awaiting_results = False
    session.add(visit)
    await visit_path.complete_appointment(session, visit)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))


async def days_to_close(session: AsyncSession, *, tz: ZoneInfo, now: datetime) -> list[date]:
    """The days of the last ``CATCH_UP_DAYS`` (today excluded) that left something open and were not closed."""
    today = local_today(tz, now)
    first = today - timedelta(days=CATCH_UP_DAYS)
    start, end = day_bounds(first, tz)[0], day_bounds(today, tz)[0]
    days = {moment.astimezone(tz).date() for moment in (await session.exec(select(Appointment.start_at).where(
        Appointment.start_at >= start, Appointment.start_at < end,
        Appointment.status.in_(list(NOT_COME))))).all()}
    days |= set((await session.exec(select(QueueTicket.service_date).where(
        QueueTicket.service_date >= first, QueueTicket.service_date < today,
        QueueTicket.status.in_(list(queue.MOVABLE))).distinct())).all())
    days |= set((await session.exec(select(Visit.visit_date).where(
        Visit.visit_date >= first, Visit.visit_date < today, Visit.status.in_(list(OPEN_VISIT))).distinct())).all())
    closed = set((await session.exec(select(DayClosure.service_date).where(DayClosure.service_date >= first))).all())
    return sorted(day for day in days - closed if first <= day < today)


async def catch_up(database: Database, *, tz: ZoneInfo, now: datetime) -> list[DayClosure]:
    """Close every past day of the window that is still open, oldest first; each day in its own transaction."""
    async with database.read() as session:
        days = await days_to_close(session, tz=tz, now=now)
    closures = []
    for day in days:
        async with database.write() as session:
            closure = await close_day(session, day=day, tz=tz, now=now)
        if closure is not None:
            log.info('closed %s: %d no-shows, %d tickets, %d visits', day, closure.no_shows,
                     closure.tickets_closed, closure.visits_closed)
            closures.append(closure)
    return closures


def seconds_to_midnight(tz: ZoneInfo, now: datetime) -> float:
    """Seconds from ``now`` until the clinic's next local midnight (DST-safe)."""
    return (day_bounds(local_today(tz, now), tz)[1] - now).total_seconds()


class DayCloser:
    """The background task that closes each day after the clinic's midnight (one per server process)."""

    def __init__(self, tz: Callable[[], ZoneInfo] | None = None) -> None:
        self._tz = tz or (lambda: clinic_settings.current().tz)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Catch up the days missed while the server was off (awaited: the first screens see them closed), then
        keep closing each day at its end."""
        self._stop = asyncio.Event()  # bound to the running loop
        await self._catch_up()
        self._task = asyncio.create_task(self._run(), name='day closer')

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None and not self._task.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._task = None

    async def _catch_up(self) -> bool:
        try:
            await catch_up(get_db(), tz=self._tz(), now=utcnow())
            return True
        except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable: try again later
            log.exception('closing the past days failed')
            return False

    async def _run(self) -> None:
        while not self._stop.is_set():
            pause = min(seconds_to_midnight(self._tz(), utcnow()) + AFTER_MIDNIGHT_S, MAX_SLEEP_S)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=pause)
            if self._stop.is_set():
                return
            if not await self._catch_up():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=ERROR_PAUSE_S)
