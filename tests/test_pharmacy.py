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
    PrescriptionItem,
    PrescriptionStatus,
    StockBatch,
    StockMovement,
    Visit,
    VisitStatus,
)
from services import clinical_pdf, consultation, inventory, pharmacy, prescriptions
from services.core.db import Database
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.inventory import GoodsIn
from services.pharmacy import DispenseLine
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, add_stock, make_ward
from tests.conftest import TEST_DATABASE_URL
from tests.factories import NOW, TZ


async def issued(db, ward, lines: list[LineInput]) -> int:
    for line in lines:
        async with db.write() as session:
            await prescriptions.add_item(session, ward.doctor, ward.visit_id, line, today=TODAY, now=NOW)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        assert (await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)).status == \
            VisitStatus.AWAITING_PHARMACY
    async with db.read() as session:
        return max(r.prescription_id for r in await prescriptions.pharmacy_queue(session, ward.pharmacist))


async def batches(db, medicine_id: int) -> dict[str, int]:
    async with db.read() as session:
        rows = (await session.exec(select(StockBatch).where(StockBatch.medicine_id == medicine_id))).all()
    return {b.batch_no: b.quantity for b in rows}


async def test_dispense_first_expiry_first_never_expired_and_stock_drops_with_it(db):
    ward = await make_ward(db)
    rx = await issued(db, ward, [LineInput(ward.paracetamol, dose='2 tablet', times_per_day='4', duration_days='5')])
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


async def test_partial_dispense_then_substitution_with_a_note(db):
    ward = await make_ward(db)
    rx = await issued(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='3',
                                           duration_days='10')])  # 30 prescribed, 20 in stock
    async with db.read() as session:
        item_id = (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id
    async with db.write() as session:
        with pytest.raises(Conflict, match='Only 20 capsule'):
            await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 30)], today=TODAY, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='only 30 still to dispense'):
            await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 31)], today=TODAY, now=NOW)
    async with db.read() as session:  # nothing half-saved by the refused attempts
        assert (await session.exec(select(sa.func.count()).select_from(Dispense))).one() == 0
    assert await batches(db, ward.amoxicillin) == {'A1': 20}
    async with db.write() as session:
        await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 20)], today=TODAY, now=NOW)
    async with db.read() as session:
        queue = await prescriptions.pharmacy_queue(session, ward.pharmacist)
    assert queue[0].status == PrescriptionStatus.PARTIALLY_DISPENSED
    from models import Medicine
    async with db.write() as session:  # another amoxicillin, from another maker
        other = Medicine(code='M9', name='Amoxicillin 500 mg capsule (Stada)', generic_name='Amoxicillin',
                         unit='capsule', price=1_400)
        session.add(other)
        await session.commit()
    await add_stock(db, other.id, 'S1', TODAY + timedelta(days=200), 50)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='needs a note'):
            await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 10, other.id)],
                                    today=TODAY, now=NOW)
    async with db.write() as session:
        await pharmacy.dispense(session, ward.pharmacist, rx,
                                [DispenseLine(item_id, 10, other.id, 'Out of stock, same active ingredient')],
                                today=TODAY, now=NOW)
    async with db.read() as session:
        item = await session.get(PrescriptionItem, item_id)
        substituted = (await session.exec(select(DispenseItem).where(DispenseItem.medicine_id == other.id))).one()
        assert item.dispensed_quantity == 30 and substituted.unit_price == 1_400
        assert substituted.substitution_note.startswith('Out of stock')
        assert await prescriptions.pharmacy_queue(session, ward.pharmacist) == []


async def test_only_pharmacists_dispense(db):
    ward = await make_ward(db)
    rx = await issued(db, ward, [LineInput(ward.paracetamol, dose='1', times_per_day='1', duration_days='1')])
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await pharmacy.dispense(session, ward.doctor, rx, [DispenseLine(1, 1)], today=TODAY, now=NOW)


async def test_two_pharmacists_dispensing_the_last_units_at_once_never_go_negative(db):
    """Two prescriptions each want the last 20 capsules; both pharmacists press "Dispense" at the same moment,
    each in their own connection. One wins, the other is told; the stock ends at 0, never below."""
    ward = await make_ward(db)
    rx1 = await issued(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='2',
                                            duration_days='10')])
    async with db.write() as session:  # a second patient's visit with the same prescription
        from services import checkin
        await checkin.walk_in(session, ward.clinic.reception, patient_id=ward.clinic.patient_ids[1],
                              doctor_id=ward.clinic.doctor_ids[0], tz=TZ, now=NOW)
    async with db.read() as session:
        second_visit = (await session.exec(select(Visit.id).order_by(Visit.id.desc()))).first()
    ward.visit_id = second_visit
    rx2 = await issued(db, ward, [LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='2',
                                            duration_days='10')])
    async with db.read() as session:
        item1 = (await pharmacy.plan(session, ward.pharmacist, rx1, today=TODAY)).lines[0].item.id
        item2 = (await pharmacy.plan(session, ward.pharmacist, rx2, today=TODAY)).lines[0].item.id
    # Two separate Database objects: two connection pools, like two server processes on PostgreSQL.
    first, second = Database(TEST_DATABASE_URL), Database(TEST_DATABASE_URL)

    async def run(database, rx, item):
        try:
            async with database.write() as session:
                await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item, 20)], today=TODAY,
                                        now=NOW)
            return 'dispensed'
        except Conflict as error:
            return str(error)

    try:
        results = await asyncio.gather(run(first, rx1, item1), run(second, rx2, item2))
    finally:
        await first.dispose()
        await second.dispose()
    assert results.count('dispensed') == 1
    assert any('Amoxicillin 500 mg capsule is out of stock' in r for r in results)
    assert await batches(db, ward.amoxicillin) == {'A1': 0}
    async with db.read() as session:
        ledger = await inventory.ledger(session, ward.pharmacist, ward.amoxicillin)
    assert ledger.adds_up and ledger.on_hand == 0


async def test_goods_in_adjustments_and_a_ledger_that_adds_up(db):
    ward = await make_ward(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='already expired'):
            await inventory.receive(session, ward.pharmacist, GoodsIn(ward.syrup, 'B1', TODAY, 'Zuellig', '10'),
                                    today=TODAY, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='whole number'):
            await inventory.receive(session, ward.pharmacist, GoodsIn(ward.syrup, 'B1', TODAY + timedelta(days=90),
                                                                      'Zuellig', 'ten'), today=TODAY, now=NOW)
    async with db.write() as session:
        batch = await inventory.receive(session, ward.pharmacist,
                                        GoodsIn(ward.syrup, 'B1', TODAY + timedelta(days=90), 'Zuellig', '12',
                                                '21000'), today=TODAY, now=NOW)
    assert batch.quantity == 12 and batch.unit_cost == 21_000
    async with db.write() as session:  # more of the same batch
        batch = await inventory.receive(session, ward.pharmacist,
                                        GoodsIn(ward.syrup, 'B1', TODAY + timedelta(days=90), 'Zuellig', '3'),
                                        today=TODAY, now=NOW)
    assert batch.quantity == 15
    async with db.write() as session:
        with pytest.raises(ValidationError, match='negative number'):
            await inventory.adjust(session, ward.pharmacist, batch.id, change='2', reason='damaged', now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='cannot go below 0'):
            await inventory.adjust(session, ward.pharmacist, batch.id, change='-16', reason='damaged', now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='short note'):
            await inventory.adjust(session, ward.pharmacist, batch.id, change='1', reason='count', now=NOW)
    async with db.write() as session:
        await inventory.adjust(session, ward.pharmacist, batch.id, change='-2', reason='damaged', now=NOW)
    async with db.write() as session:
        await inventory.adjust(session, ward.pharmacist, batch.id, change='+1', reason='count',
                               note='Found one behind the shelf', now=NOW)
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
