"""Who is acting, and the role check every service makes (pages check too, but sockets bypass HTTP middleware)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Doctor, Role

from .core.errors import PermissionDenied
from .core.i18n import _


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    full_name: str
    role: Role
    language: str | None = None  # what their screens are written in; None: the clinic's language

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


async def doctor_id_of(session: AsyncSession, actor: Actor) -> int | None:
    """The doctor record of the person acting, if they are a doctor (their own queue, patients, appointments)."""
    return (await session.exec(select(Doctor.id).where(Doctor.user_id == actor.user_id))).first()


def require(actor: Actor | None, *roles: Role) -> Actor:
    """Allow ``roles`` and admins; raise PermissionDenied otherwise."""
    if actor is None:
        raise PermissionDenied(_('Please sign in first.'))
    if actor.role != Role.ADMIN and actor.role not in roles:
        allowed = ', '.join(_(role.label) for role in roles) or _(Role.ADMIN.label)
        raise PermissionDenied(_('Only {roles} staff may do this.').format(roles=allowed))
    return actor
