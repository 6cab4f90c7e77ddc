"""The database engine and sessions.

SQLite is the embedded default and is set up for a multi-user server: WAL, a busy timeout, foreign keys on, the
driver's own transaction handling off, and every write transaction opened with ``BEGIN IMMEDIATE`` and serialized
in this process, so concurrent staff never lose an update nor see "database is locked". PostgreSQL (asyncpg) runs
the same code; services that read-then-write take a transaction-scoped advisory lock (see ``serialize``).
"""
from __future__ import annotations

import asyncio
import socket
import sqlite3
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import NotFound

T = TypeVar('T')

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5.0  # how long the start waits for the database to answer before giving up with a message


def _sqlite_engine(url: str, *, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={'timeout': SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, 'connect')
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised through every test
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute(f'PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}')
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.execute('PRAGMA synchronous=NORMAL')
        cursor.close()

    @event.listens_for(engine.sync_engine, 'begin')
    def _on_begin(conn) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    def __init__(self, url: str, *, connect_timeout: float | None = None) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.migrated = False  # the app applies migrations once per process, even if it starts twice (tests)
        self.migration_lock = asyncio.Lock()
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ':memory:':
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(url, begin='BEGIN')
            self.write_engine = _sqlite_engine(url, begin='BEGIN IMMEDIATE')
            self._write_lock: asyncio.Lock | None = asyncio.Lock()
        else:
            connect_args = {} if connect_timeout is None else {'timeout': connect_timeout}
            self.engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                              connect_args=connect_args)
            self.write_engine = self.engine
            self._write_lock = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == 'sqlite'

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading (and for writes that need no serialization)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session for one write transaction. On SQLite writers queue here instead of failing with "locked"."""
        if self._write_lock is None:
            async with AsyncSession(self.write_engine, expire_on_commit=False) as session:
                yield session
            return
        async with self._write_lock:
            async with AsyncSession(self.write_engine, expire_on_commit=False) as session:
                yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


async def serialize(session: AsyncSession, key: str) -> None:
    """Serialize read-then-write sections that share ``key`` until the transaction ends.

    SQLite writers are already serialized (BEGIN IMMEDIATE + the write lock); on PostgreSQL this takes a
    transaction-scoped advisory lock, so e.g. two receptionists booking the same doctor run one after the other.
    """
    bind = session.bind
    if bind is not None and bind.dialect.name == 'postgresql':
        await session.exec(sa.text('SELECT pg_advisory_xact_lock(:k)').bindparams(k=zlib.crc32(key.encode())))


_AFTER_COMMIT = 'clinic_after_commit'


def call_after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never if it rolls back): for effects outside
    the database that must not happen for a change that did not stay, e.g. putting new clinic settings in force."""
    session.sync_session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, 'after_commit')
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


@event.listens_for(Session, 'after_rollback')
def _forget_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


async def load(session: AsyncSession, model: type[T], row_id: int | None, missing: str) -> T:
    """The row of ``model`` with this id, or ``NotFound(missing)``: say what is missing in the person's words
    ("This appointment does not exist.")."""
    row = await session.get(model, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(missing)
    return row


class DatabaseUnavailable(Exception):
    """The database cannot be used at all (refused, missing, not a database, ...). The message says why in words
    a person can act on; the start stops with it instead of serving pages that all fail."""


async def check_connection(url: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Open the database the way the app will and read from it, or raise ``DatabaseUnavailable`` naming the
    cause. A server gets ``timeout`` seconds to answer; an SQLite file is local, and may rightly wait for a lock
    held by another process of the clinic (e.g. one loading the demo)."""
    parsed = make_url(url)
    try:
        database = Database(url, connect_timeout=timeout)
    except OSError as error:  # the SQLite file's folder cannot be made
        raise DatabaseUnavailable(_folder_problem(Path(parsed.database or '').parent, error)) from None
    try:
        async with asyncio.timeout(None if database.is_sqlite else timeout + 1):
            async with database.read() as session:
                await session.exec(sa.text('SELECT count(*) FROM sqlite_master' if database.is_sqlite else 'SELECT 1'))
    except Exception as error:  # noqa: BLE001 - every failure becomes one sentence; the cause is in the chain
        raise DatabaseUnavailable(_describe_failure(parsed, error, timeout)) from None
    finally:
        await database.dispose()


def _describe_failure(url, error: BaseException, timeout: float) -> str:
    """The first cause in the exception chain that we can put in words, else the driver's own message."""
    if url.get_backend_name() == 'sqlite':
        where = f'the SQLite file {url.database}'
    else:
        where = f'PostgreSQL at {url.host or "the local socket"}' + (f':{url.port or 5432}' if url.host else '')
    for cause in _chain(error):
        if isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
            return f'{where} did not answer within {timeout:g} s'
        if isinstance(cause, ConnectionRefusedError):
            return f'{where} refused the connection (is PostgreSQL running and listening there?)'
        if isinstance(cause, socket.gaierror):
            return f'the host {url.host!r} is unknown'
        if isinstance(cause, sqlite3.Error):
            return where + _sqlite_problem(str(cause))
        if type(cause).__module__.startswith('asyncpg'):
            name = type(cause).__name__
            if name == 'InvalidCatalogNameError':
                return f'{where} has no database {url.database!r} (create it first, e.g. createdb {url.database})'
            if name == 'InvalidPasswordError':
                return f'{where} refused the password of user {url.username!r}'
            return f'{where}: {cause}'
        if isinstance(cause, OSError):
            return f'{where}: {cause.strerror or cause}'
    return f'{where}: {error}'


def _folder_problem(folder: Path, error: OSError) -> str:
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        return f'cannot create the folder {folder} for the SQLite file: part of that path is a file, not a folder'
    return f'cannot create the folder {folder} for the SQLite file: {error.strerror or error}'


def _sqlite_problem(message: str) -> str:
    return {'unable to open database file': ' cannot be opened (does its folder exist, and may this user write it?)',
            'attempt to write a readonly database': ' is read-only for this user',
            'file is not a database': ' is not an SQLite database'}.get(message, f': {message}')


def _chain(error: BaseException):
    """The error, the driver error SQLAlchemy wrapped (``orig``), and their causes, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, 'orig', None), current.__cause__, current.__context__]


_db: Database | None = None


def init_db(url: str) -> Database:
    global _db  # noqa: PLW0603
    _db = Database(url)
    return _db


def get_db() -> Database:
    if _db is None:
        raise RuntimeError('database not initialised: call init_db() first')
    return _db


async def close_db() -> None:
    global _db  # noqa: PLW0603
    if _db is not None:
        await _db.dispose()
        _db = None
