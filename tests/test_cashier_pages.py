"""The cashier as a cashier uses it: the live queue, billing a visit, discount and insurance, a split payment with
change, receipts, refund, void, reports (NiceGUI's simulated user)."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import EmailOutbox, Invoice, InvoiceStatus, Payment, PaymentKind, Visit, VisitStatus
from services import billing, users
from services.billing import Tender
from services.core.db import get_db
from tests.factories import PASSWORD, make_clinic
from tests.services.test_billing import CARD, CASH, make_visit

RETRIES = 50


async def signed_in(user: User, username: str = 'cashier'):
    await user.open('/login')  # starts the app (and its database)
    clinic = await make_clinic(get_db(), patients=4)
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', retries=RETRIES)
    return clinic


def element(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def test_the_queue_updates_live_and_opening_bills_the_visit(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    clinic = await signed_in(user)
    await user.open('/cashier')
    await user.should_see(marker='queue-title', content='Waiting to pay (0)', retries=RETRIES)
    visit_id = await make_visit(get_db(), clinic, medicines=((2, 25_000),))
    async with get_db().write() as session:  # a screen elsewhere announces the visit (as the pharmacy would)
        from services.core.events import VisitChanged, publish
        publish(session, VisitChanged(visit_id=visit_id, status='awaiting_payment'))
        await session.commit()
    await user.should_see(marker='queue-title', content='Waiting to pay (1)', retries=RETRIES)
    table = element(user, 'cashier-queue')
    assert table.rows[0]['patient'] == 'Lê Thị Hồng · P0000001' and table.rows[0]['invoices'] == 'to bill'
    user.find(marker='cashier-queue').trigger('open', visit_id)  # what the row's button does
    await user.should_see(marker='invoice-heading', retries=RETRIES)
    await user.should_see(marker='invoice-balance', content='200,000 VND', retries=RETRIES)
    assert [r['description'] for r in element(user, 'invoice-items').rows][0] == 'General consultation'
    async with get_db().read() as session:
        assert len((await session.exec(select(Invoice))).all()) == 1


async def test_discount_insurance_split_payment_refund_and_receipts(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    clinic = await signed_in(user)
    visit_id = await make_visit(get_db(), clinic, medicines=((2, 25_000),))  # 200,000
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, visit_id)
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='200,000 VND', retries=RETRIES)

    user.find(marker='discount').click()
    await user.should_see(marker='discount-dialog', retries=RETRIES)
    user.find(marker='discount-value').type('10')
    user.find(marker='apply-discount').click()
    await user.should_see('Please give the reason', retries=RETRIES)
    user.find(marker='discount-reason').type('Senior citizen')
    user.find(marker='apply-discount').click()
    await user.should_see(marker='invoice-balance', content='180,000 VND', retries=RETRIES)

    user.find(marker='insurance').click()
    await user.should_see(marker='insurance-dialog', retries=RETRIES)
    user.find(marker='insurance-value').type('50')
    user.find(marker='insurer').type('Bảo Việt')
    user.find(marker='policy').type('HD-778899')
    user.find(marker='apply-insurance').click()
    await user.should_see(marker='invoice-balance', content='90,000 VND', retries=RETRIES)

    user.find(marker='take-payment').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    user.find(marker='tender-amount').clear().type('50000')
    user.find(marker='tender-received').type('100000')
    user.find(marker='add-tender').click()
    await user.should_see('change 50,000 VND', retries=RETRIES)
    amounts = sorted(user.find(marker='tender-amount').elements, key=lambda e: e.id)
    assert amounts[1].value == '40,000'  # the rest of the balance, suggested on the card
    user.find(marker='confirm-payment').click()
    await user.should_see(marker='change-due', content='50,000 VND', retries=RETRIES)
    await user.should_see('Paid in full', retries=RETRIES)
    async with get_db().read() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.total, invoice.amount_paid) == (InvoiceStatus.PAID, 90_000, 90_000)
        assert (await session.get(Visit, visit_id)).status == VisitStatus.PAID
        payments = (await session.exec(select(Payment).order_by(Payment.id))).all()
    assert [(p.method, p.amount, p.change_due, p.receipt_number) for p in payments] == [
        (CASH, 50_000, 50_000, 'R-000001'), (CARD, 40_000, 0, 'R-000001-2')]

    user.find(marker='email-receipt').click()
    await user.should_see(marker='email-dialog', retries=RETRIES)
    user.find(marker='send-email').click()
    await user.should_see('in the outbox', retries=RETRIES)
    async with get_db().read() as session:
        mail = (await session.exec(select(EmailOutbox))).one()
    assert mail.to_address == 'patient0@example.test' and mail.attachment_data.startswith(b'%PDF')

    for layout in ('a4', 'thermal'):
        response = await user.http_client.get(f'/cashier/receipts/R-000001.pdf?layout={layout}')
        assert response.status_code == 200 and response.headers['content-type'] == 'application/pdf'
    response = await user.http_client.get(f'/cashier/invoices/{invoice_id}/bill.pdf')
    assert response.status_code == 200 and response.content.startswith(b'%PDF')

    user.find(marker='invoice-payments').trigger('refund', payments[0].id)
    await user.should_see(marker='refund-dialog', retries=RETRIES)
    user.find(marker='refund-amount').clear().type('20000')
    user.find(marker='refund-reason').type('Medicine returned')
    user.find(marker='confirm-refund').click()
    await user.should_see('refund receipt R-000002', retries=RETRIES)
    async with get_db().read() as session:
        refund = (await session.exec(select(Payment).where(Payment.kind == PaymentKind.REFUND))).one()
    assert (refund.amount, refund.refund_of_id, refund.reason) == (20_000, payments[0].id, 'Medicine returned')


async def test_a_large_discount_needs_an_administrators_password(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    clinic = await signed_in(user)
    visit_id = await make_visit(get_db(), clinic)
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, visit_id)
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='150,000 VND', retries=RETRIES)
    user.find(marker='discount').click()
    await user.should_see(marker='discount-dialog', retries=RETRIES)
    user.find(marker='discount-value').type('50')
    user.find(marker='discount-reason').type('Hardship')
    user.find(marker='apply-discount').click()
    await user.should_see("needs an administrator's approval", retries=RETRIES)
    user.find(marker='approver-name').type('admin')
    user.find(marker='approver-password').type(PASSWORD)
    user.find(marker='apply-discount').click()
    await user.should_see(marker='invoice-balance', content='75,000 VND', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Invoice, invoice_id)).discount_approved_by_id == clinic.admin.user_id


async def test_void_needs_a_reason_and_nothing_paid(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    clinic = await signed_in(user)
    visit_id = await make_visit(get_db(), clinic)
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, visit_id)
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='150,000 VND', retries=RETRIES)
    user.find(marker='void').click()
    await user.should_see(marker='void-dialog', retries=RETRIES)
    user.find(marker='confirm-void').click()
    await user.should_see('Please give the reason', retries=RETRIES)
    user.find(marker='void-reason').type('Wrong patient')
    user.find(marker='confirm-void').click()
    await user.should_see(marker='invoice-balance', content='Void', retries=RETRIES)


async def test_transactions_daily_close_and_csv(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    clinic = await signed_in(user)
    visit_id = await make_visit(get_db(), clinic)
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, visit_id)
    async with get_db().write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 100_000), Tender(CARD, 50_000)])
    await user.open('/cashier/transactions')
    await user.should_see(marker='close-summary', content='Net 150,000 VND', retries=RETRIES)
    await user.should_see(marker='tx-position', content='1–2 of 2', retries=RETRIES)
    assert {r['receipt'] for r in element(user, 'transactions').rows} == {'R-000001', 'R-000001-2'}
    user.find(marker='tx-patient').type('nobody here')
    user.find(marker='tx-search').click()
    await user.should_see(marker='tx-position', content='0–0 of 0', retries=RETRIES)
    today = element(user, 'tx-to').value.split('/')
    iso = f'{today[2]}-{today[1]}-{today[0]}'
    response = await user.http_client.get(f'/cashier/transactions.csv?date_from={iso}&date_to={iso}')
    assert response.status_code == 200 and response.content.startswith('\ufeffdate,time,receipt'.encode())
    assert response.content.decode('utf-8-sig').count('\r\n') == 3
    response = await user.http_client.get(f'/cashier/appointments.csv?date_from={iso}&date_to={iso}')
    assert response.status_code == 200 and 'appointment_id' in response.content.decode('utf-8-sig')


async def test_other_roles_cannot_open_the_cashier(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    await signed_in(user, 'reception')
    await user.open('/cashier/transactions')
    await user.should_see('cannot open', retries=RETRIES)
    response = await user.http_client.get('/cashier/receipts/R-000001.pdf')
    assert response.status_code == 403
