"""The public booking page: patients book themselves; holds, limits and privacy."""
from datetime import date, timedelta

import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from clinic_ui.ratelimit import RateLimiter
from models import Appointment, BookingSource, EmailOutbox, Patient
from services import booking, online_booking
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import Conflict, ValidationError
from services.core.settings import get_settings
from tests.factories import NOW, TZ, local, make_clinic

RETRIES = 50
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


def test_rate_limiter_allows_a_burst_then_refuses_until_the_window_passes():
    limiter = RateLimiter(limit=3, window_s=60)
    assert [limiter.allow('a', now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow('b', now=3)  # other addresses are not affected
    assert limiter.allow('a', now=61)


async def test_booking_online_from_a_phone_without_signing_in(user: User):
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    await user.open('/book')
    await user.should_see('Book an appointment', retries=RETRIES)
    await user.should_not_see('Lê Thị Hồng')  # nothing about other patients
    next(iter(user.find(marker='online-service').elements)).set_value(clinic.consultation_id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%a %d/%m'), retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    await user.should_see('is kept for you for 5 minutes', retries=RETRIES)
    user.find(marker='online-name').type('Trịnh Công Sơn')
    user.find(marker='online-phone').type('0977123456')
    user.find(marker='online-dob').type('28/02/1939')
    user.find(marker='online-confirm').click()
    await user.should_see('Please enter your email address', retries=RETRIES)
    user.find(marker='online-email').type('son@example.test')
    user.find(marker='online-confirm').click()
    await user.should_see('Your appointment is booked', retries=RETRIES)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
        patient = await session.get(Patient, appointment.patient_id)
    assert patient.full_name == 'Trịnh Công Sơn' and appointment.source == BookingSource.WEB
