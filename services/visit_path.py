"""The visit's path: where the patient is now, what is still open, and when the visit is done.

One place decides the next step of a visit; the steps that can end a part of it call ``advance`` in their own
transaction (a result completed or an order cancelled, the consultation finished, medicines dispensed, the bill
paid or its payment deferred):

* The doctor waits for results (``awaiting_results``): when the last ordered result is in, the patient's ticket
  moves back to the ordering doctor's queue, marked ``back_with_results`` (served before new arrivals), and
  ``ResultsReady`` tells the doctor's worklist. The doctor then finishes the consultation as usual.
* Once the doctor finished: orders still open -> ``in_services`` (results go to the chart); a prescription never
  dispensed -> ``awaiting_pharmacy``; the bill not paid in full (and its payment not deferred by the cashier) ->
  ``awaiting_payment``; else the visit is ``closed``.

``places`` tells reception, for every visit of the day, where the patient is ("At the lab (L-003)", "Back with
Dr. Lan — results ready", "At the cashier", "Done") and what is still open.

This module builds on the queue only: orders, pharmacy, billing and the consultation call it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentStatus,
    Dispense,
    DispenseItem,
    Doctor,
    Invoice,
    InvoiceItem,
    InvoiceStatus,
    MedicalRecord,
    OrderStatus,
    Patient,
    Prescription,
    PrescriptionStatus,
    Queue,
    QueueKind,
    QueueTicket,
    RecordStatus,
    Role,
    Service,
    ServiceKind,
    ServiceOrder,
    TicketStatus,
    Visit,
    VisitStatus,
)

from . import queue
from .access import Actor, require
from .core.boundary import query
from .core.events import AppointmentChanged, ResultsReady, VisitChanged, publish
from .core.i18n import N_, _, ngettext, number

OPEN_ORDERS = (OrderStatus.PENDING, OrderStatus.IN_PROGRESS)
NOT_DISPENSED = (PrescriptionStatus.ISSUED,)  # a partly dispensed prescription: the pharmacy handed out what it could
OPEN_INVOICES = (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID)
WITH_DOCTOR = (VisitStatus.WAITING, VisitStatus.IN_CONSULTATION)
ENDED = (VisitStatus.CLOSED, VisitStatus.CANCELLED)
STATIONS = {QueueKind.LAB: N_('At the lab'), QueueKind.IMAGING: N_('At imaging'),  # in English: shown as _(text)
            QueueKind.PROCEDURE: N_('At procedures'), QueueKind.PHARMACY: N_('At the pharmacy'),
            QueueKind.CASHIER: N_('At the cashier')}
STATION_OF_ORDER = {ServiceKind.LAB: QueueKind.LAB, ServiceKind.IMAGING: QueueKind.IMAGING,
                    ServiceKind.PROCEDURE: QueueKind.PROCEDURE}


# -- the rules ---------------------------------------------------------------------------------------------------

async def open_order_count(session: AsyncSession, visit_id: int) -> int:
    return (await session.exec(select(sa.func.count()).select_from(ServiceOrder).where(
        ServiceOrder.visit_id == visit_id, ServiceOrder.status.in_(list(OPEN_ORDERS))))).one()


async def _signed(session: AsyncSession, visit_id: int) -> bool:
    return (await session.exec(select(MedicalRecord.id).where(
        MedicalRecord.visit_id == visit_id, MedicalRecord.status == RecordStatus.SIGNED))).first() is not None


async def _not_dispensed(session: AsyncSession, visit_id: int) -> bool:
    return (await session.exec(select(Prescription.id).where(
        Prescription.visit_id == visit_id, Prescription.status.in_(list(NOT_DISPENSED))))).first() is not None


async def payment_settled(session: AsyncSession, visit: Visit) -> bool:
    """The cashier deferred the payment, or every bill of the visit is paid and nothing done is left unbilled."""
    if visit.payment_deferred_at is not None:
        return True
    statuses = (await session.exec(select(Invoice.status).where(Invoice.visit_id == visit.id,
                                                                Invoice.status != InvoiceStatus.VOID))).all()
    if not statuses or any(status in OPEN_INVOICES for status in statuses):
        return False
    live = sa.not_(InvoiceItem.is_void)
    order_unbilled = select(ServiceOrder.id).where(
        ServiceOrder.visit_id == visit.id, ServiceOrder.status == OrderStatus.COMPLETED,
        ~select(InvoiceItem.id).where(InvoiceItem.service_order_id == ServiceOrder.id, live).exists())
    dispense_unbilled = select(DispenseItem.id).join(Dispense, Dispense.id == DispenseItem.dispense_id).where(
        Dispense.visit_id == visit.id,
        ~select(InvoiceItem.id).where(InvoiceItem.dispense_item_id == DispenseItem.id, live).exists())
    return (await session.exec(order_unbilled)).first() is None and \
        (await session.exec(dispense_unbilled)).first() is None


async def next_status(session: AsyncSession, visit: Visit) -> VisitStatus:
    """Where a visit whose consultation is over goes now."""
    if await open_order_count(session, visit.id):
        return VisitStatus.IN_SERVICES
    if await _not_dispensed(session, visit.id):
        return VisitStatus.AWAITING_PHARMACY
    if not await payment_settled(session, visit):
        return VisitStatus.AWAITING_PAYMENT
    return VisitStatus.CLOSED


async def advance(session: AsyncSession, actor: Actor, visit: Visit, *, now: datetime) -> None:
    """Move the visit on after one of its parts changed (the caller's transaction; nothing is committed here)."""
    if visit.status in ENDED:
        return
    sent_for_tests = visit.status == VisitStatus.IN_SERVICES and not await _signed(session, visit.id)
    if visit.awaiting_results or sent_for_tests:  # the doctor waits (also when sent on with the worklist's "Send to")
        if not await open_order_count(session, visit.id):
            await _back_with_results(session, actor, visit, now=now)
        return
    if visit.status in WITH_DOCTOR:
        return  # the doctor has not finished yet
    await _move_on(session, actor, visit, await next_status(session, visit), now=now)


async def consultation_over(session: AsyncSession, actor: Actor, visit: Visit, *, now: datetime) -> None:
    """The doctor finished (the record is signed): the visit goes on to where ``next_status`` says."""
    visit.awaiting_results = False
    visit.consultation_ended_at = now
    await _move_on(session, actor, visit, await next_status(session, visit), now=now, force=True)


async def _move_on(session: AsyncSession, actor: Actor, visit: Visit, status: VisitStatus, *, now: datetime,
                   force: bool = False) -> None:
    if status == visit.status and not force:
        return
    visit.status = status
    if status == VisitStatus.CLOSED:
        visit.closed_at = now
        await complete_appointment(session, visit)
    session.add(visit)
    await _follow(session, actor, visit, now=now)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=status.value))


FOLLOWING_QUEUE = {VisitStatus.AWAITING_PHARMACY: QueueKind.PHARMACY, VisitStatus.AWAITING_PAYMENT: QueueKind.CASHIER}


async def _follow(session: AsyncSession, actor: Actor, visit: Visit, *, now: datetime) -> None:
    """The patient's ticket follows the visit: into the pharmacy's or the cashier's queue when the clinic calls
    through one (a new number there, on the board), and out of every queue once the visit is closed."""
    if visit.status == VisitStatus.CLOSED:
        await queue.end_visit_tickets(session, visit.id, now=now)
        return
    kind = FOLLOWING_QUEUE.get(visit.status)
    target = await queue.station_queue(session, kind) if kind else None
    if target is None:
        return
    current = await queue.active_ticket(session, visit.id)
    if current is None or current.queue_id != target:
        await queue.move_patient(session, actor, visit.id, target, now=now)


async def complete_appointment(session: AsyncSession, visit: Visit) -> None:
    """The visit is over: its appointment (if booked) is completed, no longer "checked in"."""
    if visit.appointment_id is None:
        return
    appointment = await session.get(Appointment, visit.appointment_id)
    if appointment is not None and appointment.status in (AppointmentStatus.CHECKED_IN,
                                                          AppointmentStatus.IN_PROGRESS):
        appointment.status = AppointmentStatus.COMPLETED
        session.add(appointment)
        publish(session, AppointmentChanged(appointment_id=appointment.id))


async def _back_with_results(session: AsyncSession, actor: Actor, visit: Visit, *, now: datetime) -> None:
    """Every result the doctor waited for is in: the patient goes back to the doctor's queue, ahead of new
    arrivals; without a queue (the doctor works without one) the visit simply waits for the doctor again."""
    visit.awaiting_results = False
    doctor_queue = await queue.doctor_queue(session, visit.doctor_id)
    ticket = None
    if doctor_queue is not None:
        ticket = await queue.move_patient(session, actor, visit.id, doctor_queue, now=now, back_with_results=True)
    visit.status = VisitStatus.WAITING
    session.add(visit)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    publish(session, ResultsReady(visit_id=visit.id, doctor_id=visit.doctor_id, queue_id=doctor_queue,
                                  ticket_id=ticket.id if ticket else None))


# -- where is everyone (reception) ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    visit_id: int
    patient_name: str
    patient_code: str
    doctor: str            # "Dr. Lan"
    where: str             # "At the lab (L-003)", "Back with Dr. Lan — results ready", "Done"
    open: list[str] = field(default_factory=list)  # "1 result pending", "Medicines to collect", "To pay 150,000"
    status: VisitStatus = VisitStatus.WAITING
    done: bool = False


def doctor_name(title: str, full_name: str) -> str:
    """How staff call the doctor: the title and the given name (the last word of a Vietnamese name)."""
    words = full_name.split()
    return f'{title} {words[-1]}'.strip() if words else title


@dataclass(frozen=True)
class _Ticket:
    label: str
    kind: QueueKind
    status: TicketStatus
    back_with_results: bool


def _with(doctor: str) -> str:
    return _('With {doctor}').format(doctor=doctor) if doctor else _('With the doctor')


def _waiting_for(doctor: str) -> str:
    return _('Waiting for {doctor}').format(doctor=doctor) if doctor else _('Waiting for the doctor')


def where_text(visit: Visit, doctor: str, ticket: _Ticket | None, order_kinds: set[ServiceKind]) -> str:
    """Where the patient is: the ticket in hand says it best, then the visit's status."""
    if visit.status == VisitStatus.CANCELLED:
        return _('Cancelled')
    if visit.status in (VisitStatus.CLOSED, VisitStatus.PAID):
        return _('Closed: {reason}').format(reason=visit.close_reason) if visit.close_reason else _('Done')
    if ticket is not None and ticket.kind == QueueKind.DOCTOR and visit.status in WITH_DOCTOR:
        if ticket.status == TicketStatus.IN_SERVICE:
            return _with(doctor)
        if ticket.back_with_results:
            return (_('Back with {doctor} — results ready').format(doctor=doctor) if doctor else
                    _('Back with the doctor — results ready'))
        return _waiting_for(doctor)
    if ticket is not None and ticket.kind != QueueKind.DOCTOR and (
            visit.status == VisitStatus.IN_SERVICES or ticket.kind in (QueueKind.PHARMACY, QueueKind.CASHIER)):
        return _('{station} ({ticket})').format(station=_(STATIONS[ticket.kind]), ticket=ticket.label)
    if visit.status == VisitStatus.IN_SERVICES:
        kinds = sorted({STATION_OF_ORDER[kind] for kind in order_kinds}, key=list(STATIONS).index)
        return _(STATIONS[kinds[0]]) if kinds else _(STATIONS[QueueKind.LAB])
    if visit.status == VisitStatus.AWAITING_PHARMACY:
        return _(STATIONS[QueueKind.PHARMACY])
    if visit.status == VisitStatus.AWAITING_PAYMENT:
        return _(STATIONS[QueueKind.CASHIER])
    return _with(doctor) if visit.status == VisitStatus.IN_CONSULTATION else _waiting_for(doctor)


def open_texts(visit: Visit, pending_results: int, medicines: bool, balance: int) -> list[str]:
    texts = []
    if pending_results:
        texts.append(ngettext('{count} result pending (the doctor waits for them)',
                              '{count} results pending (the doctor waits for them)', pending_results)
                     if visit.awaiting_results else
                     ngettext('{count} result pending', '{count} results pending', pending_results))
    if medicines:
        texts.append(_('Medicines to collect'))
    if visit.payment_deferred_at is not None:
        texts.append(_('Payment deferred'))
    elif balance > 0:
        texts.append(_('To pay {amount}').format(amount=number(balance)))
    return texts


async def _tickets_of(session: AsyncSession, visit_ids: list[int]) -> dict[int, _Ticket]:
    rows = (await session.exec(
        select(QueueTicket.visit_id, QueueTicket.number, QueueTicket.status, QueueTicket.back_with_results,
               Queue.prefix, Queue.kind)
        .join(Queue, Queue.id == QueueTicket.queue_id)
        .where(QueueTicket.visit_id.in_(visit_ids), QueueTicket.status.in_(list(queue.MOVABLE)))
        .order_by(QueueTicket.id))).all()
    return {visit_id: _Ticket(queue.ticket_label(prefix, number), kind, status, back)
            for visit_id, number, status, back, prefix, kind in rows}  # the latest ticket of each visit wins


async def _open_parts(session: AsyncSession, visit_ids: list[int]):
    orders: dict[int, list[ServiceKind]] = defaultdict(list)
    for visit_id, kind in (await session.exec(
            select(ServiceOrder.visit_id, Service.kind).join(Service, Service.id == ServiceOrder.service_id)
            .where(ServiceOrder.visit_id.in_(visit_ids), ServiceOrder.status.in_(list(OPEN_ORDERS))))).all():
        orders[visit_id].append(kind)
    medicines = set((await session.exec(select(Prescription.visit_id).where(
        Prescription.visit_id.in_(visit_ids), Prescription.status.in_(list(NOT_DISPENSED))))).all())
    balances = dict((await session.exec(
        select(Invoice.visit_id, sa.func.sum(Invoice.total - Invoice.amount_paid))
        .where(Invoice.visit_id.in_(visit_ids), Invoice.status.in_(list(OPEN_INVOICES)))
        .group_by(Invoice.visit_id))).all())
    return orders, medicines, balances


@query
async def places(session: AsyncSession, actor: Actor, *, day: date) -> list[Place]:
    """Every visit of ``day`` with where the patient is and what is still open; the visits still under way first
    (by arrival), then those done."""
    require(actor, Role.RECEPTIONIST)
    rows = (await session.exec(
        select(Visit, Patient.full_name, Patient.code, Doctor.title, Doctor.full_name)
        .join(Patient, Patient.id == Visit.patient_id).outerjoin(Doctor, Doctor.id == Visit.doctor_id)
        .where(Visit.visit_date == day).order_by(Visit.checked_in_at, Visit.id))).all()
    visit_ids = [row[0].id for row in rows]
    if not visit_ids:
        return []
    tickets = await _tickets_of(session, visit_ids)
    orders, medicines, balances = await _open_parts(session, visit_ids)
    result = []
    for visit, name, code, title, doctor_full in rows:
        doctor = doctor_name(title, doctor_full) if doctor_full else ''
        result.append(Place(
            visit.id, name, code, doctor, where_text(visit, doctor, tickets.get(visit.id), set(orders[visit.id])),
            open_texts(visit, len(orders[visit.id]), visit.id in medicines, int(balances.get(visit.id) or 0)),
            visit.status, visit.status in ENDED or visit.status == VisitStatus.PAID))
    return sorted(result, key=lambda place: place.done)
