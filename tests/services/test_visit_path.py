"""The visit's path: finishing with results still open, waiting for them (the lab ticket, back to the doctor's
queue ahead of new arrivals, "results ready" after commit), moving on to the pharmacy and the cashier, closing on
payment or on a deferred payment, and where reception sees each patient."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from models import MedicalRecord, Queue, QueueKind, QueueTicket, RecordStatus, TicketStatus, Visit, VisitStatus
from services import billing, checkin, consultation, orders, pharmacy, prescriptions, queue, visit_path
from services.billing import Tender
from services.core.errors import Conflict, PermissionDenied, ResultsPending, ValidationError
from services.core.events import ResultsReady, bus
from services.pharmacy import DispenseLine
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, Ward, make_ward
from tests.factories import NOW, TZ


async def visit(db, visit_id: int) -> Visit:
    async with db.read() as session:
        return await session.get(Visit, visit_id)


async def finish(db, ward: Ward, open_orders: str = 'refuse') -> consultation.Finished:
    async with db.write() as session:
        return await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW, open_orders=open_orders)


async def order_blood_count(db, ward: Ward) -> int:
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        return (await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW))[0].id


async def complete(db, ward: Ward, order_id: int, at=NOW) -> None:
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='Normal blood count',
                                   values=[orders.ResultValue('WBC', '7.2', '10^9/L', '4-10')], complete=True, now=at)


async def doctor_queue(db, ward: Ward) -> queue.QueueView:
    async with db.read() as session:
        queue_id = (await queue.queue_for_doctor(session, ward.clinic.doctor_ids[0])).id
        return await queue.queue_view(session, ward.clinic.reception, queue_id, tz=TZ, now=NOW + timedelta(hours=1))


async def where(db, ward: Ward) -> dict[int, visit_path.Place]:
    async with db.read() as session:
        return {p.visit_id: p for p in await visit_path.places(session, ward.clinic.reception, day=TODAY)}


async def test_finish_with_a_result_still_open_is_refused_and_changes_nothing(db):
    ward = await make_ward(db)
    await order_blood_count(db, ward)
    with pytest.raises(ResultsPending, match='One ordered test has no result yet'):
        await finish(db, ward)
    async with db.read() as session:
        assert (await session.exec(select(MedicalRecord.status))).one() == RecordStatus.DRAFT
    assert (await visit(db, ward.visit_id)).status == VisitStatus.WAITING
    assert [t.label for t in (await doctor_queue(db, ward)).waiting] == ['A-001']


async def test_waiting_for_results_sends_the_patient_to_the_lab_with_a_ticket(db):
    ward = await make_ward(db)
    await order_blood_count(db, ward)
    done = await finish(db, ward, 'wait')
    assert (done.status, done.ticket_label, done.awaiting_results) == (VisitStatus.IN_SERVICES, 'L-001', True)
    seen = await visit(db, ward.visit_id)
    assert seen.awaiting_results and seen.status == VisitStatus.IN_SERVICES
    async with db.read() as session:
        assert (await session.exec(select(MedicalRecord.status))).one() == RecordStatus.DRAFT  # finished later
        lab = await queue.queue_view(session, ward.technician, ward.lab_queue_id, tz=TZ, now=NOW)
    assert [t.label for t in lab.waiting] == ['L-001']
    assert (await doctor_queue(db, ward)).waiting == []
    assert (await where(db, ward))[ward.visit_id].where == 'At the lab (L-001)'


async def test_the_last_result_brings_the_patient_back_to_the_doctor_ahead_of_a_newer_walk_in(db):
    ward = await make_ward(db)
    first, second = await order_blood_count(db, ward), None
    async with db.write() as session:
        second = (await orders.place(session, ward.doctor, ward.visit_id, [ward.xray_id], now=NOW))[0].id
    await finish(db, ward, 'wait')
    async with db.write() as session:  # a new patient arrives while the first is at the lab, even one who goes first
        await checkin.walk_in(session, ward.clinic.reception, patient_id=ward.clinic.patient_ids[1],
                              doctor_id=ward.clinic.doctor_ids[0], tz=TZ, now=NOW + timedelta(minutes=5),
                              priority=1, priority_reason='Elderly')
    ready: list[ResultsReady] = []
    bus.subscribe(ResultsReady, ready.append)
    await complete(db, ward, first)
    await asyncio.sleep(0)
    assert ready == [] and (await visit(db, ward.visit_id)).awaiting_results  # the X-ray is still to do
    async with db.write() as session:
        await orders.record_result(session, ward.technician, second, text='Clear lungs', values=[], complete=True,
                                   now=NOW + timedelta(minutes=30))
    await asyncio.sleep(0)  # told right after the commit
    assert [(e.visit_id, e.doctor_id) for e in ready] == [(ward.visit_id, ward.clinic.doctor_ids[0])]
    waiting = (await doctor_queue(db, ward)).waiting
    assert [(t.patient_code, t.back_with_results) for t in waiting] == [('P0000001', True), ('P0000002', False)]
    back = await visit(db, ward.visit_id)
    assert (back.status, back.awaiting_results) == (VisitStatus.WAITING, False)
    assert (await where(db, ward))[ward.visit_id].where == 'Back with Dr. Lan — results ready'


async def test_after_the_results_the_doctor_finishes_and_the_visit_goes_on_and_closes_when_paid(db):
    ward = await make_ward(db)
    order_id = await order_blood_count(db, ward)
    async with db.write() as session:
        await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5'), today=TODAY, now=NOW)
    await finish(db, ward, 'wait')
    await complete(db, ward, order_id)
    back = (await doctor_queue(db, ward)).waiting[0]
    async with db.write() as session:
        await queue.start(session, ward.doctor, back.id, now=NOW)
    assert (await where(db, ward))[ward.visit_id].where == 'With Dr. Lan'  # in again: no longer "results ready"
    assert (await finish(db, ward)).status == VisitStatus.AWAITING_PHARMACY
    assert (await where(db, ward))[ward.visit_id].where == 'At the pharmacy'
    async with db.read() as session:
        rx = (await prescriptions.pharmacy_queue(session, ward.pharmacist))[0].prescription_id
        item = (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id
    async with db.write() as session:
        await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item, 15)], today=TODAY, now=NOW)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.AWAITING_PAYMENT
    place = (await where(db, ward))[ward.visit_id]
    assert place.where == 'At the cashier' and not place.done
    async with db.write() as session:
        invoice_id = await billing.bill_visit(session, ward.clinic.cashier, ward.visit_id, now=NOW)
    async with db.read() as session:
        total = (await billing.invoice_view(session, ward.clinic.cashier, invoice_id)).invoice.total
    assert (await where(db, ward))[ward.visit_id].open == [f'To pay {total:,}']
    async with db.write() as session:
        paid = await billing.pay(session, ward.clinic.cashier, invoice_id, [Tender(billing.PaymentMethod.CASH, total)],
                                 now=NOW)
    assert paid.visit_paid
    closed = await visit(db, ward.visit_id)
    assert (closed.status, closed.closed_at, closed.close_reason) == (VisitStatus.CLOSED, NOW, '')
    place = (await where(db, ward))[ward.visit_id]
    assert (place.where, place.open, place.done) == ('Done', [], True)


async def test_finishing_now_without_waiting_sends_the_results_to_the_chart_and_the_patient_on(db):
    ward = await make_ward(db)
    order_id = await order_blood_count(db, ward)
    done = await finish(db, ward, 'finish')
    assert (done.status, done.ticket_label, done.awaiting_results) == (VisitStatus.IN_SERVICES, 'L-001', False)
    await complete(db, ward, order_id)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.AWAITING_PAYMENT  # no prescription: to the cashier
    assert (await doctor_queue(db, ward)).waiting == []  # not back to the doctor


async def test_a_deferred_payment_closes_the_visit_unpaid(db):
    ward = await make_ward(db)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    assert (await finish(db, ward)).status == VisitStatus.AWAITING_PAYMENT
    with pytest.raises(PermissionDenied):
        async with db.write() as session:
            await billing.defer_payment(session, ward.doctor, ward.visit_id, 'Pays next week', now=NOW)
    with pytest.raises(ValidationError, match='why'):
        async with db.write() as session:
            await billing.defer_payment(session, ward.clinic.cashier, ward.visit_id, ' ', now=NOW)
    async with db.write() as session:
        await billing.defer_payment(session, ward.clinic.cashier, ward.visit_id, 'Insurer confirms tomorrow',
                                    now=NOW)
    closed = await visit(db, ward.visit_id)
    assert (closed.status, closed.payment_deferred_reason) == (VisitStatus.CLOSED, 'Insurer confirms tomorrow')
    assert (await where(db, ward))[ward.visit_id].open == ['Payment deferred']
    with pytest.raises(Conflict, match='already closed'):
        async with db.write() as session:
            await billing.defer_payment(session, ward.clinic.cashier, ward.visit_id, 'Again', now=NOW)


async def test_reception_sees_who_waits_for_whom(db):
    ward = await make_ward(db)
    places = await where(db, ward)
    assert (places[ward.visit_id].where, places[ward.visit_id].doctor) == ('Waiting for Dr. Lan', 'Dr. Lan')
    async with db.read() as session:
        ticket = (await session.exec(select(QueueTicket))).one()
    async with db.write() as session:
        await queue.start(session, ward.doctor, ticket.id, now=NOW)
    assert (await where(db, ward))[ward.visit_id].where == 'With Dr. Lan'
    await order_blood_count(db, ward)
    assert (await where(db, ward))[ward.visit_id].open == ['1 result pending']
    await finish(db, ward, 'wait')
    assert (await where(db, ward))[ward.visit_id].open == ['1 result pending (the doctor waits for them)']
    async with db.read() as session:
        assert (await session.get(QueueTicket, ticket.id)).status == TicketStatus.TRANSFERRED
    with pytest.raises(PermissionDenied):
        async with db.read() as session:
            await visit_path.places(session, ward.doctor, day=TODAY)


async def windows(db) -> tuple[int, int]:
    """The clinic calls its pharmacy and cashier windows through queues (R and K)."""
    async with db.write() as session:
        pharmacy_queue = Queue(name='Pharmacy', prefix='R', kind=QueueKind.PHARMACY)
        cashier_queue = Queue(name='Cashier', prefix='K', kind=QueueKind.CASHIER)
        session.add_all([pharmacy_queue, cashier_queue])
        await session.commit()
        return pharmacy_queue.id, cashier_queue.id


async def tickets_of(db, visit_id: int) -> list[tuple[int, TicketStatus, str]]:
    async with db.read() as session:
        rows = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == visit_id)
                                   .order_by(QueueTicket.id))).all()
        return [(t.queue_id, t.status, t.close_reason) for t in rows]


async def test_the_patients_ticket_follows_the_visit_to_the_pharmacy_and_the_cashier_and_ends_when_paid(db):
    ward = await make_ward(db)
    pharmacy_queue, cashier_queue = await windows(db)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
        await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5'), today=TODAY, now=NOW)
    finished = await finish(db, ward)
    assert (finished.status, finished.ticket_label) == (VisitStatus.AWAITING_PHARMACY, 'R-001')
    assert (await tickets_of(db, ward.visit_id))[-1][:2] == (pharmacy_queue, TicketStatus.WAITING)
    async with db.read() as session:
        rx = (await prescriptions.pharmacy_queue(session, ward.pharmacist))[0].prescription_id
        item = (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id
    async with db.write() as session:
        await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item, 15)], today=TODAY, now=NOW)
    held = await tickets_of(db, ward.visit_id)
    assert held[-2][:2] == (pharmacy_queue, TicketStatus.TRANSFERRED)
    assert held[-1][:2] == (cashier_queue, TicketStatus.WAITING)
    async with db.write() as session:
        invoice_id = await billing.bill_visit(session, ward.clinic.cashier, ward.visit_id, now=NOW)
    async with db.read() as session:
        total = (await billing.invoice_view(session, ward.clinic.cashier, invoice_id)).invoice.total
    async with db.write() as session:
        await billing.pay(session, ward.clinic.cashier, invoice_id, [Tender(billing.PaymentMethod.CASH, total)],
                          now=NOW)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.CLOSED
    assert (await tickets_of(db, ward.visit_id))[-1] == (cashier_queue, TicketStatus.DONE, 'Visit closed')


async def test_a_patient_sent_to_the_lab_from_the_worklist_also_comes_back_when_the_results_are_in(db):
    ward = await make_ward(db)
    order_id = await order_blood_count(db, ward)
    async with db.write() as session:  # "Send to…" on the worklist: a plain move to the lab's queue
        ticket = await queue.active_ticket(session, ward.visit_id)
        await queue.transfer(session, ward.doctor, ticket.id, ward.lab_queue_id, tz=TZ, now=NOW)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.IN_SERVICES
    await complete(db, ward, order_id)
    back = (await doctor_queue(db, ward)).waiting
    assert [t.back_with_results for t in back] == [True]
    assert (await visit(db, ward.visit_id)).status == VisitStatus.WAITING


async def test_a_booked_patient_back_from_the_lab_keeps_the_appointment_time(db):
    """The lab's ticket has no appointment time (there patients join the line as they come); back in the doctor's
    queue the patient is still the booked one, not a walk-in."""
    ward = await make_ward(db)
    booked = NOW + timedelta(minutes=20)
    async with db.write() as session:
        ticket = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == ward.visit_id))).one()
        ticket.appointment_at = booked
        session.add(ticket)
        await session.commit()
    order_id = await order_blood_count(db, ward)
    await finish(db, ward, 'wait')
    await complete(db, ward, order_id)
    [back] = (await doctor_queue(db, ward)).waiting
    assert (back.back_with_results, back.appointment_at) == (True, booked)
