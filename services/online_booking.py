"""Booking by patients themselves on the public page: no staff login, nothing shown about other patients."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Appointment, AppointmentStatus, BookingSource, Doctor, Patient, SlotHold

from . import audit, booking, booking_links, clinic_settings, notifications, patients
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import ValidationError
from .core.events import PatientChanged, publish
from .core.i18n import _
from .core.settings import Settings
from .text import search_key

SOURCE = 'online booking'


@dataclass(frozen=True)
class OnlineRequest:
    full_name: str
    phone: str
    email: str
    date_of_birth: date | None
    reason: str = ''
    language: str | None = None  # what the patient read the page in (a code of ``i18n.LANGUAGES``); None: the clinic's


@dataclass(frozen=True)
class Confirmation:
    """What the patient sees after booking: their own appointment only. ``email`` is where the confirmation goes
    when that is the address they typed; empty when the typed details wait for reception (the confirmation then
    goes to the address on record, if any, which is never shown here). ``change_until``: None when the email
    carries no link to manage the booking (no ``CLINIC_PUBLIC_URL``)."""
    reference: str
    doctor_name: str
    start_at: datetime
    room: str
    email: str
    details_to_check: bool = False
    change_until: datetime | None = None  # the confirmation's link lets the patient move or cancel until then


def validate(request: OnlineRequest, *, today: date) -> patients.PatientInput:
    if request.language is not None and request.language not in i18n.LANGUAGES:
        raise ValidationError(_('Please choose a language from the list.'), 'language')
    if not request.phone.strip():
        raise ValidationError(_('Please enter your phone number, so the clinic can reach you.'), 'phone')
    if not request.email.strip():
        raise ValidationError(_('Please enter your email address: the confirmation is sent there.'), 'email')
    if request.date_of_birth is None:
        raise ValidationError(_('Please enter your date of birth.'), 'date_of_birth')
    if len(request.reason) > 500:
        raise ValidationError(_('Please describe the reason in at most 500 characters.'), 'reason')
    return patients.validate(patients.PatientInput(full_name=request.full_name, phone=request.phone,
                                                   email=request.email, date_of_birth=request.date_of_birth),
                             today=today)


async def _patient_for(session: AsyncSession, data: patients.PatientInput, now: datetime,
                       language: str | None) -> tuple[Patient, bool]:
    """The same person if name, birth date and phone all match (otherwise a new record, which reception merges,
    in the ``language`` they booked in), and whether the typed details differ from that person's record. An online
    booking never changes an existing record (its language neither): differing details wait as pending changes
    until reception accepts them."""
    existing = (await session.exec(select(Patient).where(Patient.search_name == search_key(data.full_name),
                                                         Patient.date_of_birth == data.date_of_birth,
                                                         Patient.phone == data.phone,
                                                         Patient.merged_into_id.is_(None)))).first()
    if existing is not None:
        differing = await patients.propose_changes(session, existing, data, source=SOURCE, now=now)
        return existing, bool(differing)
    patient = Patient(code=await patients.next_code(session), full_name=data.full_name,
                      search_name=search_key(data.full_name), phone=data.phone, email=data.email,
                      date_of_birth=data.date_of_birth, language=language)
    session.add(patient)
    await session.flush()
    audit.record(session, None, 'patient_created', entity='patient', entity_id=patient.id, username=SOURCE)
    publish(session, PatientChanged(patient_id=patient.id))
    return patient, False


@action
async def book(session: AsyncSession, *, hold_token: str, request: OnlineRequest, tz: ZoneInfo, now: datetime,
               settings: Settings | None = None) -> Confirmation:
    data = validate(request, today=now.astimezone(tz).date())
    settings = settings or clinic_settings.current()
    hold = (await session.exec(select(SlotHold).where(SlotHold.token == hold_token))).first()
    if hold is None or hold.expires_at <= now:
        raise ValidationError(_('The time you chose was held for 5 minutes and has been released. '
                                'Please choose a time again.'))
    patient, details_to_check = await _patient_for(session, data, now, request.language)
    # the confirmation email and every later message of this booking: in the language it was made in
    appointment = await booking.book(session, None, patient_id=patient.id, service_id=hold.service_id,
                                     doctor_id=hold.doctor_id, start_at=hold.start_at, source=BookingSource.WEB,
                                     tz=tz, now=now, reason=request.reason, hold_token=hold_token,
                                     settings=settings, language=request.language)
    doctor = await session.get(Doctor, appointment.doctor_id)
    return Confirmation(reference=appointment.uuid[:8].upper(), doctor_name=f'{doctor.title} {doctor.full_name}',
                        start_at=appointment.start_at, room=await booking.room_code(session, appointment.room_id),
                        email='' if details_to_check else data.email, details_to_check=details_to_check,
                        change_until=appointment.start_at - timedelta(hours=settings.online_change_hours)
                        if settings.public_url else None)


# ---------------------------------------------------------------- the patient's own link: see, move, cancel

PATIENT_BY_LINK = 'patient (email link)'  # who the audit names for a change made through the link


@dataclass(frozen=True)
class ManagedBooking:
    """One booking as its link shows it: the appointment only, nothing about the patient. ``token``: the link for
    this version (a new one after the patient moved it); ``change_until``: the last moment the patient may still
    move or cancel it here (``can_change`` says whether that is now)."""
    token: str
    reference: str
    doctor_id: int
    doctor_name: str
    service_id: int
    service_name: str
    start_at: datetime
    end_at: datetime
    room: str
    language: str
    change_until: datetime
    can_change: bool


class LinkRefused(ValidationError):
    """The link cannot be used (garbled, expired, stale, cancelled): nothing was changed."""


async def _linked(session: AsyncSession, token: str, now: datetime, settings: Settings) -> Appointment:
    """The appointment a link stands for, as it is now, if the link may still be used; a clear refusal otherwise."""
    claim = booking_links.read_token(token, settings)
    if claim is None:
        raise LinkRefused(_('This link is not valid. Please open the whole link from your email, or call the '
                            'clinic.'), 'token')
    appointment = (await session.exec(select(Appointment).where(Appointment.uuid == claim.appointment_uuid))).first()
    if appointment is None:
        raise LinkRefused(_('This booking no longer exists. Please call the clinic.'), 'token')
    if appointment.status == AppointmentStatus.CANCELLED:
        raise LinkRefused(_('This appointment has been cancelled. To book a new one, please use the booking page '
                            'or call the clinic.'), 'token')
    if claim.expires_at <= now or appointment.start_at <= now:
        raise LinkRefused(_('This link has expired: the appointment time has passed.'), 'token')
    if appointment.sequence != claim.sequence:
        raise LinkRefused(_('This booking has been changed since this link was sent. Please use the link in the '
                            'latest email about it, or call the clinic.'), 'token')
    if appointment.status not in booking.CHANGEABLE:
        raise LinkRefused(booking.status_refusal(appointment.status), 'token')
    return appointment


async def _managed(session: AsyncSession, appointment: Appointment, now: datetime, settings: Settings
                   ) -> ManagedBooking:
    service = await booking.appointment_service(session, appointment.id)
    doctor = await session.get(Doctor, appointment.doctor_id)
    patient = await session.get(Patient, appointment.patient_id)
    change_until = appointment.start_at - timedelta(hours=settings.online_change_hours)
    return ManagedBooking(
        token=booking_links.make_token(appointment.uuid, appointment.sequence, appointment.start_at, settings),
        reference=appointment.uuid[:8].upper(), doctor_id=appointment.doctor_id,
        doctor_name=f'{doctor.title} {doctor.full_name}'.strip(), service_id=service.id,
        service_name=i18n.pick(service.name, service.name_translations), start_at=appointment.start_at,
        end_at=appointment.end_at, room=await booking.room_code(session, appointment.room_id),
        language=notifications.appointment_language(appointment, patient, settings),
        change_until=change_until, can_change=now < change_until)


def _within_rules(managed: ManagedBooking, tz: ZoneInfo) -> None:
    if not managed.can_change:
        local = managed.change_until.astimezone(tz)
        raise LinkRefused(_('Changes online are possible until {day}, {time}. Please call the clinic.').format(
            day=i18n.day(local.date(), 'full'), time=i18n.clock(local)))


@query
async def open_link(session: AsyncSession, token: str, *, now: datetime, settings: Settings | None = None
                    ) -> ManagedBooking:
    """What the patient's link shows: their booking, if the link may still be used."""
    settings = settings or clinic_settings.current()
    return await _managed(session, await _linked(session, token, now, settings), now, settings)


@query
async def free_times_by_link(session: AsyncSession, token: str, *, start_day: date, days: int, tz: ZoneInfo,
                             now: datetime, settings: Settings | None = None) -> dict[date, list[booking.Slot]]:
    """The times the booking could move to: the same doctor's free times for the same service."""
    settings = settings or clinic_settings.current()
    managed = await _managed(session, await _linked(session, token, now, settings), now, settings)
    return await booking.free_slots(session, service_id=managed.service_id, doctor_ids=[managed.doctor_id],
                                    start_day=start_day, days=days, tz=tz, now=now, limit_per_day=30)


@action
async def move_by_link(session: AsyncSession, token: str, *, start_at: datetime, tz: ZoneInfo, now: datetime,
                       settings: Settings | None = None) -> ManagedBooking:
    """The patient moves their booking to another free time of the same doctor and service, under the same lock
    and checks as reception (never a double booking), within the clinic's cutoff; they get the "new time" email."""
    settings = settings or clinic_settings.current()
    await serialize(session, booking.BOOKING_LOCK)
    appointment = await _linked(session, token, now, settings)
    _within_rules(await _managed(session, appointment, now, settings), tz)
    await booking.move(session, appointment, start_at=start_at, tz=tz, now=now, settings=settings, actor=None,
                       username=PATIENT_BY_LINK)
    return await _managed(session, appointment, now, settings)


@action
async def cancel_by_link(session: AsyncSession, token: str, *, now: datetime, settings: Settings | None = None
                         ) -> ManagedBooking:
    """The patient cancels their booking, within the clinic's cutoff; they get the "cancelled" email."""
    settings = settings or clinic_settings.current()
    await serialize(session, booking.BOOKING_LOCK)
    appointment = await _linked(session, token, now, settings)
    managed = await _managed(session, appointment, now, settings)
    _within_rules(managed, settings.tz)
    with i18n.use(managed.language):  # the reason is read in the booking's language (email, reception)
        reason = _('Cancelled by the patient through the link in their email.')
    await booking.cancel_changeable(session, appointment, reason=reason, now=now, settings=settings, actor=None,
                                    username=PATIENT_BY_LINK)
    return managed
