"""The cashier's reports: the daily close, the transaction history and its filters, the CSV exports (NiceGUI's
simulated user)."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import CashierDayClose, Payment
from services import billing, cashier_close, clinic_settings
from services.billing import Tender
from services.core.clock import local_today
from services.core.db import get_db
from tests.conftest import RETRIES, element, sign_in
from tests.factories import Clinic
from tests.pages.counter_setup import billed_visit, cashier_clinic
from tests.services.test_billing import CARD, CASH


async def paid_by_cash_and_card(user: User) -> Clinic:
    """A clinic with one bill of 150,000 paid 100,000 in cash and 50,000 by card, and its reports open."""
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    async with get_db().write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 100_000), Tender(CARD, 50_000)])
    await user.open('/cashier/transactions')
    await user.should_see(marker='close-summary', content='Net ₫150,000', retries=RETRIES)
    return clinic


async def test_the_history_lists_the_payments_and_filters_them(user: User):
    await paid_by_cash_and_card(user)
    await user.should_see(marker='tx-position', content='1–2 of 2', retries=RETRIES)
    assert {r['receipt'] for r in element(user, 'transactions').rows} == {'R-000001', 'R-000001-2'}
    user.find(marker='tx-patient').type('nobody here')
    user.find(marker='tx-search').click()
    await user.should_see(marker='tx-position', content='0–0 of 0', retries=RETRIES)


async def test_transactions_and_appointments_download_as_csv(user: User):
    await paid_by_cash_and_card(user)
    today = element(user, 'tx-to').value.split('/')
    iso = f'{today[2]}-{today[1]}-{today[0]}'
    response = await user.http_client.get(f'/cashier/transactions.csv?date_from={iso}&date_to={iso}')
    assert response.status_code == 200 and response.content.startswith('\ufeffdate,time,receipt'.encode())
    assert response.content.decode('utf-8-sig').count('\r\n') == 3
    response = await user.http_client.get(f'/cashier/appointments.csv?date_from={iso}&date_to={iso}')
    assert response.status_code == 200 and 'appointment_id' in response.content.decode('utf-8-sig')


async def test_the_cashier_counts_closes_the_day_and_can_then_take_no_payment(user: User):
    """100,000 in cash and 50,000 by card: counted 90,000 the close asks why, with a reason it closes; the sheet
    downloads; a payment on another bill is then refused on its invoice page, saying why."""
    clinic = await paid_by_cash_and_card(user)
    await user.should_see(marker='drawer-figures', content='cash received ₫100,000', retries=RETRIES)
    user.find(marker='drawer-float').clear().type('200000')
    user.find(marker='drawer-counted').type('290000')
    await user.should_see(marker='drawer-summary', content='Expected ₫300,000 · counted ₫290,000 · difference -₫10,000',
                          retries=RETRIES)
    user.find(marker='drawer-close').click()
    await user.should_see('please say why', retries=RETRIES)
    user.find(marker='drawer-reason').type('Change given twice')
    user.find(marker='drawer-close').click()
    await user.should_see(marker='drawer-state', content='Closed at', retries=RETRIES)
    assert 'difference -₫10,000' in element(user, 'drawer-state').text
    async with get_db().read() as session:
        row = (await session.exec(select(CashierDayClose))).one()
    assert (row.expected, row.counted, row.reason) == (300_000, 290_000, 'Change given twice')
    response = await user.http_client.get(f'/cashier/closes/{row.id}.pdf')
    assert response.status_code == 200 and response.content.startswith(b'%PDF')
    await user.open(f'/cashier/invoices/{await billed_visit(clinic, patient=1)}')
    await user.should_see(marker='invoice-balance', content='₫150,000', retries=RETRIES)
    user.find(marker='take-payment').click()
    await user.should_see(marker='payment-dialog', retries=RETRIES)
    user.find(marker='confirm-payment').click()
    await user.should_see('is closed for you', retries=RETRIES)
    async with get_db().read() as session:
        assert len((await session.exec(select(Payment))).all()) == 2


async def test_notes_counted_add_up_in_the_counted_cash(user: User):
    await paid_by_cash_and_card(user)
    await user.should_see(marker='drawer-figures', content='cash received ₫100,000', retries=RETRIES)
    user.find(marker='note-50000').type('1')
    user.find(marker='note-20000').type('2')
    user.find(marker='note-10000').type('1')
    await user.should_see(marker='drawer-summary', content='Expected ₫100,000 · counted ₫100,000 · difference ₫0',
                          retries=RETRIES)
    user.find(marker='drawer-close').click()
    await user.should_see(marker='drawer-state', content='Closed at', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.exec(select(CashierDayClose.denominations))).one() == {'50000': 1, '20000': 2,
                                                                                     '10000': 1}


async def test_the_administrator_reopens_a_cashiers_closed_day_with_a_reason(user: User):
    clinic = await paid_by_cash_and_card(user)
    tz = clinic_settings.current().tz
    async with get_db().write() as session:
        await cashier_close.close_day(session, clinic.cashier, local_today(tz), counted=100_000, tz=tz)
    await user.open('/logout')
    await sign_in(user, 'admin')
    await user.open('/cashier/transactions')
    await user.should_see(marker='drawer-reopen', retries=RETRIES)
    user.find(marker='drawer-reopen').click()
    await user.should_see(marker='reopen-dialog', retries=RETRIES)
    user.find(marker='confirm-reopen').click()
    await user.should_see('Please say why the day is reopened', retries=RETRIES)
    user.find(marker='reopen-reason').type('Counted before the last patient paid')
    user.find(marker='confirm-reopen').click()
    await user.should_see('The day is open again.', retries=RETRIES)
    async with get_db().read() as session:
        row = (await session.exec(select(CashierDayClose))).one()
    assert row.reopen_reason == 'Counted before the last patient paid' and row.reopened_by_id == clinic.admin.user_id
