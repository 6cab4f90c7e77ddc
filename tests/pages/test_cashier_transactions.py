"""The cashier's reports: the daily close, the transaction history and its filters, the CSV exports (NiceGUI's
simulated user)."""
from __future__ import annotations

from nicegui.testing import User

from services import billing
from services.billing import Tender
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.pages.counter_setup import billed_visit, cashier_clinic
from tests.services.test_billing import CARD, CASH


async def paid_by_cash_and_card(user: User) -> None:
    """A clinic with one bill of 150,000 paid 100,000 in cash and 50,000 by card, and its reports open."""
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic)
    async with get_db().write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 100_000), Tender(CARD, 50_000)])
    await user.open('/cashier/transactions')
    await user.should_see(marker='close-summary', content='Net ₫150,000', retries=RETRIES)


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
