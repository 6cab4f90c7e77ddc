"""Result files (images and PDFs attached to an ordered service), stored outside the web root.

* Only PNG, JPEG and PDF are accepted, recognised by their first bytes (the name and the browser's claimed type
  are not trusted), and only up to ``upload_max_mb``.
* The bytes go to ``<data_dir>/files/<random key>``: never under a folder the web server serves. They are read back
  only through the download routes of the pages, which check the role and audit every opening.
* The file is written before the row is committed; if the commit fails the file is removed again.
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from models import OrderStatus, ResultFile, Role, ServiceOrder

from . import audit
from .access import Actor, require
from .core.boundary import action
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import OrdersChanged, publish
from .core.i18n import _, number

SIGNATURES = (
    (b'\x89PNG\r\n\x1a\n', 'image/png', '.png'),
    (b'\xff\xd8\xff', 'image/jpeg', '.jpg'),
    (b'%PDF-', 'application/pdf', '.pdf'),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes, or None when it is none of PNG, JPEG, PDF."""
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    return None


def files_dir(data_dir: Path) -> Path:
    return Path(data_dir) / 'files'


def safe_name(filename: str, extension: str) -> str:
    """A display name without folders or control characters, ending in the real extension."""
    name = Path((filename or '').replace('\\', '/')).name
    name = ''.join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip() or 'result'
    stem = name.rsplit('.', 1)[0] if '.' in name else name
    return f'{stem[:150]}{extension}'


@action
async def upload(session: AsyncSession, actor: Actor, order_id: int, *, filename: str, data: bytes,
                 max_bytes: int, data_dir: Path, now: datetime) -> ResultFile:
    require(actor, Role.TECHNICIAN)
    if not data:
        raise ValidationError(_('The file is empty.'), 'file')
    if len(data) > max_bytes:
        raise ValidationError(_('The file is {size} MB: at most {limit} MB can be uploaded.').format(
            size=number(round(len(data) / 1_048_576, 1)), limit=max_bytes // 1_048_576), 'file')
    kind = sniff(data)
    if kind is None:
        raise ValidationError(_('Only PNG or JPEG images and PDF documents can be uploaded (this file is none of '
                              'them).'), 'file')
    order = await session.get(ServiceOrder, order_id)
    if order is None:
        raise NotFound(_('This order does not exist.'))
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_('This order was cancelled: no files can be added.'))
    content_type, extension = kind
    key = secrets.token_hex(16) + extension
    folder = files_dir(data_dir)
    path = folder / key
    row = ResultFile(order_id=order.id, filename=safe_name(filename, extension), content_type=content_type,
                     size_bytes=len(data), storage_key=key, uploaded_by_id=actor.user_id, uploaded_at=now)
    await asyncio.to_thread(_write, folder, path, data)
    try:
        session.add(row)
        await session.flush()
        audit.record(session, actor, 'result_file_uploaded', entity='service_order', entity_id=order.id,
                     detail=f'{row.filename} ({len(data)} bytes)')
        publish(session, OrdersChanged(visit_id=order.visit_id, order_ids=tuple([order.id])))
        await session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return row


def _write(folder: Path, path: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + '.part')
    partial.write_bytes(data)
    partial.replace(path)


@dataclass(frozen=True)
class StoredFile:
    path: Path
    filename: str
    content_type: str


@action
async def open_file(session: AsyncSession, actor: Actor, file_id: int, *, data_dir: Path) -> StoredFile:
    """A result file for download (doctors and technicians); every opening is audited (committed here)."""
    require(actor, Role.DOCTOR, Role.TECHNICIAN)
    row = await session.get(ResultFile, file_id)
    if row is None:
        raise NotFound(_('This file does not exist.'))
    path = files_dir(data_dir) / row.storage_key
    if not path.is_file():
        raise NotFound(_('The file is missing from the server storage. Please tell the administrator.'))
    audit.record(session, actor, 'result_file_viewed', entity='result_file', entity_id=row.id,
                 detail=f'order {row.order_id}')
    return StoredFile(path, row.filename, row.content_type)
