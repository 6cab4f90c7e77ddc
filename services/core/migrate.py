"""Apply Alembic migrations from inside the app (at start) or from tests."""
from __future__ import annotations

import logging
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database, check_connection

ROOT = Path(__file__).resolve().parents[2]
# One PostgreSQL advisory lock key for "the schema is being upgraded", shared by every process of the clinic.
MIGRATION_LOCK_KEY = zlib.crc32(b'clinic-flow:migrate')

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    config = Config(str(ROOT / 'alembic.ini'))
    config.set_main_option('script_location', str(ROOT / 'migrations'))
    return config


async def prepare_database(url: str) -> None:
    """Before the server listens: the database answers (else ``DatabaseUnavailable`` says why) and its schema
    is at the newest revision."""
    await check_connection(url)
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


async def upgrade(db: Database, revision: str = 'head') -> None:
    def _run(connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.upgrade(config, revision)

    async with db.write_engine.connect() as connection:
        if not db.is_sqlite:
            await _upgrade_postgresql(connection, _run)
            return
        # SQLite migrations rebuild tables (batch mode), which foreign keys would refuse midway. The pragma only
        # changes outside a transaction, so set it on the raw connection, then check integrity before turning
        # enforcement back on. Several processes starting at once queue on the write transaction (BEGIN
        # IMMEDIATE), and Alembic reads the revision inside it, so a later one finds the schema at head.
        raw = (await connection.get_raw_connection()).driver_connection
        await raw.execute('PRAGMA foreign_keys=OFF')
        try:
            async with connection.begin():
                await connection.run_sync(_run)
                problems = await (await raw.execute('PRAGMA foreign_key_check')).fetchall()
                if problems:
                    raise RuntimeError(f'migration left rows pointing nowhere: {problems[:5]}')
        finally:
            await raw.execute('PRAGMA foreign_keys=ON')


async def _upgrade_postgresql(connection, run) -> None:
    """Several processes may start at once on an empty database (two app servers, or a restart racing the
    old process): without a lock each would create the same tables and all but one fail midway. The first one
    takes a session-level advisory lock on its connection, held for the whole upgrade; the others wait for it,
    then Alembic finds the schema at head and does nothing."""
    got_it = (await connection.exec_driver_sql(f'SELECT pg_try_advisory_lock({MIGRATION_LOCK_KEY})')).scalar()
    if not got_it:
        log.warning('Another Clinic Flow process is upgrading the database; waiting for it…')
        await connection.exec_driver_sql(f'SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})')
    await connection.commit()  # the lock is the session's: it outlives this transaction
    try:
        async with connection.begin():
            await connection.run_sync(run)
    finally:
        await connection.exec_driver_sql(f'SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})')
        await connection.commit()
