"""An open page ends with its session (NiceGUI's simulated user, several tabs and browsers): deactivated, password
reset, role changed, signed out in another tab, idle; changing one's own password ends the other sessions only."""
from __future__ import annotations

import asyncio

from nicegui.testing import User
from sqlmodel import func, select

from models import Patient
from services import staff_admin
from services.core.db import get_db
from services.core.events import EventsMissed, bus
from tests.conftest import RETRIES, sign_in
from tests.factories import PASSWORD
from tests.pages.test_sign_in import browser, eventually, started_clinic


def another_tab(user: User) -> User:
    """A second tab of the same browser: same cookies, so the same session."""
    return User(user.http_client)


def record_pushes(user: User) -> list[str]:
    """The pages the server opens in this tab by itself (what the browser would then load)."""
    opened: list[str] = []
    outbox = user.client.outbox
    emit = outbox._emit

    async def recording_emit(message) -> None:
        _, kind, data = message
        if kind == 'open':
            opened.append(data['path'])
        await emit(message)

    outbox._emit = recording_emit
    return opened


async def patient_count() -> int:
    async with get_db().read() as session:
        return (await session.exec(select(func.count()).select_from(Patient))).one()


async def fill_new_patient(user: User) -> None:
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='date-of-birth').type('28/02/1990')


# -- 1. an open page ends with its session --------------------------------------------------------------------

async def test_a_deactivated_persons_open_page_goes_to_sign_in_and_registers_nothing(user: User):
    clinic = await started_clinic(user)
    await sign_in(user, 'reception')
    await fill_new_patient(user)
    pushed = record_pushes(user)
    before = await patient_count()
    async with get_db().write() as session:  # the administrator, at their own desk
        await staff_admin.set_active(session, clinic.admin, clinic.reception.user_id, False)
    await eventually(lambda: pushed == ['/login?reason=deactivated'], f'the page was not sent to sign-in: {pushed}')
    user.find(marker='save-patient').click()  # the page as it still is on the screen
    await user.should_see(marker='login-reason', content='deactivated', retries=RETRIES)
    assert await patient_count() == before
    assert 'Patient registered.' not in user.notify.messages


async def test_a_deactivation_whose_news_was_lost_still_ends_the_open_page_once_the_news_comes_back(user: User,
                                                                                                   monkeypatch):
    """Deactivated through another server process while this one's listening connection was down: when it listens
    again (``EventsMissed``), the open page's live parts read afresh, and that read finds the session ended."""
    clinic = await started_clinic(user)
    await sign_in(user, 'reception')
    await fill_new_patient(user)
    pushed = record_pushes(user)
    with monkeypatch.context() as patch:
        patch.setattr(bus, 'committed', lambda event: None)  # nobody here hears of it
        async with get_db().write() as session:
            await staff_admin.set_active(session, clinic.admin, clinic.reception.user_id, False)
    await asyncio.sleep(0.2)
    assert pushed == []
    bus.deliver(EventsMissed())
    await eventually(lambda: pushed and set(pushed) == {'/login?reason=deactivated'},
                     f'the page was not sent to sign-in: {pushed}')


async def test_after_a_password_reset_an_open_page_goes_to_sign_in_and_its_search_answers_nothing(user: User):
    clinic = await started_clinic(user)
    await sign_in(user, 'reception')
    await user.should_see(marker='patient-search', retries=RETRIES)
    user.find(marker='patient-search').type('hong le')
    await user.should_see('Lê Thị Hồng', retries=RETRIES)  # the search works while signed in
    user.find(marker='patient-search').clear()
    await user.should_not_see('Lê Thị Hồng', retries=RETRIES)
    pushed = record_pushes(user)
    async with get_db().write() as session:
        await staff_admin.reset_password(session, clinic.admin, clinic.reception.user_id)
    await eventually(lambda: pushed == ['/login?reason=ended'], f'the page was not sent to sign-in: {pushed}')
    user.find(marker='patient-search').type('hong le')  # typed into the page still on the screen
    await user.should_see(marker='login-reason', content='password or access was changed', retries=RETRIES)
    await user.should_not_see('Lê Thị Hồng')
    response = await user.http_client.get('/reception', follow_redirects=False)
    assert response.status_code == 303 and response.headers['location'].startswith('/login')


async def test_a_role_change_ends_the_open_pages_of_the_old_role(user: User):
    clinic = await started_clinic(user)
    await sign_in(user, 'cashier')
    pushed = record_pushes(user)
    async with get_db().write() as session:
        await staff_admin.update_account(session, clinic.admin, clinic.cashier.user_id, full_name='Cashier',
                                          role=clinic.reception.role)
    await eventually(lambda: pushed == ['/login?reason=ended'], f'the page was not sent to sign-in: {pushed}')


async def test_a_name_change_keeps_the_open_pages(user: User):
    clinic = await started_clinic(user)
    await sign_in(user, 'reception')
    pushed = record_pushes(user)
    async with get_db().write() as session:
        await staff_admin.update_account(session, clinic.admin, clinic.reception.user_id, full_name='Lê Tân',
                                          role=clinic.reception.role)
    await asyncio.sleep(0.3)
    assert pushed == []
    user.find(marker='patient-search').type('hong le')
    await user.should_see('Lê Thị Hồng', retries=RETRIES)


async def test_signing_out_in_one_tab_sends_the_other_tabs_of_that_browser_to_sign_in(user: User):
    await started_clinic(user)
    await sign_in(user, 'reception')
    second = another_tab(user)
    await fill_new_patient(second)
    elsewhere = browser('10.0.0.9')  # the same person in another browser keeps working
    await sign_in(elsewhere, 'reception')
    pushed, pushed_elsewhere = record_pushes(second), record_pushes(elsewhere)
    before = await patient_count()
    await user.open('/logout')
    await user.should_see('You have signed out.', retries=RETRIES)
    await eventually(lambda: pushed == ['/login?reason=signed_out'], f'the other tab stayed: {pushed}')
    second.find(marker='save-patient').click()
    await second.should_see(marker='login-reason', retries=RETRIES)
    assert await patient_count() == before
    assert pushed_elsewhere == []
    elsewhere.find(marker='patient-search').type('hong le')
    await elsewhere.should_see('Lê Thị Hồng', retries=RETRIES)


async def test_an_idle_session_refuses_a_search_from_an_open_page(user: User, monkeypatch):
    await started_clinic(user)
    await sign_in(user, 'reception')
    await user.should_see(marker='patient-search', retries=RETRIES)
    from clinic_ui import auth
    monkeypatch.setattr(auth, '_idle_limit_s', lambda: -1)  # as if the person left long ago
    user.find(marker='patient-search').type('hong le')
    await user.should_see(marker='login-reason', content='without activity', retries=RETRIES)
    await user.should_not_see('Lê Thị Hồng')


async def test_every_page_opened_after_an_idle_sign_out_says_it_was_idle(user: User, monkeypatch):
    """The tab's idle timer, a search typed at that moment and the next page opened all tell the same reason (the
    first to notice ended the session; the others said "You have signed out." before)."""
    await started_clinic(user)
    await sign_in(user, 'reception')
    await user.should_see(marker='patient-search', retries=RETRIES)
    from clinic_ui import auth
    monkeypatch.setattr(auth, '_idle_limit_s', lambda: -1)
    user.find(marker='patient-search').type('hong le')
    await user.should_see(marker='login-reason', content='without activity', retries=RETRIES)
    await user.open('/reception')
    await user.should_see(marker='login-reason', content='without activity', retries=RETRIES)
    await user.open('/logout')  # a person who then signs out on purpose is told that
    await user.open('/reception')
    await user.should_see(marker='login-reason', content='You have signed out.', retries=RETRIES)


# -- 2. changing one's password ends one's other sessions -----------------------------------------------------

async def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(user: User):
    await started_clinic(user)
    await sign_in(user, 'reception')
    same_browser = another_tab(user)
    await same_browser.open('/reception')
    await same_browser.should_see(marker='patient-search', retries=RETRIES)
    other = browser('10.0.0.5')
    await sign_in(other, 'reception')
    pushed_other, pushed_same = record_pushes(other), record_pushes(same_browser)
    await user.open('/account/password')
    user.find(marker='current-password').type(PASSWORD)
    user.find(marker='new-password').type('brand-new-pass-7')
    user.find(marker='repeat-password').type('brand-new-pass-7')
    user.find(marker='change-password').click()
    await user.should_see(marker='station-title', content='Reception', retries=RETRIES)
    await eventually(lambda: pushed_other == ['/login?reason=ended'], f'the other session stayed: {pushed_other}')
    assert pushed_same == []
    response = await other.http_client.get('/reception', follow_redirects=False)
    assert response.status_code == 303 and response.headers['location'].startswith('/login')
    same_browser.find(marker='patient-search').type('hong le')  # this browser carries on
    await same_browser.should_see('Lê Thị Hồng', retries=RETRIES)
