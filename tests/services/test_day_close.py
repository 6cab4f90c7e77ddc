"""Closing the clinic's day: appointments nobody came to become no-shows, tickets still in a queue end with a
reason, open visits close; once per day, in the clinic's time zone, catching up the days the server was off."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlmodel import select

from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    DayClosure,
    QueueTicket,
    TicketStatus,
    Visit,
    VisitStatus,
)
from services import checkin, day_close, queue
from services.core.clock import local_today
from services.core.errors import ValidationError
from tests.factories import TZ, local, make_clinic

DAY = date(2026, 11, 23)
AFTER = local(24, 0, 10)  # ten minutes after the clinic's midnight


async def appointment(db, clinic, start: datetime, status: AppointmentStatus = AppointmentStatus.SCHEDULED,
                      patient: int = 0) -> int:
    async with db.write() as session:
        row = Appointment(uuid=str(uuid.uuid4()), patient_id=clinic.patient_ids[patient],
                          doctor_id=clinic.doctor_ids[0], start_at=start, end_at=start + timedelta(minutes=15),
                          source=BookingSource.PHONE, status=status)
        session.add(row)
        await session.commit()
        return row.id


async def walk_in(db, clinic, patient: int, at: datetime) -> int:
    async with db.write() as session:
        return (await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                      doctor_id=clinic.doctor_ids[0], tz=TZ, now=at)).ticket_id


async def close(db, day: date = DAY, now: datetime = AFTER) -> DayClosure | None:
    async with db.write() as session:
        return await day_close.close_day(session, day=day, tz=TZ, now=now)


async def statuses(db, model, ids: list[int]) -> list:
    async with db.read() as session:
        return [(await session.get(model, row_id)).status for row_id in ids]


async def test_appointments_nobody_came_to_become_no_shows_once(db):
    clinic = await make_clinic(db)
    ids = [await appointment(db, clinic, local(23, 8, 0)),
           await appointment(db, clinic, local(23, 9, 0), AppointmentStatus.CONFIRMED, patient=1),
           await appointment(db, clinic, local(23, 10, 0), AppointmentStatus.CANCELLED, patient=2),
           await appointment(db, clinic, local(24, 8, 0))]  # tomorrow's: not touched
    closure = await close(db)
    assert (closure.no_shows, closure.tickets_closed, closure.visits_closed) == (2, 0, 0)
    assert await statuses(db, Appointment, ids) == [AppointmentStatus.NO_SHOW, AppointmentStatus.NO_SHOW,
                                                    AppointmentStatus.CANCELLED, AppointmentStatus.SCHEDULED]
    late = await appointment(db, clinic, local(23, 17, 0))  # booked afterwards by mistake: the day ran already
    assert await close(db) is None
    assert await statuses(db, Appointment, [late]) == [AppointmentStatus.SCHEDULED]
    async with db.read() as session:
        assert len((await session.exec(select(DayClosure))).all()) == 1


async def test_tickets_still_in_a_queue_end_with_a_reason_and_open_visits_close(db):
    clinic = await make_clinic(db)
    waiting, called, seen = [await walk_in(db, clinic, patient, local(23, 8, patient)) for patient in range(3)]
    async with db.write() as session:
        await queue.start(session, clinic.doctor_actor, seen, now=local(23, 9, 0))
    async with db.write() as session:  # called, never came in
        ticket = await session.get(QueueTicket, called)
        ticket.status = TicketStatus.CALLED
        session.add(ticket)
        await session.commit()
    closure = await close(db)
    assert (closure.tickets_closed, closure.visits_closed) == (3, 3)
    async with db.read() as session:
        tickets = {t.id: t for t in (await session.exec(select(QueueTicket))).all()}
        visits = (await session.exec(select(Visit).order_by(Visit.id))).all()
    assert [tickets[i].status for i in (waiting, called, seen)] == [TicketStatus.NO_SHOW, TicketStatus.NO_SHOW,
                                                                   TicketStatus.DONE]
    assert {t.close_reason for t in tickets.values()} == {'Day closed'}
    assert all(t.finished_at == AFTER for t in tickets.values())
    assert {v.status for v in visits} == {VisitStatus.CLOSED}
    assert [v.close_reason for v in visits] == ['Day closed: was waiting', 'Day closed: was waiting',
                                                'Day closed: was in consultation']


async def test_the_day_is_the_clinics_local_day(db):
    clinic = await make_clinic(db)
    last = await appointment(db, clinic, local(23, 23, 30))        # 16:30 UTC on the 23rd
    first = await appointment(db, clinic, local(24, 0, 30), patient=1)  # 17:30 UTC on the 23rd: tomorrow locally
    with pytest.raises(ValidationError, match='once it is over'):
        await close(db, now=local(23, 23, 59))
    await close(db, now=local(24, 0, 1))
    assert await statuses(db, Appointment, [last, first]) == [AppointmentStatus.NO_SHOW, AppointmentStatus.SCHEDULED]
    assert day_close.seconds_to_midnight(TZ, local(23, 23, 0)) == 3600
    assert day_close.seconds_to_midnight(TZ, datetime(2026, 11, 23, 16, 59, tzinfo=timezone.utc)) == 60


async def test_catching_up_closes_every_missed_day_of_the_last_month_but_not_today(db):
    clinic = await make_clinic(db, patients=4)
    ids = [await appointment(db, clinic, local(20, 9, 0)), await appointment(db, clinic, local(21, 9, 0), patient=1),
           await appointment(db, clinic, local(23, 9, 0), patient=2),  # today
           await appointment(db, clinic, local(23, 9, 0) - timedelta(days=40), patient=3)]  # too old
    await close(db, date(2026, 11, 21), now=local(22, 0, 5))  # the 21st ran already
    closed = await day_close.catch_up(db, tz=TZ, now=local(23, 10, 0))
    assert [c.service_date for c in closed] == [date(2026, 11, 20)]
    assert await statuses(db, Appointment, ids) == [AppointmentStatus.NO_SHOW, AppointmentStatus.NO_SHOW,
                                                    AppointmentStatus.SCHEDULED, AppointmentStatus.SCHEDULED]
    assert await day_close.catch_up(db, tz=TZ, now=local(23, 11, 0)) == []


async def test_the_background_closer_catches_up_at_start_and_stops_cleanly(db):
    clinic = await make_clinic(db)
    yesterday = local_today(TZ) - timedelta(days=1)
    missed = await appointment(db, clinic, datetime.combine(yesterday, time(9, 0), tzinfo=TZ))
    closer = day_close.DayCloser(lambda: TZ)
    await closer.start()
    assert await statuses(db, Appointment, [missed]) == [AppointmentStatus.NO_SHOW]
    await asyncio.wait_for(closer.stop(), timeout=1)  # asleep until midnight: wakes and ends at once


async def test_a_consultation_ended_by_the_day_close_does_not_count_as_a_real_length(db):
    clinic = await make_clinic(db, patients=6)
    tickets = [await walk_in(db, clinic, patient, local(23, 8, patient)) for patient in range(6)]
    for minute, ticket in zip((0, 10, 20), tickets):  # three real consultations of 5 minutes
        async with db.write() as session:
            await queue.start(session, clinic.doctor_actor, ticket, now=local(23, 9, minute))
        async with db.write() as session:
            await queue.finish(session, clinic.doctor_actor, ticket, now=local(23, 9, minute + 5))
    for ticket in tickets[3:]:  # never finished: "in consultation" until the day closed
        async with db.write() as session:
            await queue.start(session, clinic.doctor_actor, ticket, now=local(23, 10, 0))
    await close(db, now=local(24, 0, 5))
    async with db.read() as session:
        queue_id = (await session.get(QueueTicket, tickets[0])).queue_id
        assert await queue.typical_minutes(session, queue_id, local(24, 8)) == 5
