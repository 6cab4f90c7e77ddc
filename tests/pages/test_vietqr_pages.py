"""VietQR on screen: the administrator sets the clinic's bank account; the cashier's invoice then shows the code for
the balance due, follows it as payments come in, and records the transfer with its reference."""
from __future__ import annotations

import base64

from nicegui.testing import User
from sqlmodel import select

from models import Invoice, InvoiceStatus, Payment
from services import billing, clinic_settings, qr, vietqr
from services.billing import Tender
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import restore_settings, signed_in  # noqa: F401 - an autouse fixture
from tests.pages.counter_setup import billed_visit, cashier_clinic
from tests.services.test_billing import BANK, CASH


def shown_payload(user: User) -> str:
    """The payload the QR image on the page carries (the SVG's source is the code drawn from it)."""
    source = element(user, 'transfer-qr').source
    assert source.startswith('data:image/svg+xml;base64,')
    return base64.b64decode(source.split(',', 1)[1]).decode('ascii')


async def test_the_administrator_sets_the_bank_account(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='bank-panel', retries=RETRIES)
    element(user, 'bank-bin').set_value('970436')
    user.find(marker='bank-account').type('1023 456 789')
    user.find(marker='save-bank').click()
    await user.should_see("Please enter the account holder's name", retries=RETRIES)
    user.find(marker='bank-holder').type('PHONG KHAM AN BINH')
    user.find(marker='save-bank').click()
    await user.should_see('Saved.', retries=RETRIES)
    settings = clinic_settings.current()
    assert (settings.bank_bin, settings.bank_account, settings.bank_account_name) == (
        '970436', '1023456789', 'PHONG KHAM AN BINH')


async def test_the_cashier_shows_the_code_and_records_the_transfer(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))  # 200,000
    clinic_settings.put_in_force(get_settings().model_copy(update={
        'bank_bin': '970436', 'bank_account': '1023456789', 'bank_account_name': 'PHONG KHAM AN BINH'}))
    async with get_db().read() as session:
        number = (await session.get(Invoice, invoice_id)).number
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='transfer-amount', content='₫200,000', retries=RETRIES)
    await user.should_see('Vietcombank (970436)', retries=RETRIES)
    await user.should_see(marker='transfer-note', content=number, retries=RETRIES)
    assert shown_payload(user) == qr.svg(vietqr.payload('970436', '1023456789', amount=200_000, purpose=number))

    async with get_db().write() as session:  # another cashier's window takes cash meanwhile: the code follows
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 50_000)])
    await user.should_see(marker='transfer-amount', content='₫150,000', retries=RETRIES)
    assert shown_payload(user) == qr.svg(vietqr.payload('970436', '1023456789', amount=150_000, purpose=number))

    user.find(marker='transfer-received').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    assert element(user, 'tender-method').value == BANK
    reference = element(user, 'tender-reference')
    assert (reference.value, element(user, 'tender-amount').value) == (number, '150,000')  # the note, to match
    reference.set_value('')
    user.find(marker='confirm-payment').click()
    await user.should_see('Please enter the reference of the bank transfer', retries=RETRIES)
    reference.set_value(f'FT26335001 {number}')
    user.find(marker='confirm-payment').click()
    await user.should_see('Paid in full', retries=RETRIES)
    async with get_db().read() as session:
        payments = (await session.exec(select(Payment).order_by(Payment.id))).all()
        assert (await session.get(Invoice, invoice_id)).status == InvoiceStatus.PAID
    assert [(p.method, p.amount, p.reference) for p in payments] == [
        (CASH, 50_000, ''), (BANK, 150_000, f'FT26335001 {number}')]
    await user.should_not_see(marker='transfer-panel', retries=RETRIES)  # nothing due: no code


async def test_no_bank_account_no_code(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='₫150,000', retries=RETRIES)
    await user.should_not_see(marker='transfer-panel', retries=RETRIES)


async def test_choosing_bank_transfer_starts_the_reference_with_the_invoice_number(user: User):
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    async with get_db().read() as session:
        number = (await session.get(Invoice, invoice_id)).number
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='₫150,000', retries=RETRIES)
    user.find(marker='take-payment').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    element(user, 'tender-method').set_value(BANK)
    assert element(user, 'tender-reference').value == number
