"""Signing in, landing on one's station, what a role may open, and signing out (NiceGUI's simulated user: no
browser, real app and database)."""
import pytest
from nicegui.testing import User
from sqlmodel import select

from models import Role
from models import User as UserRow
from services import users
from services.core.db import get_db
from tests.conftest import RETRIES, element, sign_in
from tests.services.vietnamese import vietnamese  # noqa: F401 - the real catalog, for the tests that use it

PASSWORD = 'clinic-pass-1'


async def make_staff(*roles: Role) -> None:
    """The first administrator, and an account named after each role (its value) with the same password."""
    async with get_db().write() as session:
        admin = await users.create_first_admin(session, username='admin', full_name='Phạm Quốc Bảo',
                                               password=PASSWORD, password_repeat=PASSWORD)
    for role in roles:
        async with get_db().write() as session:
            await users.create_user(session, admin, username=role.value, full_name=f'Staff {role.label}', role=role,
                                    password=PASSWORD, must_change_password=False)


async def test_a_new_clinic_starts_with_creating_the_administrator(user: User):
    await user.open('/')
    await user.should_see('Create the administrator account', retries=RETRIES)
    user.find(marker='full-name').type('Đỗ Minh Châu')
    user.find(marker='username').type('admin')
    user.find(marker='password').type('first-pass-1')
    user.find(marker='password-repeat').type('first-pass-2')
    user.find(marker='create-admin').click()
    await user.should_see('The two passwords differ.', retries=RETRIES)
    user.find(marker='password-repeat').clear().type('first-pass-1')
    user.find(marker='create-admin').click()
    await user.should_see('Administration', retries=RETRIES)
    await user.should_see('Đỗ Minh Châu', retries=RETRIES)
    await user.open('/setup')  # once an admin exists, set-up is closed
    await user.should_not_see('Create the administrator account')
    await user.should_see(marker='station-title', content='Administration', retries=RETRIES)


async def test_wrong_password_gives_a_clear_message_and_no_access(user: User):
    await user.open('/login')  # starts the app, so the database is ready
    await make_staff(Role.RECEPTIONIST)
    await user.open('/login')
    user.find(marker='username').type('receptionist')
    user.find(marker='password').type('not-the-password')
    user.find(marker='sign-in').click()
    await user.should_see('Wrong user name or password.', retries=RETRIES)
    await user.open('/reception')
    await user.should_see('Sign in', retries=RETRIES)
    await user.should_not_see("Today's appointments")


@pytest.mark.parametrize('role, station', [
    (Role.RECEPTIONIST, 'Reception'), (Role.DOCTOR, 'Consultation'), (Role.TECHNICIAN, 'Lab & imaging'),
    (Role.PHARMACIST, 'Pharmacy'), (Role.CASHIER, 'Cashier'), (Role.ADMIN, 'Administration'),
])
async def test_each_role_lands_on_its_station(user: User, role: Role, station: str):
    await user.open('/login')
    await make_staff(*[r for r in Role if r != Role.ADMIN])
    await sign_in(user, 'admin' if role == Role.ADMIN else role.value, PASSWORD, station=station)


async def test_navigation_shows_only_the_roles_stations_and_typed_urls_are_refused(user: User):
    await user.open('/login')
    await make_staff(Role.PHARMACIST)
    await sign_in(user, 'pharmacist', PASSWORD)
    await user.should_see('Below reorder level', retries=RETRIES)
    await user.should_see(marker='nav-pharmacy', retries=RETRIES)
    await user.should_not_see(marker='nav-cashier')
    await user.should_not_see(marker='nav-admin')
    await user.open('/admin')
    await user.should_see('cannot open Administration', retries=RETRIES)
    await user.should_not_see('Staff accounts')
    await user.open('/cashier')
    await user.should_see('cannot open Cashier', retries=RETRIES)


async def test_signing_out_ends_the_session(user: User):
    await user.open('/login')
    await make_staff(Role.CASHIER)
    await sign_in(user, 'cashier', PASSWORD)
    await user.should_see('Invoices waiting for payment', retries=RETRIES)
    user.find(marker='sign-out').click()
    await user.should_see('You have signed out.', retries=RETRIES)
    await user.open('/cashier')
    await user.should_see('Sign in', retries=RETRIES)




async def set_language(username: str, language: str | None) -> None:
    async with get_db().write() as session:
        account = (await session.exec(select(UserRow).where(UserRow.username == username))).one()
        await users.set_language(session, users.actor_of(account), language)


async def test_each_person_reads_the_frame_in_their_own_language(user: User, vietnamese):
    await user.open('/login')
    await make_staff(Role.RECEPTIONIST)
    await set_language('receptionist', 'vi')
    await set_language('admin', 'en')
    await sign_in(user, 'receptionist', PASSWORD, station='Lễ tân')
    await user.should_see('Đăng xuất', retries=RETRIES)
    await user.should_see('Ngôn ngữ')
    await user.should_not_see('Sign out')
    assert user.client.title.startswith('Lễ tân · ')  # the browser tab's title too
    await user.open('/logout')
    await user.should_see('Đăng nhập', retries=RETRIES)  # the sign-in page, in the language of whoever was here
    await sign_in(user, 'admin', PASSWORD, station='Administration')
    await user.should_see('Sign out', retries=RETRIES)
    await user.should_not_see('Đăng xuất')
    assert user.client.title.startswith('Administration · ')


async def test_a_person_chooses_their_language_and_the_page_follows(user: User, vietnamese):
    await user.open('/login')
    await make_staff()
    await sign_in(user, 'admin', PASSWORD, station='Administration')
    await user.open('/account/language')
    await user.should_see("Clinic's language", retries=RETRIES)
    element(user, 'language').set_value('vi')
    user.find(marker='save-language').click()
    await user.should_see('Đăng xuất', retries=RETRIES)
    await user.should_see(marker='station-title', content='Ngôn ngữ', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.exec(select(UserRow.language).where(UserRow.username == 'admin'))).one() == 'vi'
    await user.open('/admin')  # every page from now on
    await user.should_see(marker='station-title', content='Quản trị', retries=RETRIES)


async def test_a_handler_still_running_after_its_dialog_closed_writes_in_its_tab_language(user: User, vietnamese):
    """A click's handler may go on after its dialog was closed (its element deleted): the texts it writes are still
    in its tab's language, and writing them never fails."""
    from nicegui.slot import Slot

    from services.core.i18n import _
    await user.open('/login')
    await make_staff(Role.RECEPTIONIST)
    await set_language('receptionist', 'vi')
    await sign_in(user, 'receptionist', PASSWORD, station='Lễ tân')
    class Dialog:  # stands for a dialog's element: closed and collected while its handler still runs
        pass

    closed = Dialog()
    handler_slot = Slot(closed, 'default')  # type: ignore[arg-type]
    del closed
    with user.client, handler_slot:
        assert _('Sign out') == 'Đăng xuất'
