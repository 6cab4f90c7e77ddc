"""The administration pages as an administrator uses them (NiceGUI's simulated user), and who may not."""
from __future__ import annotations

import asyncio

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import AuditLog, Room
from models import User as Account
from services import clinic_settings, users
from services.core.db import get_db
from tests.conftest import TEST_DATABASE_URL
from tests.factories import PASSWORD, make_clinic

RETRIES = 50
ADMIN_PAGES = ['/admin', '/admin/staff', '/admin/doctors', '/admin/catalog', '/admin/settings', '/admin/audit',
               '/admin/dashboard', '/admin/backup']


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


@pytest.fixture(autouse=True)
def restore_settings():
    yield
    clinic_settings.put_in_force(None)


def element(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def rows_where(user: User, marker: str, check) -> list[dict]:
    """Wait until the table's rows pass ``check`` (they update after the database answered)."""
    await user.should_see(marker=marker, retries=RETRIES)
    for _ in range(RETRIES):
        rows = element(user, marker).rows
        if check(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f'{marker}: {element(user, marker).rows}')


async def signed_in(user: User, username: str = 'admin'):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', retries=RETRIES)
    return clinic


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


async def test_creating_a_staff_account_shows_the_temporary_password(user: User):
    await signed_in(user)
    await user.open('/admin/staff')
    await user.should_see('Staff accounts (4)', retries=RETRIES)
    user.find(marker='new-account').click()
    await user.should_see('New staff account', retries=RETRIES)
    user.find(marker='account-full-name').type('Hồ Thị Mai')
    user.find(marker='account-username').type('mai')
    user.find(marker='save-account').click()
    await user.should_see('Please choose the role.', retries=RETRIES)
    element(user, 'account-role').set_value('pharmacist')
    user.find(marker='account-username').clear().type('m')
    user.find(marker='save-account').click()
    await user.should_see('3 to 40 characters', retries=RETRIES)
    user.find(marker='account-username').clear().type('mai.ho')
    user.find(marker='save-account').click()
    await user.should_see('Temporary password for Hồ Thị Mai', retries=RETRIES)
    await user.should_see('Staff accounts (5)', retries=RETRIES)
    assert len(element(user, 'temporary-password').text) == 14
    user.find(marker='staff-search').type('mai')
    await user.should_see('Staff accounts (1)', retries=RETRIES)
    rows = element(user, 'staff-table').rows
    assert rows[0]['state'] == 'must set password' and rows[0]['role'] == 'Pharmacist'


async def test_editing_an_account_resets_its_password(user: User):
    clinic = await signed_in(user)
    await user.open('/admin/staff')
    await user.should_see('Staff accounts (4)', retries=RETRIES)
    user.find(marker='staff-table').trigger('edit', clinic.cashier.user_id)
    await user.should_see(marker='account-dialog', retries=RETRIES)
    user.find(marker='reset-password').click()
    await user.should_see('Temporary password for Cashier', retries=RETRIES)
    async with get_db().read() as session:
        account = await session.get(Account, clinic.cashier.user_id)
    assert account.must_change_password


async def test_the_catalog_gives_clear_messages_and_saves(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=rooms')
    await user.should_see(marker='rooms-table', retries=RETRIES)
    user.find(marker='add-Add room').click()
    await user.should_see('New room', retries=RETRIES)
    user.find(marker='room-code').type('R 1!')
    user.find(marker='room-name').type('Ultrasound')
    user.find(marker='catalog-save').click()
    await user.should_see('The code needs 1 to 20 characters', retries=RETRIES)
    user.find(marker='room-code').clear().type('US1')
    element(user, 'room-kind').set_value('imaging')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    async with get_db().read() as session:
        room = (await session.exec(select(Room).where(Room.code == 'US1'))).one()
    assert room.kind.value == 'imaging'
    await user.open('/admin/catalog?tab=medicines')
    await user.should_see(marker='medicines-table', retries=RETRIES)
    user.find(marker='add-medicine-search').click()
    user.find(marker='medicine-code').type('AMOX500')
    user.find(marker='medicine-name').type('Amoxicillin 500 mg')
    user.find(marker='medicine-price').type('1.5')
    user.find(marker='catalog-save').click()
    await user.should_see('too many decimals', retries=RETRIES)
    user.find(marker='medicine-price').clear().type('2,500')
    user.find(marker='medicine-reorder').clear().type('100')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    await rows_where(user, 'medicines-table', lambda rows: any(r['price'] == '2,500 VND' for r in rows))


async def test_settings_change_the_clinic_name_everywhere(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='clinic-name-input', retries=RETRIES)
    user.find(marker='clinic-name-input').clear()
    user.find(marker='save-clinic').click()
    await user.should_see('Please enter the clinic name.', retries=RETRIES)
    user.find(marker='clinic-name-input').type('Phòng khám Hòa An')
    user.find(marker='clinic-phone').type('abc')
    user.find(marker='save-clinic').click()
    await user.should_see('6 to 15 digits', retries=RETRIES)
    user.find(marker='clinic-phone').clear().type('028 3823 4567')
    user.find(marker='save-clinic').click()
    await user.should_see('Saved.', retries=RETRIES)
    assert clinic_settings.current().clinic_name == 'Phòng khám Hòa An'
    await user.open('/admin')
    await user.should_see(marker='clinic-name', content='Phòng khám Hòa An', retries=RETRIES)
    await user.open('/admin/audit')
    await user.should_see(marker='audit-table', retries=RETRIES)
    element(user, 'audit-kind').set_value('settings')
    await rows_where(user, 'audit-table', lambda rows: any(
        r['detail'] == 'clinic_name: "Clinic Flow" -> "Phòng khám Hòa An"' for r in rows))


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


async def test_dashboard_and_audit_pages_show(user: User):
    await signed_in(user)
    await user.open('/admin/dashboard')
    await user.should_see(marker='chart-visits', retries=RETRIES)
    await user.should_see('No-show rate')
    await user.should_see('0 of 0 booked appointments', retries=RETRIES)
    await user.open('/admin/audit')
    rows = await rows_where(user, 'audit-table', lambda rows: any(r['action'] == 'Login' for r in rows))
    assert rows[0]['who'] == 'admin'


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith('sqlite'), reason='SQLite backups only (pg_dump on PostgreSQL)')
async def test_backup_page_backs_up_and_offers_the_download(user: User):
    await signed_in(user)
    await user.open('/admin/backup')
    await user.should_see('Backups (0)', retries=RETRIES)
    user.find(marker='backup-now').click()
    await user.should_see('Backups (1)', retries=RETRIES)
    name = element(user, 'backups-table').rows[0]['name']
    response = await user.http_client.get(f'/admin/backups/{name}')
    assert response.status_code == 200 and response.content.startswith(b'SQLite format 3')
    async with get_db().read() as session:
        actions = set((await session.exec(select(AuditLog.action))).all())
    assert {'backup_created', 'backup_downloaded'} <= actions
