"""The audit log as the administrator reads it: filtered by kind, person, subject and days, paged by key."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models import AuditLog
from services import audit_view, users
from tests.factories import TZ, make_clinic


@pytest.fixture
async def clinic(db):
    """120 chart views by reception (40 per patient), a payment and a refund by the cashier, the admin's sign-in."""
    clinic = await make_clinic(db)
    async with db.write() as session:
        for i in range(120):
            session.add(AuditLog(user_id=clinic.reception.user_id, username='reception', action='chart_viewed',
                                 entity='patient', entity_id=clinic.patient_ids[i % 3]))
        session.add(AuditLog(user_id=clinic.cashier.user_id, username='cashier', action='payment_received',
                             entity='invoice', entity_id=7))
        session.add(AuditLog(user_id=clinic.cashier.user_id, username='cashier', action='refund_issued',
                             entity='invoice', entity_id=7))
        await session.commit()
    async with db.write() as session:
        await users.authenticate(session, 'admin', 'factory-pass-1')
    return clinic


async def test_the_audit_log_pages_by_key(db, clinic):
    async with db.read() as session:
        first = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50)
        second = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50,
                                         before_id=first.last_id)
        third = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50,
                                        before_id=second.last_id)
    assert (len(first.entries), first.has_more, len(third.entries), third.has_more) == (50, True, 20, False)
    assert not {e.id for e in first.entries} & {e.id for e in second.entries}


async def test_the_audit_log_filters_by_what_an_entry_is_about(db, clinic):
    async with db.read() as session:
        patient = await audit_view.search(session, clinic.admin, entity='patient',
                                          entity_id=clinic.patient_ids[0])
    assert len(patient.entries) == 40


async def test_the_audit_log_filters_by_kind_and_person(db, clinic):
    async with db.read() as session:
        payments = await audit_view.search(session, clinic.admin, kind='payments')
        refunds = await audit_view.search(session, clinic.admin, kind='refunds')
        logins = await audit_view.search(session, clinic.admin, kind='logins', user_id=clinic.admin.user_id)
    assert [e.action for e in payments.entries] == ['payment_received']
    assert [e.action for e in refunds.entries] == ['refund_issued']
    assert [e.action for e in logins.entries] == ['login']


async def test_the_audit_log_filters_by_days(db, clinic):
    today = datetime.now(timezone.utc).astimezone(TZ).date()
    async with db.read() as session:
        none_yesterday = await audit_view.search(session, clinic.admin, start_day=today - timedelta(days=3),
                                                 end_day=today - timedelta(days=1), tz=TZ)
    assert none_yesterday.entries == []
