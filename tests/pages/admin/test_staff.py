"""Staff accounts: creating one (its temporary password shown once), editing one, resetting its password."""
from __future__ import annotations

from nicegui.testing import User

from models import User as Account
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import signed_in


async def open_new_account(user: User) -> None:
    await user.open('/admin/staff')
    await user.should_see('Staff accounts (4)', retries=RETRIES)
    user.find(marker='new-account').click()
    await user.should_see('New staff account', retries=RETRIES)
    user.find(marker='account-full-name').type('Hồ Thị Mai')


async def test_the_account_form_says_what_is_missing(user: User):
    await signed_in(user)
    await open_new_account(user)
    user.find(marker='account-username').type('mai')
    user.find(marker='save-account').click()
    await user.should_see('Please choose the role.', retries=RETRIES)
    element(user, 'account-role').set_value('pharmacist')
    user.find(marker='account-username').clear().type('m')
    user.find(marker='save-account').click()
    await user.should_see('3 to 40 characters', retries=RETRIES)


async def test_a_new_account_shows_its_temporary_password_and_is_listed(user: User):
    await signed_in(user)
    await open_new_account(user)
    element(user, 'account-role').set_value('pharmacist')
    user.find(marker='account-username').type('mai.ho')
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


async def test_an_account_is_given_its_own_language(user: User):
    clinic = await signed_in(user)
    await user.open('/admin/staff')
    await user.should_see('Staff accounts (4)', retries=RETRIES)
    user.find(marker='staff-table').trigger('edit', clinic.cashier.user_id)
    await user.should_see(marker='account-language', retries=RETRIES)
    assert element(user, 'account-language').value == ''
    element(user, 'account-language').set_value('vi')
    user.find(marker='save-account').click()
    await user.should_see('Account saved.', retries=RETRIES)
    async with get_db().read() as session:
        account = await session.get(Account, clinic.cashier.user_id)
    assert account.language == 'vi'
