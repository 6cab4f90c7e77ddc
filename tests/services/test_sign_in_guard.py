"""The sign-in guard: unknown names and wrong passwords answer alike and as slowly; an address that keeps failing
waits longer each time; an administrator's unlock lifts a device's lock."""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from services import rate_limits, staff_admin, users
from services.core.db import Database, get_db
from services.core.errors import AuthenticationFailed
from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.factories import PASSWORD, make_clinic


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


GUESSES = """
import asyncio, sys
from services import users
from services.core.db import Database
from services.core.errors import AuthenticationFailed

async def guess():
    database = Database(sys.argv[1])
    for attempt in range(5):
        async with database.read() as session:
            try:
                await users.authenticate(session, 'cashier', f'guess-{attempt}-x', address='10.3.3.3')
            except AuthenticationFailed as refused:
                print(refused)
    await database.dispose()

users.FAILED_LOGIN_DELAY_S = 0
asyncio.run(guess())
"""


async def test_failures_on_one_server_process_lock_the_name_on_the_others_too(db):
    """Another app process takes the five wrong guesses: this one refuses the sixth (a guesser gains nothing by
    landing on another process), but not the cashier's own workstation."""
    await make_clinic(db)
    env = {**os.environ, 'CLINIC_DATABASE_URL': TEST_DATABASE_URL}
    guesses = await asyncio.to_thread(subprocess.run, [sys.executable, '-c', GUESSES, TEST_DATABASE_URL], cwd=ROOT,
                                      env=env, capture_output=True, text=True, timeout=120)
    assert guesses.stdout.count('Wrong user name or password.') == 5, guesses.stdout + guesses.stderr
    async with db.read() as session:
        with pytest.raises(AuthenticationFailed, match='Too many failed sign-ins'):
            await users.authenticate(session, 'cashier', PASSWORD, address='10.3.3.3')
    async with db.read() as session:
        assert (await users.authenticate(session, 'cashier', PASSWORD, address='10.3.3.4')).username == 'cashier'


async def test_a_public_rate_limit_holds_across_server_processes(db):
    other = Database(TEST_DATABASE_URL)
    now = datetime.now(timezone.utc)
    try:
        allowed = []
        for process in [db, other, db, other]:
            async with process.write() as session:
                allowed.append(await rate_limits.allow(session, 'bookings', 'visitor', limit=3, window_s=60, now=now))
                await session.commit()
    finally:
        await other.dispose()
    assert allowed == [True, True, True, False]
