"""Online booking, the rules behind the public page: holds, limits, a returning patient, clear errors. (The page
itself is tested in tests/pages/test_online_booking.py.)"""
import dataclasses
import re
import uuid
from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from models import Appointment, AppointmentStatus, AuditLog, BookingSource, OutboxMessage, Patient
from services import booking, booking_links, online_booking
from services.core import i18n
from services.core.errors import Conflict, ValidationError
from services.core.settings import get_settings
from tests.factories import NOW, TZ, local, make_clinic
from tests.services.vietnamese import vietnamese  # noqa: F401 - the fixture of the tests marked with it

REQUEST = online_booking.OnlineRequest(full_name='Lê Thị Hồng', phone='0901234500', email='hong@example.test',
                                       date_of_birth=date(1970, 1, 1), reason='Đau họng')


async def hold(db, clinic, start, *, client='client-a', now=NOW):
    async with db.write() as session:
        return await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                       start_at=start, tz=TZ, now=now, client_key=client)


async def test_a_held_slot_is_not_offered_to_others_and_expires(db):
    clinic = await make_clinic(db)
    await hold(db, clinic, local(23, 10, 0))
    with pytest.raises(Conflict, match='just taken'):
        await hold(db, clinic, local(23, 10, 0), client='client-b')
    later = NOW + booking.HOLD_TIME + timedelta(seconds=1)
    assert (await hold(db, clinic, local(23, 10, 0), client='client-b', now=later)).token


async def test_online_booking_creates_the_patient_and_queues_the_confirmation(db):
    clinic = await make_clinic(db)
    held = await hold(db, clinic, local(23, 10, 0))
    async with db.write() as session:
        confirmation = await online_booking.book(session, hold_token=held.token, request=REQUEST, tz=TZ, now=NOW)
    assert confirmation.start_at == local(23, 10, 0) and confirmation.doctor_name == 'Dr. Nguyễn Thị Lan'
    async with db.read() as session:
        appointment = (await session.exec(select(Appointment))).one()
        email = (await session.exec(select(OutboxMessage))).one()
        patients = (await session.exec(select(Patient).where(Patient.full_name == 'Lê Thị Hồng'))).all()
    assert appointment.source == BookingSource.WEB and appointment.reason == 'Đau họng'
    assert email.to_address == 'hong@example.test'
    assert len(patients) == 2  # same name and phone as P0000001 but another birth date: a new record
    async with db.write() as session:  # the hold is used up
        with pytest.raises(ValidationError, match='released'):
            await online_booking.book(session, hold_token=held.token, request=REQUEST, tz=TZ, now=NOW)


async def test_a_returning_patient_is_recognised_by_name_birth_date_and_phone(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        first = await session.get(Patient, clinic.patient_ids[0])
        first.date_of_birth = date(1970, 1, 1)
        session.add(first)
        await session.commit()
    held = await hold(db, clinic, local(23, 10, 0))
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=REQUEST, tz=TZ, now=NOW)
    async with db.read() as session:
        assert (await session.exec(select(Appointment))).one().patient_id == clinic.patient_ids[0]


@pytest.mark.parametrize('language, subject, greeting', [
    ('vi', 'Xác nhận lịch hẹn: ', 'Kính gửi Lê Thị Hồng,'),
    ('en', 'Appointment confirmed: ', 'Dear Lê Thị Hồng,'),
])
@pytest.mark.usefixtures('vietnamese')
async def test_a_returning_patient_gets_the_confirmation_in_their_language(db, language, subject,
                                                                           greeting):
    clinic = await make_clinic(db)
    async with db.write() as session:
        first = await session.get(Patient, clinic.patient_ids[0])
        first.date_of_birth, first.email, first.language = date(1970, 1, 1), 'hong@example.test', language
        session.add(first)
        await session.commit()
    held = await hold(db, clinic, local(23, 10, 0))
    with i18n.use('en' if language == 'vi' else 'vi'):  # whatever language the page was read in
        async with db.write() as session:
            await online_booking.book(session, hold_token=held.token, request=REQUEST, tz=TZ, now=NOW)
    async with db.read() as session:
        email = (await session.exec(select(OutboxMessage))).one()
    assert email.subject.startswith(subject) and email.body_text.startswith(greeting)


@pytest.mark.parametrize('change, message', [
    ({'phone': ''}, 'phone number'), ({'email': ''}, 'email address'), ({'date_of_birth': None}, 'date of birth'),
    ({'full_name': ''}, 'full name'), ({'reason': 'x' * 501}, 'at most 500'),
])
async def test_online_form_errors_are_clear_and_nothing_is_saved(db, change, message):
    clinic = await make_clinic(db)
    held = await hold(db, clinic, local(23, 10, 0))
    async with db.write() as session:
        with pytest.raises(ValidationError, match=message):
            await online_booking.book(session, hold_token=held.token, request=REQUEST.__class__(
                **{**REQUEST.__dict__, **change}), tz=TZ, now=NOW)
    async with db.read() as session:
        assert (await session.exec(select(Appointment))).all() == []


async def test_holds_per_connection_are_limited(db):
    clinic = await make_clinic(db)
    for minute in (0, 15, 30):
        await hold(db, clinic, local(23, 10, minute))
    with pytest.raises(Conflict, match='Too many slots'):
        await hold(db, clinic, local(23, 11, 0))


async def test_the_booking_keeps_the_language_it_was_made_in(db):
    clinic = await make_clinic(db)
    held = await hold(db, clinic, local(23, 10, 0))
    async with db.write() as session:
        with pytest.raises(ValidationError, match='language'):
            await online_booking.book(session, hold_token=held.token, tz=TZ, now=NOW,
                                      request=dataclasses.replace(REQUEST, language='xx'))
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=dataclasses.replace(REQUEST, language='vi'),
                                  tz=TZ, now=NOW)
    async with db.read() as session:
        appointment = (await session.exec(select(Appointment))).one()
        patient = await session.get(Patient, appointment.patient_id)
    assert appointment.language == 'vi' and patient.language == 'vi'  # a new patient: read in the language booked


@pytest.mark.usefixtures('vietnamese')
async def test_a_booking_never_changes_a_returning_patients_language_and_writes_in_its_own(db):
    """An English patient books on the Vietnamese page: their record stays English, the booking and its
    confirmation are Vietnamese (the language is on the appointment before the email is written)."""
    clinic = await make_clinic(db)
    async with db.write() as session:
        first = await session.get(Patient, clinic.patient_ids[0])
        first.date_of_birth, first.email, first.language = date(1970, 1, 1), 'hong@example.test', 'en'
        session.add(first)
        await session.commit()
    held = await hold(db, clinic, local(23, 10, 0))
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=dataclasses.replace(REQUEST, language='vi'),
                                  tz=TZ, now=NOW)
    async with db.read() as session:
        appointment = (await session.exec(select(Appointment))).one()
        patient = await session.get(Patient, appointment.patient_id)
        email = (await session.exec(select(OutboxMessage))).one()
    assert patient.id == clinic.patient_ids[0] and patient.language == 'en' and appointment.language == 'vi'
    assert email.subject.startswith('Xác nhận lịch hẹn: ') and email.body_text.startswith('Kính gửi Lê Thị Hồng,')


# ---------------------------------------------------------------- the patient's own link: see, move, cancel

LINKED = get_settings().model_copy(update={'public_url': 'https://booking.example.vn', 'online_change_hours': 4,
                                           'clinic_phone': '0283 123 4567', 'clinic_address': '12 Lê Lợi, Quận 1'})
LINK = re.compile(r'https://booking\.example\.vn/book/manage\?token=([\w.-]+)&lang=(\w+)')


async def book_online(db, clinic, start, *, language=None):
    """An online booking at ``start``; its confirmation email and the token of the link in it."""
    held = await hold(db, clinic, start)
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, tz=TZ, now=NOW, settings=LINKED,
                                  request=dataclasses.replace(REQUEST, language=language))
    async with db.read() as session:
        email = (await session.exec(select(OutboxMessage))).one()
    return email, LINK.search(email.body_text).group(1)


async def state(db):
    """The appointment, the emails and the audit trail as they are now."""
    async with db.read() as session:
        return ((await session.exec(select(Appointment).order_by(Appointment.id))).first(),
                (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all(),
                (await session.exec(select(AuditLog).where(AuditLog.entity == 'appointment')
                                    .order_by(AuditLog.id))).all())


@pytest.mark.usefixtures('vietnamese')
async def test_the_confirmation_carries_a_signed_link_in_the_bookings_language_that_opens_only_that_booking(db):
    clinic = await make_clinic(db)
    email, token = await book_online(db, clinic, local(24, 10, 0), language='vi')
    assert 'Quý khách có thể tự đổi giờ hoặc hủy lịch hẹn này' in email.body_text  # the booking's language
    assert LINK.search(email.body_text).group(2) == 'vi'
    assert '0283 123 4567' in email.body_text and '12 Lê Lợi, Quận 1' in email.body_text  # the clinic's phone, address
    async with db.read() as session:
        shown = await online_booking.open_link(session, token, now=NOW, settings=LINKED)
    assert (shown.start_at, shown.doctor_name, shown.language) == (local(24, 10, 0), 'Dr. Nguyễn Thị Lan', 'vi')
    assert shown.can_change and shown.change_until == local(24, 6, 0)
    assert 'Lê Thị Hồng' not in repr(shown) and 'hong@' not in repr(shown)  # nothing about the patient
    another_clinic = get_settings().model_copy(update={'storage_secret': SecretStr('another')})
    assert booking_links.read_token(token, another_clinic) is None  # signed with this clinic's secret only


async def test_without_a_public_address_the_email_has_no_link(db):
    clinic = await make_clinic(db)
    held = await hold(db, clinic, local(24, 10, 0))
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=REQUEST, tz=TZ, now=NOW)
    __, emails, ___ = await state(db)
    assert '/book/manage' not in emails[0].body_text and 'please call us' in emails[0].body_text


def garbled(token: str) -> str:
    payload, signature = token.split('.')
    return payload[:-2] + ('A' if payload[-2] != 'A' else 'B') + payload[-1] + '.' + signature


@pytest.mark.parametrize('spoil, message', [
    (lambda token, clinic: garbled(token), 'not valid'),
    (lambda token, clinic: token[:40], 'not valid'),
    (lambda token, clinic: 'x', 'not valid'),
    (lambda token, clinic: booking_links.make_token(str(uuid.uuid4()), 0, local(24, 10, 0), LINKED),
     'no longer exists'),
])
async def test_a_forged_or_garbled_link_is_refused_and_changes_nothing(db, spoil, message):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    before = await state(db)
    for attempt in (lambda s: online_booking.cancel_by_link(s, spoil(token, clinic), now=NOW, settings=LINKED),
                    lambda s: online_booking.move_by_link(s, spoil(token, clinic), start_at=local(24, 11, 0), tz=TZ,
                                                          now=NOW, settings=LINKED)):
        async with db.write() as session:
            with pytest.raises(online_booking.LinkRefused, match=message):
                await attempt(session)
    assert await state(db) == before


async def test_an_expired_link_is_refused(db):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    async with db.write() as session:
        with pytest.raises(online_booking.LinkRefused, match='expired'):
            await online_booking.cancel_by_link(session, token, now=local(24, 10, 1), settings=LINKED)
    assert (await state(db))[0].status == AppointmentStatus.SCHEDULED


async def test_a_link_of_a_booking_staff_moved_or_cancelled_is_refused_and_changes_nothing(db):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    appointment = (await state(db))[0]
    async with db.write() as session:
        await booking.reschedule(session, clinic.reception, appointment.id, start_at=local(24, 11, 0), tz=TZ,
                                 now=NOW, settings=LINKED)
    moved = await state(db)
    async with db.write() as session:
        with pytest.raises(online_booking.LinkRefused, match='changed since this link was sent'):
            await online_booking.cancel_by_link(session, token, now=NOW, settings=LINKED)
    assert await state(db) == moved
    fresh = LINK.search(moved[1][-1].body_text).group(1)  # the "new time" email carries a new link
    async with db.read() as session:
        assert (await online_booking.open_link(session, fresh, now=NOW, settings=LINKED)).start_at == local(24, 11, 0)
    async with db.write() as session:
        await booking.cancel(session, clinic.reception, appointment.id, reason='Doctor ill', now=NOW, settings=LINKED)
    cancelled = await state(db)
    async with db.write() as session:
        with pytest.raises(online_booking.LinkRefused, match='has been cancelled'):
            await online_booking.move_by_link(session, fresh, start_at=local(24, 14, 0), tz=TZ, now=NOW,
                                              settings=LINKED)
    assert await state(db) == cancelled


async def test_the_patient_cancels_through_the_link(db):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    async with db.write() as session:
        await online_booking.cancel_by_link(session, token, now=NOW, settings=LINKED)
    appointment, emails, audits = await state(db)
    assert appointment.status == AppointmentStatus.CANCELLED
    assert emails[-1].subject.startswith('Appointment cancelled') and emails[-1].to_address == 'hong@example.test'
    assert (audits[-1].action, audits[-1].username, audits[-1].user_id) == (
        'appointment_cancelled', online_booking.PATIENT_BY_LINK, None)
    async with db.write() as session:  # the same link again: refused
        with pytest.raises(online_booking.LinkRefused, match='has been cancelled'):
            await online_booking.cancel_by_link(session, token, now=NOW, settings=LINKED)


async def test_the_patient_moves_through_the_link_never_onto_a_time_taken_meanwhile(db):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    async with db.read() as session:
        free = await online_booking.free_times_by_link(session, token, start_day=date(2026, 11, 24), days=1, tz=TZ,
                                                       now=NOW, settings=LINKED)
    offered = {slot.start_at for slot in free[date(2026, 11, 24)]}
    assert local(24, 11, 0) in offered and local(24, 10, 0) not in offered
    assert {slot.doctor_id for slot in free[date(2026, 11, 24)]} == {clinic.doctor_ids[0]}
    async with db.write() as session:  # someone else books 11:00 with the same doctor meanwhile
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[1],
                           service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[0],
                           start_at=local(24, 11, 0), source=BookingSource.PHONE, tz=TZ, now=NOW, settings=LINKED)
    before = await state(db)
    async with db.write() as session:
        with pytest.raises(Conflict, match='just taken'):
            await online_booking.move_by_link(session, token, start_at=local(24, 11, 0), tz=TZ, now=NOW,
                                              settings=LINKED)
    assert await state(db) == before
    async with db.write() as session:
        moved = await online_booking.move_by_link(session, token, start_at=local(24, 11, 15), tz=TZ, now=NOW,
                                                  settings=LINKED)
    async with db.read() as session:
        appointment = (await session.exec(select(Appointment).order_by(Appointment.id))).first()
        emails = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        audit_row = (await session.exec(select(AuditLog).order_by(AuditLog.id.desc()))).first()
    assert appointment.start_at == local(24, 11, 15) and moved.start_at == local(24, 11, 15)
    assert emails[-1].subject.startswith('Appointment moved') and emails[-1].to_address == 'hong@example.test'
    assert LINK.search(emails[-1].body_text).group(1) == moved.token != token
    assert (audit_row.action, audit_row.username) == ('appointment_rescheduled', online_booking.PATIENT_BY_LINK)


async def test_no_changes_through_the_link_within_the_clinics_cutoff(db):
    clinic = await make_clinic(db)
    __, token = await book_online(db, clinic, local(24, 10, 0))
    late = local(24, 6, 30)  # 3.5 hours before, the cutoff is 4
    async with db.read() as session:
        assert not (await online_booking.open_link(session, token, now=late, settings=LINKED)).can_change
    before = await state(db)
    for attempt in (lambda s: online_booking.cancel_by_link(s, token, now=late, settings=LINKED),
                    lambda s: online_booking.move_by_link(s, token, start_at=local(24, 14, 0), tz=TZ, now=late,
                                                          settings=LINKED)):
        async with db.write() as session:
            with pytest.raises(online_booking.LinkRefused, match='call the clinic'):
                await attempt(session)
    assert await state(db) == before
