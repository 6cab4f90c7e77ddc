"""Booking: which doctors fit, free slots, and booking, rescheduling, cancelling and no-shows.

Never a double booking: every change that takes a slot runs under one clinic-wide booking lock (SQLite writers
are serialized anyway; on PostgreSQL an advisory lock) and re-checks the doctor's and the room's appointments
and the online holds inside that transaction.
"""
from __future__ import annotations

import re
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    BookingSource,
    Doctor,
    DoctorLeave,
    DoctorService,
    DoctorSpecialty,
    Patient,
    Role,
    Room,
    Service,
    SlotHold,
    Specialty,
    WorkingHours,
)

from . import audit, clinic_settings, notifications, patients
from .access import Actor, require
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import AppointmentChanged, publish
from .core.i18n import _, pick
from .core.settings import Settings
from .text import search_key

ACTIVE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN,
          AppointmentStatus.IN_PROGRESS)
CHANGEABLE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
SLOT_STEP = timedelta(minutes=15)
MIN_LEAD = timedelta(minutes=5)
MAX_DAYS_AHEAD = 120
HOLD_TIME = timedelta(minutes=5)
BOOKING_LOCK = 'appointments'


@dataclass(frozen=True)
class Slot:
    doctor_id: int
    room_id: int
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class DoctorOption:
    id: int
    name: str
    specialties: str


# ---------------------------------------------------------------- choosing a service and a doctor

@query
async def bookable_services(session: AsyncSession) -> list[Service]:
    """Active services, but none of a deactivated specialty (reception and /book no longer offer them)."""
    retired = select(Specialty.id).where(Specialty.is_active.is_(False))
    query = select(Service).where(Service.is_active, or_(Service.specialty_id.is_(None),
                                                         Service.specialty_id.not_in(retired))) \
        .order_by(Service.kind, Service.name)
    return list((await session.exec(query)).all())


@query
async def specialties_for_complaint(session: AsyncSession, complaint: str) -> list[Specialty]:
    """Map what the patient says ("sore throat and fever", "đau ngực", "dau nguc") to specialties, best match first.

    The keywords may be in any language, with or without accents. A keyword found whole in the complaint counts
    most (by its length in words: "đau ngực" beats the "đau" of "đau đầu"); a keyword some of whose words occur
    counts a little (by the share of its words found)."""
    said = ' '.join(re.split(r'[^\w]+', search_key(complaint))).strip()
    words = {word for word in said.split(' ') if len(word) > 2}
    if not said:
        return []
    scored = []
    for specialty in (await session.exec(select(Specialty).where(Specialty.is_active)
                                         .order_by(Specialty.name))).all():  # a deactivated one is never suggested
        names = [specialty.name, *specialty.name_translations.values()]
        phrases = {search_key(p) for p in [*specialty.keywords.split(','), *names] if p.strip()}
        score = 0.0
        for phrase in phrases:
            phrase_words = phrase.split(' ')
            if f' {phrase} ' in f' {said} ':
                score += 3 * len(phrase_words)
            else:
                score += len(words & set(phrase_words)) / len(phrase_words)
        if score:
            scored.append((score, specialty))
    scored.sort(key=lambda pair: -pair[0])
    return [specialty for __, specialty in scored]


@query
async def doctors_for(session: AsyncSession, *, service_id: int | None = None,
                      specialty_ids: list[int] | None = None) -> list[DoctorOption]:
    """Active doctors who provide ``service_id`` and/or practise one of ``specialty_ids``."""
    query = select(Doctor).where(Doctor.is_active).order_by(Doctor.full_name)
    if service_id is not None:
        query = query.where(Doctor.id.in_(select(DoctorService.doctor_id).where(DoctorService.service_id == service_id)))
    if specialty_ids:
        query = query.where(Doctor.id.in_(select(DoctorSpecialty.doctor_id)
                                          .where(DoctorSpecialty.specialty_id.in_(specialty_ids))))
    doctors = list((await session.exec(query)).all())
    names: dict[int, list[str]] = defaultdict(list)
    rows = await session.exec(select(DoctorSpecialty.doctor_id, Specialty.name, Specialty.name_translations)
                              .join(Specialty, Specialty.id == DoctorSpecialty.specialty_id)
                              .where(DoctorSpecialty.doctor_id.in_([d.id for d in doctors]), Specialty.is_active))
    for doctor_id, name, translations in rows.all():
        names[doctor_id].append(pick(name, translations))  # in the reader's language when the clinic gave it
    return [DoctorOption(id=d.id, name=f'{d.title} {d.full_name}'.strip(), specialties=', '.join(sorted(names[d.id])))
            for d in doctors]


@query
async def consultation_service_for(session: AsyncSession, doctor_id: int) -> Service | None:
    """The consultation a doctor provides (what a walk-in gets by default)."""
    query = (select(Service).join(DoctorService, DoctorService.service_id == Service.id)
             .where(DoctorService.doctor_id == doctor_id, Service.is_active, Service.kind == 'consultation')
             .order_by(Service.price))
    return (await session.exec(query)).first()


# ---------------------------------------------------------------- free slots

@dataclass
class _Day:
    blocks: dict[int, list[tuple[datetime, datetime, int]]]   # doctor -> (start, end, room)
    busy_doctor: dict[int, list[tuple[datetime, datetime]]]
    busy_room: dict[int, list[tuple[datetime, datetime]]]


def _overlaps(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(s < end and start < e for s, e in intervals)


async def _load_day(session: AsyncSession, doctor_ids: list[int], day: date, tz: ZoneInfo, now: datetime, *,
                    exclude_appointment_id: int | None = None, hold_token: str | None = None) -> _Day:
    """Working blocks, and what already occupies the doctors and their rooms on one clinic-local day."""
    blocks: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    on_leave = set((await session.exec(select(DoctorLeave.doctor_id).where(
        DoctorLeave.doctor_id.in_(doctor_ids), DoctorLeave.start_date <= day, DoctorLeave.end_date >= day))).all())
    hours = await session.exec(select(WorkingHours).where(WorkingHours.doctor_id.in_(doctor_ids),
                                                          WorkingHours.weekday == day.weekday()))
    for block in hours.all():
        if block.doctor_id not in on_leave:
            blocks[block.doctor_id].append((_at(day, block.start_time, tz), _at(day, block.end_time, tz), block.room_id))
    day_start, day_end = _at(day, time.min, tz), _at(day + timedelta(days=1), time.min, tz)
    rooms = {room for doctor_blocks in blocks.values() for __, ___, room in doctor_blocks}
    busy_doctor: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    busy_room: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    taken = select(Appointment.doctor_id, Appointment.room_id, Appointment.start_at, Appointment.end_at).where(
        Appointment.status.in_(ACTIVE), Appointment.source != BookingSource.WALK_IN,
        Appointment.start_at < day_end, Appointment.end_at > day_start,
        or_(Appointment.doctor_id.in_(doctor_ids), Appointment.room_id.in_(rooms)))
    if exclude_appointment_id is not None:
        taken = taken.where(Appointment.id != exclude_appointment_id)
    held = select(SlotHold.doctor_id, SlotHold.room_id, SlotHold.start_at, SlotHold.end_at).where(
        SlotHold.expires_at > now, SlotHold.start_at < day_end, SlotHold.end_at > day_start,
        or_(SlotHold.doctor_id.in_(doctor_ids), SlotHold.room_id.in_(rooms)))
    if hold_token is not None:
        held = held.where(SlotHold.token != hold_token)
    for statement in (taken, held):
        for doctor_id, room_id, start, end in (await session.exec(statement)).all():
            busy_doctor[doctor_id].append((start, end))
            if room_id is not None:
                busy_room[room_id].append((start, end))
    return _Day(blocks, busy_doctor, busy_room)


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    from datetime import timezone
    return datetime.combine(day, moment, tzinfo=tz).astimezone(timezone.utc)


@query
async def free_slots(session: AsyncSession, *, service_id: int, doctor_ids: list[int], start_day: date, days: int,
                     tz: ZoneInfo, now: datetime, limit_per_day: int = 200) -> dict[date, list[Slot]]:
    """Free start times per clinic-local day for the service's duration, for any of ``doctor_ids``."""
    service = await session.get(Service, service_id)
    if service is None or not service.is_active:
        raise NotFound(_('This service is not offered (any more).'))
    duration = timedelta(minutes=service.duration_minutes)
    result: dict[date, list[Slot]] = {}
    for offset in range(max(0, min(days, MAX_DAYS_AHEAD))):
        day = start_day + timedelta(days=offset)
        loaded = await _load_day(session, doctor_ids, day, tz, now)
        slots: list[Slot] = []
        for doctor_id in doctor_ids:
            for block_start, block_end, room_id in sorted(loaded.blocks.get(doctor_id, [])):
                start = block_start
                while start + duration <= block_end:
                    end = start + duration
                    if (start >= now + MIN_LEAD and not _overlaps(loaded.busy_doctor[doctor_id], start, end)
                            and not _overlaps(loaded.busy_room[room_id], start, end)):
                        slots.append(Slot(doctor_id, room_id, start, end))
                    start += SLOT_STEP
        slots.sort(key=lambda s: (s.start_at, s.doctor_id))
        result[day] = slots[:limit_per_day]
    return result


async def _check_slot(session: AsyncSession, *, doctor_id: int, service: Service, start_at: datetime,
                      tz: ZoneInfo, now: datetime, exclude_appointment_id: int | None = None,
                      hold_token: str | None = None) -> Slot:
    """The slot at ``start_at`` if it is free now; a clear error otherwise."""
    if start_at.tzinfo is None:
        raise ValidationError(_('The appointment time needs a time zone.'))
    if start_at < now + MIN_LEAD:
        raise ValidationError(_('This time has already passed. Please choose a later time.'))
    if start_at > now + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError(_('Appointments can be booked at most {days} days ahead.').format(days=MAX_DAYS_AHEAD))
    end_at = start_at + timedelta(minutes=service.duration_minutes)
    day = start_at.astimezone(tz).date()
    loaded = await _load_day(session, [doctor_id], day, tz, now, exclude_appointment_id=exclude_appointment_id,
                             hold_token=hold_token)
    block = next(((s, e, room) for s, e, room in loaded.blocks.get(doctor_id, []) if s <= start_at and end_at <= e),
                 None)
    if block is None:
        raise ValidationError(_('The doctor does not work at this time (working hours, day off or leave).'))
    room_id = block[2]
    if _overlaps(loaded.busy_doctor[doctor_id], start_at, end_at) or _overlaps(loaded.busy_room[room_id],
                                                                                 start_at, end_at):
        raise Conflict(_('This time was just taken. Please choose another slot.'))
    return Slot(doctor_id, room_id, start_at, end_at)


# ---------------------------------------------------------------- booking and changes

async def check_bookable(session: AsyncSession, *, patient_id: int, service_id: int, doctor_id: int
                    ) -> tuple[Patient, Service, Doctor]:
    patient = await session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(_('This patient does not exist.'))
    patients.refuse_merged(patient)
    service = await session.get(Service, service_id)
    if service is None or not service.is_active:
        raise ValidationError(_('Please choose a service from the list.'), 'service')
    doctor = await session.get(Doctor, doctor_id)
    if doctor is None or not doctor.is_active:
        raise ValidationError(_('Please choose a doctor from the list.'), 'doctor')
    provides = (await session.exec(select(DoctorService).where(DoctorService.doctor_id == doctor_id,
                                                               DoctorService.service_id == service_id))).first()
    if provides is None:
        raise ValidationError(_('{doctor} does not provide {service}. Please choose another doctor.').format(
            doctor=doctor.full_name, service=pick(service.name, service.name_translations)),
                              'doctor')
    return patient, service, doctor


def _check_text(reason: str, notes: str) -> tuple[str, str]:
    reason, notes = reason.strip(), notes.strip()
    if len(reason) > 500:
        raise ValidationError(_('The reason can have at most 500 characters.'), 'reason')
    if len(notes) > 1000:
        raise ValidationError(_('The notes can have at most 1000 characters.'), 'notes')
    return reason, notes


@action
async def book(session: AsyncSession, actor: Actor | None, *, patient_id: int, service_id: int, doctor_id: int,
               start_at: datetime, source: BookingSource, tz: ZoneInfo, now: datetime, reason: str = '',
               notes: str = '', hold_token: str | None = None, settings: Settings | None = None,
               language: str | None = None) -> Appointment:
    """Book an appointment. Staff book for any source; the public booking page passes ``actor=None`` with the
    token of the slot it holds. ``language``: the booking's messages (None: the patient's)."""
    if language is not None and language not in i18n.LANGUAGES:
        raise ValidationError(_('Please choose a language from the list.'), 'language')
    if actor is None:
        if source != BookingSource.WEB or hold_token is None:
            raise ValidationError(_('Online bookings need a held slot.'))
    else:
        require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    if source == BookingSource.WALK_IN:
        raise ValidationError(_('Walk-ins are checked in directly, not booked.'))
    reason, notes = _check_text(reason, notes)
    await serialize(session, BOOKING_LOCK)
    __, service, ___ = await check_bookable(session, patient_id=patient_id, service_id=service_id, doctor_id=doctor_id)
    slot = await _check_slot(session, doctor_id=doctor_id, service=service, start_at=start_at, tz=tz, now=now,
                             hold_token=hold_token)
    if hold_token is not None:
        await _use_hold(session, hold_token, slot, service_id, now)
    appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=patient_id, doctor_id=doctor_id,
                              room_id=slot.room_id, start_at=slot.start_at, end_at=slot.end_at, source=source,
                              reason=reason, notes=notes, created_by_id=actor.user_id if actor else None,
                              language=language)
    session.add(appointment)
    await session.flush()
    session.add(AppointmentService(appointment_id=appointment.id, service_id=service_id))
    audit.record(session, actor, 'appointment_booked', entity='appointment', entity_id=appointment.id,
                 detail=f'source={source.value}', username='' if actor else 'online booking')
    await notifications.queue_appointment_email(session, appointment.id, 'booked', settings=_settings(settings))
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return appointment


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else clinic_settings.current()


def status_refusal(status: AppointmentStatus, *, checking_in: bool = False) -> str:
    """Why an appointment in ``status`` can no longer be changed (or checked in), as one sentence."""
    if checking_in:
        return {AppointmentStatus.IN_PROGRESS: _('This appointment is in progress: it cannot be checked in.'),
                AppointmentStatus.COMPLETED: _('This appointment is completed: it cannot be checked in.'),
                AppointmentStatus.CANCELLED: _('This appointment is cancelled: it cannot be checked in.'),
                AppointmentStatus.NO_SHOW: _('This appointment is marked as no-show: it cannot be checked in.'),
                }.get(status, _('This appointment cannot be checked in.'))
    return {AppointmentStatus.CHECKED_IN: _('This appointment is checked in and cannot be changed.'),
            AppointmentStatus.IN_PROGRESS: _('This appointment is in progress and cannot be changed.'),
            AppointmentStatus.COMPLETED: _('This appointment is completed and cannot be changed.'),
            AppointmentStatus.CANCELLED: _('This appointment is cancelled and cannot be changed.'),
            AppointmentStatus.NO_SHOW: _('This appointment is marked as no-show and cannot be changed.'),
            }.get(status, _('This appointment cannot be changed.'))


async def _changeable(session: AsyncSession, appointment_id: int) -> Appointment:
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_('This appointment does not exist.'))
    if appointment.status not in CHANGEABLE:
        raise Conflict(status_refusal(appointment.status, checking_in=False))
    return appointment


async def appointment_service(session: AsyncSession, appointment_id: int) -> Service:
    service = (await session.exec(select(Service).join(AppointmentService,
                                                       AppointmentService.service_id == Service.id)
                                  .where(AppointmentService.appointment_id == appointment_id)
                                  .order_by(Service.duration_minutes.desc()))).first()
    if service is None:
        raise NotFound(_('This appointment has no service.'))
    return service


@action
async def reschedule(session: AsyncSession, actor: Actor, appointment_id: int, *, start_at: datetime,
                     tz: ZoneInfo, now: datetime, doctor_id: int | None = None, settings: Settings | None = None) -> Appointment:
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    await serialize(session, BOOKING_LOCK)
    appointment = await _changeable(session, appointment_id)
    return await move(session, appointment, start_at=start_at, tz=tz, now=now, doctor_id=doctor_id,
                      settings=_settings(settings), actor=actor)


async def move(session: AsyncSession, appointment: Appointment, *, start_at: datetime, tz: ZoneInfo, now: datetime,
               settings: Settings, actor: Actor | None, doctor_id: int | None = None, username: str = ''
               ) -> Appointment:
    """Move a changeable appointment to a free time, inside the caller's transaction, which holds the booking
    lock and has checked who may (staff: ``actor``; the patient through their link: ``username`` in the audit).
    The patient gets the "new time" email."""
    service = await appointment_service(session, appointment.id)
    doctor_id = doctor_id or appointment.doctor_id
    if doctor_id != appointment.doctor_id:
        await check_bookable(session, patient_id=appointment.patient_id, service_id=service.id, doctor_id=doctor_id)
    slot = await _check_slot(session, doctor_id=doctor_id, service=service, start_at=start_at, tz=tz, now=now,
                             exclude_appointment_id=appointment.id)
    before = appointment.start_at.astimezone(tz).strftime('%d/%m %H:%M')
    appointment.doctor_id, appointment.room_id = doctor_id, slot.room_id
    appointment.start_at, appointment.end_at = slot.start_at, slot.end_at
    appointment.sequence += 1
    appointment.updated_at = now
    session.add(appointment)
    audit.record(session, actor, 'appointment_rescheduled', entity='appointment', entity_id=appointment.id,
                 detail=f'{before} -> {slot.start_at.astimezone(tz).strftime("%d/%m %H:%M")}', username=username)
    await session.flush()
    await notifications.queue_appointment_email(session, appointment.id, 'rescheduled', settings=settings)
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return appointment


@action
async def cancel(session: AsyncSession, actor: Actor, appointment_id: int, *, reason: str, now: datetime,
                 settings: Settings | None = None) -> Appointment:
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationError(_('Please give the reason for cancelling.'), 'reason')
    if len(reason) > 500:
        raise ValidationError(_('The reason can have at most 500 characters.'), 'reason')
    await serialize(session, BOOKING_LOCK)
    appointment = await _changeable(session, appointment_id)
    return await cancel_changeable(session, appointment, reason=reason, now=now, settings=_settings(settings),
                                   actor=actor)


async def cancel_changeable(session: AsyncSession, appointment: Appointment, *, reason: str, now: datetime,
                            settings: Settings, actor: Actor | None, username: str = '') -> Appointment:
    """Cancel a changeable appointment inside the caller's transaction (booking lock held, who may checked: see
    ``move``). The patient gets the "cancelled" email."""
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason
    appointment.sequence += 1
    appointment.updated_at = now
    session.add(appointment)
    audit.record(session, actor, 'appointment_cancelled', entity='appointment', entity_id=appointment.id,
                 detail=reason, username=username)
    await session.flush()
    await notifications.queue_appointment_email(session, appointment.id, 'cancelled', settings=settings)
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return appointment


@action
async def mark_no_show(session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime) -> Appointment:
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    await serialize(session, BOOKING_LOCK)
    appointment = await _changeable(session, appointment_id)
    if appointment.start_at > now:
        raise ValidationError(_('A patient can only be marked as not come once the appointment time has passed.'))
    appointment.status = AppointmentStatus.NO_SHOW
    appointment.updated_at = now
    session.add(appointment)
    audit.record(session, actor, 'appointment_no_show', entity='appointment', entity_id=appointment.id)
    publish(session, AppointmentChanged(appointment_id=appointment.id))
    return appointment


# ---------------------------------------------------------------- holds for the online booking page

@action
async def hold_slot(session: AsyncSession, *, doctor_id: int, service_id: int, start_at: datetime, tz: ZoneInfo,
                    now: datetime, client_key: str, settings: Settings | None = None) -> SlotHold:
    """Keep a slot free for a few minutes while the patient types their details. Nobody can hoard slots: an address
    holds at most ``public_holds_per_address`` at once, and all holds together at most ``public_hold_share`` of a
    day's slots of the service (whatever the number of addresses)."""
    settings = _settings(settings)
    await serialize(session, BOOKING_LOCK)
    service = await session.get(Service, service_id)
    if service is None or not service.is_active:
        raise ValidationError(_('Please choose a service from the list.'))
    live = (await session.exec(select(SlotHold).where(SlotHold.client_key == client_key,
                                                      SlotHold.expires_at > now))).all()
    if len(live) >= settings.public_holds_per_address:
        raise Conflict(_('Too many slots are being held from this connection. Please finish one booking first.'))
    slot = await _check_slot(session, doctor_id=doctor_id, service=service, start_at=start_at, tz=tz, now=now)
    await _check_hold_share(session, service, slot.start_at.astimezone(tz).date(), tz=tz, now=now,
                            share=settings.public_hold_share)
    hold = SlotHold(token=secrets.token_urlsafe(24), doctor_id=doctor_id, room_id=slot.room_id,
                    service_id=service_id, start_at=slot.start_at, end_at=slot.end_at, expires_at=now + HOLD_TIME,
                    client_key=client_key)
    session.add(hold)
    return hold


async def _check_hold_share(session: AsyncSession, service: Service, day: date, *, tz: ZoneInfo, now: datetime,
                            share: float) -> None:
    """Refuse one more hold when the live holds already take ``share`` of the day's slots of the service (the
    slots still free plus those held; at least one hold is always possible, so a nearly full day stays bookable)."""
    day_start, day_end = _at(day, time.min, tz), _at(day + timedelta(days=1), time.min, tz)
    held = len((await session.exec(select(SlotHold.id).where(
        SlotHold.service_id == service.id, SlotHold.expires_at > now,
        SlotHold.start_at >= day_start, SlotHold.start_at < day_end))).all())
    doctor_ids = [d.id for d in await doctors_for(session, service_id=service.id)]
    free = await free_slots(session, service_id=service.id, doctor_ids=doctor_ids, start_day=day, days=1, tz=tz,
                            now=now)
    if held + 1 > max(1, int(share * (held + len(free.get(day, []))))):
        raise Conflict(_('Many {name} times on {day} are being held online just now. Please choose '
                         'another day, try again in a few minutes, or call the clinic.').format(
            name=pick(service.name, service.name_translations), day=day.strftime('%d/%m/%Y')))


async def _use_hold(session: AsyncSession, token: str, slot: Slot, service_id: int, now: datetime) -> None:
    hold = (await session.exec(select(SlotHold).where(SlotHold.token == token))).first()
    if hold is None or hold.expires_at <= now:
        raise Conflict(_('The time you chose was held for 5 minutes and has been released. Please choose it again.'))
    if (hold.doctor_id, hold.start_at, hold.service_id) != (slot.doctor_id, slot.start_at, service_id):
        raise Conflict(_('The booking does not match the time you chose. Please choose it again.'))
    hold.expires_at = now  # used: frees nothing else, can't be used twice
    session.add(hold)


async def room_code(session: AsyncSession, room_id: int | None) -> str:
    room = await session.get(Room, room_id) if room_id else None
    return room.code if room else ''


async def consultation_for_specialty(session: AsyncSession, specialty_id: int) -> Service | None:
    query = (select(Service).where(Service.specialty_id == specialty_id, Service.is_active,
                                   Service.kind == 'consultation').order_by(Service.price))
    return (await session.exec(query)).first()


@action
async def release_hold(session: AsyncSession, token: str, *, now: datetime) -> None:
    """The patient chose another time: free the one they held."""
    hold = (await session.exec(select(SlotHold).where(SlotHold.token == token))).first()
    if hold is not None and hold.expires_at > now:
        hold.expires_at = now
        session.add(hold)
