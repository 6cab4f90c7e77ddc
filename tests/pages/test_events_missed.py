"""When news from the other server processes may have been lost (their listening connection dropped), live views
read afresh in place: a patient who arrived meanwhile shows up at reception and in the doctor's queue, without a
reload (what was typed stays)."""
from __future__ import annotations

import asyncio

from nicegui.testing import User

from models.types import utcnow
from services import checkin
from services.core.events import EventsMissed, bus
from services.core.settings import get_settings
from tests.conftest import RETRIES, sign_in
from tests.factories import make_clinic
from tests.pages.test_board import another_person, arrivals


async def arrive_unheard(db, clinic, monkeypatch) -> None:
    """A walk-in whose events never reach this process (as if another process committed it and its notification
    was lost)."""
    with monkeypatch.context() as patch:
        patch.setattr(bus, 'committed', lambda event: None)
        async with db.write() as session:
            await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[2],
                                  doctor_id=clinic.doctor_ids[0], tz=get_settings().tz, now=utcnow())


async def test_after_lost_events_reception_and_the_doctor_read_their_queues_again(db, user: User, monkeypatch):
    clinic = await make_clinic(db, patients=3)
    await arrivals(db, clinic, 2)
    doctor = another_person()
    await sign_in(user, 'reception')
    await user.open('/reception/queues')
    await user.should_see(marker='queue-line-A', content='2 waiting', retries=RETRIES)
    await sign_in(doctor, 'doctor')
    await doctor.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)

    await arrive_unheard(db, clinic, monkeypatch)
    await user.should_see(marker='queue-line-A', content='2 waiting')  # nobody heard of it
    bus.deliver(EventsMissed())
    await user.should_see(marker='queue-line-A', content='3 waiting', retries=RETRIES)
    await doctor.should_see(marker='queue-summary', content='3 waiting', retries=RETRIES)


async def test_a_view_that_follows_several_kinds_of_event_reads_afresh_once(db, user: User, monkeypatch):
    """The administrator's home follows staff, settings and catalog changes with one re-read: one read after
    ``EventsMissed``, not three."""
    from pages.admin import home
    await make_clinic(db)
    reads = []
    read_overview = home.read_overview

    async def counted(*args, **kwargs):
        reads.append(kwargs)
        return await read_overview(*args, **kwargs)
    monkeypatch.setattr(home, 'read_overview', counted)
    await sign_in(user, 'admin')  # lands on the administrator's home
    await user.should_see(marker='setup-checklist', retries=RETRIES)
    reads.clear()
    bus.deliver(EventsMissed())
    for _ in range(RETRIES):
        await asyncio.sleep(0.1)
        if reads:
            break
    await asyncio.sleep(0.3)
    assert len(reads) == 1


async def test_after_lost_events_the_chart_shows_an_order_placed_elsewhere_and_keeps_what_is_typed(user: User,
                                                                                                  monkeypatch):
    """An order placed on another process whose notification was lost appears on the open chart after
    ``EventsMissed``; the symptoms being typed (not yet saved) stay."""
    from pages.consultation.chart import record
    from tests.clinical import ward_for
    from tests.conftest import element
    from tests.pages.test_consultation_chart import open_chart, place_blood_count
    monkeypatch.setattr(record, 'AUTOSAVE_DELAY_S', 60)  # only the screen holds the typed text
    ward = await ward_for(user)
    await open_chart(user, ward)
    user.find(marker='symptoms').type('Dry cough')
    with monkeypatch.context() as patch:
        patch.setattr(bus, 'committed', lambda event: None)
        await place_blood_count(ward)
    await asyncio.sleep(0.3)
    await user.should_not_see('Blood count')  # nobody heard of it
    bus.deliver(EventsMissed())
    await user.should_see('Blood count', retries=RETRIES)
    assert element(user, 'symptoms').value == 'Dry cough'


async def test_after_lost_events_the_cashiers_open_bill_shows_a_discount_given_elsewhere(user: User, monkeypatch):
    """A discount given on another process whose notification was lost: the open bill shows the new balance after
    ``EventsMissed``, without a reload."""
    from decimal import Decimal

    from services import billing
    from services.core.db import get_db
    from tests.pages.counter_setup import billed_visit, cashier_clinic
    from tests.pages.test_cashier_invoice import open_invoice
    clinic = await cashier_clinic(user)
    invoice_id = await billed_visit(clinic, medicines=((2, 25_000),))
    await open_invoice(user, invoice_id, '₫200,000')
    with monkeypatch.context() as patch:
        patch.setattr(bus, 'committed', lambda event: None)
        async with get_db().write() as session:
            await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(10), reason='Senior')
    await asyncio.sleep(0.3)
    await user.should_see(marker='invoice-balance', content='₫200,000')  # nobody heard of it
    bus.deliver(EventsMissed())
    await user.should_see(marker='invoice-balance', content='₫180,000', retries=RETRIES)
