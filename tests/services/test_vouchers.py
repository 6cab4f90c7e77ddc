"""Vouchers: issued by administrators (validated, codes hard to guess), used by the cashier a limited number of
times, within their dates, on the lines of their services; each refusal says why; releasing gives a use back; two
cashiers never take the same last use; the discount is exact and the bill adds up (property-based)."""
from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models import AuditLog, Invoice, OrderStatus, Voucher, VoucherUse
from services import billing, vouchers
from services.billing import Share
from services.core.db import Database
from services.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from services.core.migrate import upgrade
from tests.conftest import TEST_DATABASE_URL, truncate_all
from tests.factories import NOW, make_clinic
from tests.services.test_billing import DAY, bill, make_visit, view


async def issue(db, clinic, code: str, **values) -> Voucher:
    async with db.write() as session:
        return await vouchers.create_voucher(session, clinic.admin, code=code, now=NOW, **values)


async def use(db, clinic, invoice_id: int, code: str, *, today=DAY) -> Invoice:
    async with db.write() as session:
        return await billing.apply_voucher(session, clinic.cashier, invoice_id, code, today=today, now=NOW)


async def voucher_named(db, code: str) -> Voucher:
    async with db.read() as session:
        return (await session.exec(select(Voucher).where(Voucher.code == code))).one()


async def live_uses(db, code: str) -> list[tuple[int, int]]:
    """(invoice id, discount) of the uses not given back."""
    async with db.read() as session:
        return list((await session.exec(
            select(VoucherUse.invoice_id, VoucherUse.discount).join(Voucher, Voucher.id == VoucherUse.voucher_id)
            .where(Voucher.code == code, VoucherUse.released_at.is_(None)).order_by(VoucherUse.invoice_id))).all())


# --- Issuing ---------------------------------------------------------------------------------------------------------

async def test_only_administrators_issue_vouchers_and_every_field_is_checked(db):
    clinic = await make_clinic(db)
    voucher = await issue(db, clinic, ' tet2026 ', percent_off=20, max_uses=10, valid_from=DAY,
                          valid_until=DAY + timedelta(days=30), service_ids=[clinic.lab_id], description=' Tết  2026 ')
    assert (voucher.code, voucher.max_uses, voucher.uses, voucher.description, voucher.is_active,
            voucher.created_by_id) == ('TET2026', 10, 0, 'Tết 2026', True, clinic.admin.user_id)
    with pytest.raises(PermissionDenied):
        async with db.write() as session:
            await vouchers.create_voucher(session, clinic.cashier, code='FREE-ALL', percent_off=100)
    refused = [
        (dict(code='Tet2026', percent_off=5), Conflict, 'already exists'),  # whatever the case
        (dict(code='ab', percent_off=5), ValidationError, '4 to 40'),
        (dict(code='NO SPACES', percent_off=5), ValidationError, '4 to 40'),
        (dict(code='BOTH', percent_off=5, amount_off=5_000), ValidationError, 'percentage or an amount'),
        (dict(code='NONE'), ValidationError, 'percentage or an amount'),
        (dict(code='ZERO', percent_off=0), ValidationError, 'between 1 and 100'),
        (dict(code='MUCH', percent_off=101), ValidationError, 'between 1 and 100'),
        (dict(code='FREE', amount_off=0), ValidationError, 'more than 0'),
        (dict(code='BACKWARDS', amount_off=5_000, valid_from=DAY, valid_until=DAY - timedelta(days=1)),
         ValidationError, 'comes after'),
        (dict(code='NEVER', amount_off=5_000, max_uses=0), ValidationError, 'from 1 to'),
        (dict(code='GHOST', amount_off=5_000, service_ids=[999_999]), NotFound, 'does not exist'),
    ]
    for values, error, words in refused:
        with pytest.raises(error, match=words):
            await issue(db, clinic, **values)
    async with db.read() as session:
        assert (await session.exec(select(sa.func.count()).select_from(Voucher))).one() == 1
        assert (await session.exec(select(AuditLog.detail).where(AuditLog.action == 'voucher_created'))).one() \
            .startswith('TET2026: 20%, 10 use(s)')


def test_generated_codes_are_long_random_and_free_of_look_alikes():
    codes = {vouchers.generate_code() for __ in range(500)}
    assert len(codes) == 500
    for code in codes:
        groups = code.split('-')
        assert [len(g) for g in groups] == [4, 4, 4]
        assert set(''.join(groups)) <= set(vouchers.CODE_ALPHABET)
        assert not set(code) & set('0O1I')
    assert set(''.join(codes)) == set(vouchers.CODE_ALPHABET) | {'-'}  # every character is drawn


async def test_the_list_pages_searches_and_shows_uses_services_and_state(db):
    clinic = await make_clinic(db)
    for n in range(7):
        await issue(db, clinic, f'SPRING-{n}', amount_off=10_000 * (n + 1), max_uses=3)
    await issue(db, clinic, 'LAB-ONLY', percent_off=15, service_ids=[clinic.lab_id, clinic.consultation_id],
                valid_until=DAY - timedelta(days=1))
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await use(db, clinic, invoice_id, 'spring-6')
    async with db.read() as session:
        page, total = await vouchers.list_vouchers(session, clinic.admin, offset=0, limit=3)
        assert total == 8
        assert [r.code for r in page] == ['LAB-ONLY', 'SPRING-6', 'SPRING-5']  # newest first
        assert page[0].services == ('Blood count', 'General consultation') and page[1].services == ()
        assert (page[1].uses, page[1].max_uses, page[1].created_by) == (1, 3, 'Admin')
        assert [r.state(DAY) for r in page] == ['expired', 'active', 'active']
        second, __ = await vouchers.list_vouchers(session, clinic.admin, offset=3, limit=3)
        assert [r.code for r in second] == ['SPRING-4', 'SPRING-3', 'SPRING-2']
        found, count = await vouchers.list_vouchers(session, clinic.admin, search='lab-')
        assert count == 1 and found[0].code == 'LAB-ONLY'
        with pytest.raises(PermissionDenied):
            await vouchers.list_vouchers(session, clinic.cashier)


# --- Why a voucher is refused -------------------------------------------------------------------------------------

async def test_each_refusal_says_why(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))  # one consultation, 150,000
    other_id = await bill(db, clinic.cashier, await make_visit(db, clinic, patient=1))
    await issue(db, clinic, 'LATER', amount_off=5_000, valid_from=DAY + timedelta(days=2))
    await issue(db, clinic, 'OLD1', amount_off=5_000, valid_until=DAY - timedelta(days=1))
    stopped = await issue(db, clinic, 'STOPPED', amount_off=5_000)
    await issue(db, clinic, 'ONCE', amount_off=5_000)
    await issue(db, clinic, 'LABS', percent_off=50, service_ids=[clinic.lab_id, clinic.long_service_id])
    await issue(db, clinic, 'TWICE', amount_off=5_000, max_uses=2)
    async with db.write() as session:
        await vouchers.set_voucher_active(session, clinic.admin, stopped.id, False)
    await use(db, clinic, other_id, 'ONCE')
    await use(db, clinic, invoice_id, 'TWICE')
    expected = [
        ('NOPE', NotFound, 'There is no voucher NOPE. Please check the code.'),
        ('later', Conflict, 'Voucher LATER is valid only from 25/11/2026.'),
        ('old1', Conflict, 'Voucher OLD1 expired on 22/11/2026.'),
        ('stopped', Conflict, 'Voucher STOPPED has been deactivated.'),
        ('once', Conflict, r'All uses of voucher ONCE are taken \(1 of 1\).'),
        ('labs', Conflict, 'Voucher LABS applies only to Blood count, Skin procedure: none of them is on this bill.'),
        ('twice', Conflict, 'Voucher TWICE is already used on this bill.'),
    ]
    for code, error, sentence in expected:
        with pytest.raises(error, match=f'^{sentence}$'):
            await use(db, clinic, invoice_id, code)
    shown = await view(db, clinic.cashier, invoice_id)
    assert (shown.invoice.voucher_code, shown.invoice.discount_amount) == ('TWICE', 5_000)  # nothing changed
    assert (await use(db, clinic, invoice_id, 'later', today=DAY + timedelta(days=2))).voucher_code == 'LATER'


async def test_a_refusal_is_in_the_cashiers_language(db):
    from services.core import i18n
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await issue(db, clinic, 'OLD1', amount_off=5_000, valid_until=DAY - timedelta(days=1))
    with i18n.use('vi'), pytest.raises(Conflict) as refused:
        await use(db, clinic, invoice_id, 'old1')
    assert str(refused.value) == 'Phiếu giảm giá OLD1 đã hết hạn ngày 22/11/26.'


# --- Uses: counted, given back, never more than there are ------------------------------------------------------------

async def test_a_voucher_of_n_uses_works_n_times_and_a_release_gives_a_use_back(db):
    clinic = await make_clinic(db)
    await issue(db, clinic, 'TET2026', percent_off=20, max_uses=2)
    first, second, third = [await bill(db, clinic.cashier, await make_visit(db, clinic, patient=p)) for p in range(3)]
    assert (await use(db, clinic, first, 'tet2026')).discount_amount == 30_000
    assert (await use(db, clinic, second, 'TET2026')).total == 120_000
    assert (await voucher_named(db, 'TET2026')).uses == 2
    with pytest.raises(Conflict, match=r'\(2 of 2\)'):
        await use(db, clinic, third, 'tet2026')
    async with db.write() as session:  # a manual discount replaces the voucher on the first bill: its use comes back
        await billing.set_discount(session, clinic.cashier, first, amount=10_000, reason='Staff', now=NOW)
    assert (await voucher_named(db, 'TET2026')).uses == 1
    assert (await use(db, clinic, third, 'tet2026')).discount_amount == 30_000
    async with db.write() as session:  # voiding the second bill gives its use back too
        await billing.void(session, clinic.cashier, second, 'Wrong patient', now=NOW)
    assert (await voucher_named(db, 'TET2026')).uses == 1
    assert await live_uses(db, 'TET2026') == [(third, 30_000)]
    again = await use(db, clinic, first, 'TET2026')  # the same bill again: its old use is taken again
    assert (again.discount_amount, again.discount_reason, again.total) == (30_000, 'Voucher TET2026 (20%)', 120_000)
    assert await live_uses(db, 'TET2026') == [(first, 30_000), (third, 30_000)]
    async with db.read() as session:
        voucher, uses = await vouchers.voucher_usage(session, clinic.admin, (await voucher_named(db, 'TET2026')).id)
    assert voucher.uses == 2
    assert sorted((u.invoice_id, u.discount, u.released_at is None, u.used_by) for u in uses) == [
        (first, 30_000, True, 'Cashier'), (second, 30_000, False, 'Cashier'), (third, 30_000, True, 'Cashier')]


async def test_another_voucher_replaces_the_first_and_gives_its_use_back(db):
    clinic = await make_clinic(db)
    await issue(db, clinic, 'AAAA', amount_off=10_000)
    await issue(db, clinic, 'BBBB', amount_off=20_000)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await use(db, clinic, invoice_id, 'AAAA')
    assert (await use(db, clinic, invoice_id, 'BBBB')).discount_amount == 20_000
    assert ((await voucher_named(db, 'AAAA')).uses, (await voucher_named(db, 'BBBB')).uses) == (0, 1)


@pytest.mark.parametrize('cashiers', [2, 6])
async def test_two_cashiers_taking_the_last_use_at_once_only_one_gets_it(db, cashiers):
    clinic = await make_clinic(db, patients=cashiers)
    await issue(db, clinic, 'LAST-ONE', amount_off=50_000)
    invoices = [await bill(db, clinic.cashier, await make_visit(db, clinic, patient=p)) for p in range(cashiers)]

    async def attempt(invoice_id: int):
        try:
            return await use(db, clinic, invoice_id, 'last-one')
        except Conflict:
            return None

    results = await asyncio.gather(*(attempt(i) for i in invoices))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await voucher_named(db, 'LAST-ONE')).uses == 1
    assert await live_uses(db, 'LAST-ONE') == [(winners[0].id, 50_000)]
    discounted = [(await view(db, clinic.cashier, i)).invoice.discount_amount for i in invoices]
    assert sorted(discounted) == [0] * (cashiers - 1) + [50_000]


async def test_the_database_never_counts_more_uses_than_there_are(db):
    clinic = await make_clinic(db)
    voucher = await issue(db, clinic, 'GUARD', amount_off=1_000, max_uses=2)
    for uses in (3, -1):
        async with db.write() as session:
            with pytest.raises(IntegrityError):
                await session.exec(sa.update(Voucher).where(Voucher.id == voucher.id).values(uses=uses))
                await session.commit()
    async with db.write() as session:
        session.add(Voucher(code='lower', amount_off=1_000))  # codes are kept in capitals
        with pytest.raises(IntegrityError):
            await session.commit()


# --- On the lines of its services ------------------------------------------------------------------------------------

async def test_a_voucher_for_some_services_takes_off_only_their_lines(db):
    clinic = await make_clinic(db)
    # consultation 150,000 + a blood count at 15,005 + medicine 2 x 20,000
    visit_id = await make_visit(db, clinic, orders=((15_005, OrderStatus.COMPLETED),), medicines=((2, 20_000),))
    invoice_id = await bill(db, clinic.cashier, visit_id)
    await issue(db, clinic, 'LAB10', percent_off=10, service_ids=[clinic.lab_id])
    await issue(db, clinic, 'LAB-CASH', amount_off=100_000, service_ids=[clinic.lab_id], max_uses=5)
    await issue(db, clinic, 'VISIT', amount_off=100_000, service_ids=[clinic.lab_id, clinic.consultation_id])
    invoice = await use(db, clinic, invoice_id, 'lab10')
    assert (invoice.subtotal, invoice.discount_amount, invoice.total) == (205_005, 1_501, 203_504)  # 1,500.5 up
    invoice = await use(db, clinic, invoice_id, 'lab-cash')  # capped at the blood count's line
    assert (invoice.discount_amount, invoice.total) == (15_005, 190_000)
    invoice = await use(db, clinic, invoice_id, 'visit')  # two lines: 165,005 of which 100,000 off
    assert (invoice.discount_amount, invoice.total) == (100_000, 105_005)
    assert await live_uses(db, 'VISIT') == [(invoice_id, 100_000)]


async def test_insurance_stays_within_what_is_left_after_a_voucher(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))  # 150,000
    async with db.write() as session:
        await billing.set_insurance(session, clinic.cashier, invoice_id, amount=140_000, insurer='PVI',
                                    policy_no='P-1', now=NOW)
    await issue(db, clinic, 'HALF', percent_off=50)
    invoice = await use(db, clinic, invoice_id, 'half')
    assert (invoice.subtotal, invoice.discount_amount, invoice.insurance_amount, invoice.total) == (
        150_000, 75_000, 75_000, 0)


# --- Property-based: any lines, any voucher ---------------------------------------------------------------------------

services_drawn = st.sampled_from([None, 1, 2, 3])
lines_drawn = st.lists(st.tuples(services_drawn, st.integers(0, 5_000_000)), max_size=10)
kinds = st.one_of(st.builds(lambda p: {'percent_off': p}, st.integers(1, 100)),
                  st.builds(lambda a: {'amount_off': a}, st.integers(1, 10_000_000)))


@settings(max_examples=400, deadline=None)
@given(lines=lines_drawn, service_ids=st.frozensets(st.integers(1, 3), max_size=2), kind=kinds,
       insurance=st.one_of(st.none(), st.builds(lambda p: Share(percent=Decimal(p)), st.integers(1, 100)),
                           st.builds(lambda a: Share(amount=a), st.integers(1, 10_000_000))))
def test_a_voucher_discount_is_exact_never_negative_and_never_more_than_its_lines(lines, service_ids, kind,
                                                                                 insurance):
    applicable = sum(total for service_id, total in lines if not service_ids or service_id in service_ids)
    discount = billing.voucher_discount(lines, service_ids, **kind)
    assert 0 <= discount <= applicable
    if 'percent_off' in kind:
        assert discount == billing.percent_of(applicable, Decimal(kind['percent_off']))
    else:
        assert discount == min(applicable, kind['amount_off'])
    subtotal = sum(total for __, total in lines)
    insured = insurance.of(subtotal - discount) if insurance else 0
    assert subtotal - discount - insured >= 0


async def _voucher_scenario(orders, medicines, restricted: bool, kind: dict, insured: int | None) -> None:
    database = Database(TEST_DATABASE_URL)
    try:
        await truncate_all(database)
        clinic = await make_clinic(database)
        visit_id = await make_visit(database, clinic, orders=tuple((p, OrderStatus.COMPLETED) for p in orders),
                                    medicines=tuple(medicines))
        invoice_id = await bill(database, clinic.cashier, visit_id)
        if insured:
            async with database.write() as session:
                await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(insured),
                                            insurer='PVI', policy_no='P-1', now=NOW)
        await issue(database, clinic, 'PROP-1', service_ids=[clinic.lab_id] if restricted else None, **kind)
        try:
            await use(database, clinic, invoice_id, 'prop-1')
        except Conflict as refused:
            assert restricted and not orders and 'applies only to Blood count' in str(refused)
            return
        shown = await view(database, clinic.cashier, invoice_id)
        invoice = shown.invoice
        applicable = sum(orders) if restricted else invoice.subtotal
        assert invoice.subtotal == sum(i.line_total for i in shown.items)
        assert 0 <= invoice.discount_amount <= applicable
        assert invoice.total == invoice.subtotal - invoice.discount_amount - invoice.insurance_amount >= 0
        assert await live_uses(database, 'PROP-1') == [(invoice_id, invoice.discount_amount)]
    finally:
        await database.dispose()


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(orders=st.lists(st.integers(0, 300_000), max_size=3),
       medicines=st.lists(st.tuples(st.integers(1, 20), st.integers(0, 90_000)), max_size=2),
       restricted=st.booleans(), kind=kinds, insured=st.one_of(st.none(), st.integers(1, 100)))
def test_any_bill_with_any_voucher_adds_up_in_the_database(orders, medicines, restricted, kind, insured):
    asyncio.run(_voucher_scenario(orders, medicines, restricted, kind, insured))


# --- Upgrading a clinic that used single-use vouchers -----------------------------------------------------------------

async def test_upgrading_turns_the_single_use_into_a_recorded_use():
    path = Path(tempfile.mkdtemp()) / 'vouchers.db'
    database = Database(f'sqlite+aiosqlite:///{path}')
    try:
        await upgrade(database, '19556ebe061b')
        async with database.write() as session:
            for sql in (
                    "INSERT INTO patients (id, code, full_name, search_name, sex, phone, allergies, notes, created_at, "
                    "updated_at) VALUES (1, 'P1', 'An', 'an', 'male', '0901', '', '', '2026-11-20 01:00:00', "
                    "'2026-11-20 01:00:00')",
                    "INSERT INTO invoices (id, number, patient_id, status, subtotal, discount_amount, discount_reason, "
                    "insurance_amount, insurer, insurance_policy_no, voucher_code, total, amount_paid, void_reason, "
                    "created_at, updated_at) VALUES (1, 'INV-2026-000001', 1, 'unpaid', 100000, 20000, 'Voucher', "
                    "0, '', '', 'OLD-ONE', 80000, 0, '', '2026-11-20 02:00:00', '2026-11-20 03:00:00')",
                    "INSERT INTO vouchers (id, code, percent_off, amount_off, valid_until, used_by_invoice_id) "
                    "VALUES (1, 'OLD-ONE', 20, NULL, NULL, 1), (2, 'fresh', NULL, 5000, '2026-12-31', NULL)"):
                await session.exec(sa.text(sql))
            await session.commit()
        await upgrade(database)
        async with database.read() as session:
            rows = (await session.exec(sa.text('SELECT code, uses, max_uses, is_active FROM vouchers ORDER BY id'))) \
                .all()
            assert [tuple(r) for r in rows] == [('OLD-ONE', 1, 1, 1), ('FRESH', 0, 1, 1)]
            uses = (await session.exec(sa.text('SELECT voucher_id, invoice_id, discount, released_at '
                                               'FROM voucher_uses'))).all()
            assert [tuple(u) for u in uses] == [(1, 1, 20000, None)]
    finally:
        await database.dispose()
