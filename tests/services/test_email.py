"""Appointment emails end to end: queued with the booking, delivered to a real SMTP server on loopback,
retried with backoff while the server is down, never lost, never queued twice. (The outbox page's test is in
tests/pages/reception/test_outbox.py.)"""
from __future__ import annotations

import asyncio
import email
import socket
import uuid
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from nicegui.testing import User
from sqlmodel import func, select

from models import (
    Appointment,
    AppointmentService,
    AuditLog,
    BookingSource,
    Doctor,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Role,
    Room,
    RoomKind,
    Service,
    ServiceKind,
)
from models import User as StaffUser
from services import notifications, outbox
from services.access import Actor
from services.core import i18n
from services.core.db import get_db
from services.core.settings import Settings
from tests.services.vietnamese import vietnamese  # noqa: F401 - the fixture of the tests marked with it

PATIENT_NAME = 'Trần Thị Ngọc Ánh'
DOCTOR_NAME = 'Nguyễn Thị Lan'
START = datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)  # 09:30 in Asia/Ho_Chi_Minh


def soon() -> datetime:
    """A moment just after every row queued so far became due."""
    return datetime.now(timezone.utc) + timedelta(seconds=1)


# --- fixtures and helpers ---------------------------------------------------------------------------------

class Inbox:
    """aiosmtpd handler: keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return '250 Message accepted for delivery'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname='127.0.0.1', port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def mail_settings(port: int, **overrides) -> Settings:
    values = dict(smtp_host='127.0.0.1', smtp_port=port, smtp_starttls=False, smtp_from='clinic@example.test',
                  clinic_name='Phòng khám An Bình', clinic_address='12 Lê Lợi, Quận 1, TP. Hồ Chí Minh',
                  clinic_phone='028 3823 0000', timezone='Asia/Ho_Chi_Minh')
    return Settings(**{**values, **overrides})


async def make_appointment(db, *, patient_email: str | None = 'anh.tran@example.test',
                           patient_language: str | None = None, language: str | None = None) -> int:
    async with db.write() as session:
        patient = Patient(code='P0000001', full_name=PATIENT_NAME, search_name='tran thi ngoc anh',
                          phone='0901234567', email=patient_email, language=patient_language)
        doctor = Doctor(full_name=DOCTOR_NAME, license_number='BS-0001')
        room = Room(code='P203', name='Phòng khám 2', kind=RoomKind.CONSULTATION, floor='2')
        service = Service(code='KTQ', name='General consultation', kind=ServiceKind.CONSULTATION,
                          duration_minutes=20, price=150_000)
        session.add_all([patient, doctor, room, service])
        await session.flush()
        appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=patient.id, doctor_id=doctor.id,
                                  room_id=room.id, start_at=START, end_at=START + timedelta(minutes=20),
                                  source=BookingSource.PHONE, reason='Ho kéo dài', language=language)
        session.add(appointment)
        await session.flush()
        session.add(AppointmentService(appointment_id=appointment.id, service_id=service.id))
        await session.commit()
        return appointment.id


async def queue(db, appointment_id: int, kind: str, settings: Settings) -> OutboxMessage | None:
    async with db.write() as session:
        row = await notifications.queue_appointment_email(session, appointment_id, kind, settings=settings)
        await session.commit()
        return row


async def outbox_rows(db) -> list[OutboxMessage]:
    async with db.read() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def make_receptionist(db) -> Actor:
    async with db.write() as session:
        user = StaffUser(username='reception1', full_name='Lê Thu Hà', role=Role.RECEPTIONIST, password_hash='!')
        session.add(user)
        await session.commit()
        return Actor(user_id=user.id, username=user.username, full_name=user.full_name, role=user.role)


def invitation(message: email.message.EmailMessage) -> tuple[Calendar, email.message.EmailMessage]:
    part = next(p for p in message.iter_attachments() if p.get_content_type() == 'text/calendar')
    return Calendar.from_ical(part.get_content()), part


# --- queuing and delivery ---------------------------------------------------------------------------------

async def test_a_booking_email_arrives_once_with_a_calendar_invitation(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    row = await queue(db, appointment_id, 'booked', settings)
    assert row is not None and row.status == OutboxStatus.PENDING
    assert row.message_id.startswith('<') and row.message_id.endswith('@clinic-flow>')

    assert await outbox.send_due(db, settings) == 1
    assert await outbox.send_due(db, settings) == 0
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.recipients[0] == ['anh.tran@example.test']
    assert message['Subject'] == f'Appointment confirmed: Tue 24 Nov 09:30 with Dr. {DOCTOR_NAME}'
    assert message['Message-ID'] == row.message_id
    assert 'clinic@example.test' in message['From']
    body = message.get_body(('plain',)).get_content()
    assert f'Dear {PATIENT_NAME},' in body
    assert 'Tuesday, 24 November 2026, 09:30 to 09:50' in body
    assert 'General consultation' in body and 'Phòng khám 2 (P203)' in body
    assert '028 3823 0000' in body and 'Phòng khám An Bình' in body

    calendar, part = invitation(message)
    assert part.get_param('method') == 'REQUEST' and part.get_content_charset() == 'utf-8'
    assert part.get_filename() == 'invite.ics'
    event = calendar.walk('VEVENT')[0]
    async with db.read() as session:
        appointment = await session.get(Appointment, appointment_id)
    assert str(calendar['METHOD']) == 'REQUEST'
    assert str(event['UID']) == f'{appointment.uuid}@clinic-flow'
    assert int(event['SEQUENCE']) == 0
    assert event.decoded('DTSTART') == START
    assert event.decoded('DTEND') == START + timedelta(minutes=20)
    assert str(event['ATTENDEE']) == 'mailto:anh.tran@example.test'
    assert event['ATTENDEE'].params['CN'] == PATIENT_NAME
    assert str(event['STATUS']) == 'CONFIRMED'

    [stored] = await outbox_rows(db)
    assert stored.status == OutboxStatus.SENT and stored.sent_at is not None and stored.attempts == 1


async def delivered(db, smtp, settings, appointment_id: int, kind: str = 'booked'):
    """Queue and send one appointment email (while the staff member reads the other language): the message, its
    plain text and its calendar event."""
    with i18n.use('vi' if settings.language == 'en' else 'en'):
        await queue(db, appointment_id, kind, settings)
    assert await outbox.send_due(db, settings) == 1
    message = smtp.messages[-1]
    calendar, part = invitation(message)
    return message, ' '.join(message.get_body(('plain',)).get_content().split()), calendar.walk('VEVENT')[0]


@pytest.mark.usefixtures('vietnamese')
async def test_a_vietnamese_patient_gets_the_confirmation_and_invitation_in_vietnamese(db, smtp):
    settings = mail_settings(smtp.port, language='en')
    message, body, event = await delivered(db, smtp, settings, await make_appointment(db, patient_language='vi'))
    assert message['Subject'] == f'Xác nhận lịch hẹn: Thứ 3, 24 thg 11 09:30 với Dr. {DOCTOR_NAME}'
    assert f'Kính gửi {PATIENT_NAME},' in body and 'Lịch hẹn của quý khách đã được xác nhận.' in body
    assert 'Thời gian: 09:30 – 09:50, Thứ Ba, 24 tháng 11, 2026' in body
    assert 'Phòng: Phòng khám 2 (P203), tầng 2' in body and 'Dịch vụ: General consultation' in body
    assert 'Vui lòng đến sớm 10 phút' in body and 'theo số 028 3823 0000' in body and 'Trân trọng,' in body
    assert str(event['SUMMARY']) == f'General consultation với Dr. {DOCTOR_NAME}'
    assert 'Kính gửi' in str(event['DESCRIPTION']) and 'Dear' not in str(event['DESCRIPTION'])
    assert str(event['LOCATION']).startswith('Phòng khám 2 (P203), tầng 2, Phòng khám An Bình')


@pytest.mark.usefixtures('vietnamese')
async def test_an_english_patient_gets_english_in_a_vietnamese_clinic(db, smtp):
    settings = mail_settings(smtp.port, language='vi')
    message, body, event = await delivered(db, smtp, settings, await make_appointment(db, patient_language='en'))
    assert message['Subject'] == f'Appointment confirmed: Tue 24 Nov 09:30 with Dr. {DOCTOR_NAME}'
    assert f'Dear {PATIENT_NAME},' in body and 'When: Tuesday, 24 November 2026, 09:30 to 09:50' in body
    assert str(event['SUMMARY']) == f'General consultation with Dr. {DOCTOR_NAME}'


@pytest.mark.usefixtures('vietnamese')
async def test_the_bookings_language_wins_then_the_patients_then_the_clinics(db, smtp):
    settings = mail_settings(smtp.port, language='vi')
    appointment_id = await make_appointment(db, patient_language='vi', language='en')
    message, body, event = await delivered(db, smtp, settings, appointment_id)
    assert message['Subject'].startswith('Appointment confirmed') and 'Kính gửi' not in body
    async with db.write() as session:  # no language of its own, none of the patient's: the clinic's
        appointment = await session.get(Appointment, appointment_id)
        appointment.language = None
        (await session.get(Patient, appointment.patient_id)).language = None
        appointment.cancel_reason = 'Bác sĩ nghỉ ốm'
        await session.commit()
    message, body, event = await delivered(db, smtp, settings, appointment_id, 'cancelled')
    assert message['Subject'].startswith('Lịch hẹn đã hủy: ') and 'Lý do: Bác sĩ nghỉ ốm' in body
    assert 'Để đặt lịch hẹn mới, vui lòng gọi cho chúng tôi theo số 028 3823 0000.' in body


async def test_the_same_email_is_never_queued_twice(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    first = await queue(db, appointment_id, 'booked', settings)
    second = await queue(db, appointment_id, 'booked', settings)
    async with db.write() as session:  # twice in one transaction, too
        third = await notifications.queue_appointment_email(session, appointment_id, 'booked', settings=settings)
        fourth = await notifications.queue_appointment_email(session, appointment_id, 'booked', settings=settings)
        await session.commit()
    assert first.id == second.id == third.id == fourth.id
    assert len(await outbox_rows(db)) == 1
    assert await outbox.send_due(db, settings) == 1
    assert len(smtp.messages) == 1


async def test_no_email_exists_unless_the_booking_committed(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    async with db.write() as session:
        assert await notifications.queue_appointment_email(session, appointment_id, 'booked', settings=settings)
        await session.rollback()
    assert await outbox_rows(db) == []
    assert await outbox.send_due(db, settings) == 0


async def test_reschedule_raises_the_sequence_and_cancel_keeps_the_uid(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    await queue(db, appointment_id, 'booked', settings)
    new_start = START + timedelta(days=1, hours=1)
    async with db.write() as session:
        appointment = await session.get(Appointment, appointment_id)
        appointment.start_at, appointment.end_at = new_start, new_start + timedelta(minutes=20)
        appointment.sequence += 1
        await notifications.queue_appointment_email(session, appointment_id, 'rescheduled', settings=settings)
        await session.commit()
    async with db.write() as session:
        appointment = await session.get(Appointment, appointment_id)
        appointment.cancel_reason = 'Bác sĩ nghỉ ốm'
        await notifications.queue_appointment_email(session, appointment_id, 'cancelled', settings=settings)
        await session.commit()

    assert await outbox.send_due(db, settings) == 3
    events = {}
    for message in smtp.messages:
        calendar, part = invitation(message)
        events[message['Subject'].split(':')[0].split(' ')[1]] = (calendar, part, message)
    booked, moved, cancelled = events['confirmed'], events['moved'], events['cancelled']
    uids = {str(c.walk('VEVENT')[0]['UID']) for c, _, _ in (booked, moved, cancelled)}
    assert len(uids) == 1
    assert int(moved[0].walk('VEVENT')[0]['SEQUENCE']) == 1
    assert moved[0].walk('VEVENT')[0].decoded('DTSTART') == new_start
    assert moved[2]['Subject'] == f'Appointment moved to Wed 25 Nov 10:30 with Dr. {DOCTOR_NAME}'
    assert str(cancelled[0]['METHOD']) == 'CANCEL' and cancelled[1].get_param('method') == 'CANCEL'
    assert str(cancelled[0].walk('VEVENT')[0]['STATUS']) == 'CANCELLED'
    assert 'Reason: Bác sĩ nghỉ ốm' in cancelled[2].get_body(('plain',)).get_content()
    assert [row.dedupe_key for row in await outbox_rows(db)] == [
        f'appointment:{appointment_id}:booked:0', f'appointment:{appointment_id}:rescheduled:1',
        f'appointment:{appointment_id}:cancelled:1']


async def test_a_reminder_is_queued_once_per_day_of_the_visit(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    first = await queue(db, appointment_id, 'reminder', settings)
    again = await queue(db, appointment_id, 'reminder', settings)
    assert first.id == again.id
    assert first.dedupe_key == f'appointment:{appointment_id}:reminder:2026-11-24'
    assert first.attachment_type == 'text/calendar; method=REQUEST'


async def test_no_email_for_a_patient_without_an_address(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db, patient_email=None)
    assert await queue(db, appointment_id, 'booked', settings) is None
    assert await outbox_rows(db) == []


# --- failures, retries and crashes ------------------------------------------------------------------------

async def test_while_smtp_is_down_the_email_waits_and_is_delivered_once_later(db, smtp):
    appointment_id = await make_appointment(db)
    await queue(db, appointment_id, 'booked', mail_settings(smtp.port))
    down = mail_settings(free_port())  # nobody listens there
    t0 = soon()

    assert await outbox.send_due(db, down, now=t0) == 0
    [row] = await outbox_rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == (OutboxStatus.PENDING, 1, t0 + timedelta(seconds=30))
    assert row.last_error

    assert await outbox.send_due(db, down, now=t0 + timedelta(seconds=10)) == 0  # not due yet: not even tried
    [row] = await outbox_rows(db)
    assert row.attempts == 1

    waits = []
    moment = t0
    for _ in range(3):
        moment = row.next_attempt_at
        assert await outbox.send_due(db, down, now=moment) == 0
        [row] = await outbox_rows(db)
        waits.append(row.next_attempt_at - moment)
    assert row.attempts == 4 and row.status == OutboxStatus.PENDING
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert smtp.messages == []

    up = mail_settings(smtp.port)
    assert await outbox.send_due(db, up, now=moment + timedelta(seconds=30)) == 0  # still backing off
    assert await outbox.send_due(db, up, now=row.next_attempt_at) == 1
    assert await outbox.send_due(db, up, now=row.next_attempt_at + timedelta(hours=2)) == 0
    assert len(smtp.messages) == 1
    [row] = await outbox_rows(db)
    assert row.status == OutboxStatus.SENT and row.attempts == 5


async def test_after_the_last_attempt_the_email_fails_and_staff_can_send_it_again(db, smtp):
    actor = await make_receptionist(db)
    appointment_id = await make_appointment(db)
    await queue(db, appointment_id, 'booked', mail_settings(smtp.port))
    down = mail_settings(free_port())
    moment = soon()
    for _ in range(outbox.MAX_ATTEMPTS):
        await outbox.send_due(db, down, now=moment)
        moment += timedelta(hours=2)
    [row] = await outbox_rows(db)
    assert row.status == OutboxStatus.FAILED and row.attempts == outbox.MAX_ATTEMPTS
    assert await outbox.send_due(db, down, now=moment) == 0  # given up: no more tries

    async with db.write() as session:
        await outbox.requeue(session, actor, row.id)
    async with db.read() as session:
        audit = (await session.exec(select(AuditLog).where(AuditLog.action == 'message_requeued'))).one()
    assert audit.entity_id == row.id and audit.user_id == actor.user_id
    assert await outbox.send_due(db, mail_settings(smtp.port)) == 1
    assert len(smtp.messages) == 1


async def test_an_email_left_sending_by_a_crash_is_sent_after_its_lease(db, smtp):
    settings = mail_settings(smtp.port)
    appointment_id = await make_appointment(db)
    row = await queue(db, appointment_id, 'booked', settings)
    now = datetime.now(timezone.utc)
    async with db.write() as session:  # a sender claimed it, then the process died
        claimed = await session.get(OutboxMessage, row.id)
        claimed.status, claimed.next_attempt_at = OutboxStatus.SENDING, now + timedelta(seconds=60)
        await session.commit()
    assert await outbox.send_due(db, settings, now=now) == 0  # lease still running: maybe still being sent
    assert await outbox.send_due(db, settings, now=now + timedelta(seconds=61)) == 1
    assert len(smtp.messages) == 1
    assert smtp.messages[0]['Message-ID'] == row.message_id


async def test_without_an_smtp_server_configured_emails_just_wait(db, smtp):
    appointment_id = await make_appointment(db)
    await queue(db, appointment_id, 'booked', mail_settings(smtp.port))
    assert await outbox.send_due(db, mail_settings(smtp.port, smtp_host='')) == 0
    [row] = await outbox_rows(db)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 0, '')


async def test_the_outbox_list_pages_and_filters_for_reception_only(db, smtp):
    actor = await make_receptionist(db)
    async with db.write() as session:
        for n in range(7):
            await notifications.queue_email(session, dedupe_key=f'test:{n}', to=f'p{n}@example.test',
                                            subject=f'Message {n}', body='Xin chào')
        await session.commit()
    async with db.read() as session:
        page, total = await outbox.list_outbox(session, actor, offset=5, limit=5)
        pending, pending_total = await outbox.list_outbox(session, actor, status=OutboxStatus.PENDING)
        failed, failed_total = await outbox.list_outbox(session, actor, status=OutboxStatus.FAILED)
        count = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    assert (total, len(page), pending_total, failed_total, count) == (7, 2, 7, 0, 7)
    cashier = Actor(user_id=actor.user_id, username='c', full_name='C', role=Role.CASHIER)
    async with db.read() as session:
        with pytest.raises(Exception, match='Only Receptionist'):
            await outbox.list_outbox(session, cashier)


# --- the background sender --------------------------------------------------------------------------------

async def test_the_mailer_sends_a_queued_email_at_once_and_stops_cleanly(user: User, smtp):
    from services.mailer import POLL_S, Mailer
    await user.open('/login')  # starts the app: event loop and database ready
    database = get_db()
    mailer = Mailer(mail_settings(smtp.port))
    mailer.start()
    try:
        await asyncio.sleep(0.1)  # first pass: nothing due
        appointment_id = await make_appointment(database)
        await queue(database, appointment_id, 'booked', mail_settings(smtp.port))
        for _ in range(100):  # woken by the OUTBOX event, well before the next poll
            if smtp.messages:
                break
            await asyncio.sleep(0.02)
        assert len(smtp.messages) == 1 and POLL_S > 2
    finally:
        await mailer.stop()
    [row] = await outbox_rows(database)
    assert row.status == OutboxStatus.SENT
