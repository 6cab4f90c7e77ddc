"""Appointments: the day's list (booking, rescheduling and check-in build on this)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    BookingSource,
    Doctor,
    Patient,
    Role,
    Room,
    Service,
)

from .access import Actor, doctor_id_of, require
from .core.boundary import query
from .core.clock import day_bounds
from .core.errors import NotFound, ValidationError
from .core.i18n import _, pick


@dataclass(frozen=True)
class AppointmentRow:
    id: int
    start_at: datetime
    end_at: datetime
    patient_code: str
    patient_name: str
    doctor_name: str
    room_code: str
    services: str
    status: AppointmentStatus
    source: BookingSource


@query
async def list_for_day(session: AsyncSession, actor: Actor, day: date, tz: ZoneInfo, *,
                       doctor_id: int | None = None, limit: int = 500) -> list[AppointmentRow]:
    """Appointments of one clinic-local day, in time order. A doctor sees their own list."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    if actor.role == Role.DOCTOR:
        doctor_id = await doctor_id_of(session, actor)
        if doctor_id is None:
            return []
    start, end = day_bounds(day, tz)
    query = (select(Appointment.id, Appointment.start_at, Appointment.end_at, Patient.code, Patient.full_name,
                    Doctor.full_name, Room.code, Appointment.status, Appointment.source)
             .join(Patient, Patient.id == Appointment.patient_id)
             .join(Doctor, Doctor.id == Appointment.doctor_id)
             .outerjoin(Room, Room.id == Appointment.room_id)
             .where(Appointment.start_at >= start, Appointment.start_at < end)
             .order_by(Appointment.start_at, Appointment.id).limit(limit))
    if doctor_id is not None:
        query = query.where(Appointment.doctor_id == doctor_id)
    rows = (await session.exec(query)).all()
    names = await _service_names(session, [row[0] for row in rows])
    return [AppointmentRow(id=r[0], start_at=r[1], end_at=r[2], patient_code=r[3], patient_name=r[4],
                           doctor_name=r[5], room_code=r[6] or '', services=', '.join(names.get(r[0], [])),
                           status=r[7], source=r[8]) for r in rows]


async def _service_names(session: AsyncSession, appointment_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    if not appointment_ids:
        return names
    query = (select(AppointmentService.appointment_id, Service.name, Service.name_translations)
             .join(Service, Service.id == AppointmentService.service_id)
             .where(AppointmentService.appointment_id.in_(appointment_ids)).order_by(Service.name))
    for appointment_id, name, translations in (await session.exec(query)).all():
        names.setdefault(appointment_id, []).append(pick(name, translations))
    return names


@query
async def list_range(session: AsyncSession, actor: Actor, *, start_day: date, end_day: date, tz: ZoneInfo,
                     doctor_id: int | None = None, status: AppointmentStatus | None = None,
                     patient_id: int | None = None, offset: int = 0, limit: int = 50
                     ) -> tuple[list[AppointmentRow], int]:
    """Appointments from ``start_day`` to ``end_day`` (inclusive, clinic-local), filtered and paged."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    if end_day < start_day:
        raise ValidationError(_('The end date is before the start date.'))
    if (end_day - start_day).days > 366:
        raise ValidationError(_('Please choose at most one year.'))
    start, __ = day_bounds(start_day, tz)
    __, end = day_bounds(end_day, tz)
    conditions = [Appointment.start_at >= start, Appointment.start_at < end]
    if doctor_id is not None:
        conditions.append(Appointment.doctor_id == doctor_id)
    if status is not None:
        conditions.append(Appointment.status == status)
    if patient_id is not None:
        conditions.append(Appointment.patient_id == patient_id)
    total = (await session.exec(select(func.count()).select_from(Appointment).where(*conditions))).one()
    query = (select(Appointment.id, Appointment.start_at, Appointment.end_at, Patient.code, Patient.full_name,
                    Doctor.full_name, Room.code, Appointment.status, Appointment.source)
             .join(Patient, Patient.id == Appointment.patient_id)
             .join(Doctor, Doctor.id == Appointment.doctor_id)
             .outerjoin(Room, Room.id == Appointment.room_id)
             .where(*conditions).order_by(Appointment.start_at, Appointment.id)
             .offset(max(0, offset)).limit(min(max(1, limit), 200)))
    rows = (await session.exec(query)).all()
    names = await _service_names(session, [row[0] for row in rows])
    return [AppointmentRow(id=r[0], start_at=r[1], end_at=r[2], patient_code=r[3], patient_name=r[4],
                           doctor_name=r[5], room_code=r[6] or '', services=', '.join(names.get(r[0], [])),
                           status=r[7], source=r[8]) for r in rows], total


@dataclass(frozen=True)
class AppointmentDetail:
    id: int
    patient_id: int
    doctor_id: int
    service_id: int | None
    start_at: datetime
    status: AppointmentStatus
    reason: str
    notes: str


@query
async def detail(session: AsyncSession, actor: Actor, appointment_id: int) -> AppointmentDetail:
    require(actor, Role.RECEPTIONIST, Role.DOCTOR)
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_('This appointment does not exist.'))
    service_id = (await session.exec(select(AppointmentService.service_id)
                                     .where(AppointmentService.appointment_id == appointment_id))).first()
    return AppointmentDetail(appointment.id, appointment.patient_id, appointment.doctor_id, service_id,
                             appointment.start_at, appointment.status, appointment.reason, appointment.notes)
