"""Gap-free numbers (receipts, invoices, patient codes): taken inside the caller's transaction, so a number is
used exactly when that transaction commits and never twice."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import NumberSequence

from .core.db import serialize


async def next_value(session: AsyncSession, name: str) -> int:
    await serialize(session, f'sequence:{name}')
    sequence = (await session.exec(select(NumberSequence).where(NumberSequence.name == name)
                                   .with_for_update())).first()
    if sequence is None:
        sequence = NumberSequence(name=name, last_value=0)
    sequence.last_value += 1
    session.add(sequence)
    await session.flush()
    return sequence.last_value
