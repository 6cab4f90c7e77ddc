"""Check-in: the patient has arrived. Opens the visit, marks them waiting and issues their queue ticket."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
from .core.errors import Conflict, DomainError, NotFound, ValidationError
from .core.events import AppointmentChanged, QueueChanged, VisitChanged, publish
from .core.i18n import _, pick


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
                  queue_name=queue_row.name,
                  room=f'{room.code} {pick(room.name, room.name_translations)}'.strip() if room else '',
                  patient_name=patient.full_name, patient_code=patient.code, issued_at=ticket.created_at,
                  waiting_ahead=ahead)


def refusal(appointment: Appointment, *, tz: ZoneInfo, now: datetime) -> DomainError | None:
    """Why ``appointment`` cannot be checked in now (already checked in, cancelled or done, another day), or None.
    The same rules at the reception desk and at the self check-in kiosk."""
    if appointment.status == AppointmentStatus.CHECKED_IN:
        return Conflict(_('This patient is already checked in.'))
    if appointment.status not in booking.CHANGEABLE:
        return Conflict(booking.status_refusal(appointment.status, checking_in=True))
    day = appointment.start_at.astimezone(tz).date()
    if day != local_today(tz, now):
        return ValidationError(_('This appointment is for {day}, not today. Reschedule it, or '
                                 'register the patient as a walk-in.').format(day=day.strftime("%d/%m/%Y")))
    return None


@action
async def check_in(session: AsyncSession, actor: Actor, appointment_id: int, *, tz: ZoneInfo, now: datetime,
                   priority: int = 0, priority_reason: str = '', phone: str | None = None,
                   email: str | None = None) -> Ticket:
    """Check in a booked patient on the day of their appointment. A phone or email corrected at the desk is saved
    with it: both, or neither."""
    require(actor, Role.RECEPTIONIST)
    priority_reason = queue.check_priority(priority, priority_reason)
    await serialize(session, booking.BOOKING_LOCK)
    appointment = await load(session, Appointment, appointment_id, _('This appointment does not exist.'))
    if (refused := refusal(appointment, tz=tz, now=now)) is not None:
        raise refused
    today = local_today(tz, now)
    await patients.change_contact(session, actor, appointment.patient_id, phone=phone, email=email, today=today)
    return await _open_visit(session, actor, appointment, today=today, now=now, walk_in=False, priority=priority,
                             priority_reason=priority_reason)


async def check_in_unattended(session: AsyncSession, appointment_id: int, *, tz: ZoneInfo, now: datetime,
                              source: str) -> Ticket:
    """The patient checks themselves in (the kiosk, which proved who they are before calling this): the desk's
    rules, no priority, no contact change. ``source`` names the kiosk in the audit log. In the caller's
    transaction."""
    await serialize(session, booking.BOOKING_LOCK)
    appointment = await load(session, Appointment, appointment_id, _('This appointment does not exist.'))
    if (refused := refusal(appointment, tz=tz, now=now)) is not None:
        raise refused
    return await _open_visit(session, None, appointment, today=local_today(tz, now), now=now, walk_in=False,
                             priority=0, priority_reason='', source=source)


@action
async def walk_in(session: AsyncSession, actor: Actor, *, patient_id: int, doctor_id: int, tz: ZoneInfo,
                  now: datetime, service_id: int | None = None, reason: str = '', priority: int = 0,
                  priority_reason: str = '') -> Ticket:
    """A patient without an appointment: today's next place in the doctor's queue, no fixed time."""
    require(actor, Role.RECEPTIONIST)
    priority_reason = queue.check_priority(priority, priority_reason)
    return await _walk_in(session, actor, patient_id=patient_id, doctor_id=doctor_id, tz=tz, now=now,
                          service_id=service_id, reason=reason, priority=priority, priority_reason=priority_reason)


async def walk_in_unattended(session: AsyncSession, *, patient_id: int, doctor_id: int, tz: ZoneInfo, now: datetime,
                             source: str) -> Ticket:
    """A known patient takes a walk-in ticket themselves (the kiosk, which proved who they are): the doctor's
    consultation, the desk's rules. In the caller's transaction."""
    return await _walk_in(session, None, patient_id=patient_id, doctor_id=doctor_id, tz=tz, now=now,
                          service_id=None, reason='', priority=0, priority_reason='', source=source)


async def _walk_in(session: AsyncSession, actor: Actor | None, *, patient_id: int, doctor_id: int, tz: ZoneInfo,
                   now: datetime, service_id: int | None, reason: str, priority: int, priority_reason: str,
                   source: str = '') -> Ticket:
    reason = reason.strip()
    if len(reason) > 500:
        raise ValidationError(_('The reason can have at most 500 characters.'), 'reason')
    await serialize(session, booking.BOOKING_LOCK)
    if (patient := await session.get(Patient, patient_id)) is None:
        raise NotFound(_('This patient does not exist.'))
    patients.refuse_merged(patient)
    if service_id is None:
        service = await booking.consultation_service_for(session, doctor_id)
        if service is None:
            raise ValidationError(_('This doctor has no consultation service: please choose the service.'), 'service')
        service_id = service.id
    __, service, doctor = await booking.check_bookable(session, patient_id=patient_id, service_id=service_id,
                                                 doctor_id=doctor_id)
    today = local_today(tz, now)
    duty = (await _duties(session, [doctor.id], today, now.astimezone(tz).time()))[doctor.id]
    room_id = _walk_in_room(doctor, duty)
    appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=patient_id, doctor_id=doctor_id, room_id=room_id,
                              start_at=now, end_at=now + timedelta(minutes=service.duration_minutes),
                              source=BookingSource.WALK_IN, reason=reason,
                              created_by_id=actor.user_id if actor else None)
    session.add(appointment)
    await session.flush()
    session.add(AppointmentService(appointment_id=appointment.id, service_id=service_id))
    return await _open_visit(session, actor, appointment, today=today, now=now, walk_in=True, priority=priority,
                             priority_reason=priority_reason, source=source)


# -- who can see a walk-in now ------------------------------------------------------------------------------

ON_DUTY, LATER_TODAY, OFF_TODAY = 'on_duty', 'later_today', 'off_today'


@dataclass(frozen=True)
class Duty:
    """Where a doctor stands at one moment of a clinic-local day. A walk-in is taken while the doctor is on duty,
    and also before their first hours or during a break (the patient waits for them); not once their last hours of
    the day have ended, on a day they do not work, or on leave."""
    state: str                # ON_DUTY, LATER_TODAY or OFF_TODAY
    note: str                 # 'On duty until 12:00', 'Starts at 08:00', 'Back at 13:30', 'Hours today ended at 17:00'
    hours: str                # '08:00–12:00, 13:30–17:00' ('' on a day off)
    room_id: int | None       # the room of the current (or next) hours
    starts_at: time | None    # LATER_TODAY: when the next hours start
    refusal: str = ''         # OFF_TODAY: why no walk-in (translated), of '{doctor}'

    @property
    def takes_walk_ins(self) -> bool:
        return self.state != OFF_TODAY


def duty_at(blocks: list[WorkingHours], *, on_leave: bool, at: time) -> Duty:
    """A doctor's duty at the clinic-local time ``at``, from their working hours of the day (``blocks``)."""
    blocks = sorted(blocks, key=lambda b: b.start_time)
    hours = ', '.join(f'{b.start_time:%H:%M}–{b.end_time:%H:%M}' for b in blocks)
    if on_leave:
        return Duty(OFF_TODAY, _('On leave today'), hours, None, None,
                    _('{doctor} is on leave today. Please choose a doctor on duty.'))
    if not blocks:
        return Duty(OFF_TODAY, _('Not working today'), '', None, None,
                    _('{doctor} does not work today. Please choose a doctor on duty.'))
    current = next((b for b in blocks if b.start_time <= at < b.end_time), None)
    if current is not None:
        return Duty(ON_DUTY, _('On duty until {time}').format(time=f'{current.end_time:%H:%M}'), hours,
                    current.room_id, None)
    upcoming = next((b for b in blocks if at < b.start_time), None)
    if upcoming is not None:
        start = f'{upcoming.start_time:%H:%M}'
        note = _('Back at {time}').format(time=start) if blocks[0].start_time < at else \
            _('Starts at {time}').format(time=start)
        return Duty(LATER_TODAY, note, hours, upcoming.room_id, upcoming.start_time)
    ended = f'{max(b.end_time for b in blocks):%H:%M}'
    return Duty(OFF_TODAY, _('Hours today ended at {time}').format(time=ended), hours, None, None,
                _("{doctor}'s hours today ended at {time}. Please choose a doctor on duty.").replace('{time}', ended))


async def _duties(session: AsyncSession, doctor_ids: list[int], today: date, at: time) -> dict[int, Duty]:
    """Each doctor's duty at the clinic-local ``at`` of ``today`` (working hours of the weekday, leave)."""
    on_leave = set((await session.exec(select(DoctorLeave.doctor_id).where(
        DoctorLeave.doctor_id.in_(doctor_ids), DoctorLeave.start_date <= today,
        DoctorLeave.end_date >= today))).all())
    blocks: dict[int, list[WorkingHours]] = defaultdict(list)
    for block in (await session.exec(select(WorkingHours).where(WorkingHours.doctor_id.in_(doctor_ids),
                                                                WorkingHours.weekday == today.weekday()))).all():
        blocks[block.doctor_id].append(block)
    return {doctor_id: duty_at(blocks[doctor_id], on_leave=doctor_id in on_leave, at=at) for doctor_id in doctor_ids}


def _walk_in_room(doctor: Doctor, duty: Duty) -> int:
    """The room where the doctor sees the walk-in; refused when the doctor takes no walk-in now."""
    if duty.room_id is not None:
        return duty.room_id
    name = f'{doctor.title} {doctor.full_name}'.strip()
    raise ValidationError(duty.refusal.replace('{doctor}', name), 'doctor')


@dataclass(frozen=True)
class WalkInDoctor:
    """A doctor as the walk-in dialog shows them."""
    id: int
    name: str
    specialties: str
    state: str                # ON_DUTY, LATER_TODAY or OFF_TODAY
    duty: str                 # 'On duty until 12:00', 'Hours today ended at 17:00', ...
    hours_today: str          # '08:00–12:00, 13:30–17:00'
    waiting: int              # patients waiting in their queue
    wait_minutes: int | None  # about how long a walk-in given a ticket now would wait (None: takes none now)
    suggested: bool           # practises a specialty the complaint suggests

    @property
    def takes_walk_ins(self) -> bool:
        return self.state != OFF_TODAY

    @property
    def on_duty(self) -> bool:
        return self.state == ON_DUTY


_DUTY_ORDER = {ON_DUTY: 0, LATER_TODAY: 1, OFF_TODAY: 2}


@query
async def walk_in_doctors(session: AsyncSession, actor: Actor, *, tz: ZoneInfo, now: datetime,
                          complaint: str = '') -> list[WalkInDoctor]:
    """Every active doctor for a walk-in now: on duty first, then those whose hours start later today, then those
    who take no walk-in (hours ended, not working today, on leave); the doctors of the specialties ``complaint``
    suggests first within each. With their hours today, the patients waiting and the probable wait."""
    require(actor, Role.RECEPTIONIST)
    return await walk_in_doctor_list(session, tz=tz, now=now, complaint=complaint)


async def walk_in_doctor_list(session: AsyncSession, *, tz: ZoneInfo, now: datetime,
                              complaint: str = '') -> list[WalkInDoctor]:
    """``walk_in_doctors`` without the staff check (the kiosk checks its own key)."""
    doctors = await booking.doctors_for(session)
    found = await booking.specialties_for_complaint(session, complaint) if complaint.strip() else []
    fitting = {d.id for d in await booking.doctors_for(session, specialty_ids=[s.id for s in found])} if found \
        else set()
    today = local_today(tz, now)
    duties = await _duties(session, [d.id for d in doctors], today, now.astimezone(tz).time())
    queues = list((await session.exec(select(Queue).where(Queue.doctor_id.in_([d.id for d in doctors])))).all())
    views = {view.doctor_id: view for view in await queue.load_views(session, queues, day=today, now=now)}
    shown = []
    for doctor in doctors:
        duty, view = duties[doctor.id], views.get(doctor.id)
        wait = (view.wait_for_newcomer if view else 0) if duty.takes_walk_ins else None
        if wait is not None and duty.starts_at is not None:  # nobody is seen before the doctor starts
            start = datetime.combine(today, duty.starts_at, tzinfo=tz)
            wait += max(0, round((start - now).total_seconds() / 60))
        shown.append(WalkInDoctor(id=doctor.id, name=doctor.name, specialties=doctor.specialties, state=duty.state,
                                  duty=duty.note, hours_today=duty.hours, waiting=len(view.waiting) if view else 0,
                                  wait_minutes=wait, suggested=doctor.id in fitting))
    return sorted(shown, key=lambda d: (_DUTY_ORDER[d.state], not d.suggested))


async def _open_visit(session: AsyncSession, actor: Actor | None, appointment: Appointment, *, today,
                      now: datetime, walk_in: bool, priority: int, priority_reason: str, source: str = '') -> Ticket:
    patient = await session.get(Patient, appointment.patient_id)
    visit = Visit(patient_id=appointment.patient_id, appointment_id=appointment.id, doctor_id=appointment.doctor_id,
                  visit_date=today, status=VisitStatus.WAITING, is_walk_in=walk_in, checked_in_at=now,
                  checked_in_by_id=actor.user_id if actor else None)
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
                 detail=queue.ticket_label(doctor_queue.prefix, ticket.number), username=source)
    result = await _ticket(session, ticket, doctor_queue, patient)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    publish(session, QueueChanged(queue_id=doctor_queue.id, ticket_id=ticket.id, visit_id=visit.id, action='issued',
                                  label=result.label))
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return result


@query
async def ticket_for_visit(session: AsyncSession, actor: Actor, visit_id: int) -> Ticket:
    """The ticket of a visit, e.g. to print the slip again (reception; the doctor who sent the patient on)."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    return await latest_ticket(session, visit_id)


async def latest_ticket(session: AsyncSession, visit_id: int) -> Ticket:
    """``ticket_for_visit`` without the staff check (the kiosk prints the ticket it has just issued)."""
    ticket = (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == visit_id)
                                 .order_by(QueueTicket.id.desc()))).first()
    if ticket is None:
        raise NotFound(_('This visit has no queue ticket.'))
    queue_row = await session.get(Queue, ticket.queue_id)
    patient = await session.get(Patient, ticket.patient_id)
    return await _ticket(session, ticket, queue_row, patient)


@query
async def visit_of_appointment(session: AsyncSession, actor: Actor, appointment_id: int) -> int | None:
    require(actor, Role.RECEPTIONIST)
    return (await session.exec(select(Visit.id).where(Visit.appointment_id == appointment_id))).first()
