"""The list of all appointments: filtered by day, with a clear message for a date it cannot read."""
from datetime import timedelta

from nicegui.testing import User

from services.core.clock import local_today
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.pages.reception.helpers import book_today, signed_in_clinic


async def test_appointment_list_filters_and_reports_bad_dates(user: User):
    clinic = await signed_in_clinic(user)
    await book_today(clinic)
    await user.open('/reception/appointments')
    await user.should_see(marker='from', retries=RETRIES)
    today = local_today(get_settings().tz).strftime('%d/%m/%Y')
    await user.should_see(f'Appointments {today}: 1', retries=RETRIES)
    rows = element(user, 'appointment-list').rows
    assert [row['patient'] for row in rows] == ['Lê Thị Hồng · P0000001']
    user.find(marker='from').clear().type('not a date')
    await user.should_see('Please write the start date as dd/mm/yyyy.', retries=RETRIES)
    tomorrow = (local_today(get_settings().tz) + timedelta(days=1)).strftime('%d/%m/%Y')
    user.find(marker='from').clear().type(tomorrow)
    await user.should_see(': 0', retries=RETRIES)
