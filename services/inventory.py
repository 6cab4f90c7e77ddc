"""Medicine stock: what is on hand, and what needs attention (low stock, expiring batches)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Medicine, MovementKind, Role, StockBatch, StockMovement

from . import audit
from .access import Actor, require
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import NotFound, ValidationError
from .core.events import StockChanged, publish
from .core.i18n import N_, _


@dataclass(frozen=True)
class LowStock:
    medicine_id: int
    code: str
    name: str
    unit: str
    on_hand: int  # usable units: batches in date (one expiring today is not handed out)
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


@query
async def stock_alerts(session: AsyncSession, actor: Actor, today: date, *, expiring_within_days: int = 60,
                       limit: int = 200) -> StockAlerts:
    require(actor, Role.PHARMACIST)
    usable = sa.func.coalesce(sa.func.sum(StockBatch.quantity).filter(StockBatch.expiry_date > today), 0)
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
    expiring = [ExpiringBatch(*row, expired=row[3] <= today) for row in (await session.exec(expiring_query)).all()]
    return StockAlerts(low_stock=low, expiring=expiring)


# --------------------------------------------------------------------------------------------------------------
# Goods in, adjustments and the ledger
# --------------------------------------------------------------------------------------------------------------

ADJUSTMENT_REASONS = {  # marked with N_(): show a label as _(label); the ledger keeps the English text
    'damaged': N_('Damaged'),
    'expired': N_('Expired: taken off the shelf'),
    'count': N_('Count correction'),
    'returned': N_('Returned to the supplier'),
    'other': N_('Other'),
}


@dataclass
class GoodsIn:
    medicine_id: int | None
    batch_no: str
    expiry_date: date | None
    supplier: str
    quantity: str       # as typed
    unit_cost: str = ''  # per unit, in minor units, as typed


def _whole(text: str, label: str, *, low: int, high: int, name: str) -> int:
    """``label`` is marked with N_() where it is written."""
    text = (text or '').strip().replace(',', '').replace(' ', '').removeprefix('+')
    if not text.removeprefix('-').isdigit():
        raise ValidationError(_('{label}: please write a whole number.').format(label=_(label)), name)
    value = int(text)
    if not low <= value <= high:
        raise ValidationError(_('{label}: please write a number from {low} to {high}.').format(
            label=_(label), low=i18n.number(low), high=i18n.number(high)), name)
    return value


@action
async def receive(session: AsyncSession, actor: Actor, data: GoodsIn, *, today: date, now: datetime) -> StockBatch:
    """Goods in: a new batch (or more of a batch already in stock with the same expiry), with a RECEIPT movement."""
    require(actor, Role.PHARMACIST)
    if data.medicine_id is None:
        raise ValidationError(_('Please pick the medicine.'), 'medicine')
    batch_no = ' '.join((data.batch_no or '').split())
    if not batch_no:
        raise ValidationError(_('Please write the batch number printed on the package.'), 'batch_no')
    if len(batch_no) > 40:
        raise ValidationError(_('The batch number can have at most 40 characters.'), 'batch_no')
    if data.expiry_date is None:
        raise ValidationError(_('Please give the expiry date (dd/mm/yyyy).'), 'expiry_date')
    if data.expiry_date <= today:
        raise ValidationError(_('This batch has already expired: expired goods cannot be received.'),
                              'expiry_date')
    supplier = ' '.join((data.supplier or '').split())
    if len(supplier) > 120:
        raise ValidationError(_('The supplier can have at most 120 characters.'), 'supplier')
    quantity = _whole(data.quantity, N_('Quantity'), low=1, high=1_000_000, name='quantity')
    unit_cost = _whole(data.unit_cost or '0', N_('Unit cost'), low=0, high=10**12, name='unit_cost')
    medicine = await session.get(Medicine, data.medicine_id)
    if medicine is None:
        raise NotFound(_('This medicine does not exist.'))
    await serialize(session, f'stock:{medicine.id}')
    batch = (await session.exec(select(StockBatch).where(StockBatch.medicine_id == medicine.id,
                                                         StockBatch.batch_no == batch_no)
                                .execution_options(populate_existing=True))).first()
    if batch is not None and batch.expiry_date != data.expiry_date:
        raise ValidationError(_('Batch {batch} of {medicine} is already in stock with expiry {expiry}. Please '
                                'check the batch number and the expiry date.').format(
            batch=batch_no, medicine=medicine.name, expiry=f'{batch.expiry_date:%d/%m/%Y}'), 'expiry_date')
    if batch is None:
        batch = StockBatch(medicine_id=medicine.id, batch_no=batch_no, expiry_date=data.expiry_date,
                           supplier=supplier, quantity=0, unit_cost=unit_cost, received_at=now)
        session.add(batch)
        await session.flush()
    await session.exec(sa.update(StockBatch).where(StockBatch.id == batch.id)
                       .values(quantity=StockBatch.quantity + quantity))
    session.add(StockMovement(batch_id=batch.id, medicine_id=medicine.id, kind=MovementKind.RECEIPT,
                              quantity=quantity, reason=f'Goods received from {supplier}' if supplier  # stored
                              else 'Goods received', user_id=actor.user_id, at=now))
    audit.record(session, actor, 'goods_received', entity='stock_batch', entity_id=batch.id,
                 detail=f'{medicine.code} batch {batch_no}: +{quantity}')
    publish(session, StockChanged(medicine_ids=tuple([medicine.id])))
    await session.refresh(batch)
    return batch


@action
async def adjust(session: AsyncSession, actor: Actor, batch_id: int, *, change: str, reason: str, note: str = '',
                 now: datetime) -> StockBatch:
    """Correct a batch: ``change`` is signed ("-3" damaged, "+2" found at the count). The stock never goes below 0."""
    require(actor, Role.PHARMACIST)
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationError(_('Please choose the reason for the adjustment.'), 'reason')
    note = ' '.join((note or '').split())
    if reason in ('other', 'count') and len(note) < 3:
        raise ValidationError(_('Please add a short note explaining the adjustment.'), 'note')
    amount = _whole(change, N_('Quantity change'), low=-1_000_000, high=1_000_000, name='change')
    if amount == 0:
        raise ValidationError(_('The change cannot be 0: write e.g. -3 to remove 3 units or 2 to add 2.'),
                              'change')
    if amount > 0 and reason in ('damaged', 'expired', 'returned'):
        raise ValidationError(_('"{reason}" removes stock: please write a negative number.').format(
            reason=_(ADJUSTMENT_REASONS[reason])), 'change')
    batch = await session.get(StockBatch, batch_id)
    if batch is None:
        raise NotFound(_('This batch does not exist.'))
    await serialize(session, f'stock:{batch.medicine_id}')
    result = await session.exec(sa.update(StockBatch)
                                .where(StockBatch.id == batch.id, StockBatch.quantity + amount >= 0)
                                .values(quantity=StockBatch.quantity + amount))
    if result.rowcount != 1:
        await session.refresh(batch)
        raise ValidationError(_('Batch {batch} has only {count} left: it cannot go below 0.').format(
            batch=batch.batch_no, count=batch.quantity), 'change')
    text = ADJUSTMENT_REASONS[reason] + (f': {note}' if note else '')
    session.add(StockMovement(batch_id=batch.id, medicine_id=batch.medicine_id, kind=MovementKind.ADJUSTMENT,
                              quantity=amount, reason=text[:300], user_id=actor.user_id, at=now))
    audit.record(session, actor, 'stock_adjusted', entity='stock_batch', entity_id=batch.id,
                 detail=f'{amount:+d}: {text}')
    publish(session, StockChanged(medicine_ids=tuple([batch.medicine_id])))
    await session.refresh(batch)
    return batch


@dataclass(frozen=True)
class MedicineStock:
    id: int
    code: str
    name: str
    unit: str
    reorder_level: int
    on_hand: int   # every batch, expired or not
    usable: int    # batches in date


@query
async def medicines(session: AsyncSession, actor: Actor, text: str = '', *, today: date,
                    limit: int = 500) -> list[MedicineStock]:
    require(actor, Role.PHARMACIST)
    usable = sa.func.coalesce(sa.func.sum(StockBatch.quantity).filter(StockBatch.expiry_date > today), 0)
    total = sa.func.coalesce(sa.func.sum(StockBatch.quantity), 0)
    query = (select(Medicine.id, Medicine.code, Medicine.name, Medicine.unit, Medicine.reorder_level, total, usable)
             .outerjoin(StockBatch, StockBatch.medicine_id == Medicine.id)
             .group_by(Medicine.id, Medicine.code, Medicine.name, Medicine.unit, Medicine.reorder_level)
             .order_by(Medicine.name).limit(limit))
    for word in text.lower().split():
        query = query.where(sa.func.lower(Medicine.name + ' ' + Medicine.code + ' ' + Medicine.generic_name)
                            .contains(word))
    return [MedicineStock(*row) for row in (await session.exec(query)).all()]


@dataclass(frozen=True)
class LedgerRow:
    id: int
    at: datetime
    kind: MovementKind
    batch_no: str
    quantity: int
    balance: int  # stock of the medicine after this movement
    reason: str
    by: str


@dataclass
class Ledger:
    medicine: Medicine
    batches: list[StockBatch]
    rows: list[LedgerRow]  # oldest first
    on_hand: int           # sum of the batch quantities

    @property
    def adds_up(self) -> bool:
        return (self.rows[-1].balance if self.rows else 0) == self.on_hand


@query
async def ledger(session: AsyncSession, actor: Actor, medicine_id: int) -> Ledger:
    """Every movement of the medicine with a running balance; the last balance equals the stock on hand."""
    from models import User
    require(actor, Role.PHARMACIST)
    medicine = await session.get(Medicine, medicine_id)
    if medicine is None:
        raise NotFound(_('This medicine does not exist.'))
    batches = list((await session.exec(select(StockBatch).where(StockBatch.medicine_id == medicine_id)
                                       .order_by(StockBatch.expiry_date, StockBatch.id))).all())
    numbers = {b.id: b.batch_no for b in batches}
    movements = (await session.exec(select(StockMovement, User.full_name)
                                    .outerjoin(User, User.id == StockMovement.user_id)
                                    .where(StockMovement.medicine_id == medicine_id)
                                    .order_by(StockMovement.at, StockMovement.id))).all()
    rows, balance = [], 0
    for movement, by in movements:
        balance += movement.quantity
        rows.append(LedgerRow(movement.id, movement.at, movement.kind, numbers.get(movement.batch_id, ''),
                              movement.quantity, balance, movement.reason, by or ''))
    return Ledger(medicine, batches, rows, sum(b.quantity for b in batches))
