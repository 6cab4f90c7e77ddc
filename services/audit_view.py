"""The audit log viewer: who did what and when, filtered and paged in the database.

The log can hold millions of rows, so pages are fetched by key (``id`` below the last one shown: constant time
however deep) and nothing counts the whole table. Kinds group the actions the services record.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, not_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditLog, Role

from .access import Actor, require
from .core.boundary import query
from .core.clock import day_bounds
from .core.errors import ValidationError
from .core.i18n import N_, _

# kind -> LIKE patterns of its actions; "edits" is every action that matches none of the others.
KINDS: dict[str, tuple[str, ...]] = {
    'logins': ('login%', 'logout%', 'access_denied', 'password_%', 'user_unlocked'),
    'chart_views': ('%view%',),
    'payments': ('payment%', 'invoice%', 'voucher%', 'discount%'),
    'refunds': ('refund%',),
    'settings': ('setting%', 'smtp%', 'queue_prefix%', 'backup%', 'display_key%', 'first_admin%'),
}
# marked with N_(): show a label as _(label)
KIND_LABELS = {'logins': N_('Sign-ins and passwords'), 'chart_views': N_('Chart views'), 'edits': N_('Edits'),
               'payments': N_('Payments and invoices'), 'refunds': N_('Refunds'),
               'settings': N_('Settings and backups')}
MAX_LIMIT = 200


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_id: int | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    has_more: bool  # older entries exist beyond this page

    @property
    def last_id(self) -> int | None:
        return self.entries[-1].id if self.entries else None


def _kind_filter(kind: str):
    if kind == 'edits':
        patterns = [p for group in KINDS.values() for p in group]
        return not_(or_(*(col(AuditLog.action).like(p) for p in patterns)))
    if kind not in KINDS:
        raise ValidationError(_('Please choose the kind of entries from the list.'))
    return or_(*(col(AuditLog.action).like(p) for p in KINDS[kind]))


@query
async def search(session: AsyncSession, actor: Actor, *, kind: str | None = None, user_id: int | None = None,
                 username: str = '', entity: str = '', entity_id: int | None = None, start_day: date | None = None,
                 end_day: date | None = None, tz=None, before_id: int | None = None,
                 limit: int = 50) -> AuditPage:
    """One page of entries, newest first. ``before_id``: continue after the last entry of the previous page.
    Days are clinic-local (``tz``), both included."""
    require(actor, Role.ADMIN)
    if start_day and end_day and end_day < start_day:
        raise ValidationError(_('The "to" day must not be before the "from" day.'))
    limit = max(1, min(limit, MAX_LIMIT))
    where = []
    if kind:
        where.append(_kind_filter(kind))
    if user_id is not None:
        where.append(AuditLog.user_id == user_id)
    if username.strip():
        where.append(AuditLog.username == username.strip().lower()[:40])
    if entity:
        where.append(AuditLog.entity == entity)
    if entity_id is not None:
        where.append(AuditLog.entity_id == entity_id)
    if start_day is not None:
        where.append(AuditLog.at >= day_bounds(start_day, tz)[0])
    if end_day is not None:
        where.append(AuditLog.at < day_bounds(end_day, tz)[1])
    if before_id is not None:
        where.append(AuditLog.id < before_id)
    query = (select(AuditLog.id, AuditLog.at, AuditLog.username, AuditLog.action, AuditLog.entity,
                    AuditLog.entity_id, AuditLog.detail)
             .where(*where).order_by(sa.desc(AuditLog.id)).limit(limit + 1))
    rows = [AuditEntry(*row) for row in (await session.exec(query)).all()]
    return AuditPage(rows[:limit], len(rows) > limit)


def describe(action: str) -> str:
    """``doctor_hours_added`` -> ``Doctor hours added``."""
    return action.replace('_', ' ').capitalize()
