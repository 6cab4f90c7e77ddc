"""Medicine stock: what is on hand, and what needs attention (low stock, expiring batches)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Medicine, Role, StockBatch

from .access import Actor, require


@dataclass(frozen=True)
class LowStock:
    medicine_id: int
    code: str
    name: str
    unit: str
    on_hand: int  # usable units: batches not expired
    reorder_level: int


@dataclass(frozen=True)
class ExpiringBatch:
    batch_id: int
    medicine_name: str
    batch_no: str
    expiry_date: date
    quantity: int
    expired: bool


@dataclass(frozen=True)
class StockAlerts:
    low_stock: list[LowStock]
    expiring: list[ExpiringBatch]


async def stock_alerts(session: AsyncSession, actor: Actor, today: date, *, expiring_within_days: int = 60,
                       limit: int = 200) -> StockAlerts:
    require(actor, Role.PHARMACIST)
    usable = sa.func.coalesce(sa.func.sum(StockBatch.quantity).filter(StockBatch.expiry_date >= today), 0)
    low_query = (select(Medicine.id, Medicine.code, Medicine.name, Medicine.unit, usable, Medicine.reorder_level)
                 .outerjoin(StockBatch, StockBatch.medicine_id == Medicine.id)
                 .where(Medicine.is_active)
                 .group_by(Medicine.id, Medicine.code, Medicine.name, Medicine.unit, Medicine.reorder_level)
                 .having(usable < Medicine.reorder_level)
                 .order_by(usable, Medicine.name).limit(limit))
    low = [LowStock(*row) for row in (await session.exec(low_query)).all()]
    expiring_query = (select(StockBatch.id, Medicine.name, StockBatch.batch_no, StockBatch.expiry_date,
                             StockBatch.quantity)
                      .join(Medicine, Medicine.id == StockBatch.medicine_id)
                      .where(StockBatch.quantity > 0,
                             StockBatch.expiry_date <= today + timedelta(days=expiring_within_days))
                      .order_by(StockBatch.expiry_date, Medicine.name).limit(limit))
    expiring = [ExpiringBatch(*row, expired=row[3] < today) for row in (await session.exec(expiring_query)).all()]
    return StockAlerts(low_stock=low, expiring=expiring)
