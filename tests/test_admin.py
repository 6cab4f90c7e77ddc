"""Administration services: staff accounts, doctors and schedules, the catalog, settings, the audit log."""
from __future__ import annotations

import socket
from datetime import date, datetime, time, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from models import (
    AuditLog,
    BookingSource,
    ClinicSetting,
    Doctor,
    Invoice,
    InvoiceItem,
    InvoiceItemKind,
    Queue,
    Role,
    User,
)
from services import audit_view, booking, catalog, clinic_settings, doctors_admin, staff_admin, users
from services.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from services.core.money import parse_money
from tests.factories import NOW, TZ, local, make_clinic


@pytest.fixture(autouse=True)
def restore_settings():
    yield
    clinic_settings.put_in_force(None)


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


async def audit_actions(db) -> list[str]:
    async with db.read() as session:
        return list((await session.exec(select(AuditLog.action).order_by(AuditLog.id))).all())


# ---------------------------------------------------------------- staff accounts

async def test_a_new_account_gets_a_temporary_password_to_change_at_first_sign_in(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        user, password = await staff_admin.create_account(session, clinic.admin, username='Thu.Ha',
                                                          full_name=' Lê  Thu Hà ', role=Role.CASHIER)
    assert user.username == 'thu.ha' and user.full_name == 'Lê Thu Hà' and len(password) == 14
    async with db.write() as session:
        actor = await users.authenticate(session, 'thu.ha', password)
        assert await users.must_change_password(session, actor)
    assert 'user_created' in await audit_actions(db)


async def test_a_doctor_account_comes_with_its_doctor_record_and_queue_and_a_unique_license(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='license number'):
            await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Dr X',
                                             role=Role.DOCTOR)
    async with db.write() as session:
        with pytest.raises(Conflict, match='L-001 is already registered for Dr. Nguyễn Thị Lan'):
            await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Dr X',
                                             role=Role.DOCTOR, license_number='l-001')
    async with db.write() as session:
        user, _ = await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Võ Thị Xuân',
                                                   role=Role.DOCTOR, license_number='l-777')
    async with db.read() as session:
        doctor = (await session.exec(select(Doctor).where(Doctor.user_id == user.id))).one()
        queue = (await session.exec(select(Queue).where(Queue.doctor_id == doctor.id))).one()
    assert doctor.license_number == 'L-777' and doctor.full_name == 'Võ Thị Xuân' and queue.prefix


async def test_reset_password_and_unlock(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        for _ in range(5):
            with pytest.raises(DomainError):
                await users.authenticate(session, 'cashier', 'wrong-password')
    async with db.read() as session:
        row = await staff_admin.get_account(session, clinic.admin, clinic.cashier.user_id)
    assert row.is_locked(datetime.now(timezone.utc))
    async with db.write() as session:
        await staff_admin.unlock(session, clinic.admin, clinic.cashier.user_id)
    async with db.write() as session:
        password = await staff_admin.reset_password(session, clinic.admin, clinic.cashier.user_id)
    async with db.write() as session:
        actor = await users.authenticate(session, 'cashier', password)
        assert await users.must_change_password(session, actor)
        await users.change_password(session, actor, current=password, new='my-own-pass-9', repeat='my-own-pass-9')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='Change password'):
            await staff_admin.reset_password(session, clinic.admin, clinic.admin.user_id)
    actions = await audit_actions(db)
    assert {'user_unlocked', 'password_reset', 'password_changed'} <= set(actions)


async def test_deactivating_keeps_the_account_and_protects_the_last_admin(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='your own account'):
            await staff_admin.set_active(session, clinic.admin, clinic.admin.user_id, False)
    async with db.write() as session:
        await staff_admin.set_active(session, clinic.admin, clinic.cashier.user_id, False)
    async with db.write() as session:
        with pytest.raises(DomainError, match='deactivated'):
            await users.authenticate(session, 'cashier', 'factory-pass-1')
    async with db.read() as session:
        assert (await session.get(User, clinic.cashier.user_id)) is not None  # never deleted
    async with db.write() as session:
        with pytest.raises(ValidationError, match='own role'):
            await staff_admin.update_account(session, clinic.admin, clinic.admin.user_id, full_name='Admin',
                                             role=Role.CASHIER)


async def test_only_admins_manage_staff(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await staff_admin.create_account(session, clinic.reception, username='x-user', full_name='X',
                                             role=Role.ADMIN)
        with pytest.raises(PermissionDenied):
            await catalog.save_room(session, clinic.doctor_actor, None, code='R9', name='R', kind='lab')
        with pytest.raises(PermissionDenied):
            await clinic_settings.save_clinic(session, clinic.cashier, name='X', address='', phone='')
        with pytest.raises(PermissionDenied):
            await audit_view.search(session, clinic.reception)


async def test_a_doctor_with_upcoming_appointments_is_not_deactivated(db):
    clinic = await make_clinic(db)
    now = datetime.now(timezone.utc)
    start = datetime.combine((now + timedelta(days=2)).astimezone(TZ).date(), time(9), tzinfo=TZ)
    async with db.write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0],
                           service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[0], start_at=start,
                           source=BookingSource.PHONE, tz=TZ, now=now)
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 upcoming appointment'):
            await staff_admin.set_active(session, clinic.admin, clinic.doctor_actor.user_id, False)
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 upcoming appointment'):
            await doctors_admin.set_active(session, clinic.admin, clinic.doctor_ids[0], False)
    async with db.write() as session:
        await doctors_admin.set_active(session, clinic.admin, clinic.doctor_ids[1], False)
    async with db.read() as session:
        options = await booking.doctors_for(session)
    assert [o.id for o in options] == [clinic.doctor_ids[0]]


# ---------------------------------------------------------------- doctors and schedules

async def test_weekly_hours_never_clash_for_a_doctor_or_a_room(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        room = await catalog.save_room(session, clinic.admin, None, code='R3', name='Room 3', kind='consultation')
    async with db.write() as session:
        with pytest.raises(Conflict, match='already works Monday 08:00–12:00 in R1'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='11:00',
                                          end='13:00', room_id=room.id)
    async with db.write() as session:
        visiting = await doctors_admin.create_doctor(session, clinic.admin, full_name='Mai Anh', license_number='V-1')
    async with db.write() as session:
        with pytest.raises(Conflict, match='Room R2 is taken Tuesday 13:30–17:00 by Dr. Trần Văn Minh'):
            await doctors_admin.add_hours(session, clinic.admin, visiting.id, weekdays=[1], start='12:00',
                                          end='14:00', room_id=clinic.room_ids[1])
    async with db.write() as session:
        with pytest.raises(ValidationError, match='end time must be after'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='18:00',
                                          end='17:00', room_id=room.id)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='look like 08:30'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='8h',
                                          end='17:00', room_id=room.id)
    async with db.write() as session:
        added = await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0, 2],
                                              start='17:00', end='19:00', room_id=room.id)
    assert [b.weekday for b in added] == [0, 2]
    async with db.read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id,
                                         doctor_ids=[clinic.doctor_ids[0]], start_day=date(2026, 11, 23), days=1,
                                         tz=TZ, now=NOW)
    evening = [s for s in slots[date(2026, 11, 23)] if s.start_at >= local(23, 17)]
    assert evening and all(s.room_id == room.id for s in evening)


async def test_leave_is_respected_by_booking_and_never_strands_booked_patients(db):
    clinic = await make_clinic(db)
    doctor_id = clinic.doctor_ids[1]
    async with db.write() as session:
        await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 24),
                                      end_date=date(2026, 11, 25), reason='Conference', tz=TZ, now=NOW)
    async with db.read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id, doctor_ids=[doctor_id],
                                         start_day=date(2026, 11, 23), days=4, tz=TZ, now=NOW)
    assert slots[date(2026, 11, 23)] and slots[date(2026, 11, 26)]
    assert slots[date(2026, 11, 24)] == [] and slots[date(2026, 11, 25)] == []
    async with db.write() as session:
        with pytest.raises(Conflict, match='already on leave 24/11/2026–25/11/2026'):
            await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 25),
                                          end_date=date(2026, 11, 27), reason='', tz=TZ, now=NOW)
    async with db.write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0],
                           service_id=clinic.consultation_id, doctor_id=doctor_id, start_at=local(27, 9),
                           source=BookingSource.PHONE, tz=TZ, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match=r'1 booked appointment would be left .* Fri 27/11 at 09:00'):
            await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 27),
                                          end_date=date(2026, 11, 27), reason='', tz=TZ, now=NOW)
    async with db.read() as session:
        friday_morning = next(h for h in (await doctors_admin.detail(session, clinic.admin, doctor_id)).hours
                              if h.weekday == 4 and h.start_time == time(8))
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 booked appointment'):
            await doctors_admin.remove_hours(session, clinic.admin, friday_morning.id, tz=TZ, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not be before'):
            await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 12, 2),
                                          end_date=date(2026, 12, 1), reason='', tz=TZ, now=NOW)


async def test_a_doctor_without_an_account_gets_a_queue_and_offers_services(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        doctor = await doctors_admin.create_doctor(session, clinic.admin, full_name='Đặng Văn Khoa',
                                                   license_number='L-900')
    async with db.write() as session:
        await doctors_admin.set_offer(session, clinic.admin, doctor.id, specialty_ids=[],
                                      service_ids=[clinic.consultation_id, clinic.lab_id])
    async with db.read() as session:
        info = await doctors_admin.detail(session, clinic.admin, doctor.id)
        rows = await doctors_admin.list_doctors(session, clinic.admin)
    assert info.queue_prefix and sorted(info.service_ids) == sorted([clinic.consultation_id, clinic.lab_id])
    assert next(r for r in rows if r.id == doctor.id).hours == 'no hours yet'


# ---------------------------------------------------------------- catalog

async def test_a_price_change_never_alters_past_invoices(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        invoice = Invoice(number='INV-2026-000001', patient_id=clinic.patient_ids[0], subtotal=150_000,
                          total=150_000)
        session.add(invoice)
        await session.flush()
        session.add(InvoiceItem(invoice_id=invoice.id, kind=InvoiceItemKind.CONSULTATION,
                                description='General consultation', service_id=clinic.consultation_id,
                                unit_price=150_000, line_total=150_000))
        await session.commit()
    async with db.write() as session:
        await catalog.save_service(session, clinic.admin, clinic.consultation_id, code='C1',
                                   name='General consultation', kind='consultation', duration_minutes=20,
                                   price=parse_money('180,000', 0))
    async with db.read() as session:
        item = (await session.exec(select(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id))).one()
        stored_invoice = await session.get(Invoice, invoice.id)
        page = await catalog.list_services(session, clinic.admin, search='general')
    assert (item.unit_price, item.line_total, stored_invoice.total) == (150_000, 150_000, 150_000)
    assert page.rows[0].price == 180_000 and page.rows[0].duration_minutes == 20
    async with db.read() as session:
        change = (await session.exec(select(AuditLog).where(AuditLog.action == 'service_updated'))).one()
    assert "price 150000 -> 180000" in change.detail


@pytest.mark.parametrize('text, exponent, expected', [('150,000', 0, 150_000), ('12.50', 2, 1250), ('0', 0, 0)])
def test_money_is_parsed_into_minor_units(text, exponent, expected):
    assert parse_money(text, exponent) == expected


@pytest.mark.parametrize('text, message', [('', 'enter the price'), ('abc', 'must be a number'),
                                           ('-5', 'cannot be negative'), ('1.5', 'too many decimals')])
def test_bad_money_gives_a_clear_message(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_money(text, 0, 'price')


async def test_catalog_validates_and_deactivates_instead_of_deleting(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(Conflict, match='R1 is already used by the room "Room 1"'):
            await catalog.save_room(session, clinic.admin, None, code='r1', name='Another', kind='consultation')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='duration'):
            await catalog.save_service(session, clinic.admin, None, code='X1', name='X', kind='lab',
                                       duration_minutes=0, price=100)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='code needs'):
            await catalog.save_medicine(session, clinic.admin, None, code='bad code!', name='X', unit='tablet',
                                        price=100, reorder_level=5)
    async with db.write() as session:
        with pytest.raises(Conflict, match='weekly hours of Dr. Nguyễn Thị Lan'):
            await catalog.set_room_active(session, clinic.admin, clinic.room_ids[0], False)
    async with db.write() as session:
        medicine = await catalog.save_medicine(session, clinic.admin, None, code='PARA500', name='Paracetamol 500 mg',
                                               unit='tablet', price=1_500, reorder_level='200')
    async with db.write() as session:
        await catalog.set_medicine_active(session, clinic.admin, medicine.id, False)
    async with db.write() as session:
        specialty = await catalog.save_specialty(session, clinic.admin, None, name='Cardiology',
                                                 keywords='Chest pain;  palpitations\nchest pain')
    async with db.read() as session:
        page = await catalog.list_medicines(session, clinic.admin, search='para')
        found = await booking.specialties_for_complaint(session, 'palpitations at night')
    assert page.total == 1 and not page.rows[0].is_active
    assert specialty.keywords == 'chest pain, palpitations' and [s.name for s in found] == ['Cardiology']
    assert {'medicine_created', 'medicine_deactivated', 'specialty_created'} <= set(await audit_actions(db))


# ---------------------------------------------------------------- settings

async def test_saved_settings_override_the_defaults_for_the_running_app(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        changed = await clinic_settings.save_clinic(session, clinic.admin, name='Phòng khám An Bình',
                                                    address='12 Lê Lợi, Huế', phone='0234 382 1234')
    assert changed == ['clinic_name', 'clinic_address', 'clinic_phone']
    assert clinic_settings.current().clinic_name == 'Phòng khám An Bình'
    async with db.write() as session:
        with pytest.raises(ValidationError, match='Unknown time zone "Mars/Base"'):
            await clinic_settings.save_region(session, clinic.admin, timezone='Mars/Base', currency='VND',
                                              language='en')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='clinic name'):
            await clinic_settings.save_clinic(session, clinic.admin, name='  ', address='', phone='')
    async with db.write() as session:
        await clinic_settings.save_region(session, clinic.admin, timezone='Asia/Bangkok', currency='VND',
                                          language='vi')
    clinic_settings.put_in_force(None)  # as after a restart: the stored values come back from the database
    assert clinic_settings.current().clinic_name != 'Phòng khám An Bình'
    async with db.read() as session:
        await clinic_settings.load(session)
    assert (clinic_settings.current().clinic_name, clinic_settings.current().timezone, clinic_settings.current().language) == \
        ('Phòng khám An Bình', 'Asia/Bangkok', 'vi')
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


async def test_mail_server_settings_and_the_test_email(db):
    clinic = await make_clinic(db)
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname='127.0.0.1', port=port)
    controller.start()
    try:
        async with db.write() as session:
            with pytest.raises(ValidationError, match='host name'):
                await clinic_settings.save_mail_server(session, clinic.admin, host='http://smtp', port=587,
                                                       username='', password='', starttls=True, from_address='')
        async with db.write() as session:
            with pytest.raises(ValidationError, match='between 1 and 65535'):
                await clinic_settings.save_mail_server(session, clinic.admin, host='smtp.example.com', port=70000,
                                                       username='', password='', starttls=True, from_address='')
        async with db.write() as session:
            await clinic_settings.save_mail_server(session, clinic.admin, host='127.0.0.1', port=str(port),
                                                   username='', password='s3cret-value', starttls=False,
                                                   from_address='An Bình <hello@anbinh.example>')
        async with db.read() as session:
            message = await clinic_settings.send_test_email(session, clinic.admin, to='admin@anbinh.example')
        assert 'sent to admin@anbinh.example' in message
        assert inbox.messages and inbox.messages[0].rcpt_tos == ['admin@anbinh.example']
        async with db.read() as session:
            details = (await session.exec(select(AuditLog.detail).where(
                AuditLog.action.in_(['setting_changed', 'smtp_test'])))).all()
            stored_password = await session.get(ClinicSetting, 'smtp_password')
        assert 'smtp_password: changed' in details and not any('s3cret' in d for d in details)
        assert stored_password.value == 's3cret-value'
    finally:
        controller.stop()
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


# ---------------------------------------------------------------- audit log

async def test_the_audit_log_filters_and_pages_by_key(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        for i in range(120):
            session.add(AuditLog(user_id=clinic.reception.user_id, username='reception', action='chart_viewed',
                                 entity='patient', entity_id=clinic.patient_ids[i % 3]))
        session.add(AuditLog(user_id=clinic.cashier.user_id, username='cashier', action='payment_received',
                             entity='invoice', entity_id=7))
        session.add(AuditLog(user_id=clinic.cashier.user_id, username='cashier', action='refund_issued',
                             entity='invoice', entity_id=7))
        await session.commit()
    async with db.write() as session:
        await users.authenticate(session, 'admin', 'factory-pass-1')
    async with db.read() as session:
        first = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50)
        second = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50,
                                         before_id=first.last_id)
        third = await audit_view.search(session, clinic.admin, kind='chart_views', limit=50,
                                        before_id=second.last_id)
        patient = await audit_view.search(session, clinic.admin, entity='patient',
                                          entity_id=clinic.patient_ids[0])
        payments = await audit_view.search(session, clinic.admin, kind='payments')
        refunds = await audit_view.search(session, clinic.admin, kind='refunds')
        logins = await audit_view.search(session, clinic.admin, kind='logins', user_id=clinic.admin.user_id)
        today = datetime.now(timezone.utc).astimezone(TZ).date()
        none_yesterday = await audit_view.search(session, clinic.admin, start_day=today - timedelta(days=3),
                                                 end_day=today - timedelta(days=1), tz=TZ)
    assert (len(first.entries), first.has_more, len(third.entries), third.has_more) == (50, True, 20, False)
    assert not {e.id for e in first.entries} & {e.id for e in second.entries}
    assert len(patient.entries) == 40
    assert [e.action for e in payments.entries] == ['payment_received']
    assert [e.action for e in refunds.entries] == ['refund_issued']
    assert [e.action for e in logins.entries] == ['login']
    assert none_yesterday.entries == []
