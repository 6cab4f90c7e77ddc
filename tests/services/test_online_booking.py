"""Online booking, the rules behind the public page: holds, limits, a returning patient, clear errors. (The page
itself is tested in tests/pages/test_online_booking.py.)"""
import dataclasses
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import Appointment, BookingSource, EmailOutbox, Patient
from services import booking, online_booking
from services.core import i18n
from services.core.errors import Conflict, ValidationError
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
        email = (await session.exec(select(EmailOutbox))).one()
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
        email = (await session.exec(select(EmailOutbox))).one()
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
        email = (await session.exec(select(EmailOutbox))).one()
    assert patient.id == clinic.patient_ids[0] and patient.language == 'en' and appointment.language == 'vi'
    assert email.subject.startswith('Xác nhận lịch hẹn: ') and email.body_text.startswith('Kính gửi Lê Thị Hồng,')
