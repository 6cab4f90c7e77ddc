"""Figures about the clinic as a whole, for the administrator."""
from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Doctor, Medicine, Patient, Role, Room, Service, User

from .access import Actor, require
from .core.boundary import query


@query
async def summary(session: AsyncSession, actor: Actor) -> dict[str, int]:
    require(actor, Role.ADMIN)
    counts = {}
    for label, model in (('Staff accounts', User), ('Doctors', Doctor), ('Rooms', Room), ('Services', Service),
                         ('Medicines', Medicine), ('Patients', Patient)):
        counts[label] = (await session.exec(select(func.count()).select_from(model))).one()
    return counts
