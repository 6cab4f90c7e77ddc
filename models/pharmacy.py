"""Medicines, stock batches, the stock ledger and dispensing."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import MovementKind
from .types import UTCDateTime, enum_type, utcnow


class Medicine(SQLModel, table=True):
    __tablename__ = 'medicines'
    __table_args__ = (
        sa.CheckConstraint('price >= 0', name='price_nonneg'),
        sa.CheckConstraint('reorder_level >= 0', name='reorder_nonneg'),
        sa.CheckConstraint('units_per_pack >= 1', name='units_per_pack_positive'),
        sa.CheckConstraint("units_per_pack = 1 OR base_unit <> ''", name='pack_has_base_unit'),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120, index=True)
    generic_name: str = Field(default='', max_length=120)
    drug_group: str = Field(default='', max_length=60)  # e.g. "penicillins": matched against allergy groups
    form: str = Field(default='tablet', max_length=30)
    strength: str = Field(default='', max_length=40)
    unit: str = Field(default='tablet', max_length=20)  # the unit that is counted and priced
    # A unit sold as a pack ("blister", "box") holds ``units_per_pack`` of ``base_unit`` ("tablet"): what lets a
    # substitute sold per blister replace tablets. '' and 1: the unit sold is itself the dose unit.
    base_unit: str = Field(default='', max_length=20)
    units_per_pack: int = 1
    price: int = Field(sa_type=sa.BigInteger)  # per unit, minor units
    reorder_level: int = 0
    is_active: bool = True


class StockBatch(SQLModel, table=True):
    __tablename__ = 'stock_batches'
    __table_args__ = (
        sa.UniqueConstraint('medicine_id', 'batch_no', name='uq_stock_batches_medicine_batch'),
        sa.CheckConstraint('quantity >= 0', name='quantity_nonneg'),
        sa.CheckConstraint('unit_cost >= 0', name='unit_cost_nonneg'),
        sa.Index('ix_stock_batches_medicine_expiry', 'medicine_id', 'expiry_date'),
    )

    id: int | None = Field(default=None, primary_key=True)
    medicine_id: int = Field(foreign_key='medicines.id')
    batch_no: str = Field(max_length=40)
    expiry_date: date
    supplier: str = Field(default='', max_length=120)
    quantity: int
    unit_cost: int = Field(default=0, sa_type=sa.BigInteger)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StockMovement(SQLModel, table=True):
    """The stock ledger: every change to a batch, signed (+ in, - out). Sums to the batch quantity."""
    __tablename__ = 'stock_movements'
    __table_args__ = (
        sa.CheckConstraint('quantity <> 0', name='quantity_nonzero'),
        sa.Index('ix_stock_movements_medicine_at', 'medicine_id', 'at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key='stock_batches.id', index=True)
    medicine_id: int = Field(foreign_key='medicines.id')
    kind: MovementKind = Field(sa_type=enum_type(MovementKind))
    quantity: int
    reason: str = Field(default='', max_length=300)
    dispense_id: int | None = Field(default=None, foreign_key='dispenses.id')
    user_id: int | None = Field(default=None, foreign_key='users.id')
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Dispense(SQLModel, table=True):
    __tablename__ = 'dispenses'

    id: int | None = Field(default=None, primary_key=True)
    prescription_id: int = Field(foreign_key='prescriptions.id', index=True)
    visit_id: int = Field(foreign_key='visits.id', index=True)
    pharmacist_id: int = Field(foreign_key='users.id')
    notes: str = Field(default='', max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DispenseItem(SQLModel, table=True):
    __tablename__ = 'dispense_items'
    __table_args__ = (
        sa.CheckConstraint('quantity > 0', name='quantity_positive'),
        sa.CheckConstraint('unit_price >= 0', name='unit_price_nonneg'),
    )

    id: int | None = Field(default=None, primary_key=True)
    dispense_id: int = Field(foreign_key='dispenses.id', index=True)
    prescription_item_id: int | None = Field(default=None, foreign_key='prescription_items.id', index=True)
    medicine_id: int = Field(foreign_key='medicines.id')
    batch_id: int = Field(foreign_key='stock_batches.id')
    quantity: int
    unit_price: int = Field(sa_type=sa.BigInteger)  # price when dispensed
    substitution_note: str = Field(default='', max_length=300)
