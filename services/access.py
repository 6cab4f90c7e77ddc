"""Who is acting, and the role check every service makes (pages check too, but sockets bypass HTTP middleware)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Doctor, Role

from .core.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    full_name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


async def doctor_id_of(session: AsyncSession, actor: Actor) -> int | None:
    """The doctor record of the person acting, if they are a doctor (their own queue, patients, appointments)."""
    return (await session.exec(select(Doctor.id).where(Doctor.user_id == actor.user_id))).first()


def require(actor: Actor | None, *roles: Role) -> Actor:
    """Allow ``roles`` and admins; raise PermissionDenied otherwise."""
    if actor is None:
        raise PermissionDenied('Please sign in first.')
    if actor.role != Role.ADMIN and actor.role not in roles:
        allowed = ', '.join(role.label for role in roles) or 'Admin'
        raise PermissionDenied(f'Only {allowed} staff may do this.')
    return actor
