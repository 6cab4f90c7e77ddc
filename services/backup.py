"""Backups of the SQLite database, taken while the clinic runs, and the restore.

A backup uses SQLite's online backup API: a consistent copy of one moment, even with staff working (in WAL mode
writers carry on meanwhile). Files go to ``<data_dir>/backups/clinic-YYYYMMDD-HHMMSS.db`` (clinic-local time).

Command line (reads the same CLINIC_* settings as the app)::

    python -m services.backup                 # take a backup now, print its path
    python -m services.backup list            # the backups, newest first
    python -m services.backup restore FILE    # put FILE back as the database (stop the app first)

Restore by hand: stop the app; move ``data/clinic.db`` aside and delete ``data/clinic.db-wal`` and
``data/clinic.db-shm``; copy the backup to ``data/clinic.db``; start the app. ``restore`` does exactly that,
after checking the file, and keeps the replaced database as ``clinic.db.before-restore-<time>``.

PostgreSQL: use ``pg_dump -Fc`` / ``pg_restore`` (these functions refuse).
"""
from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Role

from . import audit
from .access import Actor, require
from .core.boundary import action, query
from .core.errors import NotFound, ValidationError
from .core.i18n import N_, _
from .core.settings import Settings
from .private_files import make_private

NAME_RE = re.compile(r'^clinic-(\d{8}-\d{6})(?:-(\d+))?\.db$')  # time made, and a counter within a second
NOT_SQLITE = N_('This clinic runs on PostgreSQL: back it up with pg_dump (e.g. pg_dump -Fc clinic > clinic.dump).')


@dataclass(frozen=True)
class BackupFile:
    name: str
    path: Path
    size: int
    created_at: datetime  # UTC


def database_path(settings) -> Path:
    if not settings.is_sqlite:
        raise ValidationError(_(NOT_SQLITE))
    database = make_url(settings.effective_database_url).database
    if not database or database == ':memory:':
        raise ValidationError(_('This database lives in memory only and cannot be backed up.'))
    return Path(database)


def backup_dir(settings) -> Path:
    return settings.data_dir / 'backups'


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent snapshot, whatever the app writes meanwhile."""
    src = sqlite3.connect(f'file:{source}?mode=ro', uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute('PRAGMA journal_mode=DELETE')  # a single self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def make_backup(settings, *, now: datetime | None = None) -> BackupFile:
    """Take a backup now (blocking: run it in a thread from the app)."""
    source = database_path(settings)
    if not source.exists():
        raise NotFound(_('The database file {source} does not exist.').format(source=source))
    folder = backup_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).astimezone(settings.tz).strftime('%Y%m%d-%H%M%S')
    target = folder / f'clinic-{stamp}.db'
    counter = 1
    while target.exists():
        target = folder / f'clinic-{stamp}-{counter}.db'
        counter += 1
    partial = target.with_suffix('.partial')
    try:
        _copy(source, partial)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return _info(target)


def _info(path: Path) -> BackupFile:
    stat = path.stat()
    return BackupFile(path.name, path, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))


def _made_order(backup: BackupFile) -> tuple[str, int]:
    """clinic-20261123-133854-1.db was made after clinic-20261123-133854.db (same second, hence the counter)."""
    stamp, counter = NAME_RE.match(backup.name).groups()
    return stamp, int(counter or 0)


def list_backups(settings) -> list[BackupFile]:
    folder = backup_dir(settings)
    if not folder.is_dir():
        return []
    files = [_info(path) for path in folder.iterdir() if NAME_RE.match(path.name)]
    return sorted(files, key=_made_order, reverse=True)


def find_backup(settings, name: str) -> BackupFile:
    """A backup by file name (only names this module makes: nothing outside the backup folder)."""
    if not NAME_RE.match(name or ''):
        raise NotFound(_('There is no such backup.'))
    path = backup_dir(settings) / name
    if not path.is_file():
        raise NotFound(_('There is no such backup.'))
    return _info(path)


def check_backup(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database of this app."""
    try:
        connection = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
        try:
            result = connection.execute('PRAGMA integrity_check').fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ValidationError(_('{path} is not a SQLite database ({error}).').format(path=path, error=error)) from None
    if result != 'ok':
        raise ValidationError(_('{path} is damaged: {result}').format(path=path, result=result))
    if not {'users', 'patients', 'alembic_version'} <= tables:
        raise ValidationError(_('{path} is not a Clinic Flow database.').format(path=path))


def restore(settings, backup: Path, *, now: datetime | None = None) -> Path:
    """Put ``backup`` back as the database. The app must be stopped. Returns where the old database was kept."""
    check_backup(backup)
    target = database_path(settings)
    stamp = (now or datetime.now(timezone.utc)).strftime('%Y%m%d-%H%M%S')
    kept = target.with_name(f'{target.name}.before-restore-{stamp}')
    if target.exists():
        _copy(target, kept)  # includes what is still in the WAL file
        target.unlink()
    for suffix in ('-wal', '-shm'):
        Path(f'{target}{suffix}').unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(backup, target)
    return kept


# ---------------------------------------------------------------- from the administration page

@action
async def backup_now(session: AsyncSession, actor: Actor, settings: Settings) -> BackupFile:
    """Take a backup (in a thread: the clinic keeps working) and audit it. Call with a read session, so no write
    transaction of the app waits for the copy."""
    require(actor, Role.ADMIN)
    result = await asyncio.to_thread(make_backup, settings)
    audit.record(session, actor, 'backup_created', detail=f'{result.name} ({result.size:,} bytes)')
    return result


@action
async def record_download(session: AsyncSession, actor: Actor, name: str) -> None:
    """A backup holds every patient's data: who downloaded one is audited."""
    require(actor, Role.ADMIN)
    audit.record(session, actor, 'backup_downloaded', detail=name)


@query
async def backups(actor: Actor, settings: Settings) -> list[BackupFile]:
    require(actor, Role.ADMIN)
    return await asyncio.to_thread(list_backups, settings)


# ---------------------------------------------------------------- command line

def _app_is_running(settings) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(('127.0.0.1', settings.port)) == 0


async def _audit_cli(settings, detail: str) -> None:
    from .core.db import Database
    database = Database(settings.effective_database_url)
    try:
        async with database.write() as session:
            audit.record(session, None, 'backup_created', username='command line', detail=detail)
            await session.commit()
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> int:
    from .core.settings import get_settings
    parser = argparse.ArgumentParser(prog='python -m services.backup', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command')
    sub.add_parser('create', help='take a backup now (the default)')
    sub.add_parser('list', help='list the backups')
    restore_parser = sub.add_parser('restore', help='replace the database with a backup (stop the app first)')
    restore_parser.add_argument('file', type=Path)
    restore_parser.add_argument('--force', action='store_true', help='even if something answers on the app port')
    args = parser.parse_args(argv)
    settings = get_settings()
    make_private(settings)  # backups and a restored database are the owner's only, like the app's own files
    try:
        if args.command == 'list':
            for item in list_backups(settings):
                print(f'{item.path}  {item.size:>12,} bytes')
            return 0
        if args.command == 'restore':
            if not args.force and _app_is_running(settings):
                print(f'Something answers on port {settings.port}: stop the clinic app first '
                      '(or pass --force).', file=sys.stderr)
                return 1
            kept = restore(settings, args.file)
            print(f'Restored {args.file} to {database_path(settings)}. The replaced database is kept as {kept}.')
            return 0
        result = make_backup(settings)
        asyncio.run(_audit_cli(settings, f'{result.name} ({result.size:,} bytes)'))
        print(result.path)
        return 0
    except (ValidationError, NotFound) as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
