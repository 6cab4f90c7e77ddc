"""The administrator's dashboard for a chosen period (clinic-local days, both included).

Visits per day and per doctor are counted in the database. Payments, waiting and consultation times are summed
here from a few columns per row (bounded by ``MAX_DAYS``), because "which local day" differs between SQLite and
PostgreSQL in SQL but not in Python.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    DayClosure,
    Doctor,
    Payment,
    PaymentKind,
    PaymentMethod,
    Role,
    Visit,
    VisitStatus,
)
from models.types import utcnow

from .access import Actor, require
from .core.boundary import query
from .core.clock import day_bounds, local_today
from .core.errors import ValidationError
from .core.i18n import _

MAX_DAYS = 366
MAX_MINUTES = 12 * 60  # a waiting or consultation time above this is a forgotten click, not data
DUE = (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED,
       AppointmentStatus.NO_SHOW)
NOT_COME = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)  # on a day that is over: did not come


@dataclass
class DoctorLoad:
    doctor_id: int
    name: str
    visits: int
    avg_consultation: float | None


@dataclass
class Dashboard:
    start_day: date
    end_day: date
    days: list[date]
    visits_per_day: list[int]
    revenue_per_day: list[int]                 # payments minus refunds, minor units
    revenue_by_method: dict[str, int]
    avg_wait_per_day: list[float | None]       # minutes, check-in -> consultation start
    avg_consult_per_day: list[float | None]    # minutes, consultation start -> end
    avg_wait: float | None
    avg_consultation: float | None
    doctors: list[DoctorLoad] = field(default_factory=list)
    appointments_due: int = 0                  # booked (not walk-in, not cancelled), time passed
    no_shows: int = 0                          # marked, or still "scheduled" on a day that is over
    tickets_closed: int = 0                    # tickets still in a queue when the day was closed
    visits_closed: int = 0                     # visits still open when the day was closed

    @property
    def total_visits(self) -> int:
        return sum(self.visits_per_day)

    @property
    def total_revenue(self) -> int:
        return sum(self.revenue_per_day)

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.appointments_due if self.appointments_due else None


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    minutes = (end - start).total_seconds() / 60
    return minutes if 0 <= minutes <= MAX_MINUTES else None


def _avg(values: list[float]) -> float | None:
    return round(mean(values), 1) if values else None


@query
async def build(session: AsyncSession, actor: Actor, *, start_day: date, end_day: date, tz: ZoneInfo,
                now: datetime | None = None) -> Dashboard:
    require(actor, Role.ADMIN)
    now = now or utcnow()
    if end_day < start_day:
        raise ValidationError(_('The last day must not be before the first day.'))
    if (end_day - start_day).days + 1 > MAX_DAYS:
        raise ValidationError(_('Please choose at most {count} days.').format(count=MAX_DAYS))
    days = [start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    begin, finish = day_bounds(start_day, tz)[0], day_bounds(end_day, tz)[1]
    counted = Visit.status != VisitStatus.CANCELLED
    in_period = (Visit.visit_date >= start_day, Visit.visit_date <= end_day, counted)

    visits = [0] * len(days)
    for day, count in (await session.exec(select(Visit.visit_date, func.count()).where(*in_period)
                                          .group_by(Visit.visit_date))).all():
        visits[index[day]] = count

    waits: dict[int, list[float]] = defaultdict(list)
    consults: dict[int, list[float]] = defaultdict(list)
    per_doctor: dict[int, list[float]] = defaultdict(list)
    doctor_visits: dict[int, int] = defaultdict(int)
    rows = await session.exec(select(Visit.visit_date, Visit.doctor_id, Visit.checked_in_at,
                                     Visit.consultation_started_at, Visit.consultation_ended_at)
                              .where(*in_period))
    for day, doctor_id, checked_in, started, ended in rows.all():
        i = index[day]
        if doctor_id is not None:
            doctor_visits[doctor_id] += 1
        wait = _minutes(checked_in, started)
        if wait is not None:
            waits[i].append(wait)
        consult = _minutes(started, ended)
        if consult is not None:
            consults[i].append(consult)
            if doctor_id is not None:
                per_doctor[doctor_id].append(consult)

    revenue = [0] * len(days)
    by_method: dict[str, int] = {method.value: 0 for method in PaymentMethod}
    payments = await session.exec(select(Payment.received_at, Payment.method, Payment.kind, Payment.amount)
                                  .where(Payment.received_at >= begin, Payment.received_at < finish))
    for received_at, method, kind, amount in payments.all():
        signed = -amount if kind == PaymentKind.REFUND else amount
        revenue[index[received_at.astimezone(tz).date()]] += signed
        by_method[method.value] += signed

    names = dict((await session.exec(select(Doctor.id, Doctor.full_name)
                                     .where(col(Doctor.id).in_(list(doctor_visits))))).all())
    doctors = sorted((DoctorLoad(doctor_id, names.get(doctor_id, '?'), count, _avg(per_doctor[doctor_id]))
                      for doctor_id, count in doctor_visits.items()), key=lambda d: (-d.visits, d.name))

    booked = (Appointment.start_at >= begin, Appointment.start_at < min(finish, now),
              Appointment.source != BookingSource.WALK_IN)
    statuses = dict((await session.exec(select(Appointment.status, func.count()).where(*booked)
                                        .group_by(Appointment.status))).all())
    # Still "scheduled" on a day that is over (its close has not run yet): nobody came either.
    not_come = (await session.exec(select(func.count()).select_from(Appointment).where(
        *booked, Appointment.start_at < day_bounds(local_today(tz, now), tz)[0],
        col(Appointment.status).in_(list(NOT_COME))))).one()
    no_shows = statuses.get(AppointmentStatus.NO_SHOW, 0) + not_come
    due = sum(count for status, count in statuses.items() if status in DUE) + not_come
    tickets_closed, visits_closed = (await session.exec(
        select(func.coalesce(func.sum(DayClosure.tickets_closed), 0),
               func.coalesce(func.sum(DayClosure.visits_closed), 0))
        .where(DayClosure.service_date >= start_day, DayClosure.service_date <= end_day))).one()

    all_waits = [w for values in waits.values() for w in values]
    all_consults = [c for values in consults.values() for c in values]
    return Dashboard(start_day=start_day, end_day=end_day, days=days, visits_per_day=visits,
                     revenue_per_day=revenue, revenue_by_method={k: v for k, v in by_method.items() if v},
                     avg_wait_per_day=[_avg(waits[i]) for i in range(len(days))],
                     avg_consult_per_day=[_avg(consults[i]) for i in range(len(days))],
                     avg_wait=_avg(all_waits), avg_consultation=_avg(all_consults), doctors=doctors,
                     appointments_due=due, no_shows=no_shows, tickets_closed=int(tickets_closed),
                     visits_closed=int(visits_closed))
