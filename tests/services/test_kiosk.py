"""The self check-in kiosk's rules: its own key, the signed check-in code of the appointment emails, the phone and
date of birth lookup (rate-limited, saying nothing about unknown numbers), check-in once, and walk-ins only when
the clinic allows them."""
import email
from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import func, select

from models import Appointment, AppointmentStatus, AuditLog, BookingSource, Patient, Visit
from services import booking, checkin_codes, display_keys, gateways, kiosk, notifications, ticket_links
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.core.settings import get_settings
from tests.factories import TZ, local, make_clinic

DAY = 23
NOW = local(DAY, 9, 0)
BORN = date(1980, 5, 17)


def settings(**changes):
    return get_settings().model_copy(update=changes)


async def kiosk_key(db, clinic, purpose=display_keys.KIOSK) -> str:
    async with db.write() as session:
        __, key = await display_keys.issue(session, clinic.admin, 'Entrance tablet', purpose=purpose)
    return key


async def book(db, clinic, start, *, patient=0, doctor=0):
    async with db.write() as session:
        appointment = await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                         service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[doctor],
                                         start_at=start, source=BookingSource.PHONE, tz=TZ, now=local(DAY - 3, 9))
        patient_row = await session.get(Patient, appointment.patient_id)
        patient_row.date_of_birth = BORN
        session.add(patient_row)
        await session.commit()
        return appointment.id


def code_of(appointment_id, day=DAY, **changes):
    return checkin_codes.make_code(appointment_id, date(2026, 11, day), settings(**changes))


async def find(db, key, code, *, now=NOW, **changes):
    async with db.read() as session:
        return await kiosk.find_by_code(session, key, code, now=now, settings=settings(**changes))


async def by_phone(db, key, phone='0901234500', born=BORN, *, now=NOW, **changes):
    async with db.write() as session:
        return await kiosk.find_by_phone(session, key, phone, born, now=now, settings=settings(**changes))


async def check_in(db, key, appointment_id, *, now=NOW, **proof):
    async with db.write() as session:
        return await kiosk.check_in(session, key, appointment_id, now=now, settings=settings(), **proof)


async def visits(db) -> int:
    async with db.read() as session:
        return (await session.exec(select(func.count()).select_from(Visit))).one()


def test_a_code_reads_back_and_forged_cut_or_foreign_codes_do_not():
    code = code_of(42)
    claim = checkin_codes.read_code(code, settings())
    assert claim.appointment_id == 42 and claim.expires_at == local(DAY + 1, 0, 0)
    payload, signature = code.split('.')
    forged = checkin_codes.make_code(43, date(2026, 11, DAY), settings()).split('.')[0] + '.' + signature
    assert checkin_codes.read_code(forged, settings()) is None
    assert checkin_codes.read_code(code[:-2], settings()) is None
    assert checkin_codes.read_code(code + 'A', settings()) is None
    assert checkin_codes.read_code('https://example.com/?x=1', settings()) is None
    assert checkin_codes.read_code('8934567890123', settings()) is None  # a product's barcode
    other_clinic = settings(storage_secret=SecretStr('another-clinic'))
    assert checkin_codes.read_code(code, other_clinic) is None
    # a ticket link of the same clinic is not a check-in code
    assert checkin_codes.read_code(ticket_links.make_token(42, date(2026, 11, DAY), settings()), settings()) is None
    assert not checkin_codes.is_expired(claim, local(DAY, 23, 59))
    assert checkin_codes.is_expired(claim, local(DAY + 1, 0, 0))


async def test_a_kiosk_key_opens_only_the_kiosk_and_a_board_key_only_the_board(db):
    clinic = await make_clinic(db)
    kiosk_k, board_k = await kiosk_key(db, clinic), await kiosk_key(db, clinic, display_keys.BOARD)
    async with db.write() as session:
        assert await kiosk.open_kiosk(session, kiosk_k, now=NOW) is not None
        assert await kiosk.open_kiosk(session, board_k, now=NOW) is None
        assert await display_keys.verify(session, board_k) is not None
        assert await display_keys.verify(session, kiosk_k) is None
    appointment = await book(db, clinic, local(DAY, 9, 30))
    with pytest.raises(PermissionDenied, match='kiosk is not set up'):
        await find(db, board_k, code_of(appointment))
    with pytest.raises(PermissionDenied):
        await check_in(db, board_k, appointment, code=code_of(appointment))
    async with db.write() as session:
        row = (await display_keys.list_keys(session, clinic.admin))[-1]
        assert row.purpose == display_keys.KIOSK
        await display_keys.revoke(session, clinic.admin, row.id)
    with pytest.raises(PermissionDenied):
        await find(db, kiosk_k, code_of(appointment))
    async with db.write() as session:  # only administrators issue keys
        with pytest.raises(PermissionDenied):
            await display_keys.issue(session, clinic.reception, 'Tablet', purpose=display_keys.KIOSK)
        with pytest.raises(ValidationError):
            await display_keys.issue(session, clinic.admin, 'Tablet', purpose='door')


async def test_the_code_finds_todays_appointment_and_checks_it_in_once(db):
    clinic = await make_clinic(db)
    key = await kiosk_key(db, clinic)
    appointment = await book(db, clinic, local(DAY, 9, 30))
    found = await find(db, key, f'  {code_of(appointment)}\n')  # as a scanner types it
    assert (found.initials, found.start_at, found.doctor, found.refusal) == \
        ('L. T. H.', local(DAY, 9, 30), 'Dr. Nguyễn Thị Lan', '')
    ticket = await check_in(db, key, appointment, code=code_of(appointment))
    assert ticket.label.endswith('001') and ticket.doctor == 'Dr. Nguyễn Thị Lan' and ticket.waiting_ahead == 0
    claim = ticket_links.read_token(ticket.token, settings())
    async with db.read() as session:
        visit = await session.get(Visit, claim.visit_id)
        assert visit.appointment_id == appointment and visit.checked_in_by_id is None
        assert (await session.get(Appointment, appointment)).status == AppointmentStatus.CHECKED_IN
        audit = (await session.exec(select(AuditLog).where(AuditLog.action == 'checked_in'))).one()
        assert audit.username == 'kiosk: Entrance tablet' and audit.user_id is None
    # twice: a clear message, nothing more happens
    assert 'already checked in' in (await find(db, key, code_of(appointment))).refusal
    with pytest.raises(Conflict, match='already checked in'):
        await check_in(db, key, appointment, code=code_of(appointment))
    assert await visits(db) == 1
    async with db.read() as session:  # the slip of this ticket prints with the kiosk's key and its token
        printed = await kiosk.slip(session, key, ticket.token, now=NOW, settings=settings())
        assert printed.label == ticket.label
        with pytest.raises(ValidationError):
            await kiosk.slip(session, key, ticket.token[:-3] + 'AAA', now=NOW, settings=settings())
        with pytest.raises(ValidationError):
            await kiosk.slip(session, key, ticket.token, now=local(DAY + 1, 7), settings=settings())


async def test_forged_expired_foreign_and_garbage_codes_are_refused_and_nothing_changes(db):
    clinic = await make_clinic(db)
    key = await kiosk_key(db, clinic)
    appointment = await book(db, clinic, local(DAY, 9, 30))
    yesterday = await book(db, clinic, local(DAY - 1, 9, 30), patient=1)
    payload, signature = code_of(appointment).split('.')
    forged = code_of(appointment + 1).split('.')[0] + '.' + signature
    for bad in (forged, code_of(appointment, storage_secret=SecretStr('another clinic')), 'garbage !!',
                '8934567890123', 'ÂÊÔ.ƯƠ', ''):
        with pytest.raises(ValidationError, match='not a check-in code of this clinic'):
            await find(db, key, bad)
        with pytest.raises(ValidationError):
            await check_in(db, key, appointment, code=bad)
    with pytest.raises(ValidationError):  # a control character a scanner may send: refused at the boundary
        await find(db, key, 'abc\x00.def')
    with pytest.raises(ValidationError, match='expired'):
        await find(db, key, code_of(yesterday, DAY - 1))
    with pytest.raises(ValidationError, match='expired'):
        await check_in(db, key, yesterday, code=code_of(yesterday, DAY - 1))
    # a good code does not check in another appointment
    with pytest.raises(ValidationError):
        await check_in(db, key, yesterday, code=code_of(appointment))
    # tomorrow's appointment: found, but not today
    tomorrow = await book(db, clinic, local(DAY + 1, 9, 30), patient=2)
    assert 'not today' in (await find(db, key, code_of(tomorrow, DAY + 1))).refusal
    with pytest.raises(ValidationError, match='not today'):
        await check_in(db, key, tomorrow, code=code_of(tomorrow, DAY + 1))
    async with db.write() as session:  # cancelled
        await booking.cancel(session, clinic.reception, appointment, reason='Ill', now=NOW)
    assert 'cancelled' in (await find(db, key, code_of(appointment))).refusal
    with pytest.raises(Conflict, match='cancelled'):
        await check_in(db, key, appointment, code=code_of(appointment))
    assert await visits(db) == 0


async def test_phone_and_birth_date_find_todays_appointment_and_say_nothing_of_unknown_numbers(db):
    clinic = await make_clinic(db)
    key = await kiosk_key(db, clinic)
    appointment = await book(db, clinic, local(DAY, 10, 0))
    match = await by_phone(db, key, '090 123 4500')
    assert [(f.appointment_id, f.initials, f.doctor) for f in match.appointments] == \
        [(appointment, 'L. T. H.', 'Dr. Nguyễn Thị Lan')] and not match.may_walk_in
    with pytest.raises(ValidationError) as wrong_birth:
        await by_phone(db, key, born=date(1981, 5, 17))
    with pytest.raises(ValidationError) as unknown_number:
        await by_phone(db, key, '0999999999')
    assert str(wrong_birth.value) == str(unknown_number.value) == kiosk.no_match()
    with pytest.raises(ValidationError):  # the phone and birth date must be the patient's
        await check_in(db, key, appointment, phone='0901234500', birth_date=date(1981, 5, 17))
    with pytest.raises(ValidationError):
        await check_in(db, key, appointment, phone='0901234501', birth_date=BORN)
    assert await visits(db) == 0
    ticket = await check_in(db, key, appointment, phone='0901234500', birth_date=BORN)
    assert ticket.label and await visits(db) == 1


async def test_phone_lookups_are_rate_limited_per_number_misses_included(db):
    clinic = await make_clinic(db)
    key = await kiosk_key(db, clinic)
    await book(db, clinic, local(DAY, 10, 0))
    for year in range(1990, 1990 + kiosk.PER_PHONE[0]):
        with pytest.raises(ValidationError, match='no appointment today'):
            await by_phone(db, key, born=date(year, 1, 1))
    with pytest.raises(ValidationError, match='Too many tries'):
        await by_phone(db, key)  # even the right birth date, now
    assert (await by_phone(db, key, now=NOW + timedelta(seconds=kiosk.PER_PHONE[1] + 1))).appointments


async def test_walk_ins_at_the_kiosk_only_when_the_clinic_allows_them_and_once_a_day(db):
    clinic = await make_clinic(db)
    key = await kiosk_key(db, clinic)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[1])
        patient.date_of_birth = BORN
        session.add(patient)
        await session.commit()
    phone = '0901234501'
    with pytest.raises(ValidationError, match='no appointment today'):  # the setting is off by default
        await by_phone(db, key, phone)
    assert get_settings().kiosk_walk_ins is False
    async with db.write() as session:
        with pytest.raises(ValidationError, match='at reception'):
            await kiosk.walk_in(session, key, phone=phone, birth_date=BORN, doctor_id=clinic.doctor_ids[0], now=NOW,
                                settings=settings())
    match = await by_phone(db, key, phone, kiosk_walk_ins=True)
    assert match.appointments == () and match.may_walk_in
    async with db.read() as session:
        doctors = await kiosk.walk_in_doctors(session, key, now=NOW, settings=settings(kiosk_walk_ins=True))
    assert [d.name for d in doctors] == ['Dr. Nguyễn Thị Lan', 'Dr. Trần Văn Minh']
    async with db.write() as session:
        ticket = await kiosk.walk_in(session, key, phone=phone, birth_date=BORN, doctor_id=clinic.doctor_ids[1],
                                     now=NOW, settings=settings(kiosk_walk_ins=True))
    assert ticket.doctor == 'Dr. Trần Văn Minh'
    async with db.write() as session:
        with pytest.raises(ValidationError, match='already have a ticket'):
            await kiosk.walk_in(session, key, phone=phone, birth_date=BORN, doctor_id=clinic.doctor_ids[0], now=NOW,
                                settings=settings(kiosk_walk_ins=True))
        with pytest.raises(ValidationError, match='no appointment today'):  # an unknown person: reception
            await kiosk.walk_in(session, key, phone='0907777777', birth_date=BORN, doctor_id=clinic.doctor_ids[0],
                                now=NOW, settings=settings(kiosk_walk_ins=True))
    assert await visits(db) == 1


async def test_the_confirmation_email_carries_the_check_in_code_as_text_and_as_an_inline_qr_code(db):
    clinic = await make_clinic(db)
    appointment = await book(db, clinic, local(DAY, 10, 0))
    async with db.write() as session:
        row = await notifications.queue_appointment_email(session, appointment, 'booked', settings=settings())
        await session.commit()
    code = code_of(appointment)
    assert row.qr_text == code and f'Check-in code: {code}' in row.body_text
    message = email.message_from_bytes(gateways.build_message(row, settings()).as_bytes())
    types = [part.get_content_type() for part in message.walk()]
    assert types == ['multipart/mixed', 'multipart/alternative', 'text/plain', 'multipart/related', 'text/html',
                     'image/png', 'text/calendar']
    html = next(p for p in message.walk() if p.get_content_type() == 'text/html').get_payload(decode=True).decode()
    image = next(p for p in message.walk() if p.get_content_type() == 'image/png')
    assert f'cid:{image["Content-ID"][1:-1]}' in html
    import io

    import zxingcpp
    from PIL import Image
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_payload(decode=True))))
    assert [d.text for d in decoded] == [code]
    async with db.write() as session:  # a cancellation carries none
        await booking.cancel(session, clinic.reception, appointment, reason='Ill', now=NOW)
        cancelled = await notifications.queue_appointment_email(session, appointment, 'cancelled',
                                                                settings=settings())
        await session.commit()
    assert cancelled.qr_text == '' and 'Check-in code' not in cancelled.body_text
