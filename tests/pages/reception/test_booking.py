"""Booking at reception: service, free time, reason, then back on the patient's page."""
from datetime import timedelta

from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from models import Appointment, BookingSource
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.pages.reception.helpers import first_slot, signed_in_clinic


async def choose_a_time_next_week(user: User, service_id: int) -> None:
    """The service first (no times before it), then next week, so the test does not depend on the hour."""
    await user.should_see(marker='service', retries=RETRIES)
    await user.should_see('Choose the service first.', retries=RETRIES)
    element(user, 'service').set_value(service_id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%d/%m') + ' –', retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {first_slot(user)}, None).click()
    await user.should_see('Chosen:', retries=RETRIES)


async def test_booking_from_the_patient_page(user: User):
    clinic = await signed_in_clinic(user)
    await user.open(f'/reception/book/{clinic.patient_ids[1]}')
    await choose_a_time_next_week(user, clinic.consultation_id)
    user.find(marker='reason').type('Ho kéo dài')
    user.find(marker='confirm-booking').click()
    await user.should_see(marker='patient-heading', content='Phạm Văn Đức', retries=RETRIES)
    await user.should_see('Upcoming appointments (1)', retries=RETRIES)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
    assert appointment.reason == 'Ho kéo dài' and appointment.source == BookingSource.PHONE
