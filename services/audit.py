"""The audit log: written in the same transaction as the action it records."""
from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog

from .access import Actor


def record(session: AsyncSession, actor: Actor | None, action: str, *, entity: str = '',
           entity_id: int | None = None, detail: str = '', username: str = '') -> None:
    session.add(AuditLog(user_id=actor.user_id if actor else None,
                         username=(actor.username if actor else username)[:40],
                         action=action, entity=entity, entity_id=entity_id, detail=detail[:2000]))
