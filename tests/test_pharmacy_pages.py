"""The pharmacy and inventory pages as a pharmacist uses them (NiceGUI's simulated user)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import Prescription, PrescriptionStatus, StockBatch
from models.types import utcnow
from services import consultation, prescriptions, users
from services.core.db import get_db
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, ward_for
from tests.conftest import RETRIES, sign_in
from tests.factories import TZ


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


async def issue(ward) -> None:
    db = get_db()
    async with db.write() as session:
        await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5'), today=TODAY, now=utcnow())
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=utcnow())
    async with db.write() as session:
        await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=utcnow())


async def test_the_queue_updates_live_and_dispensing_drops_the_stock(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (0)', retries=RETRIES)
    await issue(ward)  # the doctor finishes: the pharmacy's queue shows it without reloading
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)
    async with get_db().read() as session:
        rx = (await session.exec(select(Prescription))).one()
    user.find(marker='rx-queue').trigger('dispense', rx.id)
    await user.should_see(marker='dispense-dialog', retries=RETRIES)
    await user.should_see('Batches, first expiry first: SOON', retries=RETRIES)
    user.find(marker='confirm-dispense').click()
    await user.should_see('Dispensed: stock updated.', retries=RETRIES)
    await user.should_see('Prescriptions to dispense (0)', retries=RETRIES)
    async with get_db().read() as session:
        batches = {b.batch_no: b.quantity for b in (await session.exec(
            select(StockBatch).where(StockBatch.medicine_id == ward.paracetamol))).all()}
        rx = await session.get(Prescription, rx.id)
    assert batches == {'OLD': 50, 'SOON': 15, 'LATE': 70} and rx.status == PrescriptionStatus.DISPENSED


async def test_alerts(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Below reorder level (2)', retries=RETRIES)
    await user.should_see('Expired or expiring within 60 days (2)', retries=RETRIES)
    assert ward.syrup


async def test_goods_in_and_ledger(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.open('/pharmacy/inventory')
    await user.should_see(marker='stock', retries=RETRIES)
    user.find(marker='stock').trigger('receive', ward.syrup)
    await user.should_see(marker='receive-dialog', retries=RETRIES)
    user.find(marker='batch-no').type('AMB-1')
    user.find(marker='expiry').type('31/02/2030')
    user.find(marker='receive-quantity').type('12')
    user.find(marker='confirm-receive').click()
    await user.should_see('e.g. 31/12/2027', retries=RETRIES)
    expiry = TODAY + timedelta(days=365)
    user.find(marker='expiry').clear().type(expiry.strftime('%d/%m/%Y'))
    user.find(marker='confirm-receive').click()
    await user.should_see('Goods received.', retries=RETRIES)
    user.find(marker='stock').trigger('ledger', ward.syrup)
    await user.should_see(marker='ledger-dialog', retries=RETRIES)
    await user.should_see('On hand 12 bottle · ledger adds up', retries=RETRIES)
