"""The pharmacy's page as a pharmacist uses it: the live queue of prescriptions, dispensing, the stock alerts
(NiceGUI's simulated user)."""
from __future__ import annotations

from datetime import timedelta

from nicegui.testing import User
from sqlmodel import select

from models import DispenseItem, Medicine, Prescription, PrescriptionItem, PrescriptionStatus, StockBatch
from models.types import utcnow
from services.core.db import get_db
from services.prescriptions import LineInput
from tests.clinical import TODAY, add_stock, prescribed_and_finished, ward_for
from tests.conftest import RETRIES, element, sign_in


async def issue(ward) -> int:
    """The doctor prescribes paracetamol (15 tablets) and finishes the consultation: the prescription's id."""
    return await prescribed_and_finished(get_db(), ward, [LineInput(
        ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5')], now=utcnow())


async def test_a_finished_consultation_reaches_the_queue_without_reloading(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (0)', retries=RETRIES)
    await issue(ward)  # the doctor finishes: the pharmacy's queue shows it without reloading
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)


async def test_dispensing_takes_the_first_expiring_batch_and_empties_the_queue(user: User):
    ward = await ward_for(user)
    rx_id = await issue(ward)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)
    await user.should_not_see(marker='print-labels')  # nothing dispensed yet
    user.find(marker='rx-queue').trigger('dispense', rx_id)
    await user.should_see(marker='dispense-dialog', retries=RETRIES)
    await user.should_see('Batches, first expiry first: SOON', retries=RETRIES)
    user.find(marker='confirm-dispense').click()
    await user.should_see('Dispensed: stock updated.', retries=RETRIES)
    await user.should_see('Prescriptions to dispense (0)', retries=RETRIES)
    await user.should_see(marker='print-labels', retries=RETRIES)
    async with get_db().read() as session:
        batches = {b.batch_no: b.quantity for b in (await session.exec(
            select(StockBatch).where(StockBatch.medicine_id == ward.paracetamol))).all()}
        rx = await session.get(Prescription, rx_id)
    assert batches == {'OLD': 50, 'SOON': 15, 'LATE': 70} and rx.status == PrescriptionStatus.DISPENSED


async def test_alerts(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Below reorder level (2)', retries=RETRIES)
    await user.should_see('Expired or expiring within 60 days (2)', retries=RETRIES)
    assert ward.syrup


async def issue_amoxicillin_despite_the_allergy(ward) -> int:
    return await prescribed_and_finished(get_db(), ward, [LineInput(
        ward.amoxicillin, dose='1 capsule', times_per_day='2', duration_days='5')], now=utcnow(),
        override_reason='Took amoxicillin in 2025 without a reaction')


async def test_an_allergy_override_is_dispensed_only_once_the_pharmacist_ticks_the_box(user: User):
    ward = await ward_for(user, allergies='Penicillin')
    rx_id = await issue_amoxicillin_despite_the_allergy(ward)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)
    assert element(user, 'rx-queue').rows[0]['patient'].endswith('⚠ allergies · 1 allergy override to check')
    user.find(marker='rx-queue').trigger('dispense', rx_id)
    await user.should_see(marker='dispense-dialog', retries=RETRIES)
    await user.should_see(marker='allergy-summary', content='Allergies: Penicillin (moderate)')
    await user.should_see(marker='override-reason', content='Took amoxicillin in 2025 without a reaction')
    user.find(marker='confirm-dispense').click()
    await user.should_see('Please check it with the patient or the doctor and tick the box', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Prescription, rx_id)).status == PrescriptionStatus.ISSUED  # nothing dispensed
    user.find(marker='acknowledge-override').click()
    user.find(marker='confirm-dispense').click()
    await user.should_see('Dispensed: stock updated.', retries=RETRIES)
    async with get_db().read() as session:
        item = (await session.exec(select(PrescriptionItem))).one()
    assert item.dispensed_quantity == 10 and item.allergy_acknowledged_at is not None


async def test_a_substitute_sold_per_blister_is_chosen_from_the_equivalents_and_converted(user: User):
    ward = await ward_for(user)
    async with get_db().write() as session:
        blister = Medicine(code='P10', name='Panadol (blister of 10)', generic_name='paracetamol', strength='0.5 g',
                           unit='blister', base_unit='tablet', units_per_pack=10, price=4_000)
        other = Medicine(code='P650', name='Paracetamol 650 mg', generic_name='Paracetamol', strength='650 mg',
                         unit='tablet', price=600)
        session.add_all([blister, other])
        await session.commit()
    await add_stock(get_db(), blister.id, 'B1', TODAY + timedelta(days=300), 5)
    rx_id = await issue(ward)  # 15 tablets
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)
    user.find(marker='rx-queue').trigger('dispense', rx_id)
    await user.should_see('Substitute… (1 equivalent in stock)', retries=RETRIES)
    await user.should_see('5 blister in stock')
    await user.should_not_see('Paracetamol 650 mg')  # another strength is no equivalent
    user.find(marker='substitute-option').click()
    await user.should_see(marker='substitute-chosen', content='Substitute: Panadol (blister of 10), '
                          '15 tablet = 2 blister of 10 (rounded up: 20 tablet)', retries=RETRIES)
    user.find(marker='confirm-dispense').click()
    await user.should_see('A substitution needs a note', retries=RETRIES)  # the note rule still holds
    user.find(marker='substitute-note').type('Patient prefers Panadol')
    user.find(marker='confirm-dispense').click()
    await user.should_see('Dispensed: stock updated.', retries=RETRIES)
    async with get_db().read() as session:
        given = (await session.exec(select(DispenseItem))).one()
        left = (await session.exec(select(StockBatch.quantity).where(StockBatch.medicine_id == blister.id))).one()
    assert (given.medicine_id, given.quantity, left) == (blister.id, 2, 3)


async def test_with_no_equivalent_the_dialog_says_why(user: User):
    ward = await ward_for(user)
    rx_id = await issue(ward)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.should_see('Prescriptions to dispense (1)', retries=RETRIES)
    user.find(marker='rx-queue').trigger('dispense', rx_id)
    await user.should_see(marker='substitute-reason',
                          content='No other medicine in the catalog contains Paracetamol 500 mg.', retries=RETRIES)
    await user.should_not_see(marker='substitute-option')
