"""The clinic's settings as the administrator saves them: details, region, logo, the email server with a test
email, queue prefixes."""
from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from models import AuditLog, ClinicSetting, Invoice
from services import clinic_settings, doctors_admin
from services.core.errors import Conflict, DomainError, ValidationError
from tests.factories import make_clinic


@pytest.fixture(autouse=True)
def restore_settings():
    yield
    clinic_settings.put_in_force(None)


async def test_saved_clinic_details_are_in_force_at_once(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        changed = await clinic_settings.save_clinic(session, clinic.admin, name='Phòng khám An Bình',
                                                    address='12 Lê Lợi, Huế', phone='0234 382 1234')
    assert changed == ['clinic_name', 'clinic_address', 'clinic_phone']
    assert clinic_settings.current().clinic_name == 'Phòng khám An Bình'


async def test_an_unknown_time_zone_and_an_empty_name_are_refused(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='Unknown time zone "Mars/Base"'):
            await clinic_settings.save_region(session, clinic.admin, timezone='Mars/Base', currency='VND',
                                              language='en')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='clinic name'):
            await clinic_settings.save_clinic(session, clinic.admin, name='  ', address='', phone='')


async def test_saved_settings_override_the_defaults_after_a_restart(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        await clinic_settings.save_clinic(session, clinic.admin, name='Phòng khám An Bình', address='', phone='')
    async with db.write() as session:
        await clinic_settings.save_region(session, clinic.admin, timezone='Asia/Bangkok', currency='VND',
                                          language='vi')
    clinic_settings.put_in_force(None)  # as after a restart: the stored values come back from the database
    assert clinic_settings.current().clinic_name != 'Phòng khám An Bình'
    async with db.read() as session:
        await clinic_settings.load(session)
    in_force = clinic_settings.current()
    assert (in_force.clinic_name, in_force.timezone, in_force.language) == ('Phòng khám An Bình', 'Asia/Bangkok', 'vi')
    async with db.read() as session:
        details = (await session.exec(select(AuditLog.detail).where(AuditLog.action == 'setting_changed'))).all()
    assert 'timezone: "Asia/Ho_Chi_Minh" -> "Asia/Bangkok"' in details


async def test_the_currency_is_fixed_once_the_clinic_bills(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        session.add(Invoice(number='INV-1', patient_id=clinic.patient_ids[0]))
        await session.commit()
    async with db.write() as session:
        with pytest.raises(Conflict, match='currency cannot change'):
            await clinic_settings.save_region(session, clinic.admin, timezone='Asia/Ho_Chi_Minh', currency='USD',
                                              language='en')


async def test_logo_must_be_an_image(db, tmp_path):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='PNG or JPEG'):
            await clinic_settings.save_logo(session, clinic.admin, data=b'GIF89a...', data_dir=tmp_path)
    png = b'\x89PNG\r\n\x1a\n' + b'\0' * 100
    async with db.write() as session:
        path = await clinic_settings.save_logo(session, clinic.admin, data=png, data_dir=tmp_path)
    assert path.read_bytes() == png and clinic_settings.current().clinic_logo == path


class _Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return '250 OK'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    """A mail server on loopback that keeps what it receives."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname='127.0.0.1', port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


async def save_mail_server(db, clinic, port: int | str) -> None:
    async with db.write() as session:
        await clinic_settings.save_mail_server(session, clinic.admin, host='127.0.0.1', port=str(port),
                                               username='', password='s3cret-value', starttls=False,
                                               from_address='An Bình <hello@anbinh.example>')


async def test_the_mail_server_needs_a_host_name_and_a_port(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='host name'):
            await clinic_settings.save_mail_server(session, clinic.admin, host='http://smtp', port=587,
                                                   username='', password='', starttls=True, from_address='')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='between 1 and 65535'):
            await clinic_settings.save_mail_server(session, clinic.admin, host='smtp.example.com', port=70000,
                                                   username='', password='', starttls=True, from_address='')


async def test_the_test_email_goes_through_the_saved_server(db, inbox):
    clinic = await make_clinic(db)
    await save_mail_server(db, clinic, inbox.port)
    async with db.read() as session:
        message = await clinic_settings.send_test_email(session, clinic.admin, to='admin@anbinh.example')
    assert 'sent to admin@anbinh.example' in message
    assert inbox.messages and inbox.messages[0].rcpt_tos == ['admin@anbinh.example']


async def test_the_mail_password_is_kept_but_never_written_in_the_audit_log(db, inbox):
    clinic = await make_clinic(db)
    await save_mail_server(db, clinic, inbox.port)
    async with db.read() as session:
        await clinic_settings.send_test_email(session, clinic.admin, to='admin@anbinh.example')
    async with db.read() as session:
        details = (await session.exec(select(AuditLog.detail).where(
            AuditLog.action.in_(['setting_changed', 'smtp_test'])))).all()
        stored_password = await session.get(ClinicSetting, 'smtp_password')
    assert 'smtp_password: changed' in details and not any('s3cret' in d for d in details)
    assert stored_password.value == 's3cret-value'


async def test_the_test_email_says_when_the_server_cannot_be_reached(db):
    clinic = await make_clinic(db)
    await save_mail_server(db, clinic, free_port())  # nothing listens there
    async with db.read() as session:
        with pytest.raises(DomainError, match='Could not reach the mail server'):
            await clinic_settings.send_test_email(session, clinic.admin, to='admin@anbinh.example')


async def test_queue_prefixes_are_letters_and_unique(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        first = await doctors_admin.create_doctor(session, clinic.admin, full_name='A B', license_number='X-1')
        second = await doctors_admin.create_doctor(session, clinic.admin, full_name='C D', license_number='X-2')
    async with db.read() as session:
        prefixes = {p.name: p for p in await clinic_settings.queue_prefixes(session, clinic.admin)}
    first_queue, second_queue = prefixes['Dr. A B'], prefixes['Dr. C D']
    async with db.write() as session:
        with pytest.raises(ValidationError, match='1 to 3 letters'):
            await clinic_settings.set_queue_prefix(session, clinic.admin, first_queue.queue_id, 'A1')
    async with db.write() as session:
        with pytest.raises(Conflict, match=f'{second_queue.prefix} is already used by the queue "Dr. C D"'):
            await clinic_settings.set_queue_prefix(session, clinic.admin, first_queue.queue_id,
                                                   second_queue.prefix.lower())
    async with db.write() as session:
        queue = await clinic_settings.set_queue_prefix(session, clinic.admin, first_queue.queue_id, 'kb')
    assert queue.prefix == 'KB' and first.id and second.id
