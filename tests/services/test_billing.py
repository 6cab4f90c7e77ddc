"""Billing: consolidation (nothing twice, nothing missed), exact totals, discounts, vouchers, insurance, split and
concurrent payments, refunds, voids, the daily close and CSV exports; property-based tests with hypothesis."""
from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import (
    Appointment,
    AppointmentService,
    AuditLog,
    BookingSource,
    Dispense,
    DispenseItem,
    Invoice,
    InvoiceItem,
    InvoiceStatus,
    MedicalRecord,
    Medicine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Prescription,
    RecordStatus,
    ServiceOrder,
    StockBatch,
    Visit,
    VisitStatus,
)
from services import billing, reports
from services.billing import Share, Tender
from services.core.db import Database
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.core.money import parse_money
from tests.conftest import TEST_DATABASE_URL, truncate_all
from tests.factories import NOW, TZ, local, make_clinic

DAY = date(2026, 11, 23)
CASH, CARD, BANK, WALLET = PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER, PaymentMethod.E_WALLET


async def make_visit(db, clinic, *, patient: int = 0, orders: tuple[tuple[int, OrderStatus], ...] = (),
                     medicines: tuple[tuple[int, int], ...] = (), extra_services: tuple[int, ...] = (),
                     status: VisitStatus = VisitStatus.AWAITING_PAYMENT) -> int:
    """A visit with a booked consultation, service orders (price, status) and dispensed medicines (qty, price)."""
    async with db.write() as session:
        appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=clinic.patient_ids[patient],
                                  doctor_id=clinic.doctor_ids[0], start_at=local(23, 9), end_at=local(23, 9, 15),
                                  source=BookingSource.PHONE)
        session.add(appointment)
        await session.flush()
        for service_id in (clinic.consultation_id, *extra_services):
            session.add(AppointmentService(appointment_id=appointment.id, service_id=service_id))
        visit = Visit(patient_id=clinic.patient_ids[patient], appointment_id=appointment.id,
                      doctor_id=clinic.doctor_ids[0], visit_date=DAY, status=status)
        session.add(visit)
        await session.flush()
        for price, order_status in orders:
            session.add(ServiceOrder(visit_id=visit.id, service_id=clinic.lab_id, ordered_by_id=clinic.doctor_ids[0],
                                     status=order_status, price=price))
        if medicines:
            await dispensed(session, clinic, visit, medicines)
        await session.commit()
        return visit.id


async def dispensed(session, clinic, visit: Visit, medicines: tuple[tuple[int, int], ...]) -> None:
    """A signed-off prescription of the visit, dispensed: one new medicine (with stock) per (quantity, price)."""
    record = MedicalRecord(visit_id=visit.id, patient_id=visit.patient_id, doctor_id=clinic.doctor_ids[0])
    session.add(record)
    await session.flush()
    prescription = Prescription(visit_id=visit.id, record_id=record.id, doctor_id=clinic.doctor_ids[0])
    session.add(prescription)
    await session.flush()
    dispense = Dispense(prescription_id=prescription.id, visit_id=visit.id, pharmacist_id=clinic.admin.user_id)
    session.add(dispense)
    await session.flush()
    for index, (quantity, price) in enumerate(medicines):
        medicine = Medicine(code=f'M{visit.id}-{index}', name=f'Thuốc số {index}', strength='500 mg', price=price)
        session.add(medicine)
        await session.flush()
        batch = StockBatch(medicine_id=medicine.id, batch_no='B1', expiry_date=DAY + timedelta(days=300),
                           quantity=1000)
        session.add(batch)
        await session.flush()
        session.add(DispenseItem(dispense_id=dispense.id, medicine_id=medicine.id, batch_id=batch.id,
                                 quantity=quantity, unit_price=price))


async def bill(db, actor, visit_id) -> int:
    async with db.write() as session:
        return await billing.bill_visit(session, actor, visit_id, now=NOW)


async def view(db, actor, invoice_id) -> billing.InvoiceView:
    async with db.read() as session:
        return await billing.invoice_view(session, actor, invoice_id)


async def pay(db, actor, invoice_id, *tenders: Tender) -> billing.PaymentResult:
    async with db.write() as session:
        return await billing.pay(session, actor, invoice_id, list(tenders), now=NOW)


# --- Arithmetic --------------------------------------------------------------------------------------------------

def test_percentages_round_half_up_to_the_minor_unit():
    assert billing.percent_of(15_005, Decimal(10)) == 1_501      # 1,500.5 -> 1,501
    assert billing.percent_of(15_004, Decimal(10)) == 1_500      # 1,500.4 -> 1,500
    assert billing.percent_of(1, Decimal('50')) == 1             # 0.5 -> 1
    assert billing.percent_of(333, Decimal('33.33')) == 111      # 110.9889 -> 111
    assert billing.percent_of(100_000, Decimal(100)) == 100_000


def test_amounts_typed_by_the_cashier():
    assert parse_money('150.000', 0) == 150_000
    assert parse_money('150,000', 0) == 150_000
    assert parse_money(' 150 000 ', 0) == 150_000
    assert parse_money('1,234.50', 2) == 123_450
    with pytest.raises(ValidationError):
        parse_money('12.345', 2)
    with pytest.raises(ValidationError):
        parse_money('abc', 0)
    with pytest.raises(ValidationError):
        parse_money('-5', 0)
    assert billing.parse_percent('12,5') == Decimal('12.5')
    for bad in ('0', '101', '1.234', 'x'):
        with pytest.raises(ValidationError):
            billing.parse_percent(bad)


amounts = st.integers(min_value=0, max_value=5_000_000)
shares = st.one_of(st.none(), st.builds(lambda p: Share(percent=Decimal(p) / 100), st.integers(1, 10_000)),
                   st.builds(lambda a: Share(amount=a), st.integers(1, 10_000_000)))


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.tuples(st.integers(1, 50), amounts), max_size=12), discount=shares, insurance=shares)
def test_totals_are_exact_and_never_negative(lines, discount, insurance):
    line_totals = [quantity * price for quantity, price in lines]
    totals = billing.compute_totals(line_totals, discount=discount, insurance=insurance)
    assert totals.subtotal == sum(line_totals)
    assert 0 <= totals.discount <= totals.subtotal
    assert 0 <= totals.insurance <= totals.subtotal - totals.discount
    assert totals.total == totals.subtotal - totals.discount - totals.insurance >= 0
    if discount is not None and discount.percent is not None:  # exact: within half a minor unit, halves up
        exact = Fraction(totals.subtotal) * Fraction(discount.percent) / 100
        assert abs(totals.discount - exact) <= Fraction(1, 2)
        assert totals.discount - exact != Fraction(-1, 2)


# --- Consolidation ---------------------------------------------------------------------------------------------

async def test_a_visit_is_billed_whole_and_once(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, orders=((90_000, OrderStatus.COMPLETED), (70_000, OrderStatus.PENDING)),
                                medicines=((20, 1_200), (1, 48_000)))
    invoice_id = await bill(db, clinic.cashier, visit_id)
    shown = await view(db, clinic.cashier, invoice_id)
    assert [(i.kind.value, i.quantity, i.unit_price, i.line_total) for i in shown.items] == [
        ('consultation', 1, 150_000, 150_000), ('service', 1, 90_000, 90_000),
        ('medicine', 20, 1_200, 24_000), ('medicine', 1, 48_000, 48_000)]
    assert shown.invoice.subtotal == shown.invoice.total == 312_000
    assert shown.invoice.number.startswith('INV-2026-')
    # Opening it again adds nothing.
    assert await bill(db, clinic.cashier, visit_id) == invoice_id
    assert len((await view(db, clinic.cashier, invoice_id)).items) == 4
    # The pending test is done later: it joins the untouched open invoice.
    async with db.write() as session:
        order = (await session.exec(select(ServiceOrder).where(ServiceOrder.status == OrderStatus.PENDING))).one()
        order.status = OrderStatus.COMPLETED
        session.add(order)
        await session.commit()
    assert await bill(db, clinic.cashier, visit_id) == invoice_id
    assert (await view(db, clinic.cashier, invoice_id)).invoice.total == 382_000


async def test_items_done_after_a_payment_go_on_a_new_invoice(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, orders=((70_000, OrderStatus.IN_PROGRESS),))
    first = await bill(db, clinic.cashier, visit_id)
    result = await pay(db, clinic.cashier, first, Tender(CASH, 150_000, tendered=200_000))
    assert result.status == InvoiceStatus.PAID and result.change_due == 50_000
    assert result.visit_paid is False  # the lab test is still open: something will be billed
    async with db.write() as session:  # the doctor had finished (signed) without waiting; the result comes in
        order = (await session.exec(select(ServiceOrder))).one()
        order.status = OrderStatus.COMPLETED
        session.add(order)
        session.add(MedicalRecord(visit_id=visit_id, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
                                  status=RecordStatus.SIGNED))
        await session.commit()
    second = await bill(db, clinic.cashier, visit_id)
    assert second != first
    assert [i.line_total for i in (await view(db, clinic.cashier, second)).items] == [70_000]
    result = await pay(db, clinic.cashier, second, Tender(CARD, 70_000, reference='POS 1'))
    assert result.visit_paid is True
    async with db.read() as session:
        assert (await session.get(Visit, visit_id)).status == VisitStatus.CLOSED  # nothing else open: done


async def test_a_booked_service_that_was_also_ordered_is_billed_once(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, orders=((85_000, OrderStatus.COMPLETED),), extra_services=(clinic.lab_id,))
    shown = await view(db, clinic.cashier, await bill(db, clinic.cashier, visit_id))
    assert sorted(i.line_total for i in shown.items) == [85_000, 150_000]  # the order's price, not the list's


async def test_the_database_refuses_billing_a_dispensed_item_twice(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, medicines=((2, 5_000),))
    invoice_id = await bill(db, clinic.cashier, visit_id)
    async with db.write() as session:
        item = (await session.exec(select(InvoiceItem).where(InvoiceItem.dispense_item_id.is_not(None)))).one()
        session.add(InvoiceItem(invoice_id=invoice_id, kind=item.kind, description='again',
                                dispense_item_id=item.dispense_item_id, quantity=2, unit_price=5_000,
                                line_total=10_000))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_only_cashiers_and_admins_bill(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic)
    with pytest.raises(PermissionDenied):
        await bill(db, clinic.doctor_actor, visit_id)
    with pytest.raises(PermissionDenied):
        async with db.read() as session:
            await billing.cashier_queue(session, clinic.reception, today=DAY)
    assert await bill(db, clinic.admin, visit_id)


async def test_the_cashier_queue_lists_visits_to_settle(db):
    clinic = await make_clinic(db)
    waiting = await make_visit(db, clinic, patient=0)
    await make_visit(db, clinic, patient=1, status=VisitStatus.IN_CONSULTATION)
    async with db.read() as session:
        rows = await billing.cashier_queue(session, clinic.cashier, today=DAY)
    assert [r.visit_id for r in rows] == [waiting]
    assert rows[0].patient_name == 'Lê Thị Hồng' and rows[0].unbilled
    invoice_id = await bill(db, clinic.cashier, waiting)
    await pay(db, clinic.cashier, invoice_id, Tender(CASH, 150_000))
    async with db.read() as session:
        assert await billing.cashier_queue(session, clinic.cashier, today=DAY) == []


# --- Adjustments ---------------------------------------------------------------------------------------------------

async def test_discount_above_the_limit_needs_an_administrator(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic, medicines=((1, 5_005),)))  # 155,005
    async with db.write() as session:
        invoice = await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(10),
                                             reason='Senior citizen', approval_percent=10, now=NOW)
    assert invoice.discount_amount == 15_501  # 15,500.5 rounded half-up
    assert invoice.discount_approved_by_id is None
    with pytest.raises(PermissionDenied, match='administrator'):
        async with db.write() as session:
            await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(25), reason='Staff',
                                       approval_percent=10, now=NOW)
    with pytest.raises(ValidationError, match='reason'):
        async with db.write() as session:
            await billing.set_discount(session, clinic.cashier, invoice_id, amount=1000, reason=' ', now=NOW)
    async with db.write() as session:
        invoice = await billing.set_discount(session, clinic.cashier, invoice_id, amount=50_000, reason='Staff',
                                             approver=clinic.admin, approval_percent=10, now=NOW)
    assert (invoice.discount_amount, invoice.total, invoice.discount_approved_by_id) == (
        50_000, 105_005, clinic.admin.user_id)
    async with db.read() as session:
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.entity == 'invoice'))).all()
    assert actions.count('discount') == 2


async def test_insurance_covers_a_share_of_what_is_left_after_the_discount(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic, orders=((90_000, OrderStatus.COMPLETED),)))
    async with db.write() as session:
        await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(5), reason='Loyal patient',
                                   now=NOW)
    with pytest.raises(ValidationError, match='policy'):
        async with db.write() as session:
            await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(80), insurer='Bảo Việt',
                                        now=NOW)
    async with db.write() as session:
        invoice = await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(80),
                                              insurer='Bảo Việt', policy_no='HD-123', now=NOW)
    # 240,000 - 12,000 = 228,000; 80% = 182,400; the patient pays 45,600.
    assert (invoice.subtotal, invoice.discount_amount, invoice.insurance_amount, invoice.total) == (
        240_000, 12_000, 182_400, 45_600)
    await pay(db, clinic.cashier, invoice_id, Tender(CASH, 10_000))
    with pytest.raises(Conflict, match='Money has been taken'):
        async with db.write() as session:
            await billing.set_insurance(session, clinic.cashier, invoice_id, now=NOW)


# --- Payments --------------------------------------------------------------------------------------------------------

async def test_split_and_partial_payments_with_change(db):
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, medicines=((3, 50_000),))  # 300,000
    invoice_id = await bill(db, clinic.cashier, visit_id)
    first = await pay(db, clinic.cashier, invoice_id, Tender(CASH, 100_000, tendered=500_000),
                      Tender(CARD, 120_000, reference='POS 77'))
    assert (first.receipt_number, first.paid_now, first.change_due, first.balance, first.status) == (
        'R-000001', 220_000, 400_000, 80_000, InvoiceStatus.PARTIALLY_PAID)
    with pytest.raises(Conflict, match='balance'):
        await pay(db, clinic.cashier, invoice_id, Tender(WALLET, 80_001))
    with pytest.raises(ValidationError):
        await pay(db, clinic.cashier, invoice_id, Tender(CARD, 80_000, tendered=100_000))
    with pytest.raises(ValidationError):
        await pay(db, clinic.cashier, invoice_id, Tender(CASH, 80_000, tendered=50_000))
    with pytest.raises(ValidationError, match='Insurance'):
        await pay(db, clinic.cashier, invoice_id, Tender(PaymentMethod.INSURANCE, 80_000))
    second = await pay(db, clinic.cashier, invoice_id, Tender(BANK, 80_000, reference='FT123'))
    assert (second.receipt_number, second.status, second.visit_paid) == ('R-000002', InvoiceStatus.PAID, True)
    async with db.read() as session:
        numbers = (await session.exec(select(Payment.receipt_number).order_by(Payment.id))).all()
        assert numbers == ['R-000001', 'R-000001-2', 'R-000002']
        assert (await session.get(Visit, visit_id)).status == VisitStatus.CLOSED  # nothing else open: done
    with pytest.raises(Conflict, match='already paid'):
        await pay(db, clinic.cashier, invoice_id, Tender(CASH, 1))


@pytest.mark.parametrize('cashiers', [2, 8])
async def test_concurrent_payments_never_exceed_the_total(db, cashiers):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))  # 150,000

    async def attempt(index: int):
        try:
            return await pay(db, clinic.cashier, invoice_id, Tender(CASH if index % 2 else CARD, 100_000))
        except Conflict:
            return None

    results = await asyncio.gather(*(attempt(i) for i in range(cashiers)))
    assert sum(r is not None for r in results) == 1
    shown = await view(db, clinic.cashier, invoice_id)
    assert shown.invoice.amount_paid == 100_000 == sum(p.amount for p in shown.payments)


async def test_the_database_refuses_paid_above_total_and_totals_that_do_not_add_up(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    for change in ({'amount_paid': 150_001}, {'total': 1}, {'discount_amount': -1, 'total': 150_001}):
        async with db.write() as session:
            invoice = await session.get(Invoice, invoice_id)
            for name, value in change.items():
                setattr(invoice, name, value)
            session.add(invoice)
            with pytest.raises(IntegrityError):
                await session.commit()


# --- Refunds and voids ------------------------------------------------------------------------------------------------

async def paid_in_cash_and_card(db):
    """A bill of 200,000 paid 120,000 in cash and 80,000 by card: (clinic, visit id, invoice id, cash, card)."""
    clinic = await make_clinic(db)
    visit_id = await make_visit(db, clinic, medicines=((1, 50_000),))  # 200,000
    invoice_id = await bill(db, clinic.cashier, visit_id)
    await pay(db, clinic.cashier, invoice_id, Tender(CASH, 120_000), Tender(CARD, 80_000))
    cash, card = (await view(db, clinic.cashier, invoice_id)).payments
    return clinic, visit_id, invoice_id, cash, card


async def refund(db, actor, payment_id: int, amount: int, reason: str) -> str:
    async with db.write() as session:
        return await billing.refund(session, actor, payment_id, amount, reason, now=NOW)


async def void(db, actor, invoice_id: int, reason: str) -> None:
    async with db.write() as session:
        await billing.void(session, actor, invoice_id, reason, now=NOW)


async def test_refunds_need_a_cashier_and_a_reason_and_go_up_to_what_was_paid(db):
    clinic, _, invoice_id, cash, _ = await paid_in_cash_and_card(db)
    with pytest.raises(Conflict, match='still paid'):
        await void(db, clinic.cashier, invoice_id, 'Wrong patient')
    with pytest.raises(PermissionDenied):
        await refund(db, clinic.doctor_actor, cash.id, 10_000, 'Goodwill')
    with pytest.raises(ValidationError, match='reason'):
        await refund(db, clinic.cashier, cash.id, 10_000, '')
    assert await refund(db, clinic.cashier, cash.id, 50_000, 'Medicine returned') == 'R-000002'
    with pytest.raises(Conflict, match='70,000'):
        await refund(db, clinic.cashier, cash.id, 70_001, 'Too much')
    shown = await view(db, clinic.cashier, invoice_id)
    assert (shown.invoice.status, shown.invoice.amount_paid, shown.refunded, shown.net_paid, shown.balance) == (
        InvoiceStatus.PAID, 200_000, 50_000, 150_000, 0)


async def test_a_void_after_refunds_deletes_nothing_and_the_visit_can_be_billed_again(db):
    clinic, visit_id, invoice_id, cash, card = await paid_in_cash_and_card(db)
    await refund(db, clinic.cashier, cash.id, 50_000, 'Medicine returned')
    async with db.write() as session:
        await billing.refund(session, clinic.cashier, cash.id, 70_000, 'Wrong patient', now=NOW)
        await billing.refund(session, clinic.cashier, card.id, 80_000, 'Wrong patient', now=NOW)
    await void(db, clinic.cashier, invoice_id, 'Billed to the wrong patient')
    shown = await view(db, clinic.cashier, invoice_id)
    assert shown.invoice.status == InvoiceStatus.VOID and shown.invoice.voided_by_id == clinic.cashier.user_id
    async with db.read() as session:
        items = (await session.exec(select(InvoiceItem).where(InvoiceItem.invoice_id == invoice_id))).all()
        assert items and all(i.is_void for i in items)
        assert (await session.get(Visit, visit_id)).status == VisitStatus.AWAITING_PAYMENT
        actions = set((await session.exec(select(AuditLog.action))).all())
    assert {'refund', 'invoice_void', 'payment', 'invoice_created'} <= actions
    # Everything can be billed again, on a new invoice; nothing was deleted.
    again = await bill(db, clinic.cashier, visit_id)
    assert again != invoice_id and (await view(db, clinic.cashier, again)).invoice.total == 200_000
    async with db.read() as session:
        assert len((await session.exec(select(Payment))).all()) == 5


# --- Reports ------------------------------------------------------------------------------------------------------------

async def a_day_of_payments(db):
    """Two bills paid on DAY (cash with change and e-wallet by the cashier, card by the admin), 30,000 of the card
    payment refunded."""
    clinic = await make_clinic(db)
    first = await bill(db, clinic.cashier, await make_visit(db, clinic, patient=0))
    second = await bill(db, clinic.admin, await make_visit(db, clinic, patient=1, medicines=((2, 25_000),)))
    await pay(db, clinic.cashier, first, Tender(CASH, 100_000, tendered=200_000), Tender(WALLET, 50_000))
    await pay(db, clinic.admin, second, Tender(CARD, 200_000))
    card = (await view(db, clinic.cashier, second)).payments[0]
    async with db.write() as session:
        await billing.refund(session, clinic.cashier, card.id, 30_000, 'Goodwill', now=NOW)
    return clinic


async def test_the_daily_close_adds_up_per_method_and_per_cashier(db):
    clinic = await a_day_of_payments(db)
    async with db.read() as session:
        close = await reports.daily_close(session, clinic.cashier, NOW.astimezone(TZ).date(), tz=TZ)
    assert (close.total.received, close.total.refunded, close.total.net) == (350_000, 30_000, 320_000)
    assert {line.label: line.net for line in close.by_method} == {'Cash': 100_000, 'Card': 170_000, 'E-wallet': 50_000}
    assert sum(line.net for line in close.by_cashier) == close.total.net == sum(line.net for line in close.by_method)
    assert close.cash_in_drawer == 100_000 and close.invoices == 2 and close.billed == 350_000


async def test_the_history_pages_and_filters_by_patient_and_method(db):
    clinic = await a_day_of_payments(db)
    async with db.read() as session:
        page, count = await reports.transactions(
            session, clinic.cashier, reports.TransactionFilter(DAY, DAY), tz=TZ, offset=0, limit=2)
        _, by_patient = await reports.transactions(
            session, clinic.cashier, reports.TransactionFilter(DAY, DAY, patient='duc pham'), tz=TZ)
        _, cash_only = await reports.transactions(
            session, clinic.cashier, reports.TransactionFilter(DAY, DAY, method=CASH), tz=TZ)
    assert count == 4 and len(page) == 2 and by_patient == 2 and cash_only == 1


async def test_the_transactions_csv_adds_up(db):
    clinic = await a_day_of_payments(db)
    async with db.read() as session:
        data = await reports.transactions_csv(session, clinic.cashier, reports.TransactionFilter(DAY, DAY), tz=TZ,
                                              currency='VND', exponent=0)
    assert data.startswith('\ufeff'.encode('utf-8'))
    rows = list(csv.DictReader(io.StringIO(data.decode('utf-8-sig'))))
    assert [r['date'] for r in rows] == ['2026-11-23'] * 4
    assert sorted(int(r['amount']) for r in rows) == [-30_000, 50_000, 100_000, 200_000]
    assert {r['patient_name'] for r in rows} == {'Lê Thị Hồng', 'Phạm Văn Đức'}


async def test_the_appointments_csv_names_the_services_and_the_invoices(db):
    clinic = await a_day_of_payments(db)
    async with db.read() as session:
        appointments = await reports.appointments_csv(session, clinic.cashier, DAY, DAY, tz=TZ, currency='VND',
                                                      exponent=0)
    rows = list(csv.DictReader(io.StringIO(appointments.decode('utf-8-sig'))))
    assert len(rows) == 2 and rows[0]['date'] == '2026-11-23' and rows[0]['start'] == '09:00'
    assert rows[0]['services'] == 'General consultation' and rows[0]['invoices'].startswith('INV-2026-')
    with pytest.raises(ValidationError):
        async with db.read() as session:
            await reports.appointments_csv(session, clinic.cashier, DAY, DAY - timedelta(days=1), tz=TZ,
                                           currency='VND', exponent=0)


# --- Property-based, against the database ------------------------------------------------------------------------------

percents = st.decimals(min_value=Decimal('0.01'), max_value=100, places=2)
adjustment = st.one_of(st.none(), st.tuples(st.just('percent'), percents),
                       st.tuples(st.just('amount'), st.integers(1, 600_000)))


async def _adjust(database, clinic, invoice_id: int, discount, insurance) -> None:
    """The drawn discount and insurer's share, each as a percent or an amount (one larger than the bill is
    refused)."""
    for kind, value, call in ((discount and discount[0], discount and discount[1], billing.set_discount),
                              (insurance and insurance[0], insurance and insurance[1], billing.set_insurance)):
        if not kind:
            continue
        try:
            async with database.write() as session:
                extra = {'reason': 'Test'} if call is billing.set_discount else {'insurer': 'PVI', 'policy_no': 'P-1'}
                await call(session, clinic.admin, invoice_id, now=NOW, **{kind: value}, **extra)
        except ValidationError:
            pass  # an amount larger than the bill is refused


async def _pay_all(database, clinic, invoice_id: int, payments) -> int:
    """The drawn payments, in turn: what was taken (a payment above the balance is refused)."""
    expected_paid = 0
    for method, amount in payments:
        shown = await view(database, clinic.admin, invoice_id)
        try:
            reference = 'FT1' if method == BANK else ''  # a transfer is taken with its reference
            await pay(database, clinic.admin, invoice_id, Tender(method, amount, reference=reference))
            expected_paid += amount
        except Conflict:
            assert amount > shown.balance or shown.balance == 0
    return expected_paid


async def _scenario(medicines, discount, insurance, payments) -> None:
    database = Database(TEST_DATABASE_URL)
    try:
        await truncate_all(database)
        clinic = await make_clinic(database)
        invoice_id = await bill(database, clinic.admin, await make_visit(database, clinic, medicines=tuple(medicines)))
        await _adjust(database, clinic, invoice_id, discount, insurance)
        expected_paid = await _pay_all(database, clinic, invoice_id, payments)
        shown = await view(database, clinic.admin, invoice_id)
        if shown.invoice.total == 0:  # fully discounted or insured: the cashier closes the bill without money
            assert shown.invoice.status == InvoiceStatus.UNPAID
            assert (await pay(database, clinic.admin, invoice_id)).status == InvoiceStatus.PAID
            shown = await view(database, clinic.admin, invoice_id)
        invoice = shown.invoice
        assert invoice.subtotal == sum(i.line_total for i in shown.items) == 150_000 + sum(q * p for q, p in medicines)
        assert invoice.total == invoice.subtotal - invoice.discount_amount - invoice.insurance_amount >= 0
        assert 0 <= invoice.amount_paid == expected_paid == sum(p.amount for p in shown.payments) <= invoice.total
        assert invoice.status == (InvoiceStatus.PAID if invoice.amount_paid == invoice.total else
                                  InvoiceStatus.PARTIALLY_PAID if invoice.amount_paid else InvoiceStatus.UNPAID)
    finally:
        await database.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(medicines=st.lists(st.tuples(st.integers(1, 30), st.integers(0, 90_000)), max_size=4),
       discount=adjustment, insurance=adjustment,
       payments=st.lists(st.tuples(st.sampled_from([CASH, CARD, BANK, WALLET]), st.integers(1, 400_000)),
                         max_size=4))
def test_any_mix_of_items_adjustments_and_payments_adds_up_in_the_database(medicines, discount, insurance, payments):
    asyncio.run(_scenario(medicines, discount, insurance, payments))
