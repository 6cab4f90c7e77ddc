"""Messages to patients (email, SMS, Zalo), queued in the outbox inside the caller's transaction.

The caller commits: an appointment email exists if and only if the booking (or change) committed, and a
``dedupe_key`` makes sure the same notice is never queued twice. ``services.outbox`` delivers them.

Channel. Reminders and "your turn is near" go through the patient's preferred channel (``Patient.preferred_channel``;
unset: email when they have an address, else SMS), falling back to another channel the clinic has set up and the
patient has an address for. Texts (SMS, Zalo) are short and carry no diagnosis, service or other medical detail.

Language. An appointment's email and its calendar invitation are written in the booking's language, else the
patient's, else the clinic's (``documents.reader_language``); never in the language of the staff member who booked.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Literal

from babel.dates import format_skeleton
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Doctor,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Room,
    Service,
)
from models.types import utcnow

from . import booking_links, checkin_codes, phones
from .calendar import appointment_ics, appointment_uid
from .core import i18n
from .core.errors import NotFound
from .core.events import OutboxChanged, publish
from .core.i18n import N_, _
from .documents import reader_language
from .text import is_valid_email

AppointmentEmailKind = Literal['booked', 'rescheduled', 'cancelled', 'reminder']
DEFAULT_FROM_ADDRESS = 'no-reply@clinic-flow.invalid'
LINK_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)  # what the patient may still change


def new_message_id() -> str:
    """A globally unique Message-ID, fixed when the email is queued (so a resend is recognisably the same)."""
    return f'<{uuid.uuid4()}@clinic-flow>'


def sender(settings) -> tuple[str, str]:
    """(display name, address) the clinic sends from: ``smtp_from``, named after the clinic if it has no name."""
    name, address = parseaddr(settings.smtp_from or '')
    if not address or '@' not in address:
        address = settings.smtp_username if '@' in settings.smtp_username else DEFAULT_FROM_ADDRESS
    return name or settings.clinic_name, address


async def _by_dedupe_key(session: AsyncSession, dedupe_key: str) -> OutboxMessage | None:
    return (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))).first()


async def queue_email(session: AsyncSession, *, dedupe_key: str, to: str, subject: str, body: str,
                      attachment_name: str = '', attachment_type: str = '',
                      attachment_data: bytes | None = None, qr_text: str = '') -> OutboxMessage | None:
    """Add an email to the outbox in the caller's transaction (not committed here). Returns the row; the
    existing row if ``dedupe_key`` was queued before (nothing is added); None if there is no address."""
    return await queue_message(session, channel=MessageChannel.EMAIL, dedupe_key=dedupe_key, to=to,
                               subject=subject, body=body, attachment_name=attachment_name,
                               attachment_type=attachment_type, attachment_data=attachment_data, qr_text=qr_text)


async def queue_message(session: AsyncSession, *, channel: MessageChannel, dedupe_key: str, to: str, subject: str,
                        body: str, template: str = '', attachment_name: str = '', attachment_type: str = '',
                        attachment_data: bytes | None = None, qr_text: str = '') -> OutboxMessage | None:
    """Add a message of any channel to the outbox in the caller's transaction (not committed here): ``to`` is an
    email address or an E.164 phone; for Zalo ``body`` is the template's data as JSON and ``template`` its kind.
    Returns the row, the existing one if ``dedupe_key`` was queued before, None if there is no address."""
    to = to.strip()
    if not to:
        return None
    existing = await _by_dedupe_key(session, dedupe_key)
    if existing is not None:
        return existing
    await session.flush()  # the caller's own pending changes first, so an error below is surely ours
    row = OutboxMessage(dedupe_key=dedupe_key[:120], message_id=new_message_id(), channel=channel,
                        to_address=to[:254], subject=subject[:200], body_text=body, template=template[:40],
                        attachment_name=attachment_name[:120], attachment_type=attachment_type[:80],
                        attachment_data=attachment_data, qr_text=qr_text[:200],
                        status=OutboxStatus.PENDING, next_attempt_at=utcnow())
    try:
        async with session.begin_nested():  # a savepoint: losing a race on dedupe_key keeps the caller's work
            session.add(row)
    except IntegrityError:  # another transaction queued the same key meanwhile (PostgreSQL)
        return await _by_dedupe_key(session, dedupe_key)
    publish(session, OutboxChanged(outbox_id=row.id))
    return row


# --- Appointment emails ---------------------------------------------------------------------------------------

def long_local_text(start: datetime, end: datetime, tz) -> str:
    """'Tuesday, 24 November 2026, 09:30 to 09:50' in the clinic's time zone and the current language."""
    local = start.astimezone(tz)
    return _('{day}, {start} to {end}').format(day=i18n.day(local.date(), 'full'), start=i18n.clock(local),
                                               end=i18n.clock(end.astimezone(tz)))


def short_local_text(moment: datetime, tz) -> str:
    """'Tue 24 Nov 09:30' in the clinic's time zone and the current language (for subjects)."""
    local = moment.astimezone(tz)
    return f'{format_skeleton("MMMEd", local.date(), locale=i18n.locale())} {i18n.clock(local)}'


_SUBJECTS = {
    'booked': N_('Appointment confirmed: {when} with {doctor}'),
    'rescheduled': N_('Appointment moved to {when} with {doctor}'),
    'cancelled': N_('Appointment cancelled: {when} with {doctor}'),
    'reminder': N_('Reminder: appointment {when} with {doctor}'),
}
_OPENINGS = {
    'booked': N_('Your appointment is confirmed.'),
    'rescheduled': N_('Your appointment has been moved. The new time is below.'),
    'cancelled': N_('Your appointment has been cancelled.'),
    'reminder': N_('This is a reminder of your appointment.'),
}


async def _service_names(session: AsyncSession, appointment_id: int) -> list[str]:
    """The appointment's services, named in the current language when the clinic gave the name in it."""
    query = (select(Service.name, Service.name_translations)
             .join(AppointmentService, AppointmentService.service_id == Service.id)
             .where(AppointmentService.appointment_id == appointment_id).order_by(Service.name))
    return [i18n.pick(name, translations) for name, translations in (await session.exec(query)).all()]


def _room_text(room: Room | None) -> str:
    if room is None:
        return ''
    name = i18n.pick(room.name, room.name_translations)
    text = f'{name} ({room.code})' if name and name != room.code else room.code
    return _('{room}, floor {floor}').format(room=text, floor=room.floor) if room.floor else text


def _body(kind: AppointmentEmailKind, *, settings, patient: Patient, appointment: Appointment, doctor: str,
          services: list[str], room: str, link: str = '', checkin_code: str = '') -> str:
    """The email's text, in the current language."""
    details = [(_('When:'), long_local_text(appointment.start_at, appointment.end_at, settings.tz)),
               (_('Doctor:'), doctor)]
    if services:
        details.append((_('Service:'), ', '.join(services)))
    if room:
        details.append((_('Room:'), room))
    details.append((_('Patient:'), f'{patient.full_name} ({patient.code})'))
    width = max(len(label) for label, _value in details) + 1
    lines = [_('Dear {name},').format(name=patient.full_name), '', _(_OPENINGS[kind]), '']
    lines += [f'  {label.ljust(width)} {value}' for label, value in details]
    if kind == 'cancelled' and appointment.cancel_reason:
        lines += ['', _('Reason: {reason}').format(reason=appointment.cancel_reason)]
    lines.append('')
    phone = settings.clinic_phone
    if kind == 'cancelled':
        lines.append(_('To book a new appointment, please call us on {phone}.').format(phone=phone) if phone else
                     _('To book a new appointment, please call us.'))
    else:
        lines.append(_('Please arrive 10 minutes early and bring your ID or insurance card.'))
        if checkin_code:
            lines += [_('On the day, check yourself in at the kiosk at the entrance: show it the QR code of this '
                        'email, or type your phone number and date of birth.'),
                      _('Check-in code: {code}').format(code=checkin_code)]
        if link:
            deadline = appointment.start_at - timedelta(hours=settings.online_change_hours)
            lines += [_('You can move or cancel this appointment yourself until {deadline}:').format(
                deadline=short_local_text(deadline, settings.tz)), f'  {link}']
        lines += [_('To reschedule or cancel, please call us on {phone}.').format(phone=phone) if phone else
                  _('To reschedule or cancel, please call us.'),
                  _('The attached invitation adds the appointment to your calendar.')]
    lines += ['', _('Kind regards,'), settings.clinic_name]
    lines += [line for line in (settings.clinic_address, settings.clinic_phone) if line]
    return '\n'.join(lines) + '\n'


def _manage_link(appointment: Appointment, kind: AppointmentEmailKind, language: str, settings) -> str:
    """The patient's own link to move or cancel this version of the booking (see ``booking_links``): in the
    confirmation and the "new time" emails, when the clinic's public address is set."""
    if kind not in ('booked', 'rescheduled') or appointment.status not in LINK_STATUSES:
        return ''
    token = booking_links.make_token(appointment.uuid, appointment.sequence, appointment.start_at, settings)
    return booking_links.manage_url(token, language, settings)


def _checkin_code(appointment: Appointment, kind: AppointmentEmailKind, settings) -> str:
    """The code the self check-in kiosk reads (``checkin_codes``), valid until the end of the appointment's day:
    in every email of a booking the patient may still come to."""
    if kind == 'cancelled' or appointment.status not in LINK_STATUSES:
        return ''
    return checkin_codes.make_code(appointment.id, appointment.start_at.astimezone(settings.tz).date(), settings)


def appointment_language(appointment: Appointment, patient: Patient, settings) -> str:
    """The language of an appointment's messages: the booking's, else the patient's, else the clinic's."""
    return reader_language(appointment.language, patient.language, clinic=settings.language)


def appointment_dedupe_key(appointment: Appointment, kind: AppointmentEmailKind, tz) -> str:
    """One email per appointment, kind and version (SEQUENCE); reminders once per local day of the visit."""
    if kind == 'reminder':
        return f'appointment:{appointment.id}:reminder:{appointment.start_at.astimezone(tz).date().isoformat()}'
    return f'appointment:{appointment.id}:{kind}:{appointment.sequence}'


async def queue_appointment_email(session: AsyncSession, appointment_id: int, kind: AppointmentEmailKind, *,
                                  settings) -> OutboxMessage | None:
    """Queue the patient's email (with a calendar invitation) about an appointment, in the caller's transaction.
    Returns None when the patient has no (valid) email address."""
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_('This appointment no longer exists.'))
    patient = await session.get(Patient, appointment.patient_id)
    email = (patient.email or '').strip() if patient else ''
    if patient is None or not is_valid_email(email):
        return None
    doctor_row = await session.get(Doctor, appointment.doctor_id)
    room_row = await session.get(Room, appointment.room_id) if appointment.room_id else None
    method = 'CANCEL' if kind == 'cancelled' else 'REQUEST'
    organizer_name, organizer_email = sender(settings)
    language = appointment_language(appointment, patient, settings)
    with i18n.use(language):
        doctor = f'{doctor_row.title} {doctor_row.full_name}'.strip() if doctor_row else _('your doctor')
        services = await _service_names(session, appointment_id)
        room = _room_text(room_row)
        subject = _(_SUBJECTS[kind]).format(when=short_local_text(appointment.start_at, settings.tz),
                                            doctor=doctor)
        code = _checkin_code(appointment, kind, settings)
        body = _body(kind, settings=settings, patient=patient, appointment=appointment, doctor=doctor,
                     services=services, room=room, link=_manage_link(appointment, kind, language, settings),
                     checkin_code=code)
        location = ', '.join(part for part in (room, settings.clinic_name, settings.clinic_address) if part)
        summary = _('{services} with {doctor}').format(services=', '.join(services) or _('Appointment'),
                                                       doctor=doctor)
    ics = appointment_ics(
        uid=appointment_uid(appointment.uuid), sequence=appointment.sequence, method=method,
        start_at=appointment.start_at, end_at=appointment.end_at,
        summary=summary, description=body, location=location,
        organizer_email=organizer_email, organizer_name=organizer_name,
        attendee_email=email, attendee_name=patient.full_name, stamp=utcnow())
    return await queue_email(session, dedupe_key=appointment_dedupe_key(appointment, kind, settings.tz), to=email,
                             subject=subject, body=body, attachment_name='invite.ics',
                             attachment_type=f'text/calendar; method={method}',
                             attachment_data=ics.encode('utf-8'), qr_text=code)


# --- Follow-up reminders ----------------------------------------------------------------------------------------

REMINDER_HOUR = 9  # local time on the day before the appointment


def reminder_send_at(start_at: datetime, tz, now: datetime) -> datetime:
    """When a reminder goes out: 09:00 clinic time the day before; at once if that moment has passed."""
    from datetime import time, timedelta
    day_before = start_at.astimezone(tz).date() - timedelta(days=1)
    moment = datetime.combine(day_before, time(REMINDER_HOUR), tzinfo=tz)
    return max(moment, now)


async def schedule_appointment_reminder(session: AsyncSession, appointment_id: int, *, settings,
                                        now: datetime) -> OutboxMessage | None:
    """Queue the reminder of an appointment to be sent the day before (in the caller's transaction), through the
    patient's channel (``choose_channel``). The outbox sends nothing before ``next_attempt_at``. None when the
    patient can be reached by no channel (no email address, no valid phone)."""
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_('This appointment no longer exists.'))
    patient = await session.get(Patient, appointment.patient_id)
    channel = choose_channel(patient, settings, template='reminder') if patient is not None else None
    if channel is None:
        return None
    if channel == MessageChannel.EMAIL:
        row = await queue_appointment_email(session, appointment_id, 'reminder', settings=settings)
    else:
        row = await _queue_reminder_text(session, appointment, patient, channel, settings=settings)
    if row is None or row.status != OutboxStatus.PENDING or row.attempts:
        return row
    appointment = await session.get(Appointment, appointment_id)
    row.next_attempt_at = reminder_send_at(appointment.start_at, settings.tz, now)
    session.add(row)
    return row


# --- Channels and short texts (SMS, Zalo) ------------------------------------------------------------------------

ZALO_TEMPLATE_MAX = 400  # characters of a ZNS template message


def default_channel(patient: Patient) -> MessageChannel:
    """Without a stated preference: email when the patient has an address, else SMS."""
    return MessageChannel.EMAIL if is_valid_email((patient.email or '').strip()) else MessageChannel.SMS


def _address(patient: Patient, channel: MessageChannel) -> str:
    if channel == MessageChannel.EMAIL:
        email = (patient.email or '').strip()
        return email if is_valid_email(email) else ''
    return patient.phone if phones.is_stored_valid(patient.phone) else ''


def _set_up(channel: MessageChannel, settings, template: str) -> bool:
    if channel == MessageChannel.EMAIL:
        return bool(settings.smtp_host)
    if channel == MessageChannel.SMS:
        return bool(settings.sms_url)
    from .gateways import zalo_templates  # here: gateways imports this module
    return bool(settings.zalo_url and settings.zalo_access_token.get_secret_value()
                and zalo_templates(settings).get(template))


def choose_channel(patient: Patient, settings, *, template: str) -> MessageChannel | None:
    """The channel a message of kind ``template`` ('reminder', 'turn') reaches the patient by: their preferred one
    when the clinic has set it up and the patient has an address for it; else the first other channel (email,
    SMS, Zalo) that both have; when the clinic has set up none they have, the first they have an address for (the
    message waits in the outbox until the clinic sets that channel up). None: no address at all."""
    preferred = patient.preferred_channel or default_channel(patient)
    order = [preferred, *(c for c in MessageChannel if c != preferred)]
    reachable = [c for c in order if _address(patient, c)]
    usable = [c for c in reachable if _set_up(c, settings, template)]
    return (usable or reachable or [None])[0]


def _fit_zalo(data: dict[str, str]) -> str:
    """The template data as JSON, the names cut (the patient's, then the clinic's; never the time, number or link)
    so the message stays within ZNS's limit."""
    for key in ('customer_name', 'clinic'):
        excess = sum(len(v) for v in data.values()) - ZALO_TEMPLATE_MAX
        if excess > 0 and key in data:
            data[key] = data[key][:max(len(data[key]) - excess, 10)].rstrip()
    return json.dumps(data, ensure_ascii=False)


async def _queue_text(session: AsyncSession, patient: Patient, channel: MessageChannel, *, dedupe_key: str,
                      subject: str, text: str, template: str, zalo_data: dict[str, str]) -> OutboxMessage | None:
    body = _fit_zalo(zalo_data) if channel == MessageChannel.ZALO else text
    return await queue_message(session, channel=channel, dedupe_key=dedupe_key, to=_address(patient, channel),
                               subject=subject, body=body, template=template)


async def _queue_reminder_text(session: AsyncSession, appointment: Appointment, patient: Patient,
                               channel: MessageChannel, *, settings) -> OutboxMessage | None:
    """The reminder as a short text: the clinic, the day and time, how to change it; nothing medical."""
    with i18n.use(appointment_language(appointment, patient, settings)):
        when = short_local_text(appointment.start_at, settings.tz)
        phone = settings.clinic_phone
        text = (_('{clinic}: reminder of your appointment on {when}. To change it, call {phone}.') if phone else
                _('{clinic}: reminder of your appointment on {when}.')).format(
            clinic=settings.clinic_name, when=when, phone=phone)
        subject = _('Reminder: appointment {when}').format(when=when)
    return await _queue_text(
        session, patient, channel, dedupe_key=appointment_dedupe_key(appointment, 'reminder', settings.tz),
        subject=subject, text=text, template='reminder',
        zalo_data={'customer_name': patient.full_name, 'clinic': settings.clinic_name, 'time': when,
                   'phone': settings.clinic_phone})


async def queue_turn_near(session: AsyncSession, *, patient: Patient, ticket_id: int, label: str, ahead: int,
                          link: str, settings) -> OutboxMessage | None:
    """"Your turn is near" for a waiting ticket (in the caller's transaction: the call that brought it near).
    Once per ticket; None when the patient can be reached by no channel."""
    channel = choose_channel(patient, settings, template='turn')
    if channel is None:
        return None
    with i18n.use(reader_language(patient.language, clinic=settings.language)):
        text = _('{clinic}: your turn is near. Number {ticket}, {ahead} ahead of you.').format(
            clinic=settings.clinic_name, ticket=label, ahead=ahead)
        if link:
            text += ' ' + _('Follow it live: {link}').format(link=link)
        subject = _('Your turn is near: {ticket}').format(ticket=label)
    return await _queue_text(session, patient, channel, dedupe_key=f'ticket:{ticket_id}:turn-near', subject=subject,
                             text=text, template='turn',
                             zalo_data={'customer_name': patient.full_name, 'clinic': settings.clinic_name,
                                        'ticket': label, 'ahead': str(ahead), 'link': link})
