"""A doctor's page: weekly hours added, and a clash with the doctor's own hours reported."""
from __future__ import annotations

from nicegui.testing import User

from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import rows_where, signed_in


async def test_doctor_page_adds_hours_and_reports_clashes(user: User):
    clinic = await signed_in(user)
    await user.open(f'/admin/doctors/{clinic.doctor_ids[1]}')
    await user.should_see(marker='doctor-heading', content='Trần Văn Minh', retries=RETRIES)
    assert len(element(user, 'hours-table').rows) == 14
    element(user, 'hours-days').set_value([0])
    element(user, 'hours-start').set_value('11:00')
    element(user, 'hours-end').set_value('12:30')
    element(user, 'hours-room').set_value(clinic.room_ids[0])
    user.find(marker='add-hours').click()
    await user.should_see('already works Monday 08:00–12:00 in R2', retries=RETRIES)
    element(user, 'hours-start').set_value('17:00')
    element(user, 'hours-end').set_value('19:00')
    user.find(marker='add-hours').click()
    await user.should_see('Hours added.', retries=RETRIES)
    await rows_where(user, 'hours-table', lambda rows: len(rows) == 15)
