"""Bills read like the counter speaks: one line per medicine (and unit price), however many stock batches it was
dispensed from; the reason of a manual discount stays off the patient's paper (receipt, bill PDF, email)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from models import (
    Dispense,
    DispenseItem,
    InvoiceItemKind,
    MedicalRecord,
    Medicine,
    OutboxMessage,
    Prescription,
    StockBatch,
    Visit,
    Voucher,
)
from services import billing, receipts
from services.billing import ItemView, Tender
from services.core.settings import Settings
from tests.factories import NOW, TZ, make_clinic
from tests.services.test_billing import CASH, DAY, bill, make_visit, pay, view
from tests.services.test_receipts import CLINIC, flat, needs_poppler, pdf_text


async def dispensed_from_batches(db, clinic, visit_id: int, batches: list[tuple[str, int, int]]) -> None:
    """One medicine dispensed to the visit from several stock batches: (batch number, quantity, unit price)."""
    async with db.write() as session:
        visit = await session.get(Visit, visit_id)
        record = MedicalRecord(visit_id=visit.id, patient_id=visit.patient_id, doctor_id=clinic.doctor_ids[0])
        session.add(record)
        await session.flush()
        prescription = Prescription(visit_id=visit.id, record_id=record.id, doctor_id=clinic.doctor_ids[0])
        session.add(prescription)
        await session.flush()
        dispense = Dispense(prescription_id=prescription.id, visit_id=visit.id, pharmacist_id=clinic.admin.user_id)
        medicine = Medicine(code='AMOX', name='Amoxicillin', strength='500 mg', unit='capsule', price=2_500)
        session.add_all([dispense, medicine])
        await session.flush()
        for number, (batch_no, quantity, price) in enumerate(batches):
            batch = StockBatch(medicine_id=medicine.id, batch_no=batch_no, expiry_date=DAY + timedelta(days=100 + number),
                               quantity=1000)
            session.add(batch)
            await session.flush()
            session.add(DispenseItem(dispense_id=dispense.id, medicine_id=medicine.id, batch_id=batch.id,
                                     quantity=quantity, unit_price=price))
        await session.commit()


async def test_one_line_per_medicine_however_many_batches_and_one_per_price(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic)
    await dispensed_from_batches(db, clinic, visit_id, [('A-01', 10, 2_500), ('A-02', 11, 2_500), ('A-03', 4, 2_700)])
    shown = await view(db, clinic.cashier, await bill(db, clinic.cashier, visit_id))
    assert len(shown.items) == 4  # the invoice keeps a line per batch (the pharmacy's trace)
    assert [(line.description, line.quantity, line.unit_price, line.line_total) for line in shown.lines] == [
        ('General consultation', 1, 150_000, 150_000),
        ('Amoxicillin 500 mg (capsule)', 21, 2_500, 52_500),
        ('Amoxicillin 500 mg (capsule)', 4, 2_700, 10_800)]
    assert [item.batch_no for item in shown.lines[1].items] == ['A-01', 'A-02']
    assert shown.invoice.total == sum(line.line_total for line in shown.lines) == 213_300


items = st.lists(st.tuples(st.sampled_from([InvoiceItemKind.MEDICINE, InvoiceItemKind.SERVICE]),
                           st.integers(1, 4), st.integers(1, 500), st.integers(0, 3) .map(lambda p: p * 1_250)),
                 max_size=15)


@settings(max_examples=300, deadline=None)
@given(items=items)
def test_grouping_never_changes_the_total_nor_loses_a_line(items):
    views = [ItemView(index, kind, f'Medicine {medicine}' if kind == InvoiceItemKind.MEDICINE else f'Service {index}',
                      quantity, price, quantity * price, medicine if kind == InvoiceItemKind.MEDICINE else None,
                      f'B{index}')
             for index, (kind, medicine, quantity, price) in enumerate(items)]
    lines = billing.bill_lines(views)
    assert sum(line.line_total for line in lines) == sum(v.line_total for v in views)
    assert sorted(i.id for line in lines for i in line.items) == [v.id for v in views]
    for line in lines:
        assert line.line_total == line.quantity * line.unit_price
        assert len({(i.medicine_id, i.unit_price) for i in line.items}) == 1
    keys = [(v.medicine_id, v.unit_price) for v in views if v.medicine_id is not None]
    assert len(lines) == len(set(keys)) + sum(v.medicine_id is None for v in views)


@needs_poppler
@pytest.mark.parametrize('layout', ['a4', 'thermal'])
async def test_the_receipt_prints_one_line_per_medicine_and_no_discount_reason(db, layout, tmp_path):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic)
    await dispensed_from_batches(db, clinic, visit_id, [('A-01', 10, 2_500), ('A-02', 11, 2_500)])
    invoice_id = await bill(db, clinic.cashier, visit_id)
    async with db.write() as session:
        await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(5),
                                   reason='Brother of the head nurse', now=NOW)
    result = await pay(db, clinic.cashier, invoice_id, Tender(CASH, 192_375))
    async with db.read() as session:
        data = await receipts.receipt_data(session, clinic.cashier, result.receipt_number)
        bill_data = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
    for printed in (data, bill_data):
        text = flat(pdf_text(receipts.receipt_pdf(printed, CLINIC, layout=layout, tz=TZ), tmp_path))
        assert 'Brother' not in text and 'head nurse' not in text
        assert 'Discount' in text and '-10,125' in text
        assert text.count('Amoxicillin') == 1 and '52,500' in text
        assert '21 x 2,500' in text if layout == 'thermal' else '21 2,500 52,500' in text
    async with db.write() as session:
        await receipts.email_receipt(session, clinic.cashier, result.receipt_number, to='lan@example.test',
                                     settings=Settings(clinic_name='Hòa Bình'))
    async with db.read() as session:
        mail = (await session.exec(select(OutboxMessage))).one()
    assert 'Brother' not in mail.body_text and 'Brother' not in mail.subject
    assert 'Brother' not in flat(pdf_text(mail.attachment_data, tmp_path))
    # The cashier's screen still has the reason.
    assert 'Brother of the head nurse' in (await view(db, clinic.cashier, invoice_id)).invoice.discount_reason


@needs_poppler
async def test_a_voucher_prints_its_code(db, tmp_path):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    async with db.write() as session:
        session.add(Voucher(code='TET2026', percent_off=10))
        await session.commit()
    async with db.write() as session:
        await billing.apply_voucher(session, clinic.cashier, invoice_id, 'tet2026', today=DAY, now=NOW)
    async with db.read() as session:
        data = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
    text = flat(pdf_text(receipts.receipt_pdf(data, CLINIC, layout='a4', tz=TZ), tmp_path))
    assert 'Discount (voucher TET2026)' in text and '-15,000' in text
