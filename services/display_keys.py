"""Display keys: how a waiting-room TV opens the board, and an entrance tablet the self check-in kiosk, without a
keyboard (the key is in its URL).

Only administrators issue, rename and revoke keys. The plain key is shown once, when issued; the database keeps
its SHA-256 only. A board key opens the board and nothing else, a kiosk key the kiosk and nothing else (no staff
session comes with either).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import DisplayKey, Queue, Role
from models.types import utcnow

from . import audit
from .access import Actor, require
from .core import i18n
from .core.boundary import action, query
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import DisplayKeyChanged, DisplayKeyRevoked, publish
from .core.i18n import _

KEY_BYTES = 24            # 32 URL-safe characters
SEEN_EVERY = timedelta(minutes=5)  # last_seen_at is refreshed at most this often


@dataclass(frozen=True)
class DisplayScope:
    """What a verified key may show."""
    key_id: int
    name: str
    queue_ids: tuple[int, ...]  # empty: every queue
    language: str | None = None  # 'en', 'vi', 'both' (one after the other); None: the clinic's


BOTH = 'both'
BOARD, KIOSK = 'board', 'kiosk'  # what a key opens
PURPOSES = (BOARD, KIOSK)


def _language(language: str | None, purpose: str = BOARD) -> str | None:
    if language in (None, ''):
        return None
    if (language != BOTH or purpose != BOARD) and language not in i18n.LANGUAGES:
        raise ValidationError(_('Please choose the board\'s language from the list.'), 'language')
    return language


def _purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValidationError(_('Please choose whether the key opens the board or the kiosk.'), 'purpose')
    return purpose


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _queue_ids_text(queue_ids: list[int] | tuple[int, ...] | None) -> str:
    return ','.join(str(i) for i in sorted(set(queue_ids or ())))


def _parse_queue_ids(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(',') if part.strip())


def _clean_name(name: str) -> str:
    name = ' '.join(name.split())
    if not name:
        raise ValidationError(_('Please name the display, e.g. "Waiting room TV, ground floor".'), 'name')
    if len(name) > 80:
        raise ValidationError(_('The name can have at most 80 characters.'), 'name')
    return name


@action
async def issue(session: AsyncSession, actor: Actor, name: str, *, queue_ids: list[int] | None = None,
                language: str | None = None, purpose: str = BOARD) -> tuple[DisplayKey, str]:
    """A new key: for a board (``queue_ids``: what it shows) or a kiosk (its first language; every queue). Returns
    the row and the plain key: show it once, it cannot be read back later."""
    require(actor, Role.ADMIN)
    name = _clean_name(name)
    purpose = _purpose(purpose)
    if purpose == KIOSK:
        queue_ids = None
    if queue_ids:
        known = set((await session.exec(select(Queue.id).where(Queue.id.in_(queue_ids)))).all())
        if known != set(queue_ids):
            raise ValidationError(_('One of the chosen queues does not exist.'), 'queues')
    key = secrets.token_urlsafe(KEY_BYTES)
    row = DisplayKey(name=name, key_hash=hash_key(key), queue_ids=_queue_ids_text(queue_ids),
                     created_by_id=actor.user_id, language=_language(language, purpose), purpose=purpose)
    session.add(row)
    await session.flush()
    audit.record(session, actor, 'display_key_issued', entity='display_key', entity_id=row.id,
                 detail=name if purpose == BOARD else f'{name} ({purpose})')
    return row, key


@query
async def list_keys(session: AsyncSession, actor: Actor) -> list[DisplayKey]:
    require(actor, Role.ADMIN)
    return list((await session.exec(select(DisplayKey).order_by(DisplayKey.revoked_at.is_not(None),
                                                                DisplayKey.created_at.desc()))).all())


async def _key(session: AsyncSession, key_id: int) -> DisplayKey:
    row = await session.get(DisplayKey, key_id)
    if row is None:
        raise NotFound(_('This display key does not exist.'))
    return row


@action
async def rename(session: AsyncSession, actor: Actor, key_id: int, name: str) -> DisplayKey:
    require(actor, Role.ADMIN)
    row = await _key(session, key_id)
    row.name = _clean_name(name)
    session.add(row)
    audit.record(session, actor, 'display_key_renamed', entity='display_key', entity_id=row.id, detail=row.name)
    return row


@action
async def set_language(session: AsyncSession, actor: Actor, key_id: int, language: str | None) -> DisplayKey:
    """The board's language: 'en', 'vi', 'both' (shown and announced one after the other) or None (the clinic's).
    Boards open with the key switch at once."""
    require(actor, Role.ADMIN)
    row = await _key(session, key_id)
    if row.revoked_at is not None:
        raise Conflict(_('This display key is revoked.'))
    row.language = _language(language, row.purpose)
    session.add(row)
    audit.record(session, actor, 'display_key_language', entity='display_key', entity_id=row.id,
                 detail=row.language or 'clinic')
    publish(session, DisplayKeyChanged(key_id=row.id))
    return row


@action
async def revoke(session: AsyncSession, actor: Actor, key_id: int, *, now: datetime | None = None) -> DisplayKey:
    """The key stops working at once (a board open with it is closed by the page)."""
    require(actor, Role.ADMIN)
    row = await _key(session, key_id)
    if row.revoked_at is not None:
        raise Conflict(_('This display key is already revoked.'))
    row.revoked_at = now or utcnow()
    session.add(row)
    audit.record(session, actor, 'display_key_revoked', entity='display_key', entity_id=row.id, detail=row.name)
    publish(session, DisplayKeyRevoked(key_id=row.id))
    return row


@action
async def verify(session: AsyncSession, key: str | None, *, now: datetime | None = None,
                 purpose: str = BOARD) -> DisplayScope | None:
    """The scope of a valid key for ``purpose``, or None (missing, unknown, revoked, or a key of the other kind).
    With ``now``, notes when the display was last seen (the caller commits)."""
    if not key or len(key) > 200:
        return None
    digest = hash_key(key)
    row = (await session.exec(select(DisplayKey).where(DisplayKey.key_hash == digest))).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest) \
            or row.purpose != purpose:
        return None
    if now is not None and (row.last_seen_at is None or now - row.last_seen_at > SEEN_EVERY):
        row.last_seen_at = now
        session.add(row)
    return DisplayScope(key_id=row.id, name=row.name, queue_ids=_parse_queue_ids(row.queue_ids),
                        language=row.language)


@query
async def is_valid(session: AsyncSession, key_id: int) -> bool:
    """Whether an open board may go on showing (its key was not revoked meanwhile)."""
    row = await session.get(DisplayKey, key_id)
    return row is not None and row.revoked_at is None
