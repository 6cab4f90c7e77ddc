"""Sign-in and session security, as an attacker and as staff would notice it (NiceGUI's simulated user: the real
app and database, several browsers at once, each with its own cookies and client address)."""
from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest
from nicegui import core
from nicegui.testing import User
from sqlmodel import func, select

from models import AuditLog, Patient
from services import staff_admin, users
from services.core.db import get_db
from services.core.errors import AuthenticationFailed
from tests.factories import PASSWORD, make_clinic

RETRIES = 50


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


def browser(address: str = '127.0.0.1', cookies: httpx.Cookies | None = None) -> User:
    """Another browser on the already started app, at ``address``."""
    transport = httpx.ASGITransport(app=core.app, client=(address, 50_000))
    return User(httpx.AsyncClient(transport=transport, base_url='http://test', cookies=cookies))


def another_tab(user: User) -> User:
    """A second tab of the same browser: same cookies, so the same session."""
    return User(user.http_client)


async def started_clinic(user: User):
    await user.open('/login')  # starts the app (and its database)
    return await make_clinic(get_db(), patients=4)


async def sign_in(user: User, username: str, password: str = PASSWORD, *, path: str = '/login') -> None:
    await user.open(path)
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='sign-in').click()
    await user.should_see(marker='signed-in-name', retries=RETRIES)


async def failed_sign_in(user: User, username: str, password: str) -> str:
    """Try to sign in on the open sign-in page; the message shown."""
    error = next(iter(user.find(marker='form-error').elements))
    error.set_text('')
    user.find(marker='username').clear().type(username)
    user.find(marker='password').clear().type(password)
    user.find(marker='sign-in').click()
    for _ in range(RETRIES * 4):
        if error.text:
            return error.text
        await asyncio.sleep(0.05)
    raise AssertionError('no answer to the sign-in')


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


async def eventually(check, what: str) -> None:
    for _ in range(RETRIES * 2):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def patient_count() -> int:
    async with get_db().read() as session:
        return (await session.exec(select(func.count()).select_from(Patient))).one()


async def fill_new_patient(user: User) -> None:
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='date-of-birth').type('28/02/1990')


# -- 1. no open redirect after signing in ---------------------------------------------------------------------

OFF_SITE = ['/%09/otherhost/', '/%0a/otherhost/', '/%0d/otherhost/', '/%0d%0a/otherhost/', '/%5cotherhost/',
            '/%5c%5cotherhost/', '//otherhost/', '/\\otherhost/', 'https://otherhost/', '%2F%2Fotherhost/',
            '/%252F%252Fotherhost/', '/%2509/otherhost/', '%252F%252Fotherhost/', 'javascript:alert(1)',
            '/%00/otherhost/', ' //otherhost/']


@pytest.mark.parametrize('raw', OFF_SITE)
async def test_a_signed_in_visit_to_the_sign_in_page_never_leaves_the_site(user: User, raw: str):
    await started_clinic(user)
    await sign_in(user, 'reception')
    response = await user.http_client.get(f'/login?next={raw}', follow_redirects=False)
    assert response.status_code == 303
    assert response.headers['location'] == '/reception'


@pytest.mark.parametrize('raw', ['/%09/otherhost/', '/%0a/otherhost/', '/%5cotherhost/', '//otherhost/'])
async def test_signing_in_with_an_off_site_next_lands_on_the_home_page(user: User, raw: str):
    await started_clinic(user)
    await sign_in(user, 'reception', path=f'/login?next={raw}')
    await user.should_see(marker='station-title', content='Reception', retries=RETRIES)


async def test_signing_in_with_a_local_next_goes_there(user: User):
    await started_clinic(user)
    await sign_in(user, 'reception', path=f'/login?next={quote("/reception/patients/new")}')
    await user.should_see(marker='station-title', content='New patient', retries=RETRIES)


# -- 2. an open page ends with its session --------------------------------------------------------------------

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


# -- 5. changing one's password ends one's other sessions -----------------------------------------------------

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


# -- 3. no user-name enumeration, no lockout by strangers -----------------------------------------------------

async def timed_failure(username: str, password: str, **options) -> tuple[float, str]:
    started = time.perf_counter()
    async with get_db().read() as session:
        with pytest.raises(AuthenticationFailed) as failure:
            await users.authenticate(session, username, password, **options)
    return time.perf_counter() - started, str(failure.value)


async def test_unknown_names_and_wrong_passwords_take_as_long_and_read_the_same(db, monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0.05)  # small, and the same for every failure
    await make_clinic(db)
    await timed_failure('warm-up', 'whatever-1', max_failed=100)
    unknown, wrong = [], []
    for attempt in range(9):  # interleaved, so a busy moment of the machine hits both alike
        took, message = await timed_failure(f'nobody{attempt}', 'whatever-1', max_failed=100)
        unknown.append(took)
        assert message == 'Wrong user name or password.'
        took, message = await timed_failure('reception', f'wrong-guess-{attempt}', max_failed=100)
        wrong.append(took)
        assert message == 'Wrong user name or password.'
    slow, fast = max(statistics.median(unknown), statistics.median(wrong)), \
        min(statistics.median(unknown), statistics.median(wrong))
    # before: an unknown name skipped the password check and answered in a fraction of the time
    assert slow - fast < 0.5 * slow, f'unknown name {statistics.median(unknown):.3f} s, ' \
                                      f'wrong password {statistics.median(wrong):.3f} s'


async def test_a_locked_name_reads_the_same_whether_or_not_it_exists(user: User):
    await started_clinic(user)
    a, b = browser('10.0.0.1'), browser('10.0.0.2')
    for who, name in ((a, 'admin'), (b, 'no.such.person')):
        await who.open('/login')
        for attempt in range(5):
            assert await failed_sign_in(who, name, f'guess-{attempt}-x') == 'Wrong user name or password.'
    locked_real = await failed_sign_in(a, 'admin', PASSWORD)  # even the right password
    locked_unknown = await failed_sign_in(b, 'no.such.person', PASSWORD)
    assert locked_real == locked_unknown
    assert locked_real.startswith('Too many failed sign-ins from this device.')


async def test_wrong_passwords_from_one_address_do_not_lock_the_account_for_another(user: User):
    await started_clinic(user)
    stranger = browser('10.0.0.66')
    await stranger.open('/login')
    for attempt in range(6):
        await failed_sign_in(stranger, 'admin', f'guess-{attempt}-x')
    administrator = browser('10.0.0.10')
    await sign_in(administrator, 'admin')
    await administrator.should_see(marker='station-title', content='Administration', retries=RETRIES)
    async with get_db().read() as session:
        failures = (await session.exec(select(AuditLog).where(AuditLog.action == 'login_failed'))).all()
    assert len(failures) == 5  # the sixth was refused before any password check
    assert all(f.username == 'admin' and f.entity_id is not None and 'from 10.0.0.66' in f.detail
               for f in failures)


async def test_an_address_that_keeps_failing_waits_longer_each_time(db):
    await make_clinic(db)
    at = datetime.now(timezone.utc)
    async with db.read() as session:
        for attempt in range(5):  # five different names: no name gets locked, the address does
            with pytest.raises(AuthenticationFailed, match='Wrong'):
                await users.authenticate(session, f'name{attempt}', 'guess-x1', address='10.1.1.1', now=at)
        for wait in (1, 2, 4, 8):
            with pytest.raises(AuthenticationFailed, match=f'wait {wait} seconds?'):
                await users.authenticate(session, 'reception', PASSWORD, address='10.1.1.1', now=at)
            at += timedelta(seconds=wait)
            with pytest.raises(AuthenticationFailed, match='Wrong'):
                await users.authenticate(session, 'name9', 'guess-x1', address='10.1.1.1', now=at)
        # another address is not concerned, and the first one may sign in once it waited
        assert (await users.authenticate(session, 'reception', PASSWORD, address='10.1.1.2', now=at)).username
        at += timedelta(seconds=16)
        assert (await users.authenticate(session, 'reception', PASSWORD, address='10.1.1.1', now=at)).username


async def test_an_administrator_unlock_lifts_a_devices_lock(db):
    clinic = await make_clinic(db)
    async with db.read() as session:
        for attempt in range(5):
            with pytest.raises(AuthenticationFailed, match='Wrong'):
                await users.authenticate(session, 'cashier', f'guess-{attempt}-x', address='10.2.2.2')
        with pytest.raises(AuthenticationFailed, match='Too many failed sign-ins'):
            await users.authenticate(session, 'cashier', PASSWORD, address='10.2.2.2')
    async with db.read() as session:
        row = await staff_admin.get_account(session, clinic.admin, clinic.cashier.user_id)
    assert row.is_locked(datetime.now(timezone.utc))  # the administrator sees it, and may lift it
    async with db.write() as session:
        await staff_admin.unlock(session, clinic.admin, clinic.cashier.user_id)
    async with db.read() as session:
        assert (await users.authenticate(session, 'cashier', PASSWORD, address='10.2.2.2')).username == 'cashier'


# -- 4. signing in gives the browser a new session ------------------------------------------------------------

async def test_a_session_cookie_from_before_signing_in_does_not_open_the_signed_in_pages(user: User):
    await started_clinic(user)
    planter = browser()
    await planter.http_client.get('/login')
    planted = planter.http_client.cookies['session']  # e.g. left in a shared computer's browser
    victim = browser(cookies=httpx.Cookies(planter.http_client.cookies))
    await sign_in(victim, 'reception')
    old_cookie_alone = browser(cookies=httpx.Cookies(planter.http_client.cookies))
    response = await old_cookie_alone.http_client.get('/reception', follow_redirects=False)
    assert response.status_code == 303 and response.headers['location'].startswith('/login')
    assert victim.http_client.cookies['session'] != planted
    response = await victim.http_client.get('/reception', follow_redirects=False)
    assert response.status_code == 200


async def test_a_sign_in_link_works_once_and_only_in_its_own_browser(user: User, monkeypatch):
    await started_clinic(user)
    from clinic_ui import auth
    links = []
    original = auth.begin_sign_in

    def keep_link(*args) -> str:
        links.append(original(*args))
        return '/login'  # the page does not follow it: the test does
    monkeypatch.setattr(auth, 'begin_sign_in', keep_link)
    await user.open('/login')
    user.find(marker='username').type('reception')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await eventually(lambda: links, 'the sign-in did not finish')
    await user.should_see(marker='username', retries=RETRIES)  # the sign-in page again, not yet signed in
    thief = browser()
    await thief.http_client.get('/login')
    response = await thief.http_client.get(links[0], follow_redirects=False)
    assert response.headers['location'] == '/login?reason=expired'
    response = await user.http_client.get(links[0], follow_redirects=False)
    assert response.headers['location'] == '/reception'
    response = await user.http_client.get(links[0], follow_redirects=False)
    assert response.headers['location'] == '/login?reason=expired'
    assert (await user.http_client.get('/reception', follow_redirects=False)).status_code == 200
