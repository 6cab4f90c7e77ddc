"""Vouchers: the administrator issues one (generated code, limited to a service), finds it in the list with its
uses, deactivates and reactivates it, sees where it was used; the cashier is told why a voucher is refused."""
from __future__ import annotations

import re
from datetime import timedelta

from nicegui.testing import User
from sqlmodel import select

from models import AuditLog, Voucher
from services import billing, vouchers
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.factories import NOW
from tests.pages.admin.helpers import rows_where, signed_in
from tests.pages.counter_setup import billed_visit, cashier_clinic
from tests.services.test_billing import DAY


async def test_the_administrator_issues_lists_deactivates_and_reactivates_a_voucher(user: User):
    clinic = await signed_in(user)
    async with get_db().write() as session:
        await vouchers.create_voucher(session, clinic.admin, code='SPRING-5', amount_off=5_000, max_uses=10)
    await user.open('/admin')
    await user.should_see(marker='section-vouchers', retries=RETRIES)
    await user.open('/admin/vouchers')
    await user.should_see('Vouchers (1)', retries=RETRIES)
    user.find(marker='new-voucher').click()
    await user.should_see(marker='voucher-dialog', retries=RETRIES)
    user.find(marker='generate-code').click()
    code = element(user, 'voucher-code').value
    assert re.fullmatch(r'[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}', code)
    user.find(marker='voucher-value').type('150')
    user.find(marker='save-voucher').click()
    await user.should_see('The percentage must be between 1 and 100.', retries=RETRIES)
    user.find(marker='voucher-value').clear().type('15')
    element(user, 'voucher-max-uses').set_value(3)
    element(user, 'voucher-services').set_value([clinic.lab_id])
    user.find(marker='voucher-description').type('Tết 2027')
    user.find(marker='save-voucher').click()
    await user.should_see(f'Voucher {code} created.', retries=RETRIES)
    rows = await rows_where(user, 'voucher-table', lambda rows: len(rows) == 2)
    assert {k: rows[0][k] for k in ('code', 'value', 'validity', 'services', 'uses', 'state', 'description')} == {
        'code': code, 'value': '15% off', 'validity': 'any day', 'services': 'Blood count',
        'uses': '0 / 3', 'state': 'active', 'description': 'Tết 2027'}
    assert (rows[1]['code'], rows[1]['services'], rows[1]['uses']) == ('SPRING-5', 'The whole bill', '0 / 10')

    user.find(marker='voucher-search').type(code.lower()[:9])
    await user.should_see('Vouchers (1)', retries=RETRIES)
    user.find(marker='voucher-table').trigger('voucher_action', ['deactivate', rows[0]['id']])
    await user.should_see(f'Voucher {code} deactivated.', retries=RETRIES)
    await rows_where(user, 'voucher-table', lambda rows: rows and rows[0]['state'] == 'deactivated')
    user.find(marker='voucher-table').trigger('voucher_action', ['reactivate', rows[0]['id']])
    await rows_where(user, 'voucher-table', lambda rows: rows and rows[0]['state'] == 'active')
    async with get_db().read() as session:
        assert (await session.exec(select(Voucher.is_active).where(Voucher.code == code))).one()
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.entity == 'voucher')
                                      .order_by(AuditLog.id))).all()
    assert actions == ['voucher_created', 'voucher_created', 'voucher_deactivated', 'voucher_reactivated']


async def test_the_usage_of_a_voucher_lists_its_bills(user: User):
    clinic = await signed_in(user)
    async with get_db().write() as session:
        voucher = await vouchers.create_voucher(session, clinic.admin, code='TWO-BILLS', amount_off=20_000,
                                                max_uses=2)
    invoice_id = await billed_visit(clinic)
    async with get_db().write() as session:
        await billing.apply_voucher(session, clinic.cashier, invoice_id, 'two-bills', today=DAY, now=NOW)
    await user.open('/admin/vouchers')
    rows = await rows_where(user, 'voucher-table', lambda rows: len(rows) == 1)
    assert rows[0]['uses'] == '1 / 2'
    user.find(marker='voucher-table').trigger('voucher_action', ['usage', voucher.id])
    await user.should_see('1 of 2 uses taken', retries=RETRIES)
    used = await rows_where(user, 'usage-table', lambda rows: len(rows) == 1)
    assert (used[0]['invoice'].startswith('INV-2026-'), used[0]['patient'], used[0]['discount'], used[0]['by'],
            used[0]['state']) == (True, 'Lê Thị Hồng', '₫20,000', 'Cashier', 'in use')


async def test_the_cashier_reads_why_a_voucher_is_refused(user: User):
    clinic = await cashier_clinic(user)
    async with get_db().write() as session:
        await vouchers.create_voucher(session, clinic.admin, code='LAB-ONLY', percent_off=50,
                                      service_ids=[clinic.lab_id])
    async with get_db().write() as session:
        await vouchers.create_voucher(session, clinic.admin, code='LAST-YEAR', amount_off=5_000,
                                      valid_until=DAY - timedelta(days=400))
    invoice_id = await billed_visit(clinic)
    await user.open(f'/cashier/invoices/{invoice_id}')
    await user.should_see(marker='invoice-balance', content='₫150,000', retries=RETRIES)
    user.find(marker='discount').click()
    await user.should_see(marker='discount-dialog', retries=RETRIES)
    user.find(marker='voucher-code').type('lab-only')
    user.find(marker='apply-voucher').click()
    await user.should_see(marker='voucher-error',
                          content='Voucher LAB-ONLY applies only to Blood count: none of them is on this bill.',
                          retries=RETRIES)
    user.find(marker='voucher-code').clear().type('last-year')
    user.find(marker='apply-voucher').click()
    await user.should_see(marker='voucher-error', content='Voucher LAST-YEAR expired on', retries=RETRIES)
    await user.should_see(marker='invoice-balance', content='₫150,000', retries=RETRIES)
