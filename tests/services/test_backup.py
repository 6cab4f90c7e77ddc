"""Backups of the SQLite database while the clinic works, the command line, and the restore."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

import pytest
from sqlmodel import func, select

from models import AuditLog, Patient
from services import backup
from services.core.errors import NotFound, PermissionDenied, ValidationError
from services.core.settings import Settings, get_settings
from services.text import search_key
from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.factories import make_clinic

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL.startswith('sqlite'),
                                reason='SQLite backups only; on PostgreSQL back up with pg_dump')


def count(path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f'SELECT count(*) FROM {table}').fetchone()[0]
    finally:
        connection.close()


async def keep_registering(db, stop: asyncio.Event) -> int:
    """Register patients one after the other until ``stop``; how many."""
    written = 0
    while not stop.is_set():
        async with db.write() as session:
            name = f'Busy Patient {written}'
            session.add(Patient(code=f'B{written:07d}', full_name=name, search_name=search_key(name),
                                phone=f'0912{written:06d}'))
            await session.commit()
        written += 1
        await asyncio.sleep(0)
    return written


async def backup_while_writing(db, clinic, settings) -> tuple[backup.BackupFile, int]:
    """A backup taken while patients are being registered: the backup, and how many were registered."""
    stop = asyncio.Event()
    writer = asyncio.create_task(keep_registering(db, stop))
    await asyncio.sleep(0.05)
    async with db.read() as session:
        made = await backup.backup_now(session, clinic.admin, settings)
    stop.set()
    return made, await writer


async def test_a_backup_is_consistent_while_staff_keep_writing(db):
    clinic = await make_clinic(db, patients=3)
    settings = get_settings()
    made, written = await backup_while_writing(db, clinic, settings)
    assert written > 0 and made.path.parent == settings.data_dir / 'backups'
    connection = sqlite3.connect(made.path)
    assert connection.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    connection.close()
    assert 3 <= count(made.path, 'patients') <= 3 + written
    assert [b.name for b in await backup.backups(clinic.admin, settings)][0] == made.name
    async with db.read() as session:
        assert (await session.exec(select(func.count()).select_from(AuditLog)
                                   .where(AuditLog.action == 'backup_created'))).one() == 1


async def test_only_an_administrator_backs_up(db):
    clinic = await make_clinic(db, patients=3)
    with pytest.raises(PermissionDenied):
        async with db.read() as session:
            await backup.backup_now(session, clinic.reception, get_settings())


def test_only_backup_files_can_be_fetched(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=f'sqlite+aiosqlite:///{tmp_path / "clinic.db"}')
    for name in ('../clinic.db', 'clinic.db', '/etc/passwd', 'clinic-20260101-000000.db'):
        with pytest.raises(NotFound):
            backup.find_backup(settings, name)
    with pytest.raises(ValidationError, match='pg_dump'):
        backup.database_path(Settings(database_url='postgresql+asyncpg://x@localhost/clinic'))


async def test_restore_puts_a_backup_back_and_keeps_the_replaced_database(db, tmp_path):
    await make_clinic(db, patients=4)
    made = backup.make_backup(get_settings())
    target = Settings(data_dir=tmp_path, database_url=f'sqlite+aiosqlite:///{tmp_path / "clinic.db"}')
    (tmp_path / 'clinic.db').write_bytes(b'')  # a database that went wrong
    (tmp_path / 'clinic.db-wal').write_bytes(b'stale')
    with pytest.raises(ValidationError, match='not a'):
        backup.restore(target, tmp_path / 'clinic.db-wal')
    sqlite3.connect(tmp_path / 'other.db').execute('CREATE TABLE t (x)').connection.close()
    with pytest.raises(ValidationError, match='not a Clinic Flow database'):
        backup.restore(target, tmp_path / 'other.db')
    (tmp_path / 'clinic.db').unlink()
    sqlite3.connect(tmp_path / 'clinic.db').execute('CREATE TABLE t (x)').connection.close()
    kept = backup.restore(target, made.path)
    assert count(tmp_path / 'clinic.db', 'patients') == 4
    assert kept.exists() and not (tmp_path / 'clinic.db-wal').exists()


async def test_the_command_line_backs_up_and_lists(db, tmp_path):
    await make_clinic(db, patients=2)
    env = {**os.environ, 'CLINIC_DATA_DIR': str(tmp_path), 'CLINIC_DATABASE_URL': TEST_DATABASE_URL,
           'CLINIC_PORT': '1'}
    made = subprocess.run([sys.executable, '-m', 'services.backup'], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    path = made.stdout.strip()
    assert path.startswith(str(tmp_path / 'backups')) and count(path, 'patients') == 2
    listed = subprocess.run([sys.executable, '-m', 'services.backup', 'list'], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert path in listed.stdout
    async with db.read() as session:
        entry = (await session.exec(select(AuditLog).where(AuditLog.action == 'backup_created'))).one()
    assert entry.username == 'command line'
    on_postgres = subprocess.run([sys.executable, '-m', 'services.backup'], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60,
                                 env={**env, 'CLINIC_DATABASE_URL': 'postgresql+asyncpg://x@127.0.0.1/none'})
    assert on_postgres.returncode == 2 and 'pg_dump' in on_postgres.stderr


def test_backups_made_in_the_same_second_list_newest_first(tmp_path):
    settings = Settings(data_dir=tmp_path)
    folder = tmp_path / 'backups'
    folder.mkdir()
    for name in ('clinic-20261123-133854.db', 'clinic-20261123-133854-1.db', 'clinic-20261123-133854-2.db',
                 'clinic-20261122-090000.db', 'notes.txt'):
        (folder / name).write_bytes(b'x')
    assert [b.name for b in backup.list_backups(settings)] == [
        'clinic-20261123-133854-2.db', 'clinic-20261123-133854-1.db', 'clinic-20261123-133854.db',
        'clinic-20261122-090000.db']
