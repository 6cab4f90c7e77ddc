"""Check-in and walk-ins at the front desk: "patients ahead" in the real calling order."""
from sqlmodel import select

from models import QueueTicket
from services import checkin, queue
from tests.factories import local, make_clinic
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
