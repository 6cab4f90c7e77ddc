"""Signing in as an attacker would try it (NiceGUI's simulated user: the real app and database, several browsers
at once, each with its own cookies and client address): no open redirect, no telling which user names exist, no
locking out of others, a new session at each sign-in.

``browser``, ``started_clinic`` and ``eventually`` are shared with ``test_session_end.py``."""
from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest
from nicegui import core
from nicegui.testing import User
from sqlmodel import select

from models import AuditLog
from services.core.db import get_db
from tests.conftest import RETRIES, sign_in
from tests.factories import PASSWORD, Clinic, make_clinic


def browser(address: str = '127.0.0.1', cookies: httpx.Cookies | None = None) -> User:
    """Another browser on the already started app, at ``address``."""
    transport = httpx.ASGITransport(app=core.app, client=(address, 50_000))
    return User(httpx.AsyncClient(transport=transport, base_url='http://test', cookies=cookies))


async def started_clinic(user: User) -> Clinic:
    await user.open('/login')  # starts the app (and its database)
    return await make_clinic(get_db(), patients=4)


async def sign_in_from(user: User, path: str, username: str) -> None:
    """Sign in on the sign-in page at ``path`` (with its ``next``), as the factory's ``username``."""
    await user.open(path)
    user.find(marker='username').type(username)
    user.find(marker='password').type(PASSWORD)
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


async def eventually(check, what: str) -> None:
    for _ in range(RETRIES * 2):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


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
    await sign_in_from(user, f'/login?next={raw}', 'reception')
    await user.should_see(marker='station-title', content='Reception', retries=RETRIES)


async def test_signing_in_with_a_local_next_goes_there(user: User):
    await started_clinic(user)
    await sign_in_from(user, f'/login?next={quote("/reception/patients/new")}', 'reception')
    await user.should_see(marker='station-title', content='New patient', retries=RETRIES)


# -- 2. no telling which user names exist, no lockout by strangers -------------------------------------------

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


# -- 3. signing in gives the browser a new session ------------------------------------------------------------

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
