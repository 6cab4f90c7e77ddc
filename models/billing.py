"""Invoices, their items, payments and refunds, vouchers, and gap-free number sequences."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import InvoiceItemKind, InvoiceStatus, PaymentKind, PaymentMethod
from .types import UTCDateTime, enum_type, utcnow


class Invoice(SQLModel, table=True):
    """A bill (seed: billing). All amounts in minor units; paid never exceeds total (enforced here too)."""
    __tablename__ = 'invoices'
    __table_args__ = (
        sa.CheckConstraint('subtotal >= 0', name='subtotal_nonneg'),
        sa.CheckConstraint('discount_amount >= 0', name='discount_nonneg'),
        sa.CheckConstraint('insurance_amount >= 0', name='insurance_nonneg'),
        sa.CheckConstraint('total >= 0', name='total_nonneg'),
        sa.CheckConstraint('total = subtotal - discount_amount - insurance_amount', name='total_adds_up'),
        sa.CheckConstraint('amount_paid >= 0', name='paid_nonneg'),
        sa.CheckConstraint('amount_paid <= total', name='paid_le_total'),
        sa.Index('ix_invoices_created_at', 'created_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)  # readable: INV-2026-000123
    patient_id: int = Field(foreign_key='patients.id', index=True)
    visit_id: int | None = Field(default=None, foreign_key='visits.id', index=True)
    status: InvoiceStatus = Field(default=InvoiceStatus.UNPAID, sa_type=enum_type(InvoiceStatus))
    subtotal: int = Field(default=0, sa_type=sa.BigInteger)
    discount_amount: int = Field(default=0, sa_type=sa.BigInteger)
    discount_reason: str = Field(default='', max_length=300)
    discount_approved_by_id: int | None = Field(default=None, foreign_key='users.id')
    insurance_amount: int = Field(default=0, sa_type=sa.BigInteger)
    insurer: str = Field(default='', max_length=120)
    insurance_policy_no: str = Field(default='', max_length=60)
    voucher_code: str | None = Field(default=None, max_length=40, index=True)  # its uses: voucher_uses
    total: int = Field(default=0, sa_type=sa.BigInteger)
    amount_paid: int = Field(default=0, sa_type=sa.BigInteger)
    void_reason: str = Field(default='', max_length=300)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InvoiceItem(SQLModel, table=True):
    __tablename__ = 'invoice_items'
    __table_args__ = (
        sa.CheckConstraint('quantity > 0', name='quantity_positive'),
        sa.CheckConstraint('unit_price >= 0', name='unit_price_nonneg'),
        sa.CheckConstraint('line_total = quantity * unit_price', name='line_total_adds_up'),
        # Billed once (seed: billed_services / temp_service_usage), unless the invoice billing it was voided.
        sa.Index('uq_invoice_items_live_service_order', 'service_order_id', unique=True,
                 sqlite_where=sa.text('is_void = 0'), postgresql_where=sa.text('NOT is_void')),
        sa.Index('uq_invoice_items_live_dispense_item', 'dispense_item_id', unique=True,
                 sqlite_where=sa.text('is_void = 0'), postgresql_where=sa.text('NOT is_void')),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key='invoices.id', index=True)
    kind: InvoiceItemKind = Field(sa_type=enum_type(InvoiceItemKind))
    description: str = Field(max_length=200)
    # What the line bills; each is billed at most once among invoices that are not void (indexes above).
    service_order_id: int | None = Field(default=None, foreign_key='service_orders.id')
    dispense_item_id: int | None = Field(default=None, foreign_key='dispense_items.id')
    is_void: bool = False  # set with its invoice, so what it billed can be billed again
    service_id: int | None = Field(default=None, foreign_key='services.id')
    quantity: int = 1
    unit_price: int = Field(sa_type=sa.BigInteger)
    line_total: int = Field(sa_type=sa.BigInteger)


class Payment(SQLModel, table=True):
    """Money received (or refunded) against an invoice."""
    __tablename__ = 'payments'
    __table_args__ = (
        sa.CheckConstraint('amount > 0', name='amount_positive'),
        sa.CheckConstraint('tendered IS NULL OR tendered >= amount', name='tendered_covers'),
        sa.CheckConstraint('change_due >= 0', name='change_nonneg'),
        sa.Index('ix_payments_received_at', 'received_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key='invoices.id', index=True)
    kind: PaymentKind = Field(default=PaymentKind.PAYMENT, sa_type=enum_type(PaymentKind))
    method: PaymentMethod = Field(sa_type=enum_type(PaymentMethod))
    amount: int = Field(sa_type=sa.BigInteger)
    tendered: int | None = Field(default=None, sa_type=sa.BigInteger)  # cash handed over
    change_due: int = Field(default=0, sa_type=sa.BigInteger)
    reference: str = Field(default='', max_length=80)  # card slip, transfer reference
    reason: str = Field(default='', max_length=300)  # for refunds
    receipt_number: str | None = Field(default=None, max_length=30, unique=True)
    refund_of_id: int | None = Field(default=None, foreign_key='payments.id')  # the payment a refund returns
    cashier_id: int = Field(foreign_key='users.id', index=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Voucher(SQLModel, table=True):
    """A discount code an administrator issues: a percentage or an amount off, usable ``max_uses`` times (each use
    a row of ``voucher_uses``; ``uses`` counts the live ones, so two cashiers never take more than there are),
    between ``valid_from`` and ``valid_until`` (inclusive), on the whole bill or only on the lines of its services
    (``voucher_services``). Codes are stored in capitals; the cashier may type them in any case."""
    __tablename__ = 'vouchers'
    __table_args__ = (
        sa.CheckConstraint('percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)', name='percent_range'),
        sa.CheckConstraint('amount_off IS NULL OR amount_off > 0', name='amount_positive'),
        sa.CheckConstraint('(percent_off IS NULL) <> (amount_off IS NULL)', name='one_kind'),
        sa.CheckConstraint('max_uses >= 1', name='max_uses_positive'),
        sa.CheckConstraint('uses >= 0 AND uses <= max_uses', name='uses_within_max'),
        sa.CheckConstraint('valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until',
                           name='validity_in_order'),
        sa.CheckConstraint('code = UPPER(code)', name='code_in_capitals'),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    percent_off: int | None = None
    amount_off: int | None = Field(default=None, sa_type=sa.BigInteger)
    valid_from: date | None = None
    valid_until: date | None = None
    max_uses: int = 1
    uses: int = 0
    is_active: bool = True
    description: str = Field(default='', max_length=200)  # e.g. the campaign
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VoucherService(SQLModel, table=True):
    """The services a voucher applies to; a voucher with none applies to the whole bill."""
    __tablename__ = 'voucher_services'

    voucher_id: int = Field(foreign_key='vouchers.id', primary_key=True)
    service_id: int = Field(foreign_key='services.id', primary_key=True, index=True)


class VoucherUse(SQLModel, table=True):
    """A voucher used on a bill: the discount it gave, when and by whom. Given back (``released_at``) when the bill's
    discount changes or the bill is voided; using it again on the same bill takes the same row again."""
    __tablename__ = 'voucher_uses'
    __table_args__ = (
        sa.UniqueConstraint('voucher_id', 'invoice_id'),
        sa.CheckConstraint('discount >= 0', name='discount_nonneg'),
    )

    id: int | None = Field(default=None, primary_key=True)
    voucher_id: int = Field(foreign_key='vouchers.id', index=True)
    invoice_id: int = Field(foreign_key='invoices.id', index=True)
    discount: int = Field(default=0, sa_type=sa.BigInteger)
    used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_by_id: int | None = Field(default=None, foreign_key='users.id')  # None: recorded before uses were
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NumberSequence(SQLModel, table=True):
    """Gap-free counters (receipts, invoices, patient codes), incremented inside the using transaction."""
    __tablename__ = 'number_sequences'
    __table_args__ = (sa.CheckConstraint('last_value >= 0', name='last_value_nonneg'),)

    name: str = Field(max_length=40, primary_key=True)
    last_value: int = Field(default=0, sa_type=sa.BigInteger)


class CashierDayClose(SQLModel, table=True):
    """One cashier's clinic day, closed: the drawer counted against what it should hold, the totals per method.
    While closed (``reopened_at`` empty), that cashier takes no payment or refund on that day; an administrator
    may reopen it with a reason (closing again writes the new figures over these)."""
    __tablename__ = 'cashier_day_closes'
    __table_args__ = (
        sa.UniqueConstraint('cashier_id', 'day', name='uq_cashier_day_closes_cashier_day'),
        sa.CheckConstraint('opening_float >= 0', name='float_nonneg'),
        sa.CheckConstraint('counted >= 0', name='counted_nonneg'),
        sa.CheckConstraint('expected = opening_float + cash_in - cash_out', name='expected_adds_up'),
        sa.CheckConstraint('difference = counted - expected', name='difference_adds_up'),
        sa.CheckConstraint("difference = 0 OR reason <> ''", name='difference_explained'),
        sa.CheckConstraint('payments >= 0 AND refunds >= 0', name='counts_nonneg'),
        sa.CheckConstraint('(reopened_at IS NULL) = (reopened_by_id IS NULL)', name='reopened_by_whom'),
    )

    id: int | None = Field(default=None, primary_key=True)
    cashier_id: int = Field(foreign_key='users.id', index=True)
    day: date  # the clinic-local day
    opening_float: int = Field(default=0, sa_type=sa.BigInteger)
    cash_in: int = Field(default=0, sa_type=sa.BigInteger)    # cash received (change already handed back)
    cash_out: int = Field(default=0, sa_type=sa.BigInteger)   # cash refunded
    expected: int = Field(default=0, sa_type=sa.BigInteger)
    counted: int = Field(default=0, sa_type=sa.BigInteger)
    difference: int = Field(default=0, sa_type=sa.BigInteger)  # counted - expected
    reason: str = Field(default='', max_length=300)
    denominations: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)  # note value -> count (if counted so)
    totals: dict[str, list[int]] = Field(default_factory=dict, sa_type=sa.JSON)  # method -> [payments, in, refunds, out]
    payments: int = 0
    refunds: int = 0
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_by_id: int = Field(foreign_key='users.id')
    reopened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_by_id: int | None = Field(default=None, foreign_key='users.id')
    reopen_reason: str = Field(default='', max_length=300)
