"""Figures about the clinic as a whole, for the administrator."""
from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Doctor, Medicine, Patient, Role, Room, Service, User

from .access import Actor, require
from .core.boundary import query
from .core.i18n import _


@query
async def summary(session: AsyncSession, actor: Actor) -> dict[str, int]:
    """How many of each there are, by label in the reader's language."""
    require(actor, Role.ADMIN)
    counts = {}
    for label, model in ((_('Staff accounts'), User), (_('Doctors'), Doctor), (_('Rooms'), Room),
                         (_('Services'), Service), (_('Medicines'), Medicine), (_('Patients'), Patient)):
        counts[label] = (await session.exec(select(func.count()).select_from(model))).one()
    return counts
