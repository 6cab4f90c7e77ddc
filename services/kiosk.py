"""The self check-in kiosk: a tablet at the entrance, opened with an admin-issued kiosk key (``display_keys``,
purpose ``kiosk``), no staff session.

A patient finds today's appointment with the check-in code of their confirmation email (``checkin_codes``, shown
as a QR code to the camera or a scanner) or with their phone number and date of birth, confirms, and is checked in
by the desk's own rules (``checkin.check_in_unattended``). If the clinic allows it (``kiosk_walk_ins``), a patient
the clinic knows (found by phone and date of birth) without an appointment takes a walk-in ticket for a doctor on
duty; a new patient registers at reception.

What the kiosk shows of a person is the least that lets them recognise their own appointment: the initials of
their name, the time and the doctor. A phone number alone never tells whether it is known; the phone lookups are
rate-limited per kiosk and per number. Every action checks the kiosk key again (a revoked kiosk stops at once) and
proves who the patient is again (the code, or the phone and date of birth): nothing the screen holds is trusted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Appointment, AppointmentStatus, Doctor, Patient, Queue, Room, Visit, VisitStatus

from . import booking, checkin, checkin_codes, display_keys, phones, rate_limits, ticket_links
from .core import i18n
from .core.boundary import action, query
from .core.clock import day_bounds, local_today
from .core.errors import PermissionDenied, ValidationError
from .core.i18n import _, pick
from .core.settings import Settings
from .display_keys import KIOSK, DisplayScope
from .text import normalize_phone

# The phone and date of birth lookups: per kiosk (a queue of patients in the morning passes easily), and per phone
# number (guessing a date of birth for one number stops soon).
PER_KIOSK = (40, 600.0)
PER_PHONE = (5, 3600.0)
FINISHED_VISITS = (VisitStatus.CLOSED, VisitStatus.CANCELLED)


class KioskRefused(ValidationError):
    """What the patient typed or showed cannot be used: nothing was changed; the message says what to do."""


@dataclass(frozen=True)
class Found:
    """Today's appointment as the kiosk shows it; ``refusal``: why it cannot be checked in here ('' if it can)."""
    appointment_id: int
    initials: str
    start_at: datetime
    doctor: str
    room: str
    refusal: str = ''


@dataclass(frozen=True)
class Match:
    """What a phone number and date of birth found: today's appointments; ``may_walk_in``: one known patient, and
    the clinic lets them take a walk-in ticket here."""
    appointments: tuple[Found, ...]
    may_walk_in: bool


@dataclass(frozen=True)
class KioskTicket:
    """The ticket just issued, as the kiosk shows it (no name); ``token``: the patient's live ticket link."""
    label: str
    doctor: str
    room: str
    waiting_ahead: int
    token: str


@dataclass(frozen=True)
class KioskDoctor:
    """A doctor a walk-in may choose at the kiosk now."""
    id: int
    name: str
    waiting: int
    wait_minutes: int | None


def initials(full_name: str) -> str:
    """``Nguyễn Văn An`` -> ``N. V. A.``: enough to recognise one's own appointment, little for anyone else."""
    return ' '.join(f'{word[0].upper()}.' for word in full_name.split())


def no_match() -> str:
    """The one answer to a phone and date of birth that find nothing, known number or not."""
    return _('We found no appointment today for this phone number and date of birth. Please check them, or ask '
             'at reception.')


async def _kiosk(session: AsyncSession, key: str | None, now: datetime | None = None) -> DisplayScope:
    scope = await display_keys.verify(session, key, now=now, purpose=KIOSK)
    if scope is None:
        raise PermissionDenied(_('This kiosk is not set up (its key is not valid). Please ask at reception.'))
    return scope


@action
async def open_kiosk(session: AsyncSession, key: str | None, *, now: datetime) -> DisplayScope | None:
    """The kiosk's scope (its name, its first language), or None: the key is missing, revoked or a board's. Notes
    when the kiosk was last seen."""
    return await display_keys.verify(session, key, now=now, purpose=KIOSK)


def _refusal(appointment: Appointment, tz, now: datetime) -> str:
    """The desk's rules (``checkin.refusal``), said to the patient."""
    if checkin.refusal(appointment, tz=tz, now=now) is None:
        return ''
    if appointment.status == AppointmentStatus.CHECKED_IN:
        return _('You are already checked in. Please take a seat: your number will be called.')
    if appointment.status == AppointmentStatus.CANCELLED:
        return _('This appointment was cancelled. Please ask at reception.')
    if appointment.status not in booking.CHANGEABLE:
        return _('This appointment cannot be checked in here. Please ask at reception.')
    day = appointment.start_at.astimezone(tz).date()
    return _('This appointment is on {day}, not today. Please ask at reception.').format(
        day=day.strftime('%d/%m/%Y'))


async def _doctor_text(session: AsyncSession, doctor: Doctor | None) -> str:
    """The doctor as the board and the patient's phone call them: their queue's name in the reader's language
    ("BS. ..." in Vietnamese), else title and name."""
    if doctor is None:
        return ''
    line = (await session.exec(select(Queue).where(Queue.doctor_id == doctor.id))).first()
    if line is not None and (line.name_translations or {}).get(i18n.current()):
        return pick(line.name, line.name_translations)
    return f'{doctor.title} {doctor.full_name}'.strip()


async def _found(session: AsyncSession, appointment: Appointment, patient: Patient, settings: Settings,
                 now: datetime) -> Found:
    doctor = await session.get(Doctor, appointment.doctor_id)
    room = await session.get(Room, appointment.room_id) if appointment.room_id else None
    return Found(appointment_id=appointment.id, initials=initials(patient.full_name), start_at=appointment.start_at,
                 doctor=await _doctor_text(session, doctor),
                 room=f'{room.code} {pick(room.name, room.name_translations)}'.strip() if room else '',
                 refusal=_refusal(appointment, settings.tz, now))


async def _by_code(session: AsyncSession, code: str, *, now: datetime, settings: Settings) -> Appointment:
    claim = checkin_codes.read_code(code, settings)
    appointment = await session.get(Appointment, claim.appointment_id) if claim else None
    if appointment is None:
        raise KioskRefused(_('This code is not a check-in code of this clinic. Please show the QR code of your '
                             'appointment email, or type your phone number and date of birth.'))
    if checkin_codes.is_expired(claim, now):
        raise KioskRefused(_('This check-in code has expired: it was for an earlier day. Please ask at reception.'))
    return appointment


@query
async def find_by_code(session: AsyncSession, key: str, code: str, *, now: datetime,
                       settings: Settings) -> Found:
    """The appointment of a check-in code (typed by a scanner or read by the camera)."""
    await _kiosk(session, key)
    appointment = await _by_code(session, code, now=now, settings=settings)
    patient = await session.get(Patient, appointment.patient_id)
    return await _found(session, appointment, patient, settings, now)


def _phone_key(phone: str, settings: Settings) -> str:
    """A keyed hash of the number: limits per number without keeping numbers in the limits' table."""
    return hashlib.sha256(f'{settings.resolved_storage_secret()}:kiosk:{phone}'.encode()).hexdigest()[:32]


async def _patients(session: AsyncSession, phone: str, birth_date: date, settings: Settings) -> list[Patient]:
    phone = phones.to_e164(phone or '', settings.phone_region)  # as stored; a number that is not one finds nobody
    if phone is None:
        return []
    return list((await session.exec(select(Patient).where(
        Patient.phone == phone, Patient.date_of_birth == birth_date,
        Patient.merged_into_id.is_(None)).order_by(Patient.id))).all())


async def _today(session: AsyncSession, patient_ids: list[int], settings: Settings, now: datetime
                 ) -> list[Appointment]:
    start, end = day_bounds(local_today(settings.tz, now), settings.tz)
    shown = (*booking.CHANGEABLE, AppointmentStatus.CHECKED_IN)
    return list((await session.exec(select(Appointment).where(
        Appointment.patient_id.in_(patient_ids), Appointment.start_at >= start, Appointment.start_at < end,
        Appointment.status.in_(shown)).order_by(Appointment.start_at))).all())


@action(audits_refusals=True)
async def find_by_phone(session: AsyncSession, key: str, phone: str, birth_date: date, *, now: datetime,
                        settings: Settings) -> Match:
    """Today's appointments of the patient with this phone number and date of birth. Rate-limited; a miss says
    the same whether or not the number is known (and still counts against the limits: it is committed)."""
    scope = await _kiosk(session, key)
    number = phones.to_e164(phone or '', settings.phone_region) or normalize_phone(phone or '')
    if not await rate_limits.allow(session, 'kiosk-lookup', f'kiosk:{scope.key_id}', limit=PER_KIOSK[0],
                                   window_s=PER_KIOSK[1], now=now) \
            or not await rate_limits.allow(session, 'kiosk-phone', _phone_key(number, settings), limit=PER_PHONE[0],
                                           window_s=PER_PHONE[1], now=now):
        raise KioskRefused(_('Too many tries. Please wait a few minutes, or ask at reception.'))
    people = await _patients(session, number, birth_date, settings)
    appointments = await _today(session, [p.id for p in people], settings, now) if people else []
    may_walk_in = settings.kiosk_walk_ins and len(people) == 1 and not appointments
    if not appointments and not may_walk_in:
        await session.commit()  # the tries count
        raise KioskRefused(no_match())
    by_id = {p.id: p for p in people}
    return Match(appointments=tuple([await _found(session, a, by_id[a.patient_id], settings, now)
                                     for a in appointments]), may_walk_in=may_walk_in)


async def _ticket(session: AsyncSession, ticket: checkin.Ticket, settings: Settings, now: datetime) -> KioskTicket:
    visit = await session.get(Visit, ticket.visit_id)
    doctor = await session.get(Doctor, visit.doctor_id) if visit.doctor_id else None
    return KioskTicket(label=ticket.label, doctor=await _doctor_text(session, doctor) or ticket.queue_name, room=ticket.room, waiting_ahead=ticket.waiting_ahead,
                       token=ticket_links.make_token(visit.id, visit.visit_date, settings))


@action
async def check_in(session: AsyncSession, key: str, appointment_id: int, *, now: datetime, settings: Settings,
                   code: str | None = None, phone: str | None = None,
                   birth_date: date | None = None) -> KioskTicket:
    """Check in the appointment the patient confirmed, proven again by its ``code`` or by ``phone`` and
    ``birth_date``. The desk's rules: once, today, not cancelled."""
    scope = await _kiosk(session, key)
    if code is not None:
        proven = (await _by_code(session, code, now=now, settings=settings)).id == appointment_id
    else:
        people = await _patients(session, phone or '', birth_date, settings) if birth_date else []
        appointment = await session.get(Appointment, appointment_id)
        proven = appointment is not None and appointment.patient_id in {p.id for p in people}
    if not proven:
        raise KioskRefused(no_match())
    ticket = await checkin.check_in_unattended(session, appointment_id, tz=settings.tz, now=now,
                                               source=f'kiosk: {scope.name}')
    return await _ticket(session, ticket, settings, now)


def _walk_ins_allowed(settings: Settings) -> None:
    if not settings.kiosk_walk_ins:
        raise KioskRefused(_('Walk-in tickets are given at reception. Please ask there.'))


@query
async def walk_in_doctors(session: AsyncSession, key: str, *, now: datetime, settings: Settings) -> list[KioskDoctor]:
    """The doctors a walk-in may choose here now (those who take walk-ins), with the queue and the wait."""
    await _kiosk(session, key)
    _walk_ins_allowed(settings)
    return [KioskDoctor(d.id, d.name, d.waiting, d.wait_minutes)
            for d in await checkin.walk_in_doctor_list(session, tz=settings.tz, now=now) if d.takes_walk_ins]


@action
async def walk_in(session: AsyncSession, key: str, *, phone: str, birth_date: date, doctor_id: int, now: datetime,
                  settings: Settings) -> KioskTicket:
    """A known patient (one record with this phone and date of birth) without an appointment today takes a walk-in
    ticket for ``doctor_id``'s consultation. Once a day: a second ticket is asked for at reception."""
    scope = await _kiosk(session, key)
    _walk_ins_allowed(settings)
    people = await _patients(session, phone, birth_date, settings)
    if len(people) != 1:
        raise KioskRefused(no_match())
    patient = people[0]
    today = local_today(settings.tz, now)
    open_visit = (await session.exec(select(Visit.id).where(
        Visit.patient_id == patient.id, Visit.visit_date == today,
        Visit.status.not_in(FINISHED_VISITS)))).first()
    if open_visit is not None:
        raise KioskRefused(_('You already have a ticket today. Please ask at reception.'))
    ticket = await checkin.walk_in_unattended(session, patient_id=patient.id, doctor_id=doctor_id, tz=settings.tz,
                                              now=now, source=f'kiosk: {scope.name}')
    return await _ticket(session, ticket, settings, now)


@query
async def slip(session: AsyncSession, key: str, token: str, *, now: datetime, settings: Settings) -> checkin.Ticket:
    """The ticket a kiosk has just shown, to print its slip: the kiosk's key and the ticket's own unexpired
    link token are both needed (so a kiosk prints nothing but today's tickets, each to the one who holds it)."""
    await _kiosk(session, key)
    claim = ticket_links.read_token(token, settings)
    if claim is None or ticket_links.is_expired(claim, now):
        raise KioskRefused(_('This ticket can no longer be printed here. Please ask at reception.'))
    return await checkin.latest_ticket(session, claim.visit_id)
