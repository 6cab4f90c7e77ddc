"""Apply Alembic migrations from inside the app (at start) or from tests."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / 'alembic.ini'))
    config.set_main_option('script_location', str(ROOT / 'migrations'))
    return config


async def upgrade(db: Database, revision: str = 'head') -> None:
    def _run(connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.upgrade(config, revision)

    async with db.write_engine.connect() as connection:
        if not db.is_sqlite:
            async with connection.begin():
                await connection.run_sync(_run)
            return
        # SQLite migrations rebuild tables (batch mode), which foreign keys would refuse midway. The pragma only
        # changes outside a transaction, so set it on the raw connection, then check integrity before turning
        # enforcement back on.
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
