"""Reception's view of every queue, live: a priority, a call made elsewhere, a move to another doctor. (Moved with
the board tests; they belong to the reception station's page tests.)"""
import asyncio

from nicegui.testing import User

from services import queue
from tests.conftest import RETRIES, sign_in
from tests.factories import make_clinic
from tests.pages.test_board import another_person, arrivals


async def give_the_third_priority(user: User) -> None:
    """A-003 is pregnant: she moves to the top of queue A."""
    table = user.find(marker='queue-table-A').elements.pop()
    user.find(marker='queue-table-A').trigger('ticket_action', ['priority', table.rows[2]['id']])  # the slot's button
    await user.should_see('Priority for A-003', retries=RETRIES)
    user.find(marker='priority-reason').type('Pregnant')
    user.find(marker='priority-save').click()
    await user.should_see('Priority saved.', retries=RETRIES)
    for _ in range(RETRIES):  # the table follows the event (it may be drawn anew meanwhile: look it up each time)
        table = user.find(marker='queue-table-A').elements.pop()
        if table.rows[0]['ticket'] == 'A-003':
            break
        await asyncio.sleep(0.1)
    assert table.rows[0]['ticket'] == 'A-003' and 'priority: Pregnant' in table.rows[0]['state']


async def a_doctor_calls_elsewhere(user: User, doctor: User) -> None:
    await sign_in(doctor, 'doctor')
    await doctor.should_see(marker='call-next', retries=RETRIES)
    doctor.find(marker='call-next').click()
    await user.should_see(marker='queue-line-A', content='now A-003', retries=RETRIES)


async def move_a_waiting_patient(user: User, to_queue: int) -> None:
    """A-001 goes to the other doctor's queue."""
    table = user.find(marker='queue-table-A').elements.pop()
    user.find(marker='queue-table-A').trigger('ticket_action', ['move', table.rows[1]['id']])
    await user.should_see('Move A-001', retries=RETRIES)
    user.find(marker='move-target').elements.pop().set_value(to_queue)
    user.find(marker='move-save').click()
    await user.should_see(marker='queue-line-B', content='2 waiting', retries=RETRIES)
    await user.should_see(marker='queue-line-A', content='1 waiting', retries=RETRIES)


async def test_reception_sees_all_queues_live_and_prioritises_and_moves_patients(db, user: User):
    clinic = await make_clinic(db, patients=3)
    await arrivals(db, clinic, 3)
    await arrivals(db, clinic, 1, doctor=1)
    async with db.read() as session:
        second_queue = (await queue.queue_for_doctor(session, clinic.doctor_ids[1])).id
    await sign_in(user, 'reception')
    await user.open('/reception/queues')
    await user.should_see(marker='queue-line-A', content='3 waiting', retries=RETRIES)
    await user.should_see(marker='queue-line-B', content='1 waiting')
    await give_the_third_priority(user)
    await a_doctor_calls_elsewhere(user, another_person())
    await move_a_waiting_patient(user, second_queue)


async def test_a_live_update_caused_by_an_english_doctor_reads_vietnamese_on_a_vietnamese_tab(db, user: User):
    """The doctor (English) calls; the receptionist's tab (Vietnamese) is redrawn by that click, in Vietnamese,
    and the doctor's own tab stays English."""
    from sqlmodel import update

    from models import User as Account
    clinic = await make_clinic(db, patients=2)
    await arrivals(db, clinic, 2)
    async with db.write() as session:
        await session.exec(update(Account).where(Account.username == 'reception').values(language='vi'))
        await session.exec(update(Account).where(Account.username == 'doctor').values(language='en'))
        await session.commit()
    await sign_in(user, 'reception', station='Lễ tân')
    await user.open('/reception/queues')
    await user.should_see(marker='queue-line-A', content='chưa gọi ai · 2 người chờ', retries=RETRIES)
    doctor = another_person()
    await sign_in(doctor, 'doctor')
    await doctor.should_see(marker='call-next', retries=RETRIES)
    doctor.find(marker='call-next').click()
    await user.should_see(marker='queue-line-A', content='đang phục vụ A-001 · 1 người chờ · người mới đến chờ', retries=RETRIES)
    await doctor.should_see(marker='active-ticket', content='A-001', retries=RETRIES)
    await doctor.should_see('Call next')
    await doctor.should_not_see('Gọi số tiếp theo')
