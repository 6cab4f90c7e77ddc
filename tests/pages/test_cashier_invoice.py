"""One invoice as a cashier works on it: discount, insurance, a split payment with change, receipts by email and as
PDF, a refund, a void (NiceGUI's simulated user)."""
from __future__ import annotations

from decimal import Decimal

from nicegui.testing import User
from sqlmodel import select

from models import Invoice, InvoiceStatus, OutboxMessage, Payment, PaymentKind, Visit, VisitStatus
from services import billing
from services.billing import Tender
from services.core.db import get_db
from tests.conftest import RETRIES
from tests.factories import PASSWORD
from tests.pages.counter_setup import billed_visit, cashier_clinic, rows_when_filled
from tests.services.test_bill_lines import dispensed_from_batches
from tests.services.test_billing import CARD, CASH, make_visit


async def open_invoice(user: User, invoice_id: int, balance: str) -> None:
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content=balance, retries=RETRIES)


async def discounted_and_insured(clinic, invoice_id: int) -> None:
    """10 % off for a senior citizen, then half of the rest paid by the insurer: 200,000 becomes 90,000."""
    async with get_db().write() as session:
        await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(10), reason='Senior citizen')
    async with get_db().write() as session:
        await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(50), insurer='Bảo Việt',
                                    policy_no='HD-778899')


async def test_a_discount_needs_a_reason(user: User):
    clinic = await cashier_clinic(user)
    await open_invoice(user, await billed_visit(clinic, medicines=((2, 25_000),)), '₫200,000')
    user.find(marker='discount').click()
    await user.should_see(marker='discount-dialog', retries=RETRIES)
    user.find(marker='discount-value').type('10')
    user.find(marker='apply-discount').click()
    await user.should_see('Please give the reason', retries=RETRIES)
    user.find(marker='discount-reason').type('Senior citizen')
    user.find(marker='apply-discount').click()
    await user.should_see(marker='invoice-balance', content='₫180,000', retries=RETRIES)


async def test_insurance_pays_its_share_of_what_is_left_after_the_discount(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))
    async with get_db().write() as session:
        await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(10), reason='Senior citizen')
    await open_invoice(user, invoice_id, '₫180,000')
    user.find(marker='insurance').click()
    await user.should_see(marker='insurance-dialog', retries=RETRIES)
    user.find(marker='insurance-value').type('50')
    user.find(marker='insurer').type('Bảo Việt')
    user.find(marker='policy').type('HD-778899')
    user.find(marker='apply-insurance').click()
    await user.should_see(marker='invoice-balance', content='₫90,000', retries=RETRIES)


async def test_a_split_payment_gives_change_and_closes_the_visit(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))
    await discounted_and_insured(clinic, invoice_id)
    await open_invoice(user, invoice_id, '₫90,000')
    user.find(marker='take-payment').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    user.find(marker='tender-amount').clear().type('50000')
    user.find(marker='tender-received').type('100000')
    user.find(marker='add-tender').click()
    await user.should_see('change ₫50,000', retries=RETRIES)
    amounts = sorted(user.find(marker='tender-amount').elements, key=lambda e: e.id)
    assert amounts[1].value == '40,000'  # the rest of the balance, suggested on the card
    user.find(marker='confirm-payment').click()
    await user.should_see(marker='change-due', content='₫50,000', retries=RETRIES)
    await user.should_see('Paid in full', retries=RETRIES)
    async with get_db().read() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.total, invoice.amount_paid) == (InvoiceStatus.PAID, 90_000, 90_000)
        assert (await session.get(Visit, invoice.visit_id)).status == VisitStatus.CLOSED  # nothing else open: done
        payments = (await session.exec(select(Payment).order_by(Payment.id))).all()
    assert [(p.method, p.amount, p.change_due, p.receipt_number) for p in payments] == [
        (CASH, 50_000, 50_000, 'R-000001'), (CARD, 40_000, 0, 'R-000001-2')]


async def test_the_receipt_goes_to_the_patient_through_the_outbox(user: User):
    clinic = await cashier_clinic(user)
    await open_invoice(user, await billed_visit(clinic), '₫150,000')
    user.find(marker='take-payment').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    user.find(marker='confirm-payment').click()
    await user.should_see('Paid in full', retries=RETRIES)
    user.find(marker='email-receipt').click()
    await user.should_see(marker='email-dialog', retries=RETRIES)
    user.find(marker='send-email').click()
    await user.should_see('in the outbox', retries=RETRIES)
    async with get_db().read() as session:
        mail = (await session.exec(select(OutboxMessage))).one()
    assert mail.to_address == 'patient0@example.test' and mail.attachment_data.startswith(b'%PDF')


async def test_receipts_and_the_bill_print_as_pdf(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    async with get_db().write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 150_000)])
    for layout in ('a4', 'thermal'):
        response = await user.http_client.get(f'/cashier/receipts/R-000001.pdf?layout={layout}')
        assert response.status_code == 200 and response.headers['content-type'] == 'application/pdf'
    response = await user.http_client.get(f'/cashier/invoices/{invoice_id}/bill.pdf')
    assert response.status_code == 200 and response.content.startswith(b'%PDF')


async def test_a_refund_gives_back_part_of_a_payment_with_a_refund_receipt(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))
    await discounted_and_insured(clinic, invoice_id)
    async with get_db().write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 50_000, 100_000), Tender(CARD, 40_000)])
    async with get_db().read() as session:
        cash = (await session.exec(select(Payment).order_by(Payment.id))).first()
    await open_invoice(user, invoice_id, '₫0')
    user.find(marker='invoice-payments').trigger('refund', cash.id)
    await user.should_see(marker='refund-dialog', retries=RETRIES)
    user.find(marker='refund-amount').clear().type('20000')
    user.find(marker='refund-reason').type('Medicine returned')
    user.find(marker='confirm-refund').click()
    await user.should_see('refund receipt R-000002', retries=RETRIES)
    async with get_db().read() as session:
        refund = (await session.exec(select(Payment).where(Payment.kind == PaymentKind.REFUND))).one()
    assert (refund.amount, refund.refund_of_id, refund.reason) == (20_000, cash.id, 'Medicine returned')


async def test_a_large_discount_needs_an_administrators_password(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    await open_invoice(user, invoice_id, '₫150,000')
    user.find(marker='discount').click()
    await user.should_see(marker='discount-dialog', retries=RETRIES)
    user.find(marker='discount-value').type('50')
    user.find(marker='discount-reason').type('Hardship')
    user.find(marker='apply-discount').click()
    await user.should_see("needs an administrator's approval", retries=RETRIES)
    user.find(marker='approver-name').type('admin')
    user.find(marker='approver-password').type(PASSWORD)
    user.find(marker='apply-discount').click()
    await user.should_see(marker='invoice-balance', content='₫75,000', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Invoice, invoice_id)).discount_approved_by_id == clinic.admin.user_id


async def test_void_needs_a_reason_and_nothing_paid(user: User):
    clinic = await cashier_clinic(user)
    await open_invoice(user, await billed_visit(clinic), '₫150,000')
    user.find(marker='void').click()
    await user.should_see(marker='void-dialog', retries=RETRIES)
    user.find(marker='confirm-void').click()
    await user.should_see('Please give the reason', retries=RETRIES)
    user.find(marker='void-reason').type('Wrong patient')
    user.find(marker='confirm-void').click()
    await user.should_see(marker='invoice-balance', content='Void', retries=RETRIES)


async def test_the_cashier_defers_a_payment_with_a_reason_and_the_visit_closes_unpaid(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))
    await open_invoice(user, invoice_id, '₫200,000')
    user.find(marker='defer-payment').click()
    await user.should_see(marker='defer-dialog', retries=RETRIES)
    user.find(marker='confirm-defer').click()
    await user.should_see('Please say why the payment is deferred', retries=RETRIES)
    user.find(marker='defer-reason').type('Insurer confirms tomorrow')
    user.find(marker='confirm-defer').click()
    await user.should_see('Balance due; payment deferred: Insurer confirms tomorrow', retries=RETRIES)
    await user.should_not_see(marker='defer-payment', retries=RETRIES)
    async with get_db().read() as session:
        invoice = await session.get(Invoice, invoice_id)
        visit = await session.get(Visit, invoice.visit_id)
    assert (invoice.status, visit.status) == (InvoiceStatus.UNPAID, VisitStatus.CLOSED)


async def test_a_medicine_from_two_batches_is_one_line_with_its_batches_folded_under_it(user: User):
    clinic = await cashier_clinic(user)
    visit_id = await make_visit(get_db(), clinic)
    await dispensed_from_batches(get_db(), clinic, visit_id, [('A-01', 10, 2_500), ('A-02', 11, 2_500)])
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, visit_id)
    await open_invoice(user, invoice_id, '₫202,500')
    rows = await rows_when_filled(user, 'invoice-items')
    assert [(r['description'], r['quantity'], r['line_total'], r['batches']) for r in rows] == [
        ('General consultation', 1, '150,000', ''),
        ('Amoxicillin 500 mg (capsule)', 21, '52,500', 'Batch A-01 × 10, A-02 × 11')]
