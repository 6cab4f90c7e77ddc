"""The inventory page as a pharmacist uses it: goods in, the ledger of a medicine, an adjustment (NiceGUI's
simulated user)."""
from __future__ import annotations

from datetime import timedelta

from nicegui.testing import User

from models.types import utcnow
from services import inventory
from services.core.db import get_db
from services.inventory import GoodsIn
from tests.clinical import TODAY, ward_for
from tests.conftest import RETRIES, sign_in
from tests.pages.counter_setup import rows_when_filled

NEXT_YEAR = TODAY + timedelta(days=365)


async def open_inventory(user: User) -> None:
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.open('/pharmacy/inventory')
    await user.should_see(marker='stock', retries=RETRIES)
    await rows_when_filled(user, 'stock')


async def test_goods_in_refuses_an_impossible_expiry_date(user: User):
    ward = await ward_for(user)
    await open_inventory(user)
    user.find(marker='stock').trigger('receive', ward.syrup)
    await user.should_see(marker='receive-dialog', retries=RETRIES)
    user.find(marker='batch-no').type('AMB-1')
    user.find(marker='expiry').type('31/02/2030')
    user.find(marker='receive-quantity').type('12')
    user.find(marker='confirm-receive').click()
    await user.should_see('e.g. 31/12/2027', retries=RETRIES)
    user.find(marker='expiry').clear().type(NEXT_YEAR.strftime('%d/%m/%Y'))
    user.find(marker='confirm-receive').click()
    await user.should_see('Goods received.', retries=RETRIES)


async def test_the_ledger_adds_up_after_goods_in(user: User):
    ward = await ward_for(user)
    async with get_db().write() as session:
        await inventory.receive(session, ward.pharmacist, GoodsIn(ward.syrup, 'AMB-1', NEXT_YEAR, '', '12'),
                                today=TODAY, now=utcnow())
    await open_inventory(user)
    user.find(marker='stock').trigger('ledger', ward.syrup)
    await user.should_see(marker='ledger-dialog', retries=RETRIES)
    await user.should_see('On hand 12 bottle · ledger adds up', retries=RETRIES)


async def test_an_adjustment_from_the_ledger_changes_the_batch(user: User):
    ward = await ward_for(user)
    await open_inventory(user)
    user.find(marker='stock').trigger('ledger', ward.amoxicillin)
    await user.should_see(marker='ledger-dialog', retries=RETRIES)
    user.find(marker='adjust').click()
    await user.should_see(marker='adjust-dialog', retries=RETRIES)
    user.find(marker='adjust-change').type('-2')
    user.find(marker='confirm-adjust').click()
    await user.should_see('Stock adjusted.', retries=RETRIES)
    async with get_db().read() as session:
        ledger = await inventory.ledger(session, ward.pharmacist, ward.amoxicillin)
    assert ledger.on_hand == 18 and ledger.adds_up
