"""Doctors for administrators: details and license, specialties, services, weekly hours per room, leave.

Weekly hours never clash: a doctor is in one place at a time, and a room hosts one doctor at a time. Hours and
leave that would strand booked patients are refused until reception moves those appointments. Every doctor has
a queue (``services.queue.queue_for_doctor``); its room follows the doctor's first working hours.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    Doctor,
    DoctorLeave,
    DoctorService,
    DoctorSpecialty,
    Queue,
    Role,
    Room,
    Service,
    Specialty,
    User,
    WorkingHours,
)
from models.types import utcnow

from . import audit
from .access import Actor, require
from .booking import ACTIVE as ACTIVE_APPOINTMENTS
from .booking import BOOKING_LOCK
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import StaffChanged, publish
from .core.i18n import N_, _, ngettext, pick, weekday
from .queue import queue_for_doctor
from .staff_admin import _check_license_free, _license, _phone
from .text import clean_name, is_valid_email

# In English: shown as _(name), or better weekday_name(index) (Babel's names for the reader's language).
WEEKDAYS = (N_('Monday'), N_('Tuesday'), N_('Wednesday'), N_('Thursday'), N_('Friday'), N_('Saturday'), N_('Sunday'))
A_MONDAY = date(2024, 1, 1)
MAX_LEAVE_DAYS = 366


@dataclass(frozen=True)
class DoctorRow:
    id: int
    name: str
    license_number: str
    specialties: str
    services: int
    hours: str
    queue_prefix: str
    username: str
    is_active: bool


@dataclass(frozen=True)
class HoursRow:
    id: int
    weekday: int
    start_time: time
    end_time: time
    room_id: int
    room: str

    @property
    def text(self) -> str:
        return f'{weekday_name(self.weekday)} {self.start_time:%H:%M}–{self.end_time:%H:%M}, {self.room}'


@dataclass
class DoctorDetail:
    doctor: Doctor
    username: str
    queue_prefix: str
    specialty_ids: list[int] = field(default_factory=list)
    service_ids: list[int] = field(default_factory=list)
    hours: list[HoursRow] = field(default_factory=list)
    leaves: list[DoctorLeave] = field(default_factory=list)


def weekday_name(index: int, width: str = 'wide') -> str:
    """The name of weekday ``index`` (0 = Monday) in the reader's language: ``Monday`` / ``Thứ Hai`` (``width``
    'abbreviated': ``Mon`` / ``Th 2``)."""
    return weekday(A_MONDAY + timedelta(days=index), width)


def doctor_name(doctor: Doctor) -> str:
    return f'{doctor.title} {doctor.full_name}'.strip()


def _hours_summary(blocks: list[WorkingHours]) -> str:
    days = sorted({b.weekday for b in blocks})
    if not days:
        return _('no hours yet')
    names = [weekday_name(d, 'abbreviated') for d in days]
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f'{names[0]}–{names[-1]}'
    return ', '.join(names)


@query
async def list_doctors(session: AsyncSession, actor: Actor) -> list[DoctorRow]:
    require(actor, Role.ADMIN)
    doctors = (await session.exec(select(Doctor).order_by(col(Doctor.is_active).desc(), Doctor.full_name))).all()
    specialties: dict[int, list[str]] = defaultdict(list)
    for doctor_id, name, names in (await session.exec(select(
            DoctorSpecialty.doctor_id, Specialty.name, Specialty.name_translations).join(
            Specialty, Specialty.id == DoctorSpecialty.specialty_id))).all():
        specialties[doctor_id].append(pick(name, names))
    services = dict((await session.exec(select(DoctorService.doctor_id, func.count())
                                        .group_by(DoctorService.doctor_id))).all())
    hours: dict[int, list[WorkingHours]] = defaultdict(list)
    for block in (await session.exec(select(WorkingHours))).all():
        hours[block.doctor_id].append(block)
    prefixes = dict((await session.exec(select(Queue.doctor_id, Queue.prefix).where(Queue.doctor_id.is_not(None))))
                    .all())
    usernames = dict((await session.exec(select(User.id, User.username))).all())
    return [DoctorRow(d.id, doctor_name(d), d.license_number, ', '.join(sorted(specialties[d.id])),
                      services.get(d.id, 0), _hours_summary(hours[d.id]), prefixes.get(d.id, ''),
                      usernames.get(d.user_id, '') if d.user_id else '', d.is_active) for d in doctors]


async def _doctor(session: AsyncSession, doctor_id: int) -> Doctor:
    doctor = await session.get(Doctor, doctor_id)
    if doctor is None:
        raise NotFound(_('This doctor does not exist.'))
    return doctor


@query
async def detail(session: AsyncSession, actor: Actor, doctor_id: int) -> DoctorDetail:
    require(actor, Role.ADMIN)
    doctor = await _doctor(session, doctor_id)
    user = await session.get(User, doctor.user_id) if doctor.user_id else None
    queue = (await session.exec(select(Queue).where(Queue.doctor_id == doctor_id))).first()
    result = DoctorDetail(doctor, user.username if user else '', queue.prefix if queue else '')
    result.specialty_ids = list((await session.exec(select(DoctorSpecialty.specialty_id)
                                                    .where(DoctorSpecialty.doctor_id == doctor_id))).all())
    result.service_ids = list((await session.exec(select(DoctorService.service_id)
                                                  .where(DoctorService.doctor_id == doctor_id))).all())
    rows = (await session.exec(select(WorkingHours, Room).join(Room, Room.id == WorkingHours.room_id)
                               .where(WorkingHours.doctor_id == doctor_id)
                               .order_by(WorkingHours.weekday, WorkingHours.start_time))).all()
    result.hours = [HoursRow(h.id, h.weekday, h.start_time, h.end_time, r.id,
                             f'{r.code} · {pick(r.name, r.name_translations)}')
                    for h, r in rows]
    result.leaves = list((await session.exec(select(DoctorLeave).where(DoctorLeave.doctor_id == doctor_id)
                                             .order_by(col(DoctorLeave.start_date).desc()))).all())
    return result


# ---------------------------------------------------------------- details

def _doctor_fields(full_name: str, title: str, phone: str | None, email: str | None
                   ) -> tuple[str, str, str | None, str | None]:
    full_name = clean_name(full_name or '')
    if not full_name:
        raise ValidationError(_('Please enter the doctor\'s full name.'), 'full_name')
    if len(full_name) > 120:
        raise ValidationError(_('The full name can have at most 120 characters.'), 'full_name')
    title = clean_name(title or '')
    if len(title) > 20:
        raise ValidationError(_('The title can have at most 20 characters (e.g. Dr., Prof.).'), 'title')
    email = (email or '').strip().lower() or None
    if email is not None and not is_valid_email(email):
        raise ValidationError(_('Please enter a valid email address, or leave it empty.'), 'email')
    return full_name, title, _phone(phone), email


async def _check_contacts_free(session: AsyncSession, phone: str | None, email: str | None,
                               doctor_id: int | None) -> None:
    for column, value, label in ((Doctor.phone, phone, 'phone number'), (Doctor.email, email, 'email address')):
        if value is None:
            continue
        query = select(Doctor).where(column == value)
        if doctor_id is not None:
            query = query.where(Doctor.id != doctor_id)
        other = (await session.exec(query)).first()
        if other is not None:
            message = (_('The phone number {value} is already used by {doctor}.') if label == 'phone number' else
                       _('The email address {value} is already used by {doctor}.'))
            raise Conflict(message.format(value=value, doctor=doctor_name(other)))


@action
async def create_doctor(session: AsyncSession, actor: Actor, *, full_name: str, license_number: str,
                        title: str = 'Dr.', phone: str | None = None, email: str | None = None) -> Doctor:
    """A doctor without a staff account (e.g. a visiting doctor whose queue reception runs). Doctors who sign in
    are created on the staff page with the Doctor role."""
    require(actor, Role.ADMIN)
    full_name, title, phone, email = _doctor_fields(full_name, title, phone, email)
    license_number = _license(license_number)
    await serialize(session, 'users')
    await _check_license_free(session, license_number)
    await _check_contacts_free(session, phone, email, None)
    doctor = Doctor(full_name=full_name, title=title, license_number=license_number, phone=phone, email=email)
    session.add(doctor)
    await session.flush()
    await queue_for_doctor(session, doctor.id)
    audit.record(session, actor, 'doctor_created', entity='doctor', entity_id=doctor.id,
                 detail=f'{doctor_name(doctor)}, license {license_number}')
    publish(session, StaffChanged(doctor_id=doctor.id))
    return doctor


@action
async def update_doctor(session: AsyncSession, actor: Actor, doctor_id: int, *, full_name: str, title: str,
                        license_number: str, phone: str | None = None, email: str | None = None) -> Doctor:
    require(actor, Role.ADMIN)
    full_name, title, phone, email = _doctor_fields(full_name, title, phone, email)
    license_number = _license(license_number)
    await serialize(session, 'users')
    doctor = await _doctor(session, doctor_id)
    await _check_license_free(session, license_number, doctor_id)
    await _check_contacts_free(session, phone, email, doctor_id)
    changes = [f'{name} "{getattr(doctor, name) or ""}" -> "{value or ""}"'
               for name, value in (('full_name', full_name), ('title', title), ('license_number', license_number),
                                   ('phone', phone), ('email', email)) if getattr(doctor, name) != value]
    doctor.full_name, doctor.title, doctor.license_number, doctor.phone, doctor.email = \
        full_name, title, license_number, phone, email
    session.add(doctor)
    if doctor.user_id:  # the account shows the same name
        user = await session.get(User, doctor.user_id)
        if user is not None and user.full_name != full_name:
            user.full_name = full_name
            session.add(user)
    queue = await queue_for_doctor(session, doctor.id)
    queue.name = doctor_name(doctor)[:80]
    session.add(queue)
    if changes:
        audit.record(session, actor, 'doctor_updated', entity='doctor', entity_id=doctor.id,
                     detail='; '.join(changes))
        publish(session, StaffChanged(doctor_id=doctor.id))
    return doctor


@action
async def set_active(session: AsyncSession, actor: Actor, doctor_id: int, active: bool) -> Doctor:
    """A doctor who leaves is deactivated: no new bookings, the history stays."""
    require(actor, Role.ADMIN)
    await serialize(session, BOOKING_LOCK)
    doctor = await _doctor(session, doctor_id)
    if doctor.is_active == active:
        return doctor
    if not active:
        upcoming = (await session.exec(select(func.count()).select_from(Appointment).where(
            Appointment.doctor_id == doctor_id, Appointment.status.in_(ACTIVE_APPOINTMENTS),
            Appointment.end_at > utcnow()))).one()
        if upcoming:
            raise Conflict(ngettext('{name} has {count} upcoming appointment. Please move or cancel it first.',
                                    '{name} has {count} upcoming appointments. Please move or cancel them first.',
                                    upcoming, name=doctor_name(doctor)))
    elif doctor.user_id:
        user = await session.get(User, doctor.user_id)
        if user is not None and not user.is_active:
            raise Conflict(_('The doctor\'s staff account is deactivated: reactivate the account on the staff page.'))
    doctor.is_active = active
    session.add(doctor)
    queue = await queue_for_doctor(session, doctor.id)
    queue.is_active = active
    session.add(queue)
    audit.record(session, actor, 'doctor_reactivated' if active else 'doctor_deactivated', entity='doctor',
                 entity_id=doctor.id, detail=doctor_name(doctor))
    publish(session, StaffChanged(doctor_id=doctor.id))
    return doctor


@action
async def set_offer(session: AsyncSession, actor: Actor, doctor_id: int, *, specialty_ids: list[int],
                    service_ids: list[int]) -> None:
    """The doctor's specialties and the services they provide (what patients can book with them)."""
    require(actor, Role.ADMIN)
    doctor = await _doctor(session, doctor_id)
    await _link_specialties(session, actor, doctor, specialty_ids)
    await _link_services(session, actor, doctor, service_ids)


async def _link_specialties(session: AsyncSession, actor: Actor, doctor: Doctor, specialty_ids: list[int]) -> None:
    doctor_id = doctor.id
    wanted = set(specialty_ids or [])
    found = {s.id: s for s in (await session.exec(select(Specialty).where(col(Specialty.id).in_(wanted)))).all()}
    if wanted - set(found):
        raise ValidationError(_('Please choose the specialties from the list.'), 'specialties')
    current = {row.specialty_id: row for row in (await session.exec(
        select(DoctorSpecialty).where(DoctorSpecialty.doctor_id == doctor_id))).all()}
    retired = [found[i].name for i in sorted(wanted - set(current)) if not found[i].is_active]
    if retired:  # a link the doctor already has stays; a new one only to a specialty still offered
        raise ValidationError(_('{names}: this specialty is deactivated and cannot be given to a doctor. Reactivate '
                                'it in the catalog first.').format(names=', '.join(retired)), 'specialties')
    for specialty_id in set(current) - wanted:
        await session.delete(current[specialty_id])
    for specialty_id in wanted - set(current):
        session.add(DoctorSpecialty(doctor_id=doctor_id, specialty_id=specialty_id))
    if wanted != set(current):
        names = (await session.exec(select(Specialty.name).where(col(Specialty.id).in_(wanted)))).all()
        audit.record(session, actor, 'doctor_specialties', entity='doctor', entity_id=doctor_id,
                     detail=f'{doctor_name(doctor)}: {", ".join(sorted(names)) or "none"}')
        publish(session, StaffChanged(doctor_id=doctor_id))


async def _link_services(session: AsyncSession, actor: Actor, doctor: Doctor, service_ids: list[int]) -> None:
    doctor_id = doctor.id
    wanted = set(service_ids or [])
    known = set((await session.exec(select(Service.id).where(col(Service.id).in_(wanted)))).all())
    if wanted - known:
        raise ValidationError(_('Please choose the services from the list.'), 'services')
    current = {row.service_id: row for row in (await session.exec(
        select(DoctorService).where(DoctorService.doctor_id == doctor_id))).all()}
    for service_id in set(current) - wanted:
        await session.delete(current[service_id])
    for service_id in wanted - set(current):
        session.add(DoctorService(doctor_id=doctor_id, service_id=service_id))
    if wanted != set(current):
        names = (await session.exec(select(Service.name).where(col(Service.id).in_(wanted)))).all()
        audit.record(session, actor, 'doctor_services', entity='doctor', entity_id=doctor_id,
                     detail=f'{doctor_name(doctor)}: {", ".join(sorted(names)) or "none"}')
        publish(session, StaffChanged(doctor_id=doctor_id))


# ---------------------------------------------------------------- weekly hours

def parse_time(text: str | time, label: str) -> time:
    if isinstance(text, time):
        return text
    try:
        hours, minutes = (text or '').strip().split(':')
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationError(_('The start time must look like 08:30.') if label == 'start' else
                              _('The end time must look like 08:30.')) from None


async def _appointments_in(session: AsyncSession, doctor_id: int, tz: ZoneInfo, now: datetime,
                           inside) -> list[Appointment]:
    """The doctor's upcoming active appointments for which ``inside(local_start, local_end)`` holds."""
    rows = (await session.exec(select(Appointment).where(
        Appointment.doctor_id == doctor_id, Appointment.status.in_(ACTIVE_APPOINTMENTS),
        Appointment.end_at > now).order_by(Appointment.start_at))).all()
    return [a for a in rows if inside(a.start_at.astimezone(tz), a.end_at.astimezone(tz))]


def _stranded(appointments: list[Appointment], tz: ZoneInfo) -> str:
    first = appointments[0].start_at.astimezone(tz)
    count = len(appointments)
    return ngettext("{count} booked appointment would be left outside the doctor's hours (on {day} at {time}). "
                    'Please move or cancel it first.',
                    "{count} booked appointments would be left outside the doctor's hours (the first on {day} at "
                    '{time}). Please move or cancel them first.', count,
                    day=f"{weekday(first.date(), 'abbreviated')} {first:%d/%m}", time=f'{first:%H:%M}')


@action
async def add_hours(session: AsyncSession, actor: Actor, doctor_id: int, *, weekdays: list[int], start: str | time,
                    end: str | time, room_id: int | None) -> list[WorkingHours]:
    """Add a weekly block on each of ``weekdays`` (0 = Monday) in ``room_id``. Refused, naming the clash, when
    the doctor already works elsewhere then or another doctor has the room."""
    require(actor, Role.ADMIN)
    start_time, end_time = parse_time(start, 'start'), parse_time(end, 'end')
    if not weekdays:
        raise ValidationError(_('Please choose at least one day.'), 'weekdays')
    if any(not isinstance(day, int) or not 0 <= day <= 6 for day in weekdays):
        raise ValidationError(_('Please choose the days from the list.'), 'weekdays')
    if start_time >= end_time:
        raise ValidationError(_('The end time must be after the start time.'), 'end')
    if room_id is None:
        raise ValidationError(_('Please choose the room.'), 'room')
    await serialize(session, BOOKING_LOCK)
    doctor = await _doctor(session, doctor_id)
    room = await session.get(Room, room_id)
    if room is None or not room.is_active:
        raise ValidationError(_('Please choose an active room from the list.'), 'room')
    days = sorted(set(weekdays))
    clashes = (await session.exec(
        select(WorkingHours, Doctor, Room).join(Doctor, Doctor.id == WorkingHours.doctor_id)
        .join(Room, Room.id == WorkingHours.room_id)
        .where(col(WorkingHours.weekday).in_(days), WorkingHours.start_time < end_time,
               WorkingHours.end_time > start_time,
               (WorkingHours.doctor_id == doctor_id) | (WorkingHours.room_id == room_id)))).all()
    # the doctor's own clash first: "already works elsewhere" is the more useful message
    for block, other, block_room in sorted(clashes, key=lambda row: (row[0].doctor_id != doctor_id,
                                                                     row[0].weekday, row[0].start_time)):
        when = f'{weekday_name(block.weekday)} {block.start_time:%H:%M}–{block.end_time:%H:%M}'
        if block.doctor_id == doctor_id:
            raise Conflict(_('{doctor} already works {when} in {room}: a doctor can only be in one place at a '
                             'time.').format(doctor=doctor_name(doctor), when=when, room=block_room.code))
        if other.is_active:
            raise Conflict(_('Room {room} is taken {when} by {doctor}.').format(room=room.code, when=when,
                                                                                doctor=doctor_name(other)))
    added = []
    for day in days:
        block = WorkingHours(doctor_id=doctor_id, room_id=room_id, weekday=day, start_time=start_time,
                             end_time=end_time)
        session.add(block)
        added.append(block)
    await session.flush()
    queue = await queue_for_doctor(session, doctor_id)
    if queue.room_id is None:
        queue.room_id = room_id
        session.add(queue)
    audit.record(session, actor, 'doctor_hours_added', entity='doctor', entity_id=doctor_id,
                 detail=f'{doctor_name(doctor)}: {", ".join(WEEKDAYS[d][:3] for d in days)} '
                        f'{start_time:%H:%M}–{end_time:%H:%M} in {room.code}')
    publish(session, StaffChanged(doctor_id=doctor_id))
    return added


@action
async def remove_hours(session: AsyncSession, actor: Actor, hours_id: int, *, tz: ZoneInfo,
                       now: datetime | None = None) -> None:
    """Remove a weekly block, unless booked appointments fall in it."""
    require(actor, Role.ADMIN)
    now = now or utcnow()
    await serialize(session, BOOKING_LOCK)
    block = await session.get(WorkingHours, hours_id)
    if block is None:
        raise NotFound(_('These hours were already removed.'))
    doctor = await _doctor(session, block.doctor_id)
    others = (await session.exec(select(WorkingHours).where(WorkingHours.doctor_id == block.doctor_id,
                                                            WorkingHours.id != block.id))).all()

    def inside(start: datetime, end: datetime) -> bool:
        in_block = (start.weekday() == block.weekday and block.start_time <= start.time()
                    and end.time() <= block.end_time)
        covered = any(o.weekday == start.weekday() and o.start_time <= start.time() and end.time() <= o.end_time
                      for o in others)
        return in_block and not covered

    stranded = await _appointments_in(session, block.doctor_id, tz, now, inside)
    if stranded:
        raise Conflict(_stranded(stranded, tz))
    room = await session.get(Room, block.room_id)
    await session.delete(block)
    audit.record(session, actor, 'doctor_hours_removed', entity='doctor', entity_id=doctor.id,
                 detail=f'{doctor_name(doctor)}: {WEEKDAYS[block.weekday]} {block.start_time:%H:%M}–'
                        f'{block.end_time:%H:%M} in {room.code if room else "?"}')
    publish(session, StaffChanged(doctor_id=doctor.id))


# ---------------------------------------------------------------- leave and days off

@action
async def add_leave(session: AsyncSession, actor: Actor, doctor_id: int, *, start_date: date, end_date: date,
                    reason: str, tz: ZoneInfo, now: datetime | None = None) -> DoctorLeave:
    """Days off or leave (both dates included): booking offers no slot inside."""
    require(actor, Role.ADMIN)
    now = now or utcnow()
    if start_date is None or end_date is None:
        raise ValidationError(_('Please enter the first and the last day.'), 'start_date')
    if end_date < start_date:
        raise ValidationError(_('The last day must not be before the first day.'), 'end_date')
    if end_date < now.astimezone(tz).date():
        raise ValidationError(_('This leave is already over: please enter days from today on.'), 'end_date')
    if (end_date - start_date).days + 1 > MAX_LEAVE_DAYS:
        raise ValidationError(_('A leave can last at most {days} days; enter longer absences in parts or '
                                'deactivate the doctor.').format(days=MAX_LEAVE_DAYS), 'end_date')
    reason = clean_name(reason or '')
    if len(reason) > 200:
        raise ValidationError(_('The reason can have at most 200 characters.'), 'reason')
    await serialize(session, BOOKING_LOCK)
    doctor = await _doctor(session, doctor_id)
    overlapping = (await session.exec(select(DoctorLeave).where(
        DoctorLeave.doctor_id == doctor_id, DoctorLeave.start_date <= end_date,
        DoctorLeave.end_date >= start_date))).first()
    if overlapping is not None:
        raise Conflict(_('{doctor} is already on leave {first}–{last}. Change that leave instead.').format(
            doctor=doctor_name(doctor), first=f'{overlapping.start_date:%d/%m/%Y}',
            last=f'{overlapping.end_date:%d/%m/%Y}'))
    stranded = await _appointments_in(session, doctor_id, tz, now,
                                      lambda start, _end: start_date <= start.date() <= end_date)
    if stranded:
        raise Conflict(_stranded(stranded, tz))
    leave = DoctorLeave(doctor_id=doctor_id, start_date=start_date, end_date=end_date, reason=reason)
    session.add(leave)
    await session.flush()
    audit.record(session, actor, 'doctor_leave_added', entity='doctor', entity_id=doctor_id,
                 detail=f'{doctor_name(doctor)}: {start_date:%d/%m/%Y}–{end_date:%d/%m/%Y} {reason}'.strip())
    publish(session, StaffChanged(doctor_id=doctor_id))
    return leave


@action
async def remove_leave(session: AsyncSession, actor: Actor, leave_id: int) -> None:
    require(actor, Role.ADMIN)
    leave = await session.get(DoctorLeave, leave_id)
    if leave is None:
        raise NotFound(_('This leave was already removed.'))
    doctor = await _doctor(session, leave.doctor_id)
    await session.delete(leave)
    audit.record(session, actor, 'doctor_leave_removed', entity='doctor', entity_id=doctor.id,
                 detail=f'{doctor_name(doctor)}: {leave.start_date:%d/%m/%Y}–{leave.end_date:%d/%m/%Y}')
    publish(session, StaffChanged(doctor_id=doctor.id))

