"""Messages to patients by SMS and Zalo: through a fake gateway on loopback that can be down, answer 500, 400, or 200
with garbage; reminders and "your turn is near" arrive exactly once after an outage; a refusal ends FAILED with the
gateway's reason; the channel each patient is reached by; phones checked per region and migrated to E.164."""
from __future__ import annotations

import json
import socket
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlmodel import select

from models import (
    Appointment,
    BookingSource,
    Doctor,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
    Patient,
    QueueTicket,
    Room,
    RoomKind,
)
from services import checkin, clinic_settings, notifications, outbox, phones, queue
from services.core.db import Database
from services.core.errors import ValidationError
from services.core.migrate import upgrade
from services.core.settings import Settings
from tests.factories import TZ, local, make_clinic
from tests.services.vietnamese import vietnamese  # noqa: F401 - the fixture of the tests marked with it

START = datetime(2026, 11, 24, 2, 30, tzinfo=timezone.utc)  # Tuesday 24 Nov, 09:30 in Asia/Ho_Chi_Minh
BEFORE = START - timedelta(days=3)
DUE = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # the day before, 09:00 local


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class FakeGateway:
    """An SMS / Zalo provider on loopback. ``mode``: 'ok', '500', '400', 'garbage' (200, not JSON) or 'error'
    (200 with an error body). Before ``start`` (or after ``stop``) connections are refused."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mode = 'ok'
        self.requests: list[tuple[dict, dict]] = []  # (headers, JSON body) of every request that reached it
        self.accepted: list[dict] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/send'

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        if self.mode == '500':
            return web.Response(status=500, text='Internal Server Error')
        if self.mode == '400':
            return web.json_response({'error': 'invalid_phone', 'message': 'Phone number is not a mobile number'},
                                     status=400)
        if self.mode == 'garbage':
            return web.Response(status=200, text='<html>maintenance</html>', content_type='text/html')
        if self.mode == 'error':
            return web.json_response({'error': -32, 'message': 'Out of quota'})
        self.accepted.append(body)
        return web.json_response({'error': 0, 'message': 'Success', 'data': {'msg_id': str(len(self.accepted))}})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post('/send', self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, '127.0.0.1', self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def gateway():
    fake = FakeGateway()  # not started: down
    yield fake
    await fake.stop()


def sms_settings(gateway: FakeGateway, **overrides) -> Settings:
    values = dict(sms_url=gateway.url, sms_api_key='secret-key', sms_sender='ANBINH', clinic_name='Phòng khám An Bình',
                  clinic_phone='028 3823 0000', timezone='Asia/Ho_Chi_Minh', public_url='https://kham.example.vn')
    return Settings(**{**values, **overrides})


def zalo_settings(gateway: FakeGateway, **overrides) -> Settings:
    values = dict(zalo_url=gateway.url, zalo_access_token='zalo-token', zalo_template_reminder='301234',
                  zalo_template_turn='301235', clinic_name='Phòng khám An Bình', timezone='Asia/Ho_Chi_Minh')
    return Settings(**{**values, **overrides})


async def make_appointment(db, *, email: str | None = None, phone: str | None = '+84901234567',
                           language: str | None = None, channel: MessageChannel | None = None) -> int:
    async with db.write() as session:
        patient = Patient(code='P0000001', full_name='Trần Thị Ngọc Ánh', search_name='tran thi ngoc anh',
                          phone=phone, email=email, language=language, preferred_channel=channel)
        doctor = Doctor(full_name='Nguyễn Thị Lan', license_number='BS-0001')
        room = Room(code='P203', name='Phòng khám 2', kind=RoomKind.CONSULTATION)
        session.add_all([patient, doctor, room])
        await session.flush()
        appointment = Appointment(uuid=str(uuid.uuid4()), patient_id=patient.id, doctor_id=doctor.id,
                                  room_id=room.id, start_at=START, end_at=START + timedelta(minutes=20),
                                  source=BookingSource.PHONE, reason='Ho ra máu kéo dài')
        session.add(appointment)
        await session.commit()
        return appointment.id


async def remind(db, appointment_id: int, settings: Settings) -> OutboxMessage | None:
    async with db.write() as session:
        row = await notifications.schedule_appointment_reminder(session, appointment_id, settings=settings,
                                                                now=BEFORE)
        await session.commit()
        return row


async def rows(db) -> list[OutboxMessage]:
    async with db.read() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


# --- reminders by SMS ---------------------------------------------------------------------------------------

async def test_a_reminder_sms_arrives_exactly_once_after_an_outage(db, gateway):
    settings = sms_settings(gateway)
    appointment_id = await make_appointment(db)  # no email: SMS
    row = await remind(db, appointment_id, settings)
    assert (row.channel, row.to_address, row.next_attempt_at) == (MessageChannel.SMS, '+84901234567', DUE)
    assert await remind(db, appointment_id, settings) is not None and len(await rows(db)) == 1  # never twice

    assert await outbox.send_due(db, settings, now=DUE - timedelta(minutes=1)) == 0  # not due: not even tried
    assert gateway.requests == []
    assert await outbox.send_due(db, settings, now=DUE) == 0  # down: connection refused
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1) and 'ConnectError' in row.last_error
    await gateway.start()
    moment = row.next_attempt_at
    for mode in ('500', 'garbage', 'error'):  # each is retried with a longer pause
        gateway.mode = mode
        assert await outbox.send_due(db, settings, now=moment) == 0
        [row] = await rows(db)
        assert row.status == OutboxStatus.PENDING and row.next_attempt_at - moment >= timedelta(seconds=60)
        moment = row.next_attempt_at
    assert 'HTTP 500' in (await rows(db))[0].last_error or row.attempts == 4
    gateway.mode = 'ok'
    assert await outbox.send_due(db, settings, now=moment) == 1
    assert await outbox.send_due(db, settings, now=moment + timedelta(hours=5)) == 0
    assert len(gateway.accepted) == 1 and len(gateway.requests) == 4
    headers, body = gateway.requests[-1]
    assert headers['Authorization'] == 'Bearer secret-key'
    assert body['to'] == '84901234567' and body['sender'] == 'ANBINH'
    assert body['request_id'] == f'appointment:{appointment_id}:reminder:2026-11-24'
    assert 'Phòng khám An Bình' in body['text'] and '09:30' in body['text'] and '028 3823 0000' in body['text']
    assert 'máu' not in body['text'] and 'Lan' not in body['text']  # no reason, no doctor: nothing medical
    assert len(body['text']) <= 160
    [row] = await rows(db)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 5, '')


@pytest.mark.usefixtures('vietnamese')
async def test_a_reminder_sms_speaks_the_patients_language(db, gateway):
    settings = sms_settings(gateway)
    appointment_id = await make_appointment(db, language='vi')
    row = await remind(db, appointment_id, settings)
    assert row.body_text.startswith('Phòng khám An Bình: nhắc lịch hẹn') and 'máu' not in row.body_text


async def test_a_refused_sms_fails_at_once_with_the_gateways_reason(db, gateway):
    settings = sms_settings(gateway)
    await remind(db, await make_appointment(db), settings)
    await gateway.start()
    gateway.mode = '400'
    assert await outbox.send_due(db, settings, now=DUE) == 0
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error == 'HTTP 400: Phone number is not a mobile number'
    assert await outbox.send_due(db, settings, now=DUE + timedelta(days=1)) == 0 and len(gateway.requests) == 1


async def test_messages_of_a_channel_the_clinic_has_not_set_up_wait(db, gateway):
    await remind(db, await make_appointment(db), sms_settings(gateway))
    await gateway.start()
    assert await outbox.send_due(db, sms_settings(gateway, sms_url=''), now=DUE) == 0
    assert gateway.requests == [] and (await rows(db))[0].status == OutboxStatus.PENDING
    assert await outbox.send_due(db, sms_settings(gateway), now=DUE) == 1


# --- Zalo ---------------------------------------------------------------------------------------------------

async def test_a_zalo_reminder_has_the_template_message_shape(db, gateway):
    settings = zalo_settings(gateway)
    appointment_id = await make_appointment(db, email='anh@example.test', channel=MessageChannel.ZALO)
    row = await remind(db, appointment_id, settings)
    assert (row.channel, row.template) == (MessageChannel.ZALO, 'reminder')
    await gateway.start()
    assert await outbox.send_due(db, settings, now=DUE) == 1
    headers, body = gateway.requests[0]
    assert headers['access_token'] == 'zalo-token'
    assert set(body) == {'phone', 'template_id', 'template_data', 'tracking_id'}
    assert body['phone'] == '84901234567' and body['template_id'] == '301234'
    assert body['tracking_id'] == f'appointment:{appointment_id}:reminder:2026-11-24'
    assert body['template_data']['customer_name'] == 'Trần Thị Ngọc Ánh' and '09:30' in body['template_data']['time']
    assert sum(len(str(value)) for value in body['template_data'].values()) <= 400


async def test_zalo_template_data_stays_within_400_characters(db, gateway):
    patient = Patient(code='P1', full_name='Nguyễn Thị ' * 12, search_name='x', phone='+84901234567',
                      preferred_channel=MessageChannel.ZALO)  # 120 characters, the most a name has
    link = 'https://kham.example.vn/t/' + 'x' * 60
    async with db.write() as session:
        row = await notifications.queue_turn_near(
            session, patient=patient, ticket_id=1, label='A-012', ahead=3, link=link,
            settings=zalo_settings(gateway, clinic_name='Phòng khám Đa khoa Quốc tế ' * 10))
        await session.commit()
    data = json.loads(row.body_text)
    assert sum(len(value) for value in data.values()) <= 400
    assert (data['ticket'], data['ahead'], data['link']) == ('A-012', '3', link)  # never cut
    assert data['customer_name'].startswith('Nguyễn Thị') and data['clinic'].startswith('Phòng khám')


# --- the channel a patient is reached by ------------------------------------------------------------------

@pytest.mark.parametrize(('email', 'phone', 'preferred', 'set_up', 'expected'), [
    ('a@example.test', '+84901234567', None, {'smtp_host': 'mail', 'sms_url': 'http://sms'}, 'email'),
    (None, '+84901234567', None, {'smtp_host': 'mail', 'sms_url': 'http://sms'}, 'sms'),
    ('a@example.test', '+84901234567', 'sms', {'smtp_host': 'mail', 'sms_url': 'http://sms'}, 'sms'),
    ('a@example.test', '+84901234567', 'sms', {'smtp_host': 'mail'}, 'email'),  # no SMS gateway: falls back
    ('a@example.test', '+84901234567', 'zalo', {'sms_url': 'http://sms', 'zalo_url': 'http://z',
                                                'zalo_access_token': 't'}, 'sms'),  # no Zalo template set
    ('a@example.test', '123456', 'sms', {'sms_url': 'http://sms'}, 'email'),  # an old invalid number
    (None, '+84901234567', None, {}, 'sms'),  # nothing set up: waits in the outbox by the patient's channel
    (None, '123456', None, {'sms_url': 'http://sms'}, None),
])
def test_the_channel_is_the_patients_choice_else_what_both_have(email, phone, preferred, set_up, expected):
    patient = Patient(code='P1', full_name='A', search_name='a', email=email, phone=phone,
                      preferred_channel=MessageChannel(preferred) if preferred else None)
    chosen = notifications.choose_channel(patient, Settings(**set_up), template='reminder')
    assert (chosen.value if chosen else None) == expected


# --- "your turn is near" ------------------------------------------------------------------------------------

async def walk_in(db, clinic, patient: int, minute: int):
    async with db.write() as session:
        return await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                     doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(23, 8, minute))


async def call(db, clinic, queue_id: int, minute: int):
    async with db.write() as session:
        return await queue.call_next(session, clinic.doctor_actor, queue_id, tz=TZ, now=local(23, 9, minute))


@pytest.fixture
def in_force():
    """Put settings in force for the services that read the clinic's (the queue); back to the defaults after."""
    def put(settings: Settings) -> None:
        clinic_settings.put_in_force(settings)
    yield put
    clinic_settings.put_in_force(None)


async def test_your_turn_is_near_once_per_ticket_when_a_call_leaves_three_ahead(db, gateway, in_force):
    settings = sms_settings(gateway)
    in_force(settings)
    clinic = await make_clinic(db, patients=6)
    for i in range(6):
        await walk_in(db, clinic, i, i)
    async with db.read() as session:
        by_patient = {t.patient_id: t for t in (await session.exec(select(QueueTicket))).all()}
        prefix = (await session.get(queue.Queue, next(iter(by_patient.values())).queue_id)).prefix
    fifth, sixth = by_patient[clinic.patient_ids[4]], by_patient[clinic.patient_ids[5]]
    queue_id = fifth.queue_id
    assert await rows(db) == []  # nobody is told at check-in (the fourth has 3 ahead already: never told)

    first = await call(db, clinic, queue_id, 0)
    [told] = await rows(db)  # the fifth now has 3 ahead
    assert told.channel == MessageChannel.SMS and told.to_address == '+84901234504'  # no mail server: SMS
    assert told.dedupe_key == f'ticket:{fifth.id}:turn-near'
    label = queue.ticket_label(prefix, fifth.number)
    assert told.body_text.startswith(f'Phòng khám An Bình: your turn is near. Number {label}, 3 ahead of you.')
    assert 'https://kham.example.vn/t/' in told.body_text

    # the first is skipped and put back in line (ahead of the fifth again), then called again: not told twice
    async with db.write() as session:
        await queue.skip(session, clinic.doctor_actor, first.id, now=local(23, 9, 1))
    async with db.write() as session:
        await queue.back_in_line(session, clinic.reception, first.id, now=local(23, 9, 2))
    await call(db, clinic, queue_id, 3)
    assert len(await rows(db)) == 1
    await call(db, clinic, queue_id, 4)  # the sixth now has 3 ahead
    await call(db, clinic, queue_id, 5)  # 3 left: nobody has 3 ahead
    await call(db, clinic, queue_id, 6)
    told = await rows(db)
    assert [row.dedupe_key for row in told] == [f'ticket:{fifth.id}:turn-near', f'ticket:{sixth.id}:turn-near']

    # delivered after an outage, each exactly once
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert await outbox.send_due(db, settings, now=now) == 0
    await gateway.start()
    gateway.mode = '500'
    assert await outbox.send_due(db, settings, now=now + timedelta(minutes=1)) == 0
    gateway.mode = 'ok'
    assert await outbox.send_due(db, settings, now=now + timedelta(minutes=5)) == 2
    assert await outbox.send_due(db, settings, now=now + timedelta(hours=2)) == 0
    assert sorted(body['to'] for body in gateway.accepted) == ['84901234504', '84901234505']
    assert all('/t/' in body['text'] for body in gateway.accepted)


async def test_your_turn_is_near_can_be_turned_off_and_has_no_link_without_a_public_address(db, gateway, in_force):
    clinic = await make_clinic(db, patients=5)
    for i in range(5):
        await walk_in(db, clinic, i, i)
    async with db.read() as session:
        queue_id = (await session.exec(select(QueueTicket.queue_id))).first()
    in_force(sms_settings(gateway, turn_near_count=0))
    await call(db, clinic, queue_id, 0)
    assert await rows(db) == []
    in_force(sms_settings(gateway, turn_near_count=2, public_url=''))
    await call(db, clinic, queue_id, 1)  # 3 waiting: the last has 2 ahead
    [told] = await rows(db)
    assert told.to_address == '+84901234504' and 'http' not in told.body_text


# --- phones ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(('typed', 'stored'), [
    ('0901234567', '+84901234567'), ('090 123 4567', '+84901234567'), ('090-123-4567', '+84901234567'),
    ('84901234567', '+84901234567'), ('+84 901 234 567', '+84901234567'), ('028 3823 0000', '+842838230000'),
    ('+1 415 555 2671', '+14155552671'),
])
def test_valid_phones_are_stored_in_e164(typed, stored):
    assert phones.validate(typed, 'VN') == stored


@pytest.mark.parametrize('typed', ['123456', '0123 456 7890', '01234567890', '0901', '090123456789', 'abc',
                                  '+84 12345', '0281234567'])
def test_invalid_phones_are_refused_with_a_clear_message(typed):
    with pytest.raises(ValidationError, match='is not a valid phone number') as refused:
        phones.validate(typed, 'VN')
    assert refused.value.field == 'phone'


def test_phones_are_shown_in_the_national_format_and_old_ones_as_stored():
    assert phones.display('+84901234567', 'VN') == '0901 234 567'
    assert phones.display('+14155552671', 'VN') == '+1 415-555-2671'
    assert phones.display('123456', 'VN') == '123456 ⚠'
    assert phones.display(None, 'VN') == ''


async def test_the_migration_stores_valid_phones_in_e164_and_keeps_the_others():
    path = Path(tempfile.mkdtemp()) / 'phones.db'
    database = Database(f'sqlite+aiosqlite:///{path}')
    try:
        await upgrade(database, '3f8a6c1d2e90')
        async with database.write() as session:
            for number, phone in enumerate(['0901234567', '090 123 4568', '+84901234569', '123456', '0123456789']):
                await session.exec(sa.text(
                    "INSERT INTO patients (code, full_name, search_name, sex, phone, allergies, allergy_status, notes, "
                    f"created_at, updated_at) VALUES ('P{number}', 'A', 'a', 'unknown', '{phone}', '', 'unknown', '', "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
            await session.exec(sa.text(
                "INSERT INTO email_outbox (dedupe_key, message_id, to_address, subject, body_text, attachment_name, "
                "attachment_type, status, attempts, next_attempt_at, last_error, created_at) VALUES ('k', '<m>', "
                "'a@example.test', 'Hello', 'Body', '', '', 'sent', 1, '2026-01-01 00:00:00', '', "
                "'2026-01-01 00:00:00')"))
            await session.commit()
        await upgrade(database)
        async with database.read() as session:
            stored = [row[0] for row in (await session.exec(sa.text('SELECT phone FROM patients ORDER BY id'))).all()]
            kept = (await session.exec(sa.text('SELECT channel, to_address, subject, status '
                                               'FROM outbox_messages'))).one()
        assert stored == ['+84901234567', '+84901234568', '+84901234569', '123456', '0123456789']
        assert tuple(kept) == ('email', 'a@example.test', 'Hello', 'sent')
    finally:
        await database.dispose()


async def test_staff_find_a_patient_by_the_phone_as_they_type_it(db):
    from services import patients
    clinic = await make_clinic(db, patients=0)
    async with db.write() as session:
        for name, phone in (('Đặng Thu Thảo', '0901 234 567'), ('Lý Văn Hải', '0911 234 567')):
            await patients.create(session, clinic.reception, patients.PatientInput(full_name=name, phone=phone),
                                  today=local(23, 8).date())
        session.add(Patient(code='P0000099', full_name='Cũ Văn Số', search_name='cu van so', phone='01239998888'))
        await session.commit()

    async def find(text: str) -> list[str]:
        async with db.read() as session:
            return [hit.full_name for hit in await patients.search(session, clinic.reception, text)]
    for typed in ('0901234567', '090 123 4567', '+84901234567', '84901234567', '090.123.4567'):
        assert await find(typed) == ['Đặng Thu Thảo'], typed
    assert await find('4567') == ['Đặng Thu Thảo', 'Lý Văn Hải']  # the last digits
    assert await find('0901 23') == ['Đặng Thu Thảo']  # the start, as dialled
    assert await find('01239998888') == ['Cũ Văn Số']  # an old number kept as typed is still found


async def test_gateway_settings_are_checked_saved_and_their_secrets_never_shown(db):
    clinic = await make_clinic(db, patients=0)
    good = dict(sms_url='https://sms.example.vn/api/send', sms_api_key='k-123', sms_sender='AN BINH',
                zalo_url='https://business.openapi.zalo.me/message/template', zalo_access_token='z-456',
                zalo_template_reminder='301234', zalo_template_turn='301235', turn_near_count='4')
    try:
        for wrong, message in ((dict(sms_url='sms.example.vn'), 'web address'),
                               (dict(sms_sender='Phòng khám An Bình Quận 1'), 'sender name'),
                               (dict(zalo_template_turn='30 12'), 'template ID'),
                               (dict(turn_near_count='2.5'), 'whole number'),
                               (dict(turn_near_count='-1'), 'whole number'),
                               (dict(turn_near_count='many'), 'whole number')):
            with pytest.raises(ValidationError, match=message):
                async with db.write() as session:
                    await clinic_settings.save_messaging(session, clinic.admin, **{**good, **wrong})
        async with db.read() as session:
            assert await clinic_settings.stored(session) == {}  # bad input changed nothing
        async with db.write() as session:
            changed = await clinic_settings.save_messaging(session, clinic.admin, **good)
        assert 'sms_api_key' in changed and 'turn_near_count' in changed
        settings = clinic_settings.current()
        assert settings.sms_api_key.get_secret_value() == 'k-123' and settings.turn_near_count == 4
        async with db.write() as session:  # None keeps the stored key
            await clinic_settings.save_messaging(session, clinic.admin, **{**good, 'sms_api_key': None,
                                                                            'zalo_access_token': None})
        assert clinic_settings.current().zalo_access_token.get_secret_value() == 'z-456'
        async with db.read() as session:
            audit = (await session.exec(sa.text("SELECT detail FROM audit_log WHERE action = 'setting_changed'"))).all()
        assert not any('k-123' in row[0] or 'z-456' in row[0] for row in audit)
        assert any(row[0] == 'sms_api_key: changed' for row in audit)
    finally:
        clinic_settings.put_in_force(None)


async def test_the_check_in_desk_showing_the_number_as_dialled_changes_nothing(db):
    from services import patients
    clinic = await make_clinic(db, patients=1)  # +84901234500
    async with db.read() as session:
        before = (await session.get(Patient, clinic.patient_ids[0])).updated_at
    async with db.write() as session:
        await patients.change_contact(session, clinic.reception, clinic.patient_ids[0], phone='0901 234 500',
                                      email='Patient0@example.test', today=local(23, 8).date())
        await session.commit()
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not a valid phone number'):
            await patients.change_contact(session, clinic.reception, clinic.patient_ids[0], phone='0901 234',
                                          email=None, today=local(23, 8).date())
    async with db.read() as session:
        after = await session.get(Patient, clinic.patient_ids[0])
    assert (after.updated_at, after.phone) == (before, '+84901234500')


async def test_starting_a_waiting_patient_without_calling_counts_as_a_call(db, gateway, in_force):
    in_force(sms_settings(gateway, turn_near_count=1))
    clinic = await make_clinic(db, patients=3)
    for i in range(3):
        await walk_in(db, clinic, i, i)
    async with db.read() as session:
        tickets = {t.patient_id: t for t in (await session.exec(select(QueueTicket))).all()}
    async with db.write() as session:
        await queue.start(session, clinic.doctor_actor, tickets[clinic.patient_ids[0]].id, now=local(23, 9))
    [told] = await rows(db)  # the third now has one ahead
    assert told.dedupe_key == f'ticket:{tickets[clinic.patient_ids[2]].id}:turn-near'
