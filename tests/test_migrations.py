"""The migrations build exactly the schema the models describe, and can be rolled back and re-applied."""
import tempfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from clinic_ui.db import Database
from clinic_ui.migrate import upgrade


async def schema_diff(database: Database) -> list:
    async with database.engine.connect() as connection:
        return await connection.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={'compare_type': True}), models.metadata))


async def test_models_and_migrations_agree(db):
    assert await schema_diff(db) == []


async def test_migrations_downgrade_and_upgrade_cleanly():
    path = Path(tempfile.mkdtemp()) / 'roundtrip.db'
    database = Database(f'sqlite+aiosqlite:///{path}')
    try:
        await upgrade(database)
        await upgrade_to(database, 'base')
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
        assert set(tables) <= {'alembic_version'}
        await upgrade(database)
        assert await schema_diff(database) == []
    finally:
        await database.dispose()


async def upgrade_to(database: Database, revision: str) -> None:
    from alembic import command

    from clinic_ui.migrate import alembic_config

    def run(connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.downgrade(config, revision)

    async with database.write_engine.begin() as connection:
        await connection.run_sync(run)
