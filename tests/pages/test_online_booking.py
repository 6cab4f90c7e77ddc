"""The public booking page: a patient books from a phone without signing in; addresses are rate-limited."""
import asyncio
import re
from datetime import datetime, time, timedelta

import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from clinic_ui.ratelimit import RateLimiter
from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    OutboxMessage,
    Patient,
    Service,
    ServiceKind,
    Specialty,
)
from models.types import utcnow
from services import booking, catalog, clinic_settings
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.factories import NOW, make_clinic
from tests.services.vietnamese import vietnamese  # noqa: F401 - the real catalog, for the tests that use it


async def test_rate_limiter_allows_a_burst_then_refuses_until_the_window_passes(db):
    limiter = RateLimiter('test', limit=3, window_s=60)
    assert [await limiter.allow('a', now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert await limiter.allow('b', now=3)  # other addresses are not affected
    assert await RateLimiter('other', limit=3, window_s=60).allow('a', now=3)  # nor other limits
    assert await limiter.allow('a', now=61)


async def hold_a_time_next_week(user: User, service_id: int) -> None:
    """The service, then next week (free whatever the hour), then the first free time: it is held."""
    element(user, 'online-service').set_value(service_id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%a %d/%m'), retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    await user.should_see('is kept for you for 5 minutes', retries=RETRIES)


async def test_booking_online_from_a_phone_without_signing_in(user: User):
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    await user.open('/book')
    await user.should_see('Book an appointment', retries=RETRIES)
    await user.should_not_see('Lê Thị Hồng')  # nothing about other patients
    await hold_a_time_next_week(user, clinic.consultation_id)
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




@pytest.mark.usefixtures('vietnamese')
async def test_a_patient_books_in_vietnamese_and_the_booking_keeps_it(user: User):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    await user.open('/book')
    await user.should_see('Book an appointment', retries=RETRIES)  # the clinic's language (English) at first
    user.find(marker='lang-vi').click()
    await user.should_see('Đặt lịch hẹn', retries=RETRIES)
    await user.should_not_see('Book an appointment')
    assert user.back_history[-1] == '/book?lang=vi'
    await user.open('/book')  # the browser remembers the choice
    await user.should_see('Đặt lịch hẹn', retries=RETRIES)
    element(user, 'online-service').set_value(clinic.consultation_id)  # next week's first free time, held
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()
    await user.should_see((local_today(get_settings().tz) + timedelta(days=13)).strftime('%d/%m/%Y'), retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    await user.should_see(marker='online-name', retries=RETRIES)
    user.find(marker='online-name').type('Trịnh Công Sơn')
    user.find(marker='online-phone').type('0977123456')
    user.find(marker='online-email').type('son@example.test')
    user.find(marker='online-dob').type('28/02/1939')
    user.find(marker='online-confirm').click()
    await user.should_see('Đã đặt lịch hẹn của bạn', retries=RETRIES)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
        patient = await session.get(Patient, appointment.patient_id)
    assert appointment.language == 'vi' and patient.language == 'vi'
    user.find(marker='lang-en').click()  # and back
    await user.should_see('Book an appointment', retries=RETRIES)


# ---------------------------------------------------------------- the confirmation, and the patient's own link

LINK = re.compile(r'/book/manage\?token=([\w.-]+)&lang=(\w+)')


@pytest.fixture
def linked():
    """The clinic's phone, address and public address set (so emails carry the link)."""
    settings = get_settings().model_copy(update={'public_url': 'https://booking.example.vn',
                                                 'clinic_phone': '0283 123 4567',
                                                 'clinic_address': '12 Lê Lợi, Quận 1'})
    clinic_settings.put_in_force(settings)
    try:
        yield settings
    finally:
        clinic_settings.put_in_force(None)


async def test_the_confirmation_gives_the_clinics_phone_to_tap_and_its_address(user: User, linked):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    await user.open('/book')
    await hold_a_time_next_week(user, clinic.consultation_id)
    user.find(marker='online-name').type('Trịnh Công Sơn')
    user.find(marker='online-phone').type('0977123456')
    user.find(marker='online-email').type('son@example.test')
    user.find(marker='online-dob').type('28/02/1939')
    user.find(marker='online-confirm').click()
    await user.should_see('Your appointment is booked', retries=RETRIES)
    await user.should_see('With the link in it you can move or cancel the appointment until')
    phone = element(user, 'clinic-phone')
    assert phone.text == '0283 123 4567' and phone.props['href'] == 'tel:02831234567'
    await user.should_see(marker='clinic-address', content='12 Lê Lợi, Quận 1')


async def booked_with_link(clinic, settings, *, days: int = 7) -> tuple[int, str]:
    """A booking by phone next week at 10:00 for a patient with an email: its id and the token in the email."""
    start = datetime.combine(local_today(settings.tz) + timedelta(days=days), time(10), tzinfo=settings.tz)
    async with get_db().write() as session:
        appointment = await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0],
                                         service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[0],
                                         start_at=start, source=BookingSource.PHONE, tz=settings.tz, now=utcnow(),
                                         settings=settings)
    async with get_db().read() as session:
        email = (await session.exec(select(OutboxMessage))).one()
    return appointment.id, LINK.search(email.body_text).group(1)


async def test_the_patient_cancels_through_the_link_in_their_email(user: User, linked):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    appointment_id, token = await booked_with_link(clinic, linked)
    await user.open(f'/book/manage?token={token}')
    await user.should_see(marker='manage-when', content='10:00', retries=RETRIES)
    await user.should_not_see('Lê Thị Hồng')  # nothing about the patient
    user.find(marker='manage-cancel').click()
    user.find(marker='manage-cancel-confirm').click()
    await user.should_see('Your appointment has been cancelled', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Appointment, appointment_id)).status == AppointmentStatus.CANCELLED
        assert len((await session.exec(select(OutboxMessage))).all()) == 2  # the "cancelled" email too
    await user.open(f'/book/manage?token={token}')  # the same link again
    await user.should_see('This appointment has been cancelled', retries=RETRIES)
    await user.should_not_see(marker='manage-cancel')


async def test_the_patient_moves_through_the_link_to_another_free_time(user: User, linked):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    appointment_id, token = await booked_with_link(clinic, linked)
    await user.open(f'/book/manage?token={token}')
    await user.should_see(marker='manage-booking', retries=RETRIES)
    user.find(marker='manage-move').click()
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    await user.should_see(marker='manage-new-time', retries=RETRIES)
    user.find(marker='manage-move-confirm').click()
    await user.should_see('Your appointment has been moved', retries=RETRIES)
    async with get_db().read() as session:
        moved = await session.get(Appointment, appointment_id)
        emails = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert moved.sequence == 1 and moved.status == AppointmentStatus.SCHEDULED
    assert moved.start_at.astimezone(linked.tz).date() == local_today(linked.tz) + timedelta(days=7)
    assert moved.start_at.astimezone(linked.tz).time() != time(10)
    assert emails[-1].subject.startswith('Appointment moved')
    await user.should_see(marker='manage-when', content=f'{moved.start_at.astimezone(linked.tz):%H:%M}')
    fresh = LINK.search(emails[-1].body_text).group(1)  # the "new time" email's link: the page goes on with it
    user.find(marker='lang-vi').click()
    for _attempt in range(RETRIES):
        if user.back_history[-1].endswith('lang=vi'):
            break
        await asyncio.sleep(0.1)
    assert user.back_history[-1] == f'/book/manage?token={fresh}&lang=vi'
    await user.open(f'/book/manage?token={token}&lang=en')  # the old link: stale now
    await user.should_see('has been changed since this link was sent', retries=RETRIES)


@pytest.mark.parametrize('token', ['', 'garbled', 'eyJhIjoxfQ.c2lnbmF0dXJl'])
async def test_a_bad_link_says_so_and_offers_the_phone(user: User, linked, token):
    await user.open('/login')
    await make_clinic(get_db())
    await user.open(f'/book/manage?token={token}')
    await user.should_see('This link is not valid', retries=RETRIES)
    await user.should_see(marker='clinic-phone')
    await user.should_not_see(marker='manage-booking')


@pytest.mark.usefixtures('vietnamese')
async def test_the_link_opens_in_the_bookings_language_and_the_switch_keeps_the_link(user: User, linked):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    async with get_db().write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.language = 'vi'
        session.add(patient)
        await session.commit()
    __, token = await booked_with_link(clinic, linked)
    async with get_db().read() as session:
        email = (await session.exec(select(OutboxMessage))).one()
    assert LINK.search(email.body_text).group(2) == 'vi'
    await user.open(f'/book/manage?token={token}&lang=vi')
    await user.should_see('Lịch hẹn của bạn', retries=RETRIES)
    await user.should_see('Đổi sang giờ khác')
    user.find(marker='lang-en').click()
    await user.should_see('Move to another time', retries=RETRIES)
    assert user.back_history[-1] == f'/book/manage?token={token}&lang=en'


async def test_a_deactivated_specialtys_service_is_no_longer_offered_online(user: User):
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    async with get_db().write() as session:
        skin = (await session.exec(select(Specialty).where(Specialty.name == 'Dermatology'))).one()
        session.add(Service(code='DERM', name='Skin consultation', kind=ServiceKind.CONSULTATION,
                            duration_minutes=15, price=200_000, specialty_id=skin.id))
        await session.commit()
    await user.open('/book')
    await user.should_see(marker='online-service', retries=RETRIES)
    assert any('Skin consultation' in str(label) for label in element(user, 'online-service').options.values())
    async with get_db().write() as session:
        await catalog.set_specialty_active(session, clinic.admin, skin.id, False, now=NOW)
    await user.open('/book')
    await user.should_see(marker='online-service', retries=RETRIES)
    labels = [str(label) for label in element(user, 'online-service').options.values()]
    assert labels and not any('Skin consultation' in label for label in labels)
