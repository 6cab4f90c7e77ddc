"""The migrations build exactly the schema the models describe, and can be rolled back and re-applied."""
import tempfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import models
from services.core.db import Database
from services.core.migrate import upgrade


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

    from services.core.migrate import alembic_config

    def run(connection) -> None:
        config = alembic_config()
        config.attributes['connection'] = connection
        command.downgrade(config, revision)

    async with database.write_engine.begin() as connection:
        await connection.run_sync(run)


async def test_upgrading_keeps_existing_rows():
    """A clinic already running an older version keeps its data when the app upgrades the schema."""
    import sqlalchemy as sa
    path = Path(tempfile.mkdtemp()) / 'upgrade.db'
    database = Database(f'sqlite+aiosqlite:///{path}')
    try:
        await upgrade(database, 'dabd4565f657')  # before clinic settings, refunds and voids
        async with database.write() as session:
            for sql in ("INSERT INTO patients (id, code, full_name, search_name, sex, phone, allergies, notes, "
                        "created_at, updated_at) VALUES (1, 'P1', 'Lê Văn Tám', 'le van tam', 'male', '0901', '', '',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                        "INSERT INTO invoices (id, number, patient_id, status, subtotal, discount_amount, "
                        "discount_reason, insurance_amount, insurer, insurance_policy_no, total, amount_paid, "
                        "void_reason, created_at, updated_at) VALUES (1, 'INV-1', 1, 'unpaid', 5, 0, '', 0, '', '', "
                        "5, 0, '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                        "INSERT INTO invoice_items (id, invoice_id, kind, description, quantity, unit_price, "
                        "line_total) VALUES (1, 1, 'other', 'Khám', 1, 5, 5)"):
                await session.exec(sa.text(sql))
            await session.commit()
        await upgrade(database)
        async with database.read() as session:
            assert (await session.exec(sa.text('SELECT full_name FROM patients'))).one()[0] == 'Lê Văn Tám'
            assert (await session.exec(sa.text('SELECT description, is_void FROM invoice_items'))).one() == ('Khám', 0)
            assert (await session.exec(sa.text('PRAGMA foreign_keys'))).one()[0] == 1
        assert await schema_diff(database) == []
    finally:
        await database.dispose()
