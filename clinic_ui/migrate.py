"""Apply Alembic migrations from inside the app (at start) or from tests."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    config = Config(str(ROOT / 'alembic.ini'))
    config.set_main_option('script_location', str(ROOT / 'migrations'))
    return config


async def upgrade(db: Database, revision: str = 'head') -> None:
    def _run(connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.upgrade(config, revision)

    async with db.write_engine.begin() as connection:
        await connection.run_sync(_run)
