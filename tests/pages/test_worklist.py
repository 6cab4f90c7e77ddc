"""The doctor's worklist, live: skip and call again, send a called patient to another queue. (Moved with the board
tests; they belong to the consultation station's page tests.)"""
from nicegui.testing import User
from sqlmodel import select

from models import QueueTicket, TicketStatus
from tests.conftest import RETRIES, sign_in
from tests.factories import make_clinic
from tests.pages.test_board import arrivals
from tests.test_queue import lab_queue_id


async def test_skip_and_call_again_from_the_worklist(db, user: User):
    clinic = await make_clinic(db, patients=2)
    await arrivals(db, clinic, 2)
    await sign_in(user, 'doctor')
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    user.find(marker='call-next').click()
    await user.should_see(marker='skip', retries=RETRIES)
    user.find(marker='skip').click()
    await user.should_see(marker='skipped-A-001', retries=RETRIES)
    await user.should_see(marker='nobody-called')
    user.find(marker='call-next').click()
    await user.should_see(marker='active-ticket', content='A-002', retries=RETRIES)
    user.find('Call again').click()
    await user.should_see(marker='active-A-001', retries=RETRIES)


async def test_send_a_called_patient_to_the_lab_from_the_worklist(db, user: User):
    clinic = await make_clinic(db, patients=2)
    await arrivals(db, clinic, 2)
    lab_id = await lab_queue_id(db, clinic)
    await sign_in(user, 'doctor')
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    user.find(marker='call-next').click()
    await user.should_see(marker='active-A-001', retries=RETRIES)
    user.find(marker='send-to').click()
    await user.should_see('Send A-001 (Lê Thị Hồng) to…')
    await user.should_not_see(marker='send-to-A')  # not back into the queue it is in
    user.find(marker='send-to-L').click()
    await user.should_see('A-001 sent to L · Laboratory', retries=RETRIES)
    await user.should_see(marker='nobody-called', retries=RETRIES)
    async with db.read() as session:
        at_lab = (await session.exec(select(QueueTicket).where(QueueTicket.queue_id == lab_id))).one()
    assert at_lab.status == TicketStatus.WAITING
