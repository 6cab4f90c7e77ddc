"""Check-in: the patient has arrived. Opens the visit, marks them waiting and issues their queue ticket."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    BookingSource,
    Doctor,
    DoctorLeave,
    Patient,
    Queue,
    QueueTicket,
    Role,
    Room,
    Visit,
    VisitStatus,
    WorkingHours,
)

from . import audit, booking, patients, queue
from .access import Actor, require
from .core.boundary import action, query
from .core.clock import local_today
from .core.db import load, serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import AppointmentChanged, QueueChanged, VisitChanged, publish


@dataclass(frozen=True)
class Ticket:
    """What the patient's slip and the reception screen show."""
    visit_id: int
    ticket_id: int
    label: str
    queue_name: str
    room: str
    patient_name: str
    patient_code: str
    issued_at: datetime
    waiting_ahead: int


async def _ticket(session: AsyncSession, ticket: QueueTicket, queue_row: Queue, patient: Patient) -> Ticket:
    room = await session.get(Room, ticket.room_id) if ticket.room_id else None
    ahead = await queue.ahead_of(session, ticket)
    return Ticket(visit_id=ticket.visit_id, ticket_id=ticket.id, label=queue.ticket_label(queue_row.prefix, ticket.number),
                  queue_name=queue_row.name, room=f'{room.code} {room.name}'.strip() if room else '',
                  patient_name=patient.full_name, patient_code=patient.code, issued_at=ticket.created_at,
                  waiting_ahead=ahead)


@action
async def check_in(session: AsyncSession, actor: Actor, appointment_id: int, *, tz: ZoneInfo, now: datetime,
                   priority: int = 0, priority_reason: str = '', phone: str | None = None,
                   email: str | None = None) -> Ticket:
    """Check in a booked patient on the day of their appointment. A phone or email corrected at the desk is saved
    with it: both, or neither."""
    require(actor, Role.RECEPTIONIST)
    priority_reason = queue.check_priority(priority, priority_reason)
    await serialize(session, booking.BOOKING_LOCK)
    appointment = await load(session, Appointment, appointment_id, 'This appointment does not exist.')
    if appointment.status == AppointmentStatus.CHECKED_IN:
        raise Conflict('This patient is already checked in.')
    if appointment.status not in booking.CHANGEABLE:
        raise Conflict(f'This appointment is {appointment.status.value.replace("_", " ")}: it cannot be checked in.')
    today = local_today(tz, now)
    day = appointment.start_at.astimezone(tz).date()
    if day != today:
        raise ValidationError(f'This appointment is for {day.strftime("%d/%m/%Y")}, not today. '
                              'Reschedule it, or register the patient as a walk-in.')
    await patients.change_contact(session, actor, appointment.patient_id, phone=phone, email=email, today=today)
    return await _open_visit(session, actor, appointment, today=today, now=now, walk_in=False, priority=priority,
                             priority_reason=priority_reason)


@action
async def walk_in(session: AsyncSession, actor: Actor, *, patient_id: int, doctor_id: int, tz: ZoneInfo,
                  now: datetime, service_id: int | None = None, reason: str = '', priority: int = 0,
                  priority_reason: str = '') -> Ticket:
    """A patient without an appointment: today's next place in the doctor's queue, no fixed time."""
    require(actor, Role.RECEPTIONIST)
    priority_reason = queue.check_priority(priority, priority_reason)
    reason = reason.strip()
    if len(reason) > 500:
        raise ValidationError('The reason can have at most 500 characters.', 'reason')
    await serialize(session, booking.BOOKING_LOCK)
    if await session.get(Patient, patient_id) is None:
        raise NotFound('This patient does not exist.')
    if service_id is None:
        service = await booking.consultation_service_for(session, doctor_id)
        if service is None:
            raise ValidationError('This doctor has no consultation service: please choose the service.', 'service')
        service_id = service.id
    _, service, doctor = await booking.check_bookable(session, patient_id=patient_id, service_id=service_id,
                                                 doctor_id=doctor_id)
    today = local_today(tz, now)
    room_id = await _room_today(session, doctor, today)
    appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=patient_id, doctor_id=doctor_id, room_id=room_id,
                              start_at=now, end_at=now + timedelta(minutes=service.duration_minutes),
                              source=BookingSource.WALK_IN, reason=reason, created_by_id=actor.user_id)
    session.add(appointment)
    await session.flush()
    session.add(AppointmentService(appointment_id=appointment.id, service_id=service_id))
    return await _open_visit(session, actor, appointment, today=today, now=now, walk_in=True, priority=priority,
                             priority_reason=priority_reason)


async def _room_today(session: AsyncSession, doctor: Doctor, today) -> int:
    on_leave = (await session.exec(select(DoctorLeave.id).where(DoctorLeave.doctor_id == doctor.id,
                                                                DoctorLeave.start_date <= today,
                                                                DoctorLeave.end_date >= today))).first()
    if on_leave is not None:
        raise ValidationError(f'{doctor.full_name} is on leave today. Please choose another doctor.', 'doctor')
    room_id = (await session.exec(select(WorkingHours.room_id).where(WorkingHours.doctor_id == doctor.id,
                                                                     WorkingHours.weekday == today.weekday())
                                  .order_by(WorkingHours.start_time))).first()
    if room_id is None:
        raise ValidationError(f'{doctor.full_name} does not work today. Please choose another doctor.', 'doctor')
    return room_id


async def _open_visit(session: AsyncSession, actor: Actor, appointment: Appointment, *, today, now: datetime,
                      walk_in: bool, priority: int, priority_reason: str) -> Ticket:
    patient = await session.get(Patient, appointment.patient_id)
    visit = Visit(patient_id=appointment.patient_id, appointment_id=appointment.id, doctor_id=appointment.doctor_id,
                  visit_date=today, status=VisitStatus.WAITING, is_walk_in=walk_in, checked_in_at=now,
                  checked_in_by_id=actor.user_id)
    session.add(visit)
    await session.flush()
    doctor_queue = await queue.queue_for_doctor(session, appointment.doctor_id)
    ticket = await queue.issue_ticket(session, queue=doctor_queue, visit_id=visit.id, patient_id=patient.id,
                                      day=today, appointment_at=None if walk_in else appointment.start_at,
                                      priority=priority, priority_reason=priority_reason)
    if appointment.room_id is not None:
        ticket.room_id = appointment.room_id
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.updated_at = now
    session.add_all([appointment, ticket])
    audit.record(session, actor, 'walk_in' if walk_in else 'checked_in', entity='visit', entity_id=visit.id,
                 detail=queue.ticket_label(doctor_queue.prefix, ticket.number))
    result = await _ticket(session, ticket, doctor_queue, patient)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    publish(session, QueueChanged(queue_id=doctor_queue.id, ticket_id=ticket.id, visit_id=visit.id, action='issued',
                                  label=result.label))
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return result


@query
async def ticket_for_visit(session: AsyncSession, actor: Actor, visit_id: int) -> Ticket:
    """The ticket of a visit, e.g. to print the slip again."""
    require(actor, Role.RECEPTIONIST)
    ticket = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == visit_id)
                                 .order_by(QueueTicket.id.desc()))).first()
    if ticket is None:
        raise NotFound('This visit has no queue ticket.')
    queue_row = await session.get(Queue, ticket.queue_id)
    patient = await session.get(Patient, ticket.patient_id)
    return await _ticket(session, ticket, queue_row, patient)


@query
async def visit_of_appointment(session: AsyncSession, actor: Actor, appointment_id: int) -> int | None:
    require(actor, Role.RECEPTIONIST)
    return (await session.exec(select(Visit.id).where(Visit.appointment_id == appointment_id))).first()
