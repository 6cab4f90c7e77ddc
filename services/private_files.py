"""The clinic's files are readable by the account that runs it only.

The database and its backups hold every patient's record, result files are medical documents, the storage secret
signs every session cookie and the session files say who is signed in: none of it is anyone else's business on
the server. Every entry point (the app at start, the backup command line) calls ``make_private`` first: from then
on new files are created owner-only (umask 077: files 0600, folders 0700), and group and other access is taken off
what an older version left readable. Only the clinic's own files are touched, never the rest of a folder (the data
folder could be the working folder).
"""
from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

OWNER_ONLY_UMASK = 0o077
CLINIC_FOLDERS = ('backups', 'files', 'sessions')  # everything below them is the clinic's
CLINIC_FILES = ('storage_secret',)


def make_private(settings) -> None:
    """Owner-only from now on (the process umask) and for what already exists."""
    os.umask(OWNER_ONLY_UMASK)
    for path in clinic_paths(settings):
        restrict(path)


def clinic_paths(settings) -> Iterator[Path]:
    """The data folder, the clinic's files and folders in it (with their contents), and the SQLite database with
    its journal files and the copies kept by a restore (``clinic.db-wal``, ``clinic.db.before-restore-…``)."""
    data_dir = Path(settings.data_dir)
    yield data_dir
    yield from (data_dir / name for name in CLINIC_FILES)
    folders = [data_dir / name for name in CLINIC_FOLDERS]
    if os.environ.get('NICEGUI_STORAGE_PATH'):
        folders.append(Path(os.environ['NICEGUI_STORAGE_PATH']))
    for folder in folders:
        yield folder
        if folder.is_dir() and not folder.is_symlink():
            yield from folder.rglob('*')
    database = _sqlite_file(settings)
    if database is not None and database.parent.is_dir():
        yield from database.parent.glob(f'{database.name}*')


def _sqlite_file(settings) -> Path | None:
    if not settings.is_sqlite:
        return None
    name = make_url(settings.effective_database_url).database
    return Path(name) if name and name != ':memory:' else None


def restrict(path: Path) -> None:
    """Take group and other permissions off ``path`` (not following a symbolic link); missing is fine."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & 0o077:
            return
        path.chmod(stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:
        return
    except OSError as error:  # e.g. a file owned by another account: say so, but let the clinic start
        log.warning('could not make %s private: %s', path, error)
