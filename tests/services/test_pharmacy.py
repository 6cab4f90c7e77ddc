"""Dispensing (FEFO, never expired, partial, substitution, concurrent last units) and inventory (goods in,
adjustments, a ledger that adds up, alerts)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from models import (
    Dispense,
    DispenseItem,
    Medicine,
    PrescriptionItem,
    PrescriptionStatus,
    StockBatch,
    StockMovement,
    Visit,
    VisitStatus,
)
from services import checkin, clinical_pdf, inventory, pharmacy, prescriptions
from services.core.db import Database
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.inventory import GoodsIn
from services.pharmacy import DispenseLine
from services.prescriptions import LineInput
from tests.clinical import TODAY, add_stock, make_ward, prescribed_and_finished
from tests.conftest import TEST_DATABASE_URL
from tests.factories import NOW, TZ


async def batches(db, medicine_id: int) -> dict[str, int]:
    async with db.read() as session:
        rows = (await session.exec(select(StockBatch).where(StockBatch.medicine_id == medicine_id))).all()
    return {b.batch_no: b.quantity for b in rows}


async def test_dispense_first_expiry_first_never_expired_and_stock_drops_with_it(db):
    ward = await make_ward(db)
    rx = await prescribed_and_finished(db, ward, [LineInput(ward.paracetamol, dose='2 tablet', times_per_day='4', duration_days='5')])
    async with db.read() as session:
        plan = await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)
    line = plan.lines[0]
    assert line.remaining == 40 and [b.batch_no for b in line.batches] == ['SOON', 'LATE']  # OLD is expired
    async with db.write() as session:
        dispense = await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(line.item.id, 40)],
                                           today=TODAY, now=NOW)
    assert await batches(db, ward.paracetamol) == {'OLD': 50, 'SOON': 0, 'LATE': 60}
    async with db.read() as session:
        items = (await session.exec(select(DispenseItem).order_by(DispenseItem.id))).all()
        assert [(i.quantity, i.unit_price) for i in items] == [(30, 500), (10, 500)]
        movements = (await session.exec(select(StockMovement).where(StockMovement.dispense_id == dispense.id))).all()
        assert sorted(m.quantity for m in movements) == [-30, -10]
        assert (await session.get(Visit, ward.visit_id)).status == VisitStatus.AWAITING_PAYMENT
        assert await prescriptions.pharmacy_queue(session, ward.pharmacist) == []
        labels = await pharmacy.labels(session, ward.pharmacist, dispense.id)
    assert labels[0].quantity == 40 and labels[0].batch_no == 'SOON, LATE' and '4 times a day' in labels[0].dosage
    pdf = clinical_pdf.labels_pdf(labels, clinic_name='Phòng khám Test', tz=TZ)
    assert pdf.startswith(b'%PDF')


async def amoxicillin_rx(db, ward) -> tuple[int, int]:
    """30 capsules of amoxicillin prescribed, 20 in stock: the prescription's id and its item's."""
    rx = await prescribed_and_finished(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='3',
                                           duration_days='10')])
    async with db.read() as session:
        return rx, (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id


async def dispense(db, ward, rx: int, *lines: DispenseLine) -> Dispense:
    async with db.write() as session:
        return await pharmacy.dispense(session, ward.pharmacist, rx, list(lines), today=TODAY, now=NOW)


async def test_a_partial_dispense_leaves_the_rest_owed(db):
    ward = await make_ward(db)
    rx, item_id = await amoxicillin_rx(db, ward)
    with pytest.raises(Conflict, match='Only 20 capsule'):
        await dispense(db, ward, rx, DispenseLine(item_id, 30))
    with pytest.raises(ValidationError, match='only 30 still to dispense'):
        await dispense(db, ward, rx, DispenseLine(item_id, 31))
    async with db.read() as session:  # nothing half-saved by the refused attempts
        assert (await session.exec(select(sa.func.count()).select_from(Dispense))).one() == 0
    assert await batches(db, ward.amoxicillin) == {'A1': 20}
    await dispense(db, ward, rx, DispenseLine(item_id, 20))
    async with db.read() as session:
        queue = await prescriptions.pharmacy_queue(session, ward.pharmacist)
    assert queue[0].status == PrescriptionStatus.PARTIALLY_DISPENSED


async def test_the_rest_is_given_as_a_substitute_with_a_note(db):
    ward = await make_ward(db)
    rx, item_id = await amoxicillin_rx(db, ward)
    await dispense(db, ward, rx, DispenseLine(item_id, 20))
    async with db.write() as session:  # another amoxicillin, from another maker
        other = Medicine(code='M9', name='Amoxicillin 500 mg capsule (Stada)', generic_name='amoxicillin ',
                         strength='0,5 g', unit='capsule', price=1_400)
        session.add(other)
        await session.commit()
    await add_stock(db, other.id, 'S1', TODAY + timedelta(days=200), 50)
    with pytest.raises(ValidationError, match='needs a note'):
        await dispense(db, ward, rx, DispenseLine(item_id, 10, other.id))
    await dispense(db, ward, rx, DispenseLine(item_id, 10, other.id, 'Out of stock, same active ingredient'))
    async with db.read() as session:
        item = await session.get(PrescriptionItem, item_id)
        substituted = (await session.exec(select(DispenseItem).where(DispenseItem.medicine_id == other.id))).one()
        assert item.dispensed_quantity == 30 and substituted.unit_price == 1_400
        assert substituted.substitution_note.startswith('Out of stock')
        assert await prescriptions.pharmacy_queue(session, ward.pharmacist) == []


async def test_only_pharmacists_dispense(db):
    ward = await make_ward(db)
    rx = await prescribed_and_finished(db, ward, [LineInput(ward.paracetamol, dose='1', times_per_day='1', duration_days='1')])
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await pharmacy.dispense(session, ward.doctor, rx, [DispenseLine(1, 1)], today=TODAY, now=NOW)


async def two_prescriptions_of_the_last_capsules(db, ward) -> list[tuple[int, int]]:
    """Two patients' prescriptions, each for the last 20 capsules: (prescription id, item id) of each."""
    first = await prescribed_and_finished(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='2',
                                              duration_days='10')])
    async with db.write() as session:  # a second patient's visit with the same prescription
        await checkin.walk_in(session, ward.clinic.reception, patient_id=ward.clinic.patient_ids[1],
                              doctor_id=ward.clinic.doctor_ids[0], tz=TZ, now=NOW)
    async with db.read() as session:
        ward.visit_id = (await session.exec(select(Visit.id).order_by(Visit.id.desc()))).first()
    second = await prescribed_and_finished(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='2',
                                               duration_days='10')])
    async with db.read() as session:
        return [(rx, (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id)
                for rx in (first, second)]


async def dispense_apart(ward, prescriptions_and_items: list[tuple[int, int]]) -> list[str]:
    """Each prescription dispensed at the same moment through its own connection pool (like two server processes
    on PostgreSQL): 'dispensed', or the message of the refusal."""
    databases = [Database(TEST_DATABASE_URL) for _ in prescriptions_and_items]

    async def run(database, rx, item):
        try:
            async with database.write() as session:
                await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item, 20)], today=TODAY,
                                        now=NOW)
            return 'dispensed'
        except Conflict as error:
            return str(error)

    try:
        return await asyncio.gather(*(run(d, rx, item) for d, (rx, item) in zip(databases, prescriptions_and_items)))
    finally:
        for database in databases:
            await database.dispose()


async def test_two_pharmacists_dispensing_the_last_units_at_once_never_go_negative(db):
    """Two prescriptions each want the last 20 capsules; both pharmacists press "Dispense" at the same moment,
    each in their own connection. One wins, the other is told; the stock ends at 0, never below."""
    ward = await make_ward(db)
    results = await dispense_apart(ward, await two_prescriptions_of_the_last_capsules(db, ward))
    assert results.count('dispensed') == 1
    assert any('Amoxicillin 500 mg capsule is out of stock' in r for r in results)
    assert await batches(db, ward.amoxicillin) == {'A1': 0}
    async with db.read() as session:
        ledger = await inventory.ledger(session, ward.pharmacist, ward.amoxicillin)
    assert ledger.adds_up and ledger.on_hand == 0


async def receive(db, ward, quantity: str, unit_cost: str = '', *, expiry=TODAY + timedelta(days=90)):
    async with db.write() as session:
        return await inventory.receive(session, ward.pharmacist, GoodsIn(ward.syrup, 'B1', expiry, 'Zuellig',
                                                                          quantity, unit_cost),
                                       today=TODAY, now=NOW)


async def adjust(db, ward, batch_id: int, change: str, reason: str, note: str = '') -> None:
    async with db.write() as session:
        await inventory.adjust(session, ward.pharmacist, batch_id, change=change, reason=reason, note=note, now=NOW)


async def test_goods_in_refuses_expired_goods_and_adds_to_a_batch_already_in_stock(db):
    ward = await make_ward(db)
    with pytest.raises(ValidationError, match='already expired'):
        await receive(db, ward, '10', expiry=TODAY)
    with pytest.raises(ValidationError, match='whole number'):
        await receive(db, ward, 'ten')
    batch = await receive(db, ward, '12', '21000')
    assert batch.quantity == 12 and batch.unit_cost == 21_000
    batch = await receive(db, ward, '3')  # more of the same batch
    assert batch.quantity == 15


async def test_adjustments_need_a_reason_and_the_ledger_adds_up(db):
    ward = await make_ward(db)
    await receive(db, ward, '12', '21000')
    batch = await receive(db, ward, '3')
    with pytest.raises(ValidationError, match='negative number'):
        await adjust(db, ward, batch.id, '2', 'damaged')
    with pytest.raises(ValidationError, match='cannot go below 0'):
        await adjust(db, ward, batch.id, '-16', 'damaged')
    with pytest.raises(ValidationError, match='short note'):
        await adjust(db, ward, batch.id, '1', 'count')
    await adjust(db, ward, batch.id, '-2', 'damaged')
    await adjust(db, ward, batch.id, '+1', 'count', note='Found one behind the shelf')
    async with db.read() as session:
        ledger = await inventory.ledger(session, ward.pharmacist, ward.syrup)
    assert [r.quantity for r in ledger.rows] == [12, 3, -2, 1] and [r.balance for r in ledger.rows][-1] == 14
    assert ledger.adds_up and ledger.on_hand == 14
    assert ledger.rows[-1].reason == 'Count correction: Found one behind the shelf'


async def test_alerts_low_stock_and_expiring(db):
    ward = await make_ward(db)
    async with db.read() as session:
        alerts = await inventory.stock_alerts(session, ward.pharmacist, TODAY, expiring_within_days=30)
    low = {m.code: m.on_hand for m in alerts.low_stock}
    assert low == {'M2': 20, 'M3': 0}  # paracetamol has 100 usable (>= 50)
    assert [(b.batch_no, b.expired) for b in alerts.expiring] == [('OLD', True), ('SOON', False)]
