"""The administration home: who may open the administration, and the way to each of its pages."""
from __future__ import annotations

from nicegui.testing import User

from tests.conftest import RETRIES
from tests.pages.admin.helpers import signed_in

ADMIN_PAGES = ['/admin', '/admin/staff', '/admin/doctors', '/admin/catalog', '/admin/settings', '/admin/audit',
               '/admin/dashboard', '/admin/backup']


async def test_only_admins_reach_the_administration_pages(user: User):
    await signed_in(user, 'reception')
    for path in ADMIN_PAGES:
        await user.open(path)
        await user.should_see('cannot open', retries=RETRIES)
    response = await user.http_client.get('/admin/backups/clinic-20260101-000000.db')
    assert response.status_code == 403


async def test_the_admin_home_links_every_section(user: User):
    await signed_in(user)
    await user.should_see('Staff accounts', retries=RETRIES)
    for title in ('Doctors & schedules', 'Catalog & prices', 'Clinic settings', 'Waiting-room displays',
                  'Dashboard', 'Audit log', 'Backup'):
        await user.should_see(title)
    await user.should_see(marker='setup-checklist')  # the factory clinic has no medicines yet
    await user.should_see('Medicines')
