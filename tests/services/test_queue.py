"""The queue engine: order, call-next (also concurrently), skip/recall, start/finish, undo, transfers, priority,
estimated waits, roles, events, and the board's display keys."""
import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from models import (
    AuditLog,
    BookingSource,
    DisplayKey,
    Queue,
    QueueKind,
    QueueTicket,
    Role,
    Room,
    RoomKind,
    TicketStatus,
    User,
    Visit,
    VisitStatus,
)
from services import booking, checkin, display_keys, queue
from services.access import Actor
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.core.events import QueueChanged, bus
from services.core.settings import Settings
from tests.factories import TZ, local, make_clinic, password_hash

SETTINGS = Settings(clinic_name='Phòng khám Test', timezone='Asia/Ho_Chi_Minh')
DAY = 23


async def walk_in(db, clinic, patient, at, *, doctor=0, priority=0, reason=''):
    async with db.write() as session:
        return await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                     doctor_id=clinic.doctor_ids[doctor], tz=TZ, now=at, priority=priority,
                                     priority_reason=reason)


async def booked(db, clinic, patient, start, arrive, *, doctor=0):
    async with db.write() as session:
        appointment = await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                         service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[doctor],
                                         start_at=start, source=BookingSource.PHONE, tz=TZ, now=local(DAY, 6),
                                         settings=SETTINGS)
    async with db.write() as session:
        return await checkin.check_in(session, clinic.reception, appointment.id, tz=TZ, now=arrive)


async def doctor_queue_id(db, clinic, doctor=0) -> int:
    async with db.write() as session:
        q = await queue.queue_for_doctor(session, clinic.doctor_ids[doctor])
        await session.commit()
        return q.id


async def lab_queue_id(db, clinic) -> int:
    async with db.write() as session:
        room = Room(code='LAB', name='Laboratory', kind=RoomKind.LAB)
        session.add(room)
        await session.flush()
        lab = Queue(name='Laboratory', prefix='L', kind=QueueKind.LAB, room_id=room.id)
        session.add(lab)
        await session.commit()
        return lab.id


async def call(db, actor, queue_id, at):
    async with db.write() as session:
        return await queue.call_next(session, actor, queue_id, tz=TZ, now=at)


async def step(db, function, actor, ticket_id, at, **kwargs):
    async with db.write() as session:
        return await function(session, actor, ticket_id, now=at, **kwargs)


async def view(db, actor, queue_id, at) -> queue.QueueView:
    async with db.read() as session:
        return await queue.queue_view(session, actor, queue_id, tz=TZ, now=at)


def test_labels_are_said_as_a_person_would_and_names_are_masked():
    assert queue.ticket_label('A', 12) == 'A-012' and queue.spoken_label('A', 12) == 'A 12'
    assert queue.masked_name('Nguyễn Văn An') == 'Nguyễn V. A.'
    assert queue.masked_name('lê thị hồng') == 'lê T. H.' and queue.masked_name('') == ''


async def test_appointments_are_served_around_their_time_walk_ins_fill_gaps_priority_goes_first(db):
    clinic = await make_clinic(db, patients=6)
    await booked(db, clinic, 0, local(DAY, 9, 0), local(DAY, 8, 0))     # early for 09:00: due at 09:00
    await walk_in(db, clinic, 1, local(DAY, 8, 10))                      # due 08:10: fills the gap before 09:00
    await booked(db, clinic, 2, local(DAY, 8, 30), local(DAY, 8, 20))    # due 08:30
    await walk_in(db, clinic, 3, local(DAY, 8, 40))                      # due 08:40
    await booked(db, clinic, 4, local(DAY, 8, 15), local(DAY, 8, 45))    # 30 min late: from arrival, 08:45
    await walk_in(db, clinic, 5, local(DAY, 8, 50), priority=2, reason='Pregnant')  # goes first
    queue_id = await doctor_queue_id(db, clinic)
    waiting = (await view(db, clinic.reception, queue_id, local(DAY, 8, 55))).waiting
    assert [t.label for t in waiting] == ['A-006', 'A-002', 'A-003', 'A-004', 'A-005', 'A-001']
    assert waiting[0].priority_reason == 'Pregnant' and waiting[1].is_walk_in and not waiting[-1].is_walk_in
    assert [t.wait_minutes for t in waiting] == [0, 10, 20, 30, 40, 50]  # no history yet: 10 minutes each
    called = [await call(db, clinic.doctor_actor, queue_id, local(DAY, 9, minute)) for minute in range(7)]
    assert [t.label if t else None for t in called] == ['A-006', 'A-002', 'A-003', 'A-004', 'A-005', 'A-001', None]


async def test_the_screen_that_calls_gets_the_queue_as_it_stands_and_the_news_waits_for_it(db):
    """"Call next" returns the queue after the call (read in its transaction); inside ``bus.holding()`` nobody
    hears of it until the block ends, also when the block fails."""
    clinic = await make_clinic(db, patients=2)
    await walk_in(db, clinic, 0, local(DAY, 8, 0))
    await walk_in(db, clinic, 1, local(DAY, 8, 5))
    queue_id = await doctor_queue_id(db, clinic)
    heard = []
    bus.subscribe(QueueChanged, heard.append)
    with bus.holding() as held:
        async with db.write() as session:
            called = await queue.call_next_shown(session, clinic.doctor_actor, queue_id, tz=TZ,
                                                 now=local(DAY, 8, 30))
        await asyncio.sleep(0.01)
        assert heard == [] and [event.action for event in held] == ['called']
    assert called.ticket.label == 'A-001'
    assert [t.label for t in called.queue.active] == ['A-001'] and [t.label for t in called.queue.waiting] == ['A-002']
    await asyncio.sleep(0)
    assert [event.label for event in heard] == ['A-001']
    with pytest.raises(RuntimeError), bus.holding():
        async with db.write() as session:
            await queue.call_next_shown(session, clinic.doctor_actor, queue_id, tz=TZ, now=local(DAY, 8, 40))
        raise RuntimeError('the screen failed to show it')
    await asyncio.sleep(0)
    assert [event.label for event in heard] == ['A-001', 'A-002']  # committed, so told, even so
    async with db.write() as session:
        nobody = await queue.call_next_shown(session, clinic.doctor_actor, queue_id, tz=TZ, now=local(DAY, 8, 50))
    assert nobody.ticket is None and [t.label for t in nobody.queue.active] == ['A-002', 'A-001']


async def test_a_patient_goes_through_call_skip_recall_start_and_finish_with_events(db):
    clinic = await make_clinic(db, patients=2)
    first = await walk_in(db, clinic, 0, local(DAY, 8, 0))
    await walk_in(db, clinic, 1, local(DAY, 8, 5))
    queue_id = await doctor_queue_id(db, clinic)
    events = []
    bus.subscribe(QueueChanged, events.append)
    doctor = clinic.doctor_actor
    ticket = await call(db, doctor, queue_id, local(DAY, 8, 30))
    assert ticket.label == 'A-001' and ticket.status == TicketStatus.CALLED and ticket.room_code == 'R1'
    skipped = await step(db, queue.skip, doctor, ticket.id, local(DAY, 8, 32))
    assert skipped.status == TicketStatus.SKIPPED
    second = await call(db, doctor, queue_id, local(DAY, 8, 33))
    assert second.label == 'A-002'
    again = await step(db, queue.recall, doctor, ticket.id, local(DAY, 8, 40))  # the skipped one turned up
    assert again.status == TicketStatus.CALLED and again.call_count == 2
    with pytest.raises(Conflict, match='cannot be finished'):
        await step(db, queue.finish, doctor, ticket.id, local(DAY, 8, 41))
    started = await step(db, queue.start, doctor, ticket.id, local(DAY, 8, 41))
    assert started.status == TicketStatus.IN_SERVICE
    async with db.read() as session:
        visit = await session.get(Visit, first.visit_id)
        assert visit.status == VisitStatus.IN_CONSULTATION and visit.consultation_started_at == local(DAY, 8, 41)
    done = await step(db, queue.finish, doctor, ticket.id, local(DAY, 8, 53))
    assert done.status == TicketStatus.DONE
    no_show = await step(db, queue.mark_no_show, doctor, second.id, local(DAY, 8, 54))
    assert no_show.status == TicketStatus.NO_SHOW
    await asyncio.sleep(0)  # events go out right after each commit
    assert [e.action for e in events] == ['called', 'skipped', 'called', 'recalled', 'started', 'finished',
                                          'no_show']
    assert all(e.queue_id == queue_id for e in events) and events[0].label == 'A-001'
    assert len({e.number for e in events}) == len(events)


async def test_wrong_status_changes_can_be_undone_step_by_step(db):
    clinic = await make_clinic(db, patients=1)
    arrival = await walk_in(db, clinic, 0, local(DAY, 8, 0))
    queue_id = await doctor_queue_id(db, clinic)
    doctor = clinic.doctor_actor
    ticket = await call(db, doctor, queue_id, local(DAY, 8, 30))
    await step(db, queue.start, doctor, ticket.id, local(DAY, 8, 31))
    await step(db, queue.finish, doctor, ticket.id, local(DAY, 8, 32))  # pressed by mistake
    back = await step(db, queue.undo, doctor, ticket.id, local(DAY, 8, 33))
    assert back.status == TicketStatus.IN_SERVICE and back.started_at == local(DAY, 8, 31)
    back = await step(db, queue.undo, doctor, ticket.id, local(DAY, 8, 34))
    assert back.status == TicketStatus.CALLED and back.started_at is None
    async with db.read() as session:
        visit = await session.get(Visit, arrival.visit_id)
        assert visit.status == VisitStatus.WAITING and visit.consultation_started_at is None
    back = await step(db, queue.undo, doctor, ticket.id, local(DAY, 8, 35))
    assert back.status == TicketStatus.WAITING and back.call_count == 0 and back.called_at is None
    with pytest.raises(Conflict, match='nothing to undo'):
        await step(db, queue.undo, doctor, ticket.id, local(DAY, 8, 36))
    again = await call(db, doctor, queue_id, local(DAY, 8, 37))
    assert again.id == ticket.id  # back in its place: called again


async def test_transfer_to_the_lab_and_back_to_the_same_doctor_keeps_the_place(db):
    clinic = await make_clinic(db, patients=3)
    await walk_in(db, clinic, 0, local(DAY, 8, 0))
    await walk_in(db, clinic, 1, local(DAY, 8, 10))
    queue_id, lab_id = await doctor_queue_id(db, clinic), await lab_queue_id(db, clinic)
    doctor = clinic.doctor_actor
    first = await call(db, doctor, queue_id, local(DAY, 8, 30))
    await step(db, queue.start, doctor, first.id, local(DAY, 8, 31))
    async with db.write() as session:
        at_lab = await queue.transfer(session, doctor, first.id, lab_id, tz=TZ, now=local(DAY, 8, 40))
    assert at_lab.label == 'L-001' and at_lab.room_name == 'Laboratory'
    async with db.read() as session:
        assert (await session.get(Visit, first.visit_id)).status == VisitStatus.IN_SERVICES
    await walk_in(db, clinic, 2, local(DAY, 8, 45))  # arrives while the first patient is at the lab
    async with db.write() as session:  # reception sends them back with the results
        back = await queue.transfer(session, clinic.reception, at_lab.id, queue_id, tz=TZ, now=local(DAY, 9, 0))
    assert back.label == 'A-004' and back.room_code == 'R1'
    waiting = (await view(db, doctor, queue_id, local(DAY, 9, 0))).waiting
    assert [t.label for t in waiting] == ['A-004', 'A-002', 'A-003']  # arrived 08:00: keeps their place
    async with db.read() as session:
        old = await session.get(QueueTicket, first.id)
        assert old.status == TicketStatus.TRANSFERRED and old.finished_at == local(DAY, 8, 40)
        assert (await session.get(QueueTicket, back.id)).transferred_from_id == at_lab.id
    # a transfer by mistake is undone: the patient leaves the other queue again
    async with db.write() as session:
        await queue.transfer(session, clinic.reception, waiting[1].id, lab_id, tz=TZ, now=local(DAY, 9, 1))
    undone = await step(db, queue.undo, clinic.reception, waiting[1].id, local(DAY, 9, 2))
    assert undone.status == TicketStatus.WAITING
    async with db.read() as session:
        lab = await queue.queue_view(session, clinic.reception, lab_id, tz=TZ, now=local(DAY, 9, 2))
    assert lab.waiting == [] and [t.status for t in lab.finished] == [TicketStatus.TRANSFERRED]


async def test_assign_to_another_doctor_keeps_appointment_time_and_priority(db):
    clinic = await make_clinic(db, patients=2)
    moved = await booked(db, clinic, 0, local(DAY, 8, 30), local(DAY, 8, 20))
    await walk_in(db, clinic, 1, local(DAY, 8, 15), doctor=1)
    other = await doctor_queue_id(db, clinic, doctor=1)
    async with db.write() as session:
        ticket = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == moved.visit_id))).one()
        new = await queue.transfer(session, clinic.reception, ticket.id, other, tz=TZ, now=local(DAY, 8, 25))
    assert new.label == 'B-002' and new.appointment_at == local(DAY, 8, 30) and new.room_code == 'R2'
    async with db.read() as session:
        assert (await session.get(Visit, moved.visit_id)).doctor_id == clinic.doctor_ids[1]
    assert [t.label for t in (await view(db, clinic.reception, other, local(DAY, 8, 26))).waiting] == \
        ['B-001', 'B-002']


async def test_priority_needs_a_reason_moves_up_and_is_recorded(db):
    clinic = await make_clinic(db, patients=3)
    for patient in range(3):
        await walk_in(db, clinic, patient, local(DAY, 8, patient))
    queue_id = await doctor_queue_id(db, clinic)
    last = (await view(db, clinic.reception, queue_id, local(DAY, 8, 5))).waiting[-1]
    with pytest.raises(ValidationError, match='why this patient goes first'):
        await step(db, queue.set_priority, clinic.reception, last.id, local(DAY, 8, 5), priority=2, reason='')
    await step(db, queue.set_priority, clinic.reception, last.id, local(DAY, 8, 5), priority=2, reason='Elderly, 82')
    waiting = (await view(db, clinic.reception, queue_id, local(DAY, 8, 6))).waiting
    assert waiting[0].id == last.id and waiting[0].priority_reason == 'Elderly, 82'
    async with db.read() as session:
        entry = (await session.exec(select(AuditLog).where(AuditLog.action == 'queue_priority'))).one()
    assert 'Elderly, 82' in entry.detail and entry.user_id == clinic.reception.user_id


async def test_estimated_wait_follows_the_doctors_real_consultation_times(db):
    clinic = await make_clinic(db, patients=6)
    for patient in range(6):
        await walk_in(db, clinic, patient, local(DAY, 8, patient))
    queue_id = await doctor_queue_id(db, clinic)
    doctor = clinic.doctor_actor
    at = local(DAY, 8, 10)
    for _ in range(3):  # three consultations of 20 minutes each
        ticket = await call(db, doctor, queue_id, at)
        await step(db, queue.start, doctor, ticket.id, at)
        at += timedelta(minutes=20)
        await step(db, queue.finish, doctor, ticket.id, at)
    current = await call(db, doctor, queue_id, at)
    await step(db, queue.start, doctor, current.id, at)
    state = await view(db, doctor, queue_id, at + timedelta(minutes=5))
    assert state.typical_minutes == 20
    assert [t.wait_minutes for t in state.waiting] == [15, 35]  # 15 left of the current one, then 20 each
    assert state.wait_for_newcomer == 55


async def test_two_doctors_pressing_call_next_at_once_never_get_the_same_patient(db):
    clinic = await make_clinic(db, patients=8)
    for patient in range(8):
        await walk_in(db, clinic, patient, local(DAY, 8, patient))
    queue_id = await doctor_queue_id(db, clinic)
    results = await asyncio.gather(*(call(db, clinic.admin, queue_id, local(DAY, 9, 0)) for _ in range(12)))
    called = [r.id for r in results if r is not None]
    assert len(called) == len(set(called)) == 8 and results.count(None) == 4
    async with db.read() as session:
        tickets = (await session.exec(select(QueueTicket))).all()
        assert all(t.status == TicketStatus.CALLED and t.call_count == 1 for t in tickets)
        assert len((await session.exec(select(AuditLog).where(AuditLog.action == 'queue_status'))).all()) == 8


async def test_concurrent_check_ins_and_calls_keep_numbers_unique_and_nobody_is_called_twice(db):
    clinic = await make_clinic(db, patients=10)
    queue_id = await doctor_queue_id(db, clinic)

    async def calls():
        found = []
        for _ in range(15):
            ticket = await call(db, clinic.admin, queue_id, local(DAY, 9, 0))
            if ticket:
                found.append(ticket.id)
            await asyncio.sleep(0)
        return found

    arrivals = [walk_in(db, clinic, p, local(DAY, 8, 30)) for p in range(10)]
    *tickets, first, second = await asyncio.gather(*arrivals, calls(), calls())
    assert sorted(t.label for t in tickets) == [f'A-{n:03d}' for n in range(1, 11)]
    assert not set(first) & set(second)
    rest = [await call(db, clinic.admin, queue_id, local(DAY, 9, 5)) for _ in range(10)]
    assert len(first) + len(second) + sum(r is not None for r in rest) == 10


async def test_roles_doctors_their_own_queue_technicians_the_stations(db):
    clinic = await make_clinic(db, patients=2)
    await walk_in(db, clinic, 0, local(DAY, 8, 0), doctor=1)
    other, lab_id = await doctor_queue_id(db, clinic, doctor=1), await lab_queue_id(db, clinic)
    with pytest.raises(PermissionDenied, match='your own queue'):
        await call(db, clinic.doctor_actor, other, local(DAY, 9, 0))
    with pytest.raises(PermissionDenied):
        await call(db, clinic.cashier, other, local(DAY, 9, 0))
    async with db.write() as session:
        user = User(username='lab', full_name='Lab', role=Role.TECHNICIAN, password_hash=password_hash())
        session.add(user)
        await session.commit()
        technician = Actor(user.id, 'lab', 'Lab', Role.TECHNICIAN)
    with pytest.raises(PermissionDenied, match='station queues'):
        await call(db, technician, other, local(DAY, 9, 0))
    assert await call(db, technician, lab_id, local(DAY, 9, 0)) is None  # allowed, nobody waiting
    ticket = await call(db, clinic.admin, other, local(DAY, 9, 0))
    with pytest.raises(PermissionDenied):
        await step(db, queue.skip, clinic.doctor_actor, ticket.id, local(DAY, 9, 1))
    async with db.read() as session:
        assert [q.id for q in await queue.list_queues(session, technician)] == [lab_id]


async def test_display_keys_only_the_hash_is_kept_and_wrong_or_revoked_keys_give_no_access(db):
    clinic = await make_clinic(db)
    queue_id = await doctor_queue_id(db, clinic)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await display_keys.issue(session, clinic.reception, 'TV')
    async with db.write() as session:
        row, key = await display_keys.issue(session, clinic.admin, '  Waiting room   TV ', queue_ids=[queue_id])
    assert len(key) >= 32 and row.name == 'Waiting room TV'
    async with db.read() as session:
        stored = (await session.exec(select(DisplayKey))).one()
        assert stored.key_hash == display_keys.hash_key(key) and key not in stored.key_hash
        scope = await display_keys.verify(session, key)
        assert scope.queue_ids == (queue_id,) and scope.name == 'Waiting room TV'
        assert await display_keys.verify(session, key[:-1] + ('x' if key[-1] != 'x' else 'y')) is None
        assert await display_keys.verify(session, '') is None and await display_keys.verify(session, None) is None
    async with db.write() as session:
        await display_keys.rename(session, clinic.admin, row.id, 'Ground floor TV')
    async with db.write() as session:
        await display_keys.revoke(session, clinic.admin, row.id)
    async with db.read() as session:
        assert await display_keys.verify(session, key) is None
        assert not await display_keys.is_valid(session, row.id)
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.entity == 'display_key')
                                      .order_by(AuditLog.id))).all()
    assert actions == ['display_key_issued', 'display_key_renamed', 'display_key_revoked']


async def test_the_board_shows_doctors_working_today_and_station_queues(db):
    clinic = await make_clinic(db, patients=1)
    first, second, lab_id = (await doctor_queue_id(db, clinic, 0), await doctor_queue_id(db, clinic, 1),
                             await lab_queue_id(db, clinic))
    await walk_in(db, clinic, 0, local(DAY, 8, 0))
    async with db.read() as session:
        shown = await queue.board_queues(session, day=local(DAY, 8).date())
        assert [q.id for q in shown] == [first, second, lab_id]
        assert [q.id for q in await queue.board_queues(session, queue_ids=(second,), day=local(DAY, 8).date())] \
            == [second]
        views = await queue.board_views(session, [first], tz=TZ, now=local(DAY, 8, 1))
    assert views[0].waiting[0].label == 'A-001' and views[0].wait_for_newcomer == 10
    details = json.dumps([t.masked_name for t in views[0].waiting], ensure_ascii=False)
    assert 'Lê' in details and 'Hồng' not in details


async def test_transfers_in_opposite_directions_and_calls_at_once_never_deadlock(db):
    """A doctor sends patients to the lab while the lab sends others back to that doctor, and both call their
    next patient, all at the same moment: every step gets through (queues are locked in one global order)."""
    clinic = await make_clinic(db, patients=100)
    queue_id, lab_id = await doctor_queue_id(db, clinic), await lab_queue_id(db, clinic)
    tickets = [await walk_in(db, clinic, p, local(DAY, 8, 0) + timedelta(seconds=p)) for p in range(100)]
    at_lab = []
    for ticket in tickets[50:]:
        async with db.write() as session:
            at_lab.append(await queue.transfer(session, clinic.reception, ticket.ticket_id, lab_id, tz=TZ,
                                               now=local(DAY, 8, 30)))

    async def send(ticket_id: int, target: int):
        async with db.write() as session:
            return await queue.transfer(session, clinic.reception, ticket_id, target, tz=TZ, now=local(DAY, 9, 0))

    steps = [send(t.ticket_id, lab_id) for t in tickets[:50]] + [send(t.id, queue_id) for t in at_lab]
    steps += [call(db, clinic.admin, q, local(DAY, 9, 0)) for q in (queue_id, lab_id) for _ in range(10)]
    results = await asyncio.gather(*steps, return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    assert failures == []
    async with db.read() as session:  # every patient is in exactly one open place
        open_tickets = (await session.exec(select(QueueTicket).where(
            QueueTicket.status.in_([TicketStatus.WAITING, TicketStatus.CALLED])))).all()
    assert sorted(t.visit_id for t in open_tickets) == sorted(t.visit_id for t in tickets)
