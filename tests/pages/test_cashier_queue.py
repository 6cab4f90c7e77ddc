"""The cashier's queue as a cashier uses it: it follows the clinic live, opening a visit bills it; other roles
cannot open the cashier (NiceGUI's simulated user)."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import Invoice
from services.core.db import get_db
from services.core.events import VisitChanged, publish
from tests.conftest import RETRIES, element
from tests.pages.counter_setup import cashier_clinic
from tests.services.test_billing import make_visit


async def test_a_visit_announced_elsewhere_joins_the_queue_without_reloading(user: User):
    clinic = await cashier_clinic(user)
    await user.open('/cashier')
    await user.should_see(marker='queue-title', content='Waiting to pay (0)', retries=RETRIES)
    visit_id = await make_visit(get_db(), clinic, medicines=((2, 25_000),))
    async with get_db().write() as session:  # a screen elsewhere announces the visit (as the pharmacy would)
        publish(session, VisitChanged(visit_id=visit_id, status='awaiting_payment'))
        await session.commit()
    await user.should_see(marker='queue-title', content='Waiting to pay (1)', retries=RETRIES)
    table = element(user, 'cashier-queue')
    assert table.rows[0]['patient'] == 'Lê Thị Hồng · P0000001' and table.rows[0]['invoices'] == 'to bill'


async def test_opening_a_visit_bills_it_once(user: User):
    clinic = await cashier_clinic(user)
    visit_id = await make_visit(get_db(), clinic, medicines=((2, 25_000),))
    await user.open('/cashier')
    await user.should_see(marker='queue-title', content='Waiting to pay (1)', retries=RETRIES)
    user.find(marker='cashier-queue').trigger('open', visit_id)  # what the row's button does
    await user.should_see(marker='invoice-heading', retries=RETRIES)
    await user.should_see(marker='invoice-balance', content='₫200,000', retries=RETRIES)
    assert [r['description'] for r in element(user, 'invoice-items').rows][0] == 'General consultation'
    async with get_db().read() as session:
        assert len((await session.exec(select(Invoice))).all()) == 1


async def test_other_roles_cannot_open_the_cashier(user: User):
    await cashier_clinic(user, 'reception')
    await user.open('/cashier/transactions')
    await user.should_see('cannot open', retries=RETRIES)
    response = await user.http_client.get('/cashier/receipts/R-000001.pdf')
    assert response.status_code == 403
