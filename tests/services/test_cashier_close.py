"""A cashier's day closed: expected against counted cash, the lock on payments and refunds, the administrator's
reopening, a payment racing the close; property-based tests of the figures (hypothesis)."""
from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from models import AuditLog, Role, User
from services import billing, cashier_close, close_sheet, users
from services.billing import Tender
from services.cashier_close import DENOMINATIONS
from services.core.db import Database
from services.core.errors import Conflict, PermissionDenied, ValidationError
from tests.conftest import TEST_DATABASE_URL, truncate_all
from tests.factories import NOW, TZ, make_clinic, password_hash
from tests.services.test_billing import BANK, CARD, CASH, WALLET, bill, make_visit, pay
from tests.services.test_receipts import CLINIC, flat, needs_poppler, pdf_text

TODAY = NOW.astimezone(TZ).date()


async def second_cashier(db):
    async with db.write() as session:
        user = User(username='cashier2', full_name='Cashier Two', role=Role.CASHIER, password_hash=password_hash())
        session.add(user)
        await session.commit()
        return users.actor_of(user)


async def close(db, actor, **kwargs):
    async with db.write() as session:
        return await cashier_close.close_day(session, actor, TODAY, tz=TZ, now=NOW + timedelta(hours=11), **kwargs)


async def drawer(db, actor, cashier_id=None):
    async with db.read() as session:
        return await cashier_close.drawer(session, actor, TODAY, tz=TZ, cashier_id=cashier_id)


async def refund(db, actor, payment_id, amount):
    async with db.write() as session:
        return await billing.refund(session, actor, payment_id, amount, 'patient left early', now=NOW)


async def reopen(db, actor, close_id, reason='counted twice, a note was missed'):
    async with db.write() as session:
        return await cashier_close.reopen_day(session, actor, close_id, reason, now=NOW + timedelta(hours=12))


async def test_expected_cash_is_float_plus_cash_in_minus_cash_refunded(db):
    clinic = await make_clinic(db)
    first = await bill(db, clinic.cashier, await make_visit(db, clinic))            # 150,000
    second = await bill(db, clinic.cashier, await make_visit(db, clinic, patient=1))
    await pay(db, clinic.cashier, first, Tender(CASH, 150_000, tendered=200_000))  # 50,000 change handed back
    await pay(db, clinic.cashier, second, Tender(CASH, 100_000, tendered=100_000), Tender(CARD, 50_000))
    async with db.read() as session:
        cash_payment = (await billing.invoice_view(session, clinic.cashier, second)).payments[0]
    await refund(db, clinic.cashier, cash_payment.id, 30_000)
    shown = await drawer(db, clinic.cashier)
    assert (shown.cash.received, shown.cash.refunded) == (250_000, 30_000)
    assert shown.expected(500_000) == 500_000 + 250_000 - 30_000 == 720_000
    assert shown.total('payments') == 3 and shown.total('refunds') == 1
    assert shown.total('received') == 300_000 and not shown.is_closed
    # A difference needs a reason; counted by notes is count x value.
    with pytest.raises(ValidationError, match='off: please say why'):
        await close(db, clinic.cashier, counted=710_000, opening_float=500_000)
    with pytest.raises(ValidationError, match='make'):
        await close(db, clinic.cashier, counted=1, notes={500_000: 1, 200_000: 1, 20_000: 1}, opening_float=500_000)
    row = await close(db, clinic.cashier, notes={500_000: 1, 200_000: 1, 20_000: 1}, opening_float=500_000)
    assert (row.expected, row.counted, row.difference, row.reason) == (720_000, 720_000, 0, '')
    assert row.denominations == {'500000': 1, '200000': 1, '20000': 1}
    assert row.totals == {'cash': [2, 250_000, 1, 30_000], 'card': [1, 50_000, 0, 0]}


async def test_a_closed_day_refuses_that_cashiers_payments_and_refunds_until_an_admin_reopens_it(db):
    clinic = await make_clinic(db)
    other = await second_cashier(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    taken = await pay(db, clinic.cashier, invoice_id, Tender(CASH, 100_000))
    row = await close(db, clinic.cashier, counted=99_000, reason='a 1,000 note given as change twice')
    assert row.difference == -1_000
    with pytest.raises(Conflict, match='is closed for you'):
        await pay(db, clinic.cashier, invoice_id, Tender(CASH, 10_000))
    async with db.read() as session:
        payment_id = (await billing.invoice_view(session, clinic.cashier, invoice_id)).payments[0].id
    with pytest.raises(Conflict, match='is closed for you'):
        await refund(db, clinic.cashier, payment_id, 5_000)
    with pytest.raises(Conflict, match='already closed'):
        await close(db, clinic.cashier, counted=99_000, reason='again')
    # Another cashier's day is still open.
    assert (await pay(db, other, invoice_id, Tender(CARD, 10_000))).paid_now == 10_000
    # Only an administrator reopens, with a reason.
    with pytest.raises(PermissionDenied):
        await reopen(db, clinic.cashier, row.id)
    with pytest.raises(ValidationError):
        await reopen(db, clinic.admin, row.id, reason='')
    await reopen(db, clinic.admin, row.id)
    assert (await pay(db, clinic.cashier, invoice_id, Tender(CASH, 10_000))).paid_now == 10_000
    async with db.read() as session:
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.entity == 'cashier_day_close')
                                      .order_by(AuditLog.id))).all()
    assert actions == ['cashier_day_closed', 'cashier_day_reopened']
    again = await close(db, clinic.cashier, counted=109_000, reason='the same 1,000 note')
    assert again.id == row.id and again.cash_in == 110_000 and again.reopened_at is None
    assert taken.receipt_number == 'R-000001'


async def test_a_cashier_sees_only_their_own_day_and_the_admin_sees_everyones(db):
    clinic = await make_clinic(db)
    other = await second_cashier(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await pay(db, other, invoice_id, Tender(CASH, 20_000))
    with pytest.raises(PermissionDenied):
        await drawer(db, clinic.cashier, other.user_id)
    assert (await drawer(db, clinic.admin, other.user_id)).cash.received == 20_000
    async with db.read() as session:
        with pytest.raises(PermissionDenied):
            await cashier_close.drawers(session, clinic.cashier, TODAY, tz=TZ)
        assert [d.cashier for d in await cashier_close.drawers(session, clinic.admin, TODAY, tz=TZ)] == ['Cashier Two']


async def test_a_payment_racing_the_close_is_either_counted_or_refused(db):
    """Many payments and the close at once: the close's cash equals exactly what the payments that went through
    took, whatever the order."""
    clinic = await make_clinic(db)
    invoices = [await bill(db, clinic.cashier, await make_visit(db, clinic, patient=i % 3)) for i in range(6)]

    async def attempt(invoice_id):
        try:
            return (await pay(db, clinic.cashier, invoice_id, Tender(CASH, 10_000))).paid_now
        except Conflict as e:
            assert 'closed for you' in str(e)
            return 0

    async def closing():
        await asyncio.sleep(0.01)
        return await close(db, clinic.cashier, counted=0, reason='counted later')

    *taken, row = await asyncio.gather(*(attempt(i) for i in invoices), closing())
    assert row.cash_in == sum(taken) == (await drawer(db, clinic.cashier)).cash.received
    assert -row.difference == row.cash_in


def test_notes_are_counted_exactly():
    assert cashier_close.count_notes({500_000: 3, 2_000: 7, 1_000: 1}) == 1_515_000
    with pytest.raises(ValidationError):
        cashier_close.count_notes({3_000: 1})
    with pytest.raises(ValidationError):
        cashier_close.count_notes({1_000: -1})


@settings(max_examples=200, deadline=None)
@given(notes=st.dictionaries(st.sampled_from(DENOMINATIONS), st.integers(0, 5_000)))
def test_counting_by_notes_is_the_sum_of_count_times_value(notes):
    assert cashier_close.count_notes(notes) == sum(value * count for value, count in notes.items())


async def _scenario(float_, moves) -> None:
    database = Database(TEST_DATABASE_URL)
    try:
        await truncate_all(database)
        clinic = await make_clinic(database)
        taken = {}
        for method, amount, tendered_extra, refund_part in moves:
            invoice_id = await bill(database, clinic.cashier, await make_visit(database, clinic))
            tendered = amount + tendered_extra if method == CASH else None
            reference = 'FT1' if method == BANK else ''  # a transfer needs its reference
            await pay(database, clinic.cashier, invoice_id,
                      Tender(method, amount, tendered=tendered, reference=reference))
            async with database.read() as session:
                payment = (await billing.invoice_view(session, clinic.cashier, invoice_id)).payments[0]
            back = amount * refund_part // 4
            if back:
                await refund(database, clinic.cashier, payment.id, back)
            received, refunded = taken.get(method, (0, 0))
            taken[method] = (received + amount, refunded + back)
        shown = await drawer(database, clinic.cashier)
        assert {m.method: (m.received, m.refunded) for m in shown.methods} == {m: t for m, t in taken.items()}
        assert shown.total('received') == sum(r for r, __ in taken.values())
        assert shown.total('net') == sum(r - b for r, b in taken.values())
        cash_in, cash_out = taken.get(CASH, (0, 0))
        row = await close(database, clinic.cashier, counted=float_ + cash_in - cash_out, opening_float=float_)
        assert row.expected == float_ + cash_in - cash_out and row.difference == 0
        assert sum(v[1] - v[3] for v in row.totals.values()) == shown.total('net')
    finally:
        await database.dispose()


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(float_=st.integers(0, 2_000_000),
       moves=st.lists(st.tuples(st.sampled_from([CASH, CARD, BANK, WALLET]), st.integers(1, 150_000),
                                st.integers(0, 300_000), st.integers(0, 4)), max_size=4))
def test_any_mix_of_payments_refunds_and_change_adds_up_in_the_close(float_, moves):
    asyncio.run(_scenario(float_, moves))


@needs_poppler
@pytest.mark.parametrize('language', ['en', 'vi'])
async def test_the_close_sheet_prints_the_figures_in_the_cashiers_language(db, language, tmp_path, artifacts_dir):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await pay(db, clinic.cashier, invoice_id, Tender(CASH, 100_000, tendered=200_000), Tender(CARD, 50_000))
    async with db.write() as session:
        (await session.get(User, clinic.cashier.user_id)).language = language
        await session.commit()
    row = await close(db, clinic.cashier, notes={500_000: 1, 100_000: 1, 20_000: 2}, opening_float=500_000,
                      reason='a note of 20,000 was found in the tray')
    async with db.read() as session:
        shown = await cashier_close.close_sheet(session, clinic.cashier, row.id, tz=TZ)
    pdf = close_sheet.close_sheet_pdf(shown, CLINIC, tz=TZ)
    text = flat(pdf_text(pdf, tmp_path))
    amounts = ('640.000', '600.000', '40.000', '150.000') if language == 'vi' else (
        '640,000', '600,000', '40,000', '150,000')
    for expected in ('Phòng khám Đa khoa Hòa Bình', '23/11/2026', 'Cashier', *amounts,
                     'a note of 20,000 was found in the tray'):
        assert expected in text, expected
    assert ('Tiền mặt' in text and 'Chênh lệch' in text) if language == 'vi' else ('Cash' in text and 'Difference' in text)
    path = artifacts_dir / f'close-sheet-{language}.pdf'
    path.write_bytes(pdf)
    subprocess.run(['pdftoppm', '-png', '-r', '80', '-singlefile', str(path), str(path.with_suffix(''))], check=True)
    async with db.read() as session:
        other = await second_cashier(db)
        with pytest.raises(PermissionDenied):
            await cashier_close.close_sheet(session, other, row.id, tz=TZ)
