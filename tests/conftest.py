"""Test setup: a real database, migrated once per run and emptied before each test.

SQLite by default (a temp file). Set ``CLINIC_TEST_DATABASE_URL=postgresql+asyncpg://...`` to run the same suite
on PostgreSQL (``.ci/run`` does both).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import weakref
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_TMP = Path(tempfile.mkdtemp(prefix='clinic-test-'))
_WORKER = os.environ.get('PYTEST_XDIST_WORKER', '')  # running in parallel (pytest -n N): one database per worker
_GIVEN_URL = os.environ.get('CLINIC_TEST_DATABASE_URL', '')
TEST_DATABASE_URL = (f'{_GIVEN_URL}_{_WORKER}' if _GIVEN_URL and _WORKER else _GIVEN_URL) \
    or f'sqlite+aiosqlite:///{_TMP / "test.db"}'
os.environ['CLINIC_DATABASE_URL'] = TEST_DATABASE_URL
os.environ['CLINIC_DATA_DIR'] = str(_TMP / 'data')
os.environ['CLINIC_DEMO'] = '0'
os.environ['CLINIC_STORAGE_SECRET'] = 'test-only-secret'
os.environ.setdefault('CLINIC_TIMEZONE', 'Asia/Ho_Chi_Minh')
os.environ.setdefault('CLINIC_CURRENCY', 'VND')

import models  # noqa: E402
from services.core import db as db_module  # noqa: E402
from services.core.db import Database  # noqa: E402
from services.core.migrate import upgrade  # noqa: E402
from services.core.settings import get_settings  # noqa: E402

get_settings.cache_clear()


async def _migrate() -> None:
    database = Database(TEST_DATABASE_URL)
    await upgrade(database)
    await database.dispose()


async def _worker_database(sql: str) -> None:
    """A parallel worker on PostgreSQL makes (and afterwards drops) its own copy of the given test database."""
    if _WORKER and TEST_DATABASE_URL.startswith('postgresql'):
        await postgres_admin(sql.format(TEST_DATABASE_URL.rsplit('/', 1)[1]))


def pytest_configure(config: pytest.Config) -> None:
    asyncio.run(_worker_database('DROP DATABASE IF EXISTS {0} WITH (FORCE)'))
    asyncio.run(_worker_database('CREATE DATABASE {0}'))
    asyncio.run(_migrate())


def pytest_unconfigure(config: pytest.Config) -> None:
    asyncio.run(_worker_database('DROP DATABASE IF EXISTS {0} WITH (FORCE)'))


async def truncate_all(database: Database) -> None:
    tables = [table.name for table in reversed(models.metadata.sorted_tables)]
    async with database.write_engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                await conn.exec_driver_sql(f'DELETE FROM "{name}"')
        else:
            await conn.exec_driver_sql(f'TRUNCATE {", ".join(tables)} RESTART IDENTITY CASCADE')


@pytest.fixture(autouse=True)
async def clean_database():
    """Every test starts from an empty (migrated) database, and with no backups in the data folder (a test that
    made one before, in this worker, must not show up in the next test's list)."""
    shutil.rmtree(_TMP / 'data' / 'backups', ignore_errors=True)
    database = Database(TEST_DATABASE_URL)
    await truncate_all(database)
    await database.dispose()
    yield
    await db_module.close_db()


@pytest.fixture
async def db() -> Database:
    """The app's database (the same object the pages use when a test also opens pages)."""
    return db_module.init_db(TEST_DATABASE_URL) if db_module._db is None else db_module.get_db()


@pytest.fixture
def artifacts_dir() -> Path:
    path = ROOT / 'tests' / 'artifacts'
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def user(user):
    """NiceGUI's simulated user, once the app has started: until then it answers "starting…" (503), as it
    does to a browser, which simply reloads."""
    from clinic_ui import startup
    await startup.wait_until_ready()
    return user


def _route_navigation_and_notes_to_their_own_tab() -> None:
    """In a browser, ``ui.navigate.to`` and ``ui.notify`` act on the tab whose page called them. NiceGUI's
    simulated users share one global ``ui.navigate``/``ui.notify``: whichever user was touched last (even by its
    page's JavaScript going out in the background) gets them, so a test with several tabs could see one tab's
    "go to sign-in" land in another (seen in CI). Here they go to the user whose page called them."""
    from nicegui import context
    from nicegui.testing import user as user_module
    from nicegui.testing.user_navigate import UserNavigate
    from nicegui.testing.user_notify import UserNotify
    users: weakref.WeakSet = weakref.WeakSet()
    original_init = user_module.User.__init__

    def init(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        users.add(self)

    def owner(default):
        try:
            client = context.client
        except RuntimeError:  # not called from a page
            return default
        for candidate in list(users):
            if object.__getattribute__(candidate, 'client') is client:
                return candidate
        return default

    original_to = UserNavigate.to
    original_notify = UserNotify.__call__

    def to(self, target, new_tab: bool = False) -> None:
        original_to(object.__getattribute__(owner(self.user), 'navigate'), target, new_tab)

    def notify(self, message, **kwargs) -> None:
        found = owner(None)
        original_notify(object.__getattribute__(found, 'notify') if found is not None else self, message, **kwargs)

    user_module.User.__init__ = init
    UserNavigate.to = to
    UserNotify.__call__ = notify


_route_navigation_and_notes_to_their_own_tab()


# --- shared by the page tests -----------------------------------------------------------------------------------

RETRIES = 50  # NiceGUI's simulated user looks this many times (0.1 s apart) before a check fails


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    """A wrong password costs a delay on purpose; tests that try one need not wait for it."""
    from services import users
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


async def sign_in(user, username: str, password: str | None = None, *, station: str | None = None) -> None:
    """Sign in through the real sign-in page and wait for the station (``make_clinic``'s accounts by default)."""
    from tests.factories import PASSWORD
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(password or PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', content=station, retries=RETRIES)


def element(user, marker: str):
    """The one element with this marker on the simulated user's page."""
    return next(iter(user.find(marker=marker).elements))


def free_port() -> int:
    """A TCP port nobody listens on now (for a server the test starts)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


async def postgres_admin(sql: str) -> None:
    """Run ``sql`` on the test PostgreSQL server's maintenance database (create or drop a database)."""
    import asyncpg
    from sqlalchemy.engine import make_url
    url = make_url(TEST_DATABASE_URL)
    connection = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                       password=url.password, database='postgres')
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
