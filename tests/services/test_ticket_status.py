"""The patient's live ticket page, as the service answers it: each state of a visit (waiting with the patients
ahead in the queue's own order, called to a room, being seen, missed, at the lab, at the cashier with the bill's
total, done), nothing about anyone else, and forged, expired or stale links refused."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from pydantic import SecretStr

from models import Patient, QueueKind, Visit
from services import billing, checkin, consultation, orders, queue, ticket_links, ticket_status
from services.billing import Tender
from services.core.settings import get_settings
from services.text import search_key
from services.ticket_status import ExpiredLink, InvalidLink, Stage
from tests.clinical import FULL, TODAY, Ward, make_ward
from tests.factories import NOW, TZ

SETTINGS = get_settings().model_copy(update={'storage_secret': SecretStr('k' * 40), 'timezone': str(TZ)})
LATER = NOW + timedelta(hours=2)


def token(visit_id: int) -> str:
    return ticket_links.make_token(visit_id, TODAY, SETTINGS)


async def state(db, visit_id: int, now=LATER) -> ticket_status.TicketState:
    async with db.read() as session:
        return await ticket_status.read(session, token(visit_id), settings=SETTINGS, now=now)


async def doctor_queue_id(db, ward: Ward) -> int:
    async with db.read() as session:
        return (await queue.queue_for_doctor(session, ward.clinic.doctor_ids[0])).id


async def walk_in(db, ward: Ward, patient: int) -> checkin.Ticket:
    async with db.write() as session:
        return await checkin.walk_in(session, ward.clinic.reception, patient_id=ward.clinic.patient_ids[patient],
                                     doctor_id=ward.clinic.doctor_ids[0], tz=TZ, now=NOW + timedelta(minutes=5),
                                     reason='Cough')


async def call_next(db, ward: Ward) -> queue.TicketView:
    async with db.write() as session:
        return await queue.call_next(session, ward.doctor, await doctor_queue_id(db, ward), tz=TZ, now=LATER)


async def test_waiting_shows_the_number_the_doctor_the_patients_ahead_and_the_wait_in_the_queues_order(db):
    ward = await make_ward(db)
    first = await state(db, ward.visit_id)
    assert (first.stage, first.kind, first.label, first.ahead, first.wait_minutes) == \
        (Stage.WAITING, QueueKind.DOCTOR, 'A-001', 0, 0)
    assert (first.queue_name, first.room, first.now_serving, first.amount_due) == \
        ('Dr. Nguyễn Thị Lan', 'R1 · Room 1', '', None)
    second = await walk_in(db, ward, 1)
    later = await state(db, second.visit_id)
    assert (later.label, later.ahead, later.wait_minutes) == ('A-002', 1, queue.DEFAULT_MINUTES)
    # An elderly patient arriving after both is called first: the queue's own order, not the arrival order.
    elderly = await walk_in_third(db, ward)
    assert (await state(db, elderly)).ahead == 0
    assert [(await state(db, ward.visit_id)).ahead, (await state(db, second.visit_id)).ahead] == [1, 2]


async def walk_in_third(db, ward: Ward) -> int:
    """A third patient, elderly (priority), arriving last."""
    async with db.write() as session:
        patient = Patient(code='P9000001', full_name='Đỗ Thị Bảy', search_name=search_key('Đỗ Thị Bảy'),
                          phone='0909000001')
        session.add(patient)
        await session.commit()
        ticket = await checkin.walk_in(session, ward.clinic.reception, patient_id=patient.id,
                                       doctor_id=ward.clinic.doctor_ids[0], tz=TZ, now=NOW + timedelta(minutes=20),
                                       priority=1, priority_reason='Elderly')
    return ticket.visit_id


async def test_called_being_seen_and_missed(db):
    ward = await make_ward(db)
    other = await walk_in(db, ward, 1)
    called = await call_next(db, ward)
    shown = await state(db, ward.visit_id)
    assert (shown.stage, shown.label, shown.room, shown.ahead, shown.call_count) == \
        (Stage.CALLED, 'A-001', 'R1 · Room 1', None, 1)
    waiting = await state(db, other.visit_id)
    assert (waiting.ahead, waiting.now_serving) == (0, 'A-001')  # the number being called, nothing else of them
    async with db.write() as session:
        await queue.skip(session, ward.doctor, called.id, now=LATER)
    assert (await state(db, ward.visit_id)).stage == Stage.MISSED
    async with db.write() as session:
        await queue.recall(session, ward.doctor, called.id, now=LATER)
    assert (await state(db, ward.visit_id)).call_count == 2  # called again: the phone chimes again
    async with db.write() as session:
        await queue.start(session, ward.doctor, called.id, now=LATER)
    assert (await state(db, ward.visit_id)).stage == Stage.SERVING


async def test_following_the_queues_shared_view_gives_what_reading_it_all_gives(db):
    """After another patient's turn the page updates from the queue's view that every screen shares: the same state
    as its own full read; a ticket the view no longer holds asks for the full read (None)."""
    ward = await make_ward(db)
    second = await walk_in(db, ward, 1)
    elderly = await walk_in_third(db, ward)  # called first
    waiting = (ward.visit_id, second.visit_id)
    before = {visit: await state(db, visit) for visit in (*waiting, elderly)}
    called = await call_next(db, ward)

    async def shared_view():
        async with db.read() as session:
            return (await queue.board_views(session, [await doctor_queue_id(db, ward)], tz=TZ, now=LATER))[0]

    view = await shared_view()
    for visit in waiting:
        assert ticket_status.following(before[visit], view) == await state(db, visit)
    assert [before[visit].ahead for visit in waiting] == [1, 2]
    assert [ticket_status.following(before[visit], view).ahead for visit in waiting] == [0, 1]
    async with db.write() as session:  # the elderly patient is seen and leaves the doctor's queue
        await queue.start(session, ward.doctor, called.id, now=LATER)
        await queue.finish(session, ward.doctor, called.id, now=LATER)
    assert ticket_status.following(before[elderly], await shared_view()) is None


async def test_sent_to_the_lab_the_page_follows_the_visits_new_ticket_and_back(db):
    ward = await make_ward(db)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        order_id = (await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW))[0].id
    async with db.write() as session:
        await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW, open_orders='wait')
    at_lab = await state(db, ward.visit_id)
    assert (at_lab.stage, at_lab.kind, at_lab.label, at_lab.queue, at_lab.room, at_lab.ahead) == \
        (Stage.WAITING, QueueKind.LAB, 'L-001', 'Laboratory', 'LAB · Laboratory', 0)
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='Normal',
                                   values=[orders.ResultValue('WBC', '7.2', '10^9/L', '4-10')], complete=True, now=NOW)
    back = await state(db, ward.visit_id)
    assert (back.kind, back.label, back.back_with_results, back.room) == (QueueKind.DOCTOR, 'A-002', True,
                                                                          'R1 · Room 1')


async def test_the_bill_ready_shows_its_total_due_and_paying_closes_with_thanks(db):
    ward = await make_ward(db)
    called = await call_next(db, ward)
    async with db.write() as session:
        await queue.start(session, ward.doctor, called.id, now=LATER)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)
    assert (await state(db, ward.visit_id)).amount_due is None  # no bill yet
    async with db.write() as session:
        invoice_id = await billing.bill_visit(session, ward.clinic.cashier, ward.visit_id, now=NOW)
    async with db.read() as session:
        total = (await billing.invoice_view(session, ward.clinic.cashier, invoice_id)).invoice.total
    at_cashier = await state(db, ward.visit_id)
    assert (at_cashier.stage, at_cashier.kind, at_cashier.amount_due) == (Stage.WAITING, QueueKind.CASHIER, total)
    assert total == 150_000
    async with db.write() as session:
        await billing.pay(session, ward.clinic.cashier, invoice_id, [Tender(billing.PaymentMethod.CASH, total)],
                          now=NOW)
    done = await state(db, ward.visit_id)
    assert (done.stage, done.label, done.amount_due) == (Stage.DONE, '', None)


async def test_it_reveals_nothing_of_other_patients(db):
    ward = await make_ward(db)
    other = await walk_in(db, ward, 1)
    async with db.read() as session:
        patient = await session.get(Patient, (await session.get(Visit, other.visit_id)).patient_id)
        names = [(patient.full_name, patient.code, patient.phone, patient.email)]
    mine = await state(db, ward.visit_id)
    text = repr(dataclasses.asdict(mine))
    for name, code, phone, email in names:
        for secret in (name, code, phone, email, other.label):
            assert secret not in text, secret
    # and nothing of the patient's own name either: the link may be seen over a shoulder
    assert 'Lê Thị Hồng' not in text and 'P0000001' not in text


async def test_forged_expired_and_stale_links_are_refused(db):
    ward = await make_ward(db)
    good = token(ward.visit_id)
    payload, _, signature = good.partition('.')
    async with db.read() as session:
        for bad in (good[:-2], 'x' * 30, f'{token(ward.visit_id + 1).partition(".")[0]}.{signature}', ''):
            with pytest.raises(InvalidLink, match='This link is not valid'):
                await ticket_status.read(session, bad, settings=SETTINGS, now=LATER)
        with pytest.raises(InvalidLink):  # well signed, but no such visit
            await ticket_status.read(session, token(ward.visit_id + 99), settings=SETTINGS, now=LATER)
        with pytest.raises(ExpiredLink, match='This ticket was for Monday, 23 November 2026; it has expired') as \
                expired:
            await ticket_status.read(session, good, settings=SETTINGS, now=NOW + timedelta(days=1))
        assert expired.value.day == TODAY


async def test_the_link_for_a_ticket_opens_its_visit_at_the_clinics_public_address_or_the_staff_pages(db):
    ward = await make_ward(db)
    async with db.read() as session:
        issued = (await checkin.ticket_for_visit(session, ward.clinic.reception, ward.visit_id)).issued_at
    local = ticket_status.link_for(ward.visit_id, issued, SETTINGS.model_copy(update={'public_url': ''}),
                                   base_url='http://192.168.1.10:8080/')
    assert local.startswith('http://192.168.1.10:8080/t/')
    public = ticket_status.link_for(ward.visit_id, issued, SETTINGS.model_copy(
        update={'public_url': 'https://clinic.example.vn'}), base_url='http://192.168.1.10:8080/')
    assert public.startswith('https://clinic.example.vn/t/')
    assert public.rsplit('/', 1)[1] == token(ward.visit_id)  # the visit's own day: the same token
    async with db.read() as session:
        shown = await ticket_status.read(session, public.rsplit('/', 1)[1], settings=SETTINGS, now=LATER)
    assert shown.label == 'A-001'
