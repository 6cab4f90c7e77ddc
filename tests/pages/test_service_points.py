"""The service point on the lab, pharmacy and cashier pages: the station's own queue, live, called to a chosen
counter (remembered), with the same steps as the doctor's worklist (NiceGUI's simulated user)."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import QueueKind, QueueTicket, Room, TicketStatus
from models.types import utcnow
from services import queue
from services.core.db import get_db
from tests.clinical import station, ward_for
from tests.conftest import RETRIES, element, sign_in
from tests.factories import TZ


async def sent_to(ward, queue_id: int) -> None:
    """Reception sends the ward's patient (waiting for the doctor) on to ``queue_id``."""
    async with get_db().write() as session:
        ticket = (await session.exec(select(QueueTicket))).one()
        await queue.transfer(session, ward.clinic.reception, ticket.id, queue_id, tz=TZ, now=utcnow())


async def the_ticket(queue_id: int) -> QueueTicket:
    async with get_db().read() as session:
        return (await session.exec(select(QueueTicket).where(QueueTicket.queue_id == queue_id))).one()


async def call_the_next(user: User, label: str, where: str) -> None:
    await user.should_see(marker='point-summary', content='1 waiting', retries=RETRIES)
    user.find(marker='point-call-next').click()
    await user.should_see(marker=f'point-who-{label}', content=f'to {where}', retries=RETRIES)
    await user.should_see(marker='point-summary', content=f'now {label} · 0 waiting', retries=RETRIES)


async def test_the_lab_calls_to_the_counter_it_chose_and_serves_the_patient(user: User):
    ward = await ward_for(user)
    lab_id = ward.lab_queue_id
    async with get_db().write() as session:
        second = Room(code='LAB2', name='Laboratory, counter 2', kind=queue.ROOM_KIND[QueueKind.LAB])
        session.add(second)
        await session.commit()
    await sent_to(ward, lab_id)
    await sign_in(user, 'lab', station='Lab & imaging')
    await user.should_see(marker='point-summary', content='1 waiting', retries=RETRIES)
    element(user, 'point-counter').set_value(second.id)
    await call_the_next(user, 'L-001', 'Laboratory, counter 2')
    ticket = await the_ticket(lab_id)
    assert ticket.status == TicketStatus.CALLED and ticket.room_id == second.id
    user.find(marker='start-L-001').click()
    await user.should_see(marker='point-who-L-001', content='being served', retries=RETRIES)
    user.find(marker='finish-L-001').click()
    await user.should_see(marker='point-nobody', retries=RETRIES)
    assert (await the_ticket(lab_id)).status == TicketStatus.DONE
    await user.open('/lab')  # the counter is remembered
    await user.should_see(marker='point-counter', retries=RETRIES)
    assert element(user, 'point-counter').value == second.id


async def test_the_pharmacy_window_calls_skips_and_marks_a_no_show(user: User):
    ward = await ward_for(user)
    pharmacy_id, _ = await station(get_db(), QueueKind.PHARMACY, 'T', [('PH1', 'Pharmacy, counter 1')])
    await sent_to(ward, pharmacy_id)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await call_the_next(user, 'T-001', 'Pharmacy, counter 1')
    user.find(marker='skip-T-001').click()
    await user.should_see(marker='point-who-T-001', content='skipped', retries=RETRIES)
    user.find(marker='no-show-T-001').click()
    await user.should_see(marker='point-nobody', retries=RETRIES)
    assert (await the_ticket(pharmacy_id)).status == TicketStatus.NO_SHOW


async def test_the_cashier_window_calls_and_a_call_made_elsewhere_shows_without_reloading(user: User):
    ward = await ward_for(user)
    cashier_id, _ = await station(get_db(), QueueKind.CASHIER, 'C', [('CA1', 'Cashier, counter 1')])
    await sent_to(ward, cashier_id)
    await sign_in(user, 'cashier', station='Cashier')
    await call_the_next(user, 'C-001', 'Cashier, counter 1')
    async with get_db().write() as session:  # the administrator puts the patient back in line elsewhere
        ticket = await the_ticket(cashier_id)
        await queue.skip(session, ward.clinic.admin, ticket.id, now=utcnow())
    await user.should_see(marker='back-C-001', retries=RETRIES)
    user.find(marker='back-C-001').click()
    await user.should_see(marker='point-summary', content='now nobody · 1 waiting', retries=RETRIES)


async def test_the_lab_sends_a_patient_on_to_the_pharmacy_window(user: User):
    ward = await ward_for(user)
    pharmacy_id, _ = await station(get_db(), QueueKind.PHARMACY, 'T', [('PH1', 'Pharmacy, counter 1')])
    await sent_to(ward, ward.lab_queue_id)
    await sign_in(user, 'lab', station='Lab & imaging')
    await call_the_next(user, 'L-001', 'Laboratory')
    user.find(marker='start-L-001').click()
    await user.should_see(marker='send-L-001', retries=RETRIES)
    user.find(marker=f'send-to-{pharmacy_id}').click()
    await user.should_see('L-001 sent to T · Pharmacy.', retries=RETRIES)
    await user.should_see(marker='point-nobody', retries=RETRIES)
    ticket = await the_ticket(pharmacy_id)
    assert ticket.status == TicketStatus.WAITING and ticket.number == 1
