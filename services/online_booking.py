"""Booking by patients themselves on the public page: no staff login, nothing shown about other patients."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import BookingSource, Doctor, Patient, SlotHold

from . import audit, booking, patients
from .core import i18n
from .core.boundary import action
from .core.errors import ValidationError
from .core.events import PatientChanged, publish
from .core.i18n import _
from .core.settings import Settings
from .text import normalize_phone, search_key

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
    goes to the address on record, if any, which is never shown here)."""
    reference: str
    doctor_name: str
    start_at: datetime
    room: str
    email: str
    details_to_check: bool = False


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
                                                         Patient.phone == normalize_phone(data.phone),
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
                        email='' if details_to_check else data.email, details_to_check=details_to_check)
