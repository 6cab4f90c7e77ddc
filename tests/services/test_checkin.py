"""Check-in and walk-ins at the front desk: "patients ahead" in the real calling order, and walk-ins only for a
doctor who still works today, with the list reception chooses from."""
from datetime import date, time

import pytest
from sqlmodel import delete, select

from models import DoctorLeave, QueueTicket, Visit, WorkingHours
from services import checkin, queue
from services.core.errors import ValidationError
from tests.factories import TZ, local, make_clinic
from tests.services.test_queue import call, doctor_queue_id, walk_in

DAY = 23  # a Monday: both doctors work 08:00–12:00 and 13:30–17:00


async def ticket_of(db, clinic, ticket: checkin.Ticket) -> checkin.Ticket:
    """The ticket as a reprinted slip shows it now."""
    async with db.read() as session:
        return await checkin.ticket_for_visit(session, clinic.reception, ticket.visit_id)


async def test_a_priority_ticket_after_two_normal_ones_has_nobody_ahead_and_later_ones_count_it(db):
    clinic = await make_clinic(db, patients=4)
    first = await walk_in(db, clinic, 0, local(DAY, 8, 0))
    second = await walk_in(db, clinic, 1, local(DAY, 8, 5))
    urgent = await walk_in(db, clinic, 2, local(DAY, 8, 10), priority=3, reason='Urgent')
    after = await walk_in(db, clinic, 3, local(DAY, 8, 15))
    assert [t.waiting_ahead for t in (first, second, urgent, after)] == [0, 1, 0, 3]
    assert (await ticket_of(db, clinic, first)).waiting_ahead == 1  # the reprinted slip: the urgent one goes first
    called = await call(db, clinic.doctor_actor, await doctor_queue_id(db, clinic), local(DAY, 8, 20))
    assert called.label == urgent.label  # the board calls first whom the slip said had nobody ahead
    assert [(await ticket_of(db, clinic, t)).waiting_ahead for t in (first, second, after)] == [0, 1, 2]
    assert (await ticket_of(db, clinic, urgent)).waiting_ahead == 0


async def test_patients_ahead_counts_only_the_same_doctors_waiting_tickets(db):
    clinic = await make_clinic(db, patients=3)
    await walk_in(db, clinic, 0, local(DAY, 8, 0), doctor=1)
    first = await walk_in(db, clinic, 1, local(DAY, 8, 5))
    second = await walk_in(db, clinic, 2, local(DAY, 8, 10))
    assert (first.waiting_ahead, second.waiting_ahead) == (0, 1)
    async with db.read() as session:
        ticket = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == second.visit_id))).one()
        assert await queue.ahead_of(session, ticket) == 1


async def hours_on(db, doctor_id: int, *blocks: tuple[time, time]) -> None:
    """The doctor's Monday hours become ``blocks`` (in their room)."""
    async with db.write() as session:
        room_id = (await session.exec(select(WorkingHours.room_id).where(WorkingHours.doctor_id == doctor_id))).first()
        await session.exec(delete(WorkingHours).where(WorkingHours.doctor_id == doctor_id, WorkingHours.weekday == 0))
        session.add_all([WorkingHours(doctor_id=doctor_id, room_id=room_id, weekday=0, start_time=start,
                                      end_time=end) for start, end in blocks])
        await session.commit()


async def test_a_walk_in_is_refused_once_the_doctors_hours_today_have_ended(db):
    clinic = await make_clinic(db, patients=2)
    with pytest.raises(ValidationError, match="Dr. Nguyễn Thị Lan's hours today ended at 17:00. Please choose a "
                                              'doctor on duty.'):
        await walk_in(db, clinic, 0, local(DAY, 17, 0))
    async with db.read() as session:
        assert (await session.exec(select(Visit))).all() == []
    early = await walk_in(db, clinic, 0, local(DAY, 7, 0))   # before opening: waits for the doctor
    lunch = await walk_in(db, clinic, 1, local(DAY, 12, 30))  # in the break: waits for the afternoon
    assert early.label == 'A-001' and lunch.label == 'A-002' and lunch.room == 'R1 Room 1'


async def test_a_walk_in_is_refused_on_leave_and_on_a_day_off(db):
    clinic = await make_clinic(db, patients=2)
    async with db.write() as session:
        session.add(DoctorLeave(doctor_id=clinic.doctor_ids[0], start_date=date(2026, 11, DAY),
                                end_date=date(2026, 11, DAY), reason='Conference'))
        await session.commit()
    with pytest.raises(ValidationError, match='Dr. Nguyễn Thị Lan is on leave today'):
        await walk_in(db, clinic, 0, local(DAY, 9, 0))
    await hours_on(db, clinic.doctor_ids[1])  # no hours on Mondays
    with pytest.raises(ValidationError, match='Dr. Trần Văn Minh does not work today'):
        await walk_in(db, clinic, 1, local(DAY, 9, 0), doctor=1)


async def doctors_at(db, clinic, at, complaint: str = '') -> list[checkin.WalkInDoctor]:
    async with db.read() as session:
        return await checkin.walk_in_doctors(session, clinic.reception, tz=TZ, now=at, complaint=complaint)


async def test_the_walk_in_list_puts_doctors_on_duty_first_with_their_queue_and_hours(db):
    clinic = await make_clinic(db, patients=2)
    await hours_on(db, clinic.doctor_ids[0], (time(8, 0), time(12, 0)))  # Dr. Lan: mornings only on Mondays
    await walk_in(db, clinic, 0, local(DAY, 15, 0), doctor=1)
    await walk_in(db, clinic, 1, local(DAY, 15, 5), doctor=1)
    minh, lan = await doctors_at(db, clinic, local(DAY, 15, 10))
    assert (minh.name, minh.on_duty, minh.takes_walk_ins, minh.duty) == ('Dr. Trần Văn Minh', True, True,
                                                                         'On duty until 17:00')
    assert (minh.hours_today, minh.waiting, minh.wait_minutes) == ('08:00–12:00, 13:30–17:00', 2, 20)
    assert (lan.name, lan.on_duty, lan.takes_walk_ins, lan.duty) == ('Dr. Nguyễn Thị Lan', False, False,
                                                                     'Hours today ended at 12:00')
    assert (lan.hours_today, lan.waiting, lan.wait_minutes) == ('08:00–12:00', 0, None)
    with pytest.raises(ValidationError, match="Lan's hours today ended at 12:00"):
        await walk_in(db, clinic, 0, local(DAY, 15, 10))


async def test_the_walk_in_list_before_opening_counts_the_wait_until_the_doctor_starts(db):
    clinic = await make_clinic(db, patients=1)
    lan, minh = await doctors_at(db, clinic, local(DAY, 7, 30))
    assert (lan.on_duty, lan.takes_walk_ins, lan.duty, lan.wait_minutes) == (False, True, 'Starts at 08:00', 30)
    await walk_in(db, clinic, 0, local(DAY, 7, 40))
    lan, minh = await doctors_at(db, clinic, local(DAY, 12, 15))
    assert (lan.duty, lan.waiting, lan.wait_minutes) == ('Back at 13:30', 1, 10 + 75)
    assert (minh.duty, minh.waiting, minh.wait_minutes) == ('Back at 13:30', 0, 75)


async def test_the_walk_in_list_puts_the_doctors_the_complaint_suggests_first(db):
    clinic = await make_clinic(db)
    first, second = await doctors_at(db, clinic, local(DAY, 9, 0), complaint='An itching rash')
    assert (first.name, first.suggested, first.specialties) == ('Dr. Trần Văn Minh', True, 'Dermatology')
    assert (second.name, second.suggested) == ('Dr. Nguyễn Thị Lan', False)
