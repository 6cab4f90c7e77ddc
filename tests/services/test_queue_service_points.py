"""Service points: every queue is called and served by the staff of its station (the doctor, the lab, the pharmacy,
the cashier), to a chosen counter; the waiting-room board shows the counter and only the stations that call
through it (the ``board_stations`` setting)."""
import pytest
from sqlmodel import select

from models import AuditLog, QueueKind, QueueTicket, Role, Room, RoomKind, TicketStatus
from services import clinic_settings, queue
from services.core.errors import NotFound, PermissionDenied, ValidationError
from tests.clinical import add_user, station
from tests.factories import TZ, local, make_clinic
from tests.services.test_queue import DAY, call, doctor_queue_id, step, walk_in


@pytest.fixture(autouse=True)
def settings_from_the_environment():
    clinic_settings.put_in_force(None)
    yield
    clinic_settings.put_in_force(None)


async def sent_to(db, clinic, queue_id: int, patients: int) -> None:
    """Patients walk in to the first doctor and reception sends them on to ``queue_id``."""
    for patient in range(patients):
        ticket = await walk_in(db, clinic, patient, local(DAY, 8, patient))
        async with db.write() as session:
            await queue.transfer(session, clinic.reception, ticket.ticket_id, queue_id, tz=TZ, now=local(DAY, 8, 30))


async def ticket_states(db) -> dict[int, TicketStatus]:
    async with db.read() as session:
        return {t.id: t.status for t in (await session.exec(select(QueueTicket))).all()}


LAB_COUNTERS = [('LAB1', 'Laboratory, counter 1'), ('LAB2', 'Laboratory, counter 2')]


async def test_the_lab_calls_to_counter_2_and_the_board_and_its_announcement_name_that_counter(db):
    from pages.board import announcement, words_in
    clinic = await make_clinic(db, patients=2)
    technician = await add_user(db, 'lab', Role.TECHNICIAN)
    lab_id, (_, counter_2) = await station(db, QueueKind.LAB, 'L', LAB_COUNTERS)
    await sent_to(db, clinic, lab_id, 2)
    async with db.write() as session:
        called = await queue.call_next(session, technician, lab_id, tz=TZ, now=local(DAY, 9, 0), room_id=counter_2)
    assert called.label == 'L-001' and called.room_name == 'Laboratory, counter 2' and called.room_code == 'LAB2'
    async with db.read() as session:
        board = (await queue.board_views(session, [lab_id], tz=TZ, now=local(DAY, 9, 1)))[0]
        audited = (await session.exec(select(AuditLog).where(AuditLog.action == 'queue_status'))).all()
    assert board.now_serving.label == 'L-001' and board.now_serving.room_code == 'LAB2'
    assert announcement(board.now_serving, words_in('en')) == 'Number L 1, please go to Laboratory, counter 2.'
    assert '"room": "LAB2"' in audited[-1].detail and audited[-1].user_id == technician.user_id
    # the same technician starts and finishes the test: the number leaves the board
    await step(db, queue.start, technician, called.id, local(DAY, 9, 2))
    done = await step(db, queue.finish, technician, called.id, local(DAY, 9, 5))
    assert done.status == TicketStatus.DONE


async def test_only_the_staff_of_a_station_call_and_serve_its_patients(db):
    clinic = await make_clinic(db, patients=3)
    technician = await add_user(db, 'lab', Role.TECHNICIAN)
    pharmacist = await add_user(db, 'pharmacy', Role.PHARMACIST)
    lab_id, _ = await station(db, QueueKind.LAB, 'L', LAB_COUNTERS)
    pharmacy_id, _ = await station(db, QueueKind.PHARMACY, 'T', [('PH1', 'Pharmacy, counter 1')])
    cashier_id, _ = await station(db, QueueKind.CASHIER, 'C', [('CA1', 'Cashier, counter 1')])
    await sent_to(db, clinic, lab_id, 1)
    second_doctor = await doctor_queue_id(db, clinic, doctor=1)
    refusals = [(clinic.reception, lab_id, 'served by nurse / technician staff'),
                (clinic.doctor_actor, lab_id, 'your own queue'),
                (pharmacist, lab_id, 'Pharmacists manage the pharmacy queue only'),
                (clinic.cashier, pharmacy_id, 'Cashiers manage the cashier queue only'),
                (technician, await doctor_queue_id(db, clinic), "not the doctors' queues"),
                (clinic.doctor_actor, second_doctor, 'your own queue')]
    for actor, queue_id, message in refusals:
        with pytest.raises(PermissionDenied, match=message):
            await call(db, actor, queue_id, local(DAY, 9, 0))
    assert set((await ticket_states(db)).values()) == {TicketStatus.TRANSFERRED, TicketStatus.WAITING}
    # the station's own staff (and an administrator) may
    assert await call(db, clinic.cashier, cashier_id, local(DAY, 9, 0)) is None  # nobody waits there yet
    assert await call(db, pharmacist, pharmacy_id, local(DAY, 9, 0)) is None
    called = await call(db, technician, lab_id, local(DAY, 9, 0))
    for actor in (clinic.reception, clinic.doctor_actor):  # nor skip, start or finish someone else's patient
        with pytest.raises(PermissionDenied):
            await step(db, queue.skip, actor, called.id, local(DAY, 9, 1))
        with pytest.raises(PermissionDenied):
            await step(db, queue.start, actor, called.id, local(DAY, 9, 1))
    await step(db, queue.skip, technician, called.id, local(DAY, 9, 1))
    # reception may still call a skipped patient again at the desk, as before
    again = await step(db, queue.recall, clinic.reception, called.id, local(DAY, 9, 3))
    assert again.status == TicketStatus.CALLED and again.call_count == 2


async def test_a_call_to_a_counter_of_another_kind_or_out_of_use_is_refused_and_changes_nothing(db):
    clinic = await make_clinic(db, patients=1)
    technician = await add_user(db, 'lab', Role.TECHNICIAN)
    lab_id, _ = await station(db, QueueKind.LAB, 'L', LAB_COUNTERS)
    await sent_to(db, clinic, lab_id, 1)
    async with db.write() as session:
        closed = Room(code='LAB3', name='Laboratory, counter 3', kind=RoomKind.LAB, is_active=False)
        session.add(closed)
        await session.commit()
    before = await ticket_states(db)
    cases = [(clinic.room_ids[0], ValidationError, 'Room 1 is not a laboratory counter'),
             (closed.id, ValidationError, 'counter 3 is no longer in use'),
             (99_999, NotFound, 'This counter does not exist')]
    for room_id, error, message in cases:
        with pytest.raises(error, match=message):
            async with db.write() as session:
                await queue.call_next(session, technician, lab_id, tz=TZ, now=local(DAY, 9, 0), room_id=room_id)
    assert await ticket_states(db) == before
    async with db.read() as session:
        offered = await queue.counters(session, technician, lab_id)
    assert [room.code for room in offered] == ['LAB1', 'LAB2']  # in use, of the lab, by code
    called = await call(db, technician, lab_id, local(DAY, 9, 0))
    assert called.room_code == 'LAB1'  # without a counter: the queue's own room


async def test_the_board_shows_only_the_stations_that_call_through_it(db):
    clinic = await make_clinic(db, patients=1)
    lab_id, _ = await station(db, QueueKind.LAB, 'L', LAB_COUNTERS)
    pharmacy_id, _ = await station(db, QueueKind.PHARMACY, 'T', [('PH1', 'Pharmacy, counter 1')])
    cashier_id, _ = await station(db, QueueKind.CASHIER, 'C', [('CA1', 'Cashier, counter 1')])
    doctor_id = await doctor_queue_id(db, clinic)

    async def on_board() -> list[int]:
        async with db.read() as session:
            return [q.id for q in await queue.board_queues(session, day=local(DAY, 8).date())]

    assert await on_board() == [doctor_id, lab_id]  # by default: doctors, lab, imaging and procedures
    with pytest.raises(ValidationError, match='at least one'):
        async with db.write() as session:
            await clinic_settings.save_board_stations(session, clinic.admin, kinds=[])
    with pytest.raises(ValidationError, match='not a service point'):
        async with db.write() as session:
            await clinic_settings.save_board_stations(session, clinic.admin, kinds=['doctor', 'kitchen'])
    with pytest.raises(PermissionDenied):
        async with db.write() as session:
            await clinic_settings.save_board_stations(session, clinic.reception, kinds=['doctor'])
    async with db.write() as session:
        changed = await clinic_settings.save_board_stations(session, clinic.admin,
                                                            kinds=['cashier', 'doctor', 'pharmacy'])
    assert changed == ['board_stations']
    assert clinic_settings.current().board_kinds == ('doctor', 'pharmacy', 'cashier')
    assert await on_board() == [doctor_id, cashier_id, pharmacy_id]  # doctors first, then by prefix
    async with db.read() as session:
        entry = (await session.exec(select(AuditLog).where(AuditLog.action == 'setting_changed'))).one()
    assert entry.detail == 'board_stations: "doctor,lab,imaging,procedure" -> "doctor,pharmacy,cashier"'
    clinic_settings.put_in_force(None)  # as after a restart: the saved choice comes back from the database
    async with db.read() as session:
        await clinic_settings.load(session)
    assert await on_board() == [doctor_id, cashier_id, pharmacy_id]
