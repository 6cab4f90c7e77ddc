"""The public booking page: a patient books from a phone without signing in; addresses are rate-limited."""
from datetime import timedelta

from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from clinic_ui.ratelimit import RateLimiter
from models import Appointment, BookingSource, Patient, Service, ServiceKind, Specialty
from services import catalog
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.factories import NOW, make_clinic
from tests.services.vietnamese import vietnamese  # noqa: F401 - the real catalog, for the tests that use it


def test_rate_limiter_allows_a_burst_then_refuses_until_the_window_passes():
    limiter = RateLimiter(limit=3, window_s=60)
    assert [limiter.allow('a', now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow('b', now=3)  # other addresses are not affected
    assert limiter.allow('a', now=61)


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




async def test_a_patient_books_in_vietnamese_and_the_booking_keeps_it(user: User, vietnamese):  # noqa: F811
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
