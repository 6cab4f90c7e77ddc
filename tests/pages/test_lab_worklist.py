"""The lab worklist as a technician uses it (NiceGUI's simulated user)."""
from __future__ import annotations

from nicegui.testing import User

from models import OrderStatus, ServiceOrder
from models.types import utcnow
from services import orders
from services.core.db import get_db
from tests.clinical import ward_for
from tests.conftest import RETRIES, sign_in


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
