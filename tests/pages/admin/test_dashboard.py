"""The dashboard page shows its figures and charts for the last 30 days."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from nicegui.testing import User

from models import Appointment, AppointmentStatus, BookingSource, DayClosure
from services.core.clock import local_today
from services.core.db import get_db
from tests.conftest import RETRIES
from tests.factories import TZ
from tests.pages.admin.helpers import signed_in


async def test_the_dashboard_shows_the_figures_of_the_period(user: User):
    await signed_in(user)
    await user.open('/admin/dashboard')
    await user.should_see(marker='chart-visits', retries=RETRIES)
    await user.should_see('No-show rate')
    await user.should_see('0 of 0 booked appointments', retries=RETRIES)


async def test_appointments_nobody_came_to_count_as_no_shows_with_what_the_day_close_ended(user: User):
    clinic = await signed_in(user)
    yesterday = local_today(TZ) - timedelta(days=1)
    async with get_db().write() as session:
        for i, status in enumerate([AppointmentStatus.COMPLETED, AppointmentStatus.SCHEDULED]):
            start = datetime.combine(yesterday, time(8 + i), tzinfo=TZ)
            session.add(Appointment(uuid=f'y{i}', patient_id=clinic.patient_ids[i], doctor_id=clinic.doctor_ids[0],
                                    start_at=start, end_at=start + timedelta(minutes=15), status=status,
                                    source=BookingSource.PHONE))
        session.add(DayClosure(service_date=yesterday, tickets_closed=3, visits_closed=2))
        await session.commit()
    await user.open('/admin/dashboard')
    await user.should_see('50.0%', retries=RETRIES)
    await user.should_see('1 of 2 booked appointments; 3 tickets and 2 visits were still open at the end of the day')
