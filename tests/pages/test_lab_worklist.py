"""The lab's worklist as a technician uses it: one station at a time, values saved with the result, the patient sent
back to the doctor, a result completed (NiceGUI's simulated user)."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import OrderStatus, QueueTicket, ResultFlag, ResultValue, ServiceOrder, TicketStatus
from models.types import utcnow
from services import orders, queue
from services.core.db import get_db
from tests.clinical import ward_for
from tests.conftest import RETRIES, element, sign_in
from tests.factories import TZ
from tests.lab_panels import FULL_BLOOD_COUNT, make_full_blood_count


async def ordered(ward, *service_ids: int) -> list[int]:
    async with get_db().write() as session:
        return [o.id for o in await orders.place(session, ward.doctor, ward.visit_id, list(service_ids),
                                                 now=utcnow())]


async def open_order(user: User, order_id: int) -> None:
    await sign_in(user, 'lab', station='Lab & imaging')
    await user.should_see(marker='worklist-counts', content='1 pending', retries=RETRIES)
    user.find(marker='worklist').trigger('open', order_id)
    await user.should_see(marker='result-dialog', retries=RETRIES)


async def test_the_station_toggle_shows_that_stations_orders(user: User):
    ward = await ward_for(user)
    await ordered(ward, ward.clinic.lab_id, ward.xray_id)
    await sign_in(user, 'lab', station='Lab & imaging')
    await user.should_see(marker='worklist-counts', content='1 pending', retries=RETRIES)
    element(user, 'station').set_value('imaging')
    await user.should_see('Worklist · Imaging', retries=RETRIES)
    assert [r['service'] for r in element(user, 'worklist').rows] == ['Chest X-ray']


async def test_values_are_saved_with_the_result_and_the_order_is_taken(user: User):
    ward = await ward_for(user)
    order_id, = await ordered(ward, ward.clinic.lab_id)
    await open_order(user, order_id)
    user.find(marker='result-text').type('Mild anaemia')
    user.find(marker='value-name-0').type('Hb')
    user.find(marker='value-0').type('11.2')
    user.find(marker='save-result').click()
    await user.should_see('Result saved.', retries=RETRIES)
    async with get_db().read() as session:
        order = await session.get(ServiceOrder, order_id)
        values = (await session.exec(select(ResultValue).where(ResultValue.order_id == order_id))).all()
    assert order.status == OrderStatus.IN_PROGRESS and order.result_text == 'Mild anaemia'
    assert [(v.name, v.value) for v in values] == [('Hb', '11.2')]


async def test_back_to_the_doctor_moves_the_patient_to_the_doctors_queue(user: User):
    ward = await ward_for(user)
    order_id, = await ordered(ward, ward.clinic.lab_id)
    async with get_db().write() as session:  # the doctor sends the patient to the lab
        ticket = (await session.exec(select(QueueTicket))).one()
        await queue.transfer(session, ward.doctor, ticket.id, ward.lab_queue_id, tz=TZ, now=utcnow())
    await open_order(user, order_id)
    user.find(marker='back-to-doctor').click()
    await user.should_see('Sent back to the doctor: ticket A-', retries=RETRIES)
    async with get_db().read() as session:
        back = (await session.exec(select(QueueTicket).order_by(QueueTicket.id.desc()))).first()
    assert back.queue_id == ticket.queue_id and back.status == TicketStatus.WAITING


async def test_a_patient_without_a_ticket_is_sent_back_in_person(user: User):
    ward = await ward_for(user)
    order_id, = await ordered(ward, ward.clinic.lab_id)
    async with get_db().write() as session:  # the patient's ticket is done with
        ticket = (await session.exec(select(QueueTicket))).one()
        ticket.status = TicketStatus.DONE
        session.add(ticket)
        await session.commit()
    await open_order(user, order_id)
    user.find(marker='back-to-doctor').click()
    await user.should_see('please send them back in person', retries=RETRIES)


async def test_lab_worklist_records_a_result(user: User):
    ward = await ward_for(user)
    async with get_db().write() as session:
        created = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=utcnow())
    await sign_in(user, 'lab', station='Lab & imaging')
    await user.should_see('1 pending', retries=RETRIES)
    user.find(marker='worklist').trigger('open', created[0].id)
    await user.should_see(marker='result-dialog', retries=RETRIES)
    user.find(marker='complete-result').click()
    await user.should_see('Please write the result', retries=RETRIES)
    user.find(marker='result-text').type('Normal blood count')
    user.find(marker='complete-result').click()
    await user.should_see('Result completed', retries=RETRIES)
    await user.should_see('1 completed', retries=RETRIES)
    async with get_db().read() as session:
        order = await session.get(ServiceOrder, created[0].id)
    assert order.status == OrderStatus.COMPLETED and order.result_text == 'Normal blood count'


async def test_every_panel_value_and_an_added_row_are_saved_in_one_go_with_their_flags(user: User):
    ward = await ward_for(user)
    await make_full_blood_count(get_db(), ward)
    order_id, = await ordered(ward, ward.clinic.lab_id)
    await open_order(user, order_id)
    for number, (name, unit, low, high) in enumerate(FULL_BLOOD_COUNT):
        await user.should_see(marker=f'panel-name-{number}', content=name)
        user.find(marker=f'panel-value-{number}').type('11,8' if name == 'WBC' else low)
    await user.should_see(marker='panel-flag-0', content='H', retries=RETRIES)  # previewed as it is typed
    user.find(marker='value-name-0').type('CRP')
    user.find(marker='value-0').type('3')
    user.find(marker='add-value-row').click()
    user.find(marker='value-name-1').type('Smear')
    user.find(marker='value-1').type('target cells')
    user.find(marker='value-abnormal-1').click()
    user.find(marker='complete-result').click()
    await user.should_see('Result completed', retries=RETRIES)
    async with get_db().read() as session:
        values = (await session.exec(select(ResultValue).where(ResultValue.order_id == order_id)
                                     .order_by(ResultValue.position))).all()
    assert [v.name for v in values] == [name for name, *_ in FULL_BLOOD_COUNT] + ['CRP', 'Smear']
    assert (values[0].value, values[0].unit, values[0].reference, values[0].flag) == \
        ('11,8', '10^9/L', '4.0–10.0', ResultFlag.HIGH)
    assert {v.flag for v in values[1:18]} == {ResultFlag.NORMAL}
    assert (values[19].value, values[19].flag) == ('target cells', ResultFlag.ABNORMAL)
