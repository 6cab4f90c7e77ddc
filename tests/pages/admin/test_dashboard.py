"""The dashboard page shows its figures and charts for the last 30 days."""
from __future__ import annotations

from nicegui.testing import User

from tests.conftest import RETRIES
from tests.pages.admin.helpers import signed_in


async def test_the_dashboard_shows_the_figures_of_the_period(user: User):
    await signed_in(user)
    await user.open('/admin/dashboard')
    await user.should_see(marker='chart-visits', retries=RETRIES)
    await user.should_see('No-show rate')
    await user.should_see('0 of 0 booked appointments', retries=RETRIES)
