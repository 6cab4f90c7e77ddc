"""Patient records: search as you type, create and edit with validation, likely-duplicate warnings."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Address,
    Appointment,
    AppointmentStatus,
    ChangeStatus,
    Doctor,
    MessageChannel,
    Patient,
    PatientContactChange,
    Role,
    Sex,
    Visit,
)
from models.types import utcnow

from . import audit, clinic_settings, notifications, phones
from .access import Actor, require
from .core.boundary import action, query
from .core.db import load, serialize
from .core.errors import Conflict, ValidationError
from .core.events import PatientChanged, publish
from .core.i18n import N_, _
from .core.settings import Settings
from .sequences import next_value
from .text import clean_name, is_valid_email, search_key

STAFF_WITH_PATIENT_ACCESS = (Role.RECEPTIONIST, Role.DOCTOR, Role.TECHNICIAN, Role.PHARMACIST, Role.CASHIER)
DATE_RE = re.compile(r'^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$')
CODE_RE = re.compile(r'^p\d{1,9}$', re.IGNORECASE)


@dataclass(frozen=True)
class PatientInput:
    full_name: str
    phone: str = ''
    date_of_birth: date | None = None
    sex: Sex = Sex.UNKNOWN
    email: str = ''
    national_id: str = ''
    allergies: str = ''
    notes: str = ''
    address: str = ''  # one line: street, ward, district, city
    preferred_channel: MessageChannel | None = None  # None: email when there is an address, else SMS


@dataclass(frozen=True)
class PatientHit:
    id: int
    code: str
    full_name: str
    date_of_birth: date | None
    sex: Sex
    phone: str | None


def parse_date(text: str) -> date | None:
    """``23/11/1980``, ``23-11-1980`` or ``1980-11-23``; None when it is not a date (or not a text at all)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    try:
        if match := DATE_RE.match(text):
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def phone_region() -> str:
    """How phones typed without a country code are read: the clinic's ``phone_region`` (default VN)."""
    return clinic_settings.current().phone_region


def validate(data: PatientInput, *, today: date, region: str | None = None) -> PatientInput:
    """Clean and check a patient form; raise ValidationError naming the field. The phone is stored in E.164,
    read for ``region`` (default: the clinic's)."""
    name = clean_name(data.full_name)
    if not name:
        raise ValidationError(_('Please enter the patient\'s full name.'), 'full_name')
    if len(name) > 120:
        raise ValidationError(_('The name can have at most 120 characters.'), 'full_name')
    phone = phones.validate(data.phone, region or phone_region())
    if not phone and data.date_of_birth is None:
        raise ValidationError(_('Please enter a phone number or a date of birth, so the patient can be found again.'),
                              'phone')
    if data.date_of_birth is not None:
        if data.date_of_birth > today:
            raise ValidationError(_('The date of birth cannot be in the future.'), 'date_of_birth')
        if data.date_of_birth < date(1900, 1, 1):
            raise ValidationError(_('Please check the date of birth: it is before 1900.'), 'date_of_birth')
    email = data.email.strip().lower()
    if email and not is_valid_email(email):
        raise ValidationError(_('Please enter a valid email address, or leave it empty.'), 'email')
    for field, value, limit, message in (
            ('national_id', data.national_id, 30, _('The national ID can have at most {limit} characters.')),
            ('allergies', data.allergies, 1000, _('The allergies can have at most {limit} characters.')),
            ('notes', data.notes, 2000, _('The notes can have at most {limit} characters.')),
            ('address', data.address, 200, _('The address can have at most {limit} characters.'))):
        if len(value.strip()) > limit:
            raise ValidationError(message.format(limit=limit), field)
    channel = data.preferred_channel
    if channel is not None and not isinstance(channel, MessageChannel):
        try:
            channel = MessageChannel(channel)
        except ValueError:
            raise ValidationError(_('Please choose how the patient receives messages from the list.'),
                                  'preferred_channel') from None
    if channel == MessageChannel.EMAIL and not email:
        raise ValidationError(_('Messages by email need an email address: please enter one or choose SMS.'),
                              'preferred_channel')
    if channel in (MessageChannel.SMS, MessageChannel.ZALO) and not phone:
        raise ValidationError(_('Messages by SMS or Zalo need a phone number: please enter one or choose email.'),
                              'preferred_channel')
    return PatientInput(full_name=name, phone=phone, date_of_birth=data.date_of_birth, sex=data.sex, email=email,
                        national_id=data.national_id.strip(), allergies=data.allergies.strip(),
                        notes=data.notes.strip(), address=clean_name(data.address), preferred_channel=channel)


def _starts_with(column, prefix: str):
    """``column`` starts with ``prefix``, as a range its index serves: '%' and '_' are just characters.

    Binary order on SQLite; on PostgreSQL the searched columns sort by "C" (see the column types), as here."""
    return sa.and_(column >= prefix, column < prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF)))


def _contains(session: AsyncSession, column, text: str):
    """``column`` contains ``text``, taken literally (quicker than LIKE, and nothing to escape)."""
    find = sa.func.instr if session.bind.dialect.name == 'sqlite' else sa.func.strpos
    return find(column, text) > 0


def _ends_with(session: AsyncSession, column, text: str):
    if session.bind.dialect.name == 'sqlite':
        return sa.func.substr(column, -len(text)) == text
    return sa.func.right(column, len(text)) == text


def _has_word_starting(session: AsyncSession, word: str):
    """A word of the name starts with ``word`` (taken literally)."""
    return sa.or_(_starts_with(Patient.search_name, word), _contains(session, Patient.search_name, ' ' + word))


@query
async def search(session: AsyncSession, actor: Actor, text: str, *, limit: int = 20) -> list[PatientHit]:
    """Find patients by name (accent- and case-insensitive, every word must match the start of a word), phone,
    code or birth date. What a person at the counter expects first comes first: the exact code or phone, names
    that start with what was typed, then the other names that match."""
    require(actor, *STAFF_WITH_PATIENT_ACCESS)
    text = text.strip()[:120]
    if not text:
        return []
    columns = (Patient.id, Patient.code, Patient.full_name, Patient.date_of_birth, Patient.sex, Patient.phone)
    live = select(*columns).where(Patient.merged_into_id.is_(None))  # a merged record lives on in its survivor

    async def rows(query) -> list[PatientHit]:
        return [PatientHit(*row) for row in (await session.exec(query)).all()]

    if CODE_RE.match(text):
        code = text.upper()
        if len(code) == 8:  # P + 7 digits: the unique index finds it at once
            return await rows(live.where(Patient.code == code))
        return await rows(live.where(_starts_with(Patient.code, code)).order_by(Patient.code).limit(limit))
    if (born := parse_date(text)) is not None:
        return await rows(live.where(Patient.date_of_birth == born)
                          .order_by(Patient.search_name, Patient.id).limit(limit))
    if re.fullmatch(r'\+?[\d\s.()-]{3,24}', text):
        # Stored numbers are E.164 (+84901234567): a whole number as typed (0901234567, 090 123 4567) is read for
        # the clinic's region and found by the phone index at once.
        whole, digits = phones.search_forms(text, phone_region())
        if whole is not None:
            if exact := await rows(live.where(Patient.phone == whole).order_by(Patient.search_name, Patient.id)
                                   .limit(limit)):
                return exact
        # people often type the last digits: numbers that end with them first (a leading 0 is dropped, see
        # ``search_forms``)
        return await rows(live.where(_contains(session, Patient.phone, digits))
                          .order_by(sa.case((_ends_with(session, Patient.phone, digits), 0), else_=1),
                                    Patient.search_name, Patient.id).limit(limit))
    key = search_key(text)
    if not key:
        return []
    # In the order of the live names' index, which each step reads without sorting (a miss reads it whole, without
    # the table): names that start with what was typed; then those that start with its first word and have the
    # other words; then those with every word at the start of some word.
    words = key.split(' ')
    name = Patient.search_name
    has_words = [_has_word_starting(session, word) for word in words]
    steps = [[_starts_with(name, key)]]
    if len(words) > 1:
        steps.append([_starts_with(name, words[0]), sa.not_(_starts_with(name, key)), *has_words[1:]])
    steps.append([sa.not_(_starts_with(name, words[0])), *has_words])
    hits: list[PatientHit] = []
    for conditions in steps:
        # the ids from the index alone (on PostgreSQL an index-only scan), then their rows
        found = (select(Patient.id, name).where(Patient.merged_into_id.is_(None), *conditions)
                 .order_by(name, Patient.id).limit(limit - len(hits)).subquery())
        hits += await rows(select(*columns).join(found, found.c.id == Patient.id)
                           .order_by(found.c.search_name, found.c.id))
        if len(hits) == limit:
            break
    return hits


@query
async def likely_duplicates(session: AsyncSession, actor: Actor, data: PatientInput, *,
                            exclude_id: int | None = None) -> list[PatientHit]:
    """Patients who may be the same person: same name and birth date, or same phone."""
    require(actor, Role.RECEPTIONIST)
    conditions = []
    if data.date_of_birth is not None:
        conditions.append(sa.and_(Patient.search_name == search_key(data.full_name),
                                  Patient.date_of_birth == data.date_of_birth))
    if data.phone:
        conditions.append(Patient.phone == (phones.to_e164(data.phone, phone_region()) or data.phone.strip()))
    if not conditions:
        return []
    query = (select(Patient.id, Patient.code, Patient.full_name, Patient.date_of_birth, Patient.sex, Patient.phone)
             .where(or_(*conditions), Patient.merged_into_id.is_(None)).order_by(Patient.id).limit(10))
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    return [PatientHit(*row) for row in (await session.exec(query)).all()]


async def _check_national_id(session: AsyncSession, national_id: str, exclude_id: int | None) -> None:
    if not national_id:
        return
    query = select(Patient.code).where(Patient.national_id == national_id)
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    if (other := (await session.exec(query)).first()) is not None:
        raise Conflict(_('The national ID {national_id} already belongs to patient {other}.').format(
            national_id=national_id, other=other))


def _apply(patient: Patient, data: PatientInput) -> None:
    patient.full_name = data.full_name
    patient.search_name = search_key(data.full_name)
    patient.phone = data.phone or None
    patient.date_of_birth = data.date_of_birth
    patient.sex = data.sex
    patient.email = data.email or None
    patient.national_id = data.national_id or None
    patient.allergies = data.allergies
    patient.notes = data.notes
    patient.preferred_channel = data.preferred_channel


async def _save_address(session: AsyncSession, patient_id: int, line: str) -> None:
    current = (await session.exec(select(Address).where(Address.patient_id == patient_id, Address.is_primary))).first()
    if not line:
        return
    if current is None:
        session.add(Address(patient_id=patient_id, line1=line, is_primary=True))
    elif current.line1 != line:
        current.line1 = line
        session.add(current)


@action
async def create(session: AsyncSession, actor: Actor, data: PatientInput, *, today: date) -> Patient:
    """Register a new patient with the next patient code (P0000001, ...)."""
    require(actor, Role.RECEPTIONIST)
    data = validate(data, today=today)
    await _check_national_id(session, data.national_id, None)
    patient = Patient(code=await next_code(session), full_name=data.full_name, search_name='')
    _apply(patient, data)
    session.add(patient)
    await session.flush()
    await _save_address(session, patient.id, data.address)
    audit.record(session, actor, 'patient_created', entity='patient', entity_id=patient.id)
    publish(session, PatientChanged(patient_id=patient.id))
    return patient


async def next_code(session: AsyncSession) -> str:
    """Continue after the highest existing code, so imported or demo patients never collide."""
    number = await next_value(session, 'patient_code')
    while (await session.exec(select(Patient.id).where(Patient.code == f'P{number:07d}'))).first() is not None:
        number = await next_value(session, 'patient_code')
    return f'P{number:07d}'


@action
async def update(session: AsyncSession, actor: Actor, patient_id: int, data: PatientInput, *, today: date,
                 expected_updated_at: datetime | None = None) -> Patient:
    """Save an edited profile. With ``expected_updated_at`` a change made meanwhile by someone else is refused."""
    require(actor, Role.RECEPTIONIST)
    data = validate(data, today=today)
    patient = await load(session, Patient, patient_id, _('This patient no longer exists.'))
    refuse_merged(patient)
    if expected_updated_at is not None and patient.updated_at != expected_updated_at:
        raise Conflict(_('Someone else changed this patient meanwhile. Please reopen the profile and try again.'))
    await _check_national_id(session, data.national_id, patient_id)
    _apply(patient, data)
    patient.updated_at = utcnow()
    session.add(patient)
    await _save_address(session, patient_id, data.address)
    audit.record(session, actor, 'patient_updated', entity='patient', entity_id=patient_id)
    publish(session, PatientChanged(patient_id=patient_id))
    return patient


@action
async def change_contact(session: AsyncSession, actor: Actor, patient_id: int, *, phone: str | None,
                         email: str | None, today: date) -> Patient:
    """Correct the phone and/or email (None: keep it), e.g. at the check-in desk; validated like the whole
    profile. Nothing is written when nothing changed."""
    patient = await load(session, Patient, patient_id, _('This patient no longer exists.'))
    phone = patient.phone or '' if phone is None else phone
    email = patient.email or '' if email is None else email
    as_stored = phones.to_e164(phone, phone_region()) or phone.strip()  # '0901 234 567' is the +84901234567 on file
    if (as_stored, email.strip().lower()) == (patient.phone or '', patient.email or ''):
        return patient
    data = PatientInput(full_name=patient.full_name, phone=phone, date_of_birth=patient.date_of_birth,
                        sex=patient.sex, email=email, national_id=patient.national_id or '',
                        allergies=patient.allergies, notes=patient.notes, preferred_channel=patient.preferred_channel)
    return await update(session, actor, patient_id, data, today=today)


def refuse_merged(patient: Patient) -> None:
    """A record merged into another is history: it is not booked, checked in nor edited any more."""
    if patient.merged_into_id is not None:
        raise Conflict(_('Patient {code} was merged into another record: please use that record.').format(
            code=patient.code))


@query
async def get(session: AsyncSession, actor: Actor, patient_id: int) -> Patient:
    require(actor, *STAFF_WITH_PATIENT_ACCESS)
    return await load(session, Patient, patient_id, _('This patient does not exist.'))


async def primary_address(session: AsyncSession, patient_id: int) -> str:
    address = (await session.exec(select(Address).where(Address.patient_id == patient_id)
                                  .order_by(Address.is_primary.desc(), Address.id))).first()
    if address is None:
        return ''
    return ', '.join(part for part in (address.line1, address.line2, address.city, address.province) if part)


async def count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Patient))).one()


@dataclass(frozen=True)
class PastVisit:
    id: int
    visit_date: date
    doctor_name: str
    status: str
    walk_in: bool


@query
async def past_visits(session: AsyncSession, actor: Actor, patient_id: int, *, limit: int = 50) -> list[PastVisit]:
    """The patient's visits, newest first (reception sees dates and doctors; diagnoses stay in the chart)."""
    require(actor, *STAFF_WITH_PATIENT_ACCESS)
    query = (select(Visit.id, Visit.visit_date, Doctor.full_name, Visit.status, Visit.is_walk_in)
             .outerjoin(Doctor, Doctor.id == Visit.doctor_id).where(Visit.patient_id == patient_id)
             .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(limit))
    return [PastVisit(r[0], r[1], r[2] or '', r[3].value.replace('_', ' '), r[4])
            for r in (await session.exec(query)).all()]


# ---------------------------------------------------------------- changes typed by patients, confirmed by reception

# Phone and birth date are how a patient is recognised: not changeable from outside. In English: shown as _(label).
CHANGEABLE_FIELDS = {'full_name': N_('Name'), 'email': N_('Email')}
CHANGES_LOCK = 'patient_contact_changes'


@dataclass(frozen=True)
class ChangeView:
    id: int
    field: str
    label: str
    old_value: str
    new_value: str
    source: str
    created_at: datetime


@dataclass(frozen=True)
class PatientWithChanges:
    patient_id: int
    code: str
    full_name: str
    pending: int


def _current(patient: Patient, field: str) -> str:
    return getattr(patient, field) or ''


async def propose_changes(session: AsyncSession, patient: Patient, data: PatientInput, *, source: str,
                          now: datetime) -> list[str]:
    """Details typed for a recognised patient (``data``, validated) that differ from the record become pending
    changes for reception; the record itself stays as it is, so knowing someone's name, birth date and phone is not
    enough to redirect their email. A value already waiting for a decision is not asked again. Returns the fields
    that differ. Not committed."""
    await serialize(session, CHANGES_LOCK)
    differing, asked = [], False
    for field in CHANGEABLE_FIELDS:
        typed, current = getattr(data, field) or '', _current(patient, field)
        if not typed or typed == current:
            continue
        differing.append(field)
        waiting = (await session.exec(select(PatientContactChange.id).where(
            PatientContactChange.patient_id == patient.id, PatientContactChange.field == field,
            PatientContactChange.new_value == typed,
            PatientContactChange.status == ChangeStatus.PENDING))).first()
        if waiting is None:
            session.add(PatientContactChange(patient_id=patient.id, field=field, old_value=current,
                                             new_value=typed, source=source, created_at=now))
            audit.record(session, None, 'patient_change_proposed', entity='patient', entity_id=patient.id,
                         detail=field, username=source)
            asked = True
    if asked:
        publish(session, PatientChanged(patient_id=patient.id))
    return differing


@query
async def pending_changes(session: AsyncSession, actor: Actor, patient_id: int) -> list[ChangeView]:
    """The patient's changes waiting for reception, oldest first."""
    require(actor, Role.RECEPTIONIST)
    rows = (await session.exec(select(PatientContactChange).where(
        PatientContactChange.patient_id == patient_id, PatientContactChange.status == ChangeStatus.PENDING)
        .order_by(PatientContactChange.id))).all()
    return [ChangeView(r.id, r.field, _(CHANGEABLE_FIELDS[r.field]), r.old_value, r.new_value, r.source, r.created_at)
            for r in rows]


@query
async def patients_with_pending_changes(session: AsyncSession, actor: Actor, *,
                                        limit: int = 10) -> tuple[int, list[PatientWithChanges]]:
    """How many changes wait for reception in all, and the first patients they belong to (oldest first)."""
    require(actor, Role.RECEPTIONIST)
    pending = PatientContactChange.status == ChangeStatus.PENDING
    total = (await session.exec(select(func.count()).select_from(PatientContactChange).where(pending))).one()
    if not total:
        return 0, []
    rows = (await session.exec(
        select(Patient.id, Patient.code, Patient.full_name, func.count(PatientContactChange.id))
        .join(Patient, Patient.id == PatientContactChange.patient_id).where(pending)
        .group_by(Patient.id, Patient.code, Patient.full_name)
        .order_by(func.min(PatientContactChange.id)).limit(limit))).all()
    return total, [PatientWithChanges(*row) for row in rows]


@action
async def decide_change(session: AsyncSession, actor: Actor, change_id: int, *, accept: bool, now: datetime,
                        settings: Settings | None = None) -> Patient:
    """Accept (the record takes the new value) or reject (it stays) one pending change; audited. When a new email
    is accepted, upcoming appointments that never had a confirmation (no address before) get one now. Returns the
    patient's record as it is after the decision."""
    require(actor, Role.RECEPTIONIST)
    await serialize(session, CHANGES_LOCK)
    change = await load(session, PatientContactChange, change_id, _('This change no longer exists.'))
    if change.status != ChangeStatus.PENDING:
        raise Conflict(_('This change was already accepted (by someone else meanwhile).')
                       if change.status == ChangeStatus.ACCEPTED else
                       _('This change was already rejected (by someone else meanwhile).'))
    patient = await session.get(Patient, change.patient_id)
    before = _current(patient, change.field)
    change.status = ChangeStatus.ACCEPTED if accept else ChangeStatus.REJECTED
    change.decided_by_id, change.decided_at = actor.user_id, now
    session.add(change)
    if accept:
        setattr(patient, change.field, change.new_value)
        patient.search_name = search_key(patient.full_name)
        patient.updated_at = now
        session.add(patient)
    audit.record(session, actor, f'patient_change_{change.status.value}', entity='patient', entity_id=patient.id,
                 detail=f'{change.field}: {before!r} -> {change.new_value!r} ({change.source})')
    if accept and change.field == 'email':
        await _confirm_upcoming(session, patient.id, now=now, settings=settings)
    publish(session, PatientChanged(patient_id=patient.id))
    return patient


async def _confirm_upcoming(session: AsyncSession, patient_id: int, *, now: datetime, settings) -> None:
    """Queue the booking confirmation of each upcoming appointment; one already sent is not sent again."""
    settings = settings or clinic_settings.current()
    upcoming = (await session.exec(select(Appointment.id).where(
        Appointment.patient_id == patient_id, Appointment.start_at > now,
        Appointment.status.in_((AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED))))).all()
    await session.flush()
    for appointment_id in upcoming:
        await notifications.queue_appointment_email(session, appointment_id, 'booked', settings=settings)
