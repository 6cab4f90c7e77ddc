"""The cashier's reports: transaction history, the daily close, and CSV exports.

Days are the clinic's local days (``settings.tz``). Refunds count negative. CSV files are UTF-8 with a BOM (so
spreadsheet programs read Vietnamese names right), ISO dates (2026-11-23) and times (14:05), amounts as plain
numbers in the currency's major unit (150000 for VND, 12.50 for USD), one header row. Text that could start a
spreadsheet formula (a name typed on the booking page such as ``=HYPERLINK(...)``) is written with a leading
quote (``services.csv_export``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    AppointmentService,
    Doctor,
    Invoice,
    InvoiceStatus,
    Patient,
    Payment,
    PaymentKind,
    PaymentMethod,
    Role,
    Service,
    User,
    Visit,
)

from .access import Actor, require
from .billing import METHOD_LABELS
from .core.boundary import query
from .core.clock import day_bounds
from .core.errors import ValidationError
from .core.i18n import _
from .csv_export import csv_bytes
from .text import search_key

MAX_EXPORT_DAYS = 366


@dataclass(frozen=True)
class TransactionFilter:
    date_from: date
    date_to: date  # inclusive
    method: PaymentMethod | None = None
    cashier_id: int | None = None
    patient: str = ''  # code, or part of the name (accents optional)
    kind: PaymentKind | None = None


@dataclass(frozen=True)
class Transaction:
    id: int
    received_at: datetime
    receipt_number: str
    kind: PaymentKind
    method: PaymentMethod
    amount: int  # negative for refunds
    tendered: int | None
    change_due: int
    reference: str
    reason: str
    invoice_id: int
    invoice_number: str
    patient_code: str
    patient_name: str
    cashier: str


def _range(date_from: date, date_to: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if date_to < date_from:
        raise ValidationError(_('The end date is before the start date.'))
    if (date_to - date_from).days >= MAX_EXPORT_DAYS:
        raise ValidationError(_('Please choose at most {count} days.').format(count=MAX_EXPORT_DAYS))
    return day_bounds(date_from, tz)[0], day_bounds(date_to, tz)[1]


def _conditions(filters: TransactionFilter, tz: ZoneInfo) -> list:
    start, end = _range(filters.date_from, filters.date_to, tz)
    where = [Payment.received_at >= start, Payment.received_at < end]
    if filters.method is not None:
        where.append(Payment.method == filters.method)
    if filters.cashier_id is not None:
        where.append(Payment.cashier_id == filters.cashier_id)
    if filters.kind is not None:
        where.append(Payment.kind == filters.kind)
    text = filters.patient.strip()
    if text:
        words = [word.replace('%', '').replace('_', '') for word in search_key(text).split()]
        where.append(sa.or_(func.upper(Patient.code) == text.upper(),
                            sa.and_(*(Patient.search_name.like(f'%{word}%') for word in words if word))))
    return where


def _base_query():
    return (select(Payment, Invoice.number, Patient.code, Patient.full_name, User.full_name)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .join(Patient, Patient.id == Invoice.patient_id)
            .join(User, User.id == Payment.cashier_id))


def _transaction(row) -> Transaction:
    payment, number, code, name, cashier = row
    sign = -1 if payment.kind == PaymentKind.REFUND else 1
    return Transaction(payment.id, payment.received_at, payment.receipt_number or '', payment.kind, payment.method,
                       sign * payment.amount, payment.tendered, payment.change_due, payment.reference,
                       payment.reason, payment.invoice_id, number, code, name, cashier)


@query
async def transactions(session: AsyncSession, actor: Actor, filters: TransactionFilter, *, tz: ZoneInfo,
                       offset: int = 0, limit: int = 50) -> tuple[list[Transaction], int]:
    """One page of payments and refunds, newest first, and how many match in all."""
    require(actor, Role.CASHIER)
    where = _conditions(filters, tz)
    total = (await session.exec(select(func.count()).select_from(Payment)
                                .join(Invoice, Invoice.id == Payment.invoice_id)
                                .join(Patient, Patient.id == Invoice.patient_id).where(*where))).one()
    rows = (await session.exec(_base_query().where(*where)
                               .order_by(Payment.received_at.desc(), Payment.id.desc())
                               .offset(max(offset, 0)).limit(max(1, min(limit, 500))))).all()
    return [_transaction(row) for row in rows], total


@query
async def cashiers(session: AsyncSession, actor: Actor) -> list[tuple[int, str]]:
    """Everyone who ever took a payment or refund (for the filter), by name."""
    require(actor, Role.CASHIER)
    rows = await session.exec(select(User.id, User.full_name).where(
        User.id.in_(select(Payment.cashier_id).distinct())).order_by(User.full_name))
    return [(user_id, name) for user_id, name in rows.all()]


# --- The daily close -------------------------------------------------------------------------------------------------

@dataclass
class CloseLine:
    label: str
    payments: int = 0       # count
    received: int = 0       # money in
    refunds: int = 0        # count
    refunded: int = 0       # money given back

    @property
    def net(self) -> int:
        return self.received - self.refunded


@dataclass
class DailyClose:
    day: date
    by_method: list[CloseLine] = field(default_factory=list)
    by_cashier: list[CloseLine] = field(default_factory=list)
    total: CloseLine = field(default_factory=lambda: CloseLine(_('Total')))  # made per request: reader's language
    cash_in_drawer: int = 0  # cash received minus cash refunded (change already handed back)
    invoices: int = 0        # invoices created that day (not void)
    billed: int = 0          # their totals (what patients owe)
    insurance: int = 0       # insurers' share of them (to claim)
    discounts: int = 0


@query
async def daily_close(session: AsyncSession, actor: Actor, day: date, *, tz: ZoneInfo) -> DailyClose:
    """Money in and out on ``day`` per method and per cashier; every figure adds up to the total line."""
    require(actor, Role.CASHIER)
    start, end = day_bounds(day, tz)
    rows = (await session.exec(
        select(Payment.method, Payment.cashier_id, User.full_name, Payment.kind, func.count(), func.sum(Payment.amount))
        .join(User, User.id == Payment.cashier_id)
        .where(Payment.received_at >= start, Payment.received_at < end)
        .group_by(Payment.method, Payment.cashier_id, User.full_name, Payment.kind))).all()
    close = DailyClose(day)
    methods: dict[PaymentMethod, CloseLine] = {}
    people: dict[int, CloseLine] = {}
    for method, cashier_id, cashier, kind, count, amount in rows:
        method = PaymentMethod(method)
        for line in (methods.setdefault(method, CloseLine(_(METHOD_LABELS[method]))),
                     people.setdefault(cashier_id, CloseLine(cashier)), close.total):
            if PaymentKind(kind) == PaymentKind.PAYMENT:
                line.payments += count
                line.received += int(amount)
            else:
                line.refunds += count
                line.refunded += int(amount)
    order = list(METHOD_LABELS)
    close.by_method = [methods[m] for m in sorted(methods, key=order.index)]
    close.by_cashier = sorted(people.values(), key=lambda line: line.label)
    close.cash_in_drawer = methods[PaymentMethod.CASH].net if PaymentMethod.CASH in methods else 0
    billed = (await session.exec(
        select(func.count(), func.coalesce(func.sum(Invoice.total), 0), func.coalesce(func.sum(Invoice.insurance_amount), 0),
               func.coalesce(func.sum(Invoice.discount_amount), 0))
        .where(Invoice.created_at >= start, Invoice.created_at < end, Invoice.status != InvoiceStatus.VOID))).one()
    close.invoices, close.billed, close.insurance, close.discounts = (int(v) for v in billed)
    return close


# --- CSV --------------------------------------------------------------------------------------------------------------

def major_units(amount: int | None, exponent: int) -> Decimal | str:
    """``15000050, 2`` -> ``Decimal('150000.50')``: a number (written as plain digits, which a spreadsheet reads
    as a number), so the CSV writer keeps it a number; ``''`` when there is no amount."""
    if amount is None:
        return ''
    return Decimal(amount).scaleb(-exponent)


@query
async def transactions_csv(session: AsyncSession, actor: Actor, filters: TransactionFilter, *, tz: ZoneInfo,
                           currency: str, exponent: int) -> bytes:
    require(actor, Role.CASHIER)
    rows = (await session.exec(_base_query().where(*_conditions(filters, tz))
                               .order_by(Payment.received_at, Payment.id))).all()
    out = []
    for row in rows:
        t = _transaction(row)
        local = t.received_at.astimezone(tz)
        out.append([local.date().isoformat(), local.strftime('%H:%M:%S'), t.receipt_number, t.kind.value,
                    t.method.value, major_units(t.amount, exponent), currency,
                    major_units(t.tendered, exponent), major_units(t.change_due, exponent), t.reference, t.reason,
                    t.invoice_number, t.patient_code, t.patient_name, t.cashier])
    return csv_bytes(['date', 'time', 'receipt', 'kind', 'method', 'amount', 'currency', 'cash_received', 'change',
                 'reference', 'reason', 'invoice', 'patient_code', 'patient_name', 'cashier'], out)


@query
async def appointments_csv(session: AsyncSession, actor: Actor, date_from: date, date_to: date, *, tz: ZoneInfo,
                           currency: str, exponent: int) -> bytes:
    """Appointment summaries for the date range (seed: export of appointments to CSV), with the bill if any."""
    require(actor, Role.CASHIER, Role.RECEPTIONIST)
    start, end = _range(date_from, date_to, tz)
    rows = (await session.exec(
        select(Appointment, Patient.code, Patient.full_name, Doctor.title, Doctor.full_name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .where(Appointment.start_at >= start, Appointment.start_at < end)
        .order_by(Appointment.start_at, Appointment.id))).all()
    ids = [a.id for a, *__ in rows]
    services: dict[int, list[tuple[str, int]]] = {}
    bills: dict[int, list[tuple[str, int, str]]] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for appointment_id, name, price in (await session.exec(
                select(AppointmentService.appointment_id, Service.name, Service.price)
                .join(Service, Service.id == AppointmentService.service_id)
                .where(AppointmentService.appointment_id.in_(chunk)).order_by(Service.name))).all():
            services.setdefault(appointment_id, []).append((name, price))
        for appointment_id, number, total, status in (await session.exec(
                select(Visit.appointment_id, Invoice.number, Invoice.total, Invoice.status)
                .join(Invoice, Invoice.visit_id == Visit.id)
                .where(Visit.appointment_id.in_(chunk)).order_by(Invoice.id))).all():
            bills.setdefault(appointment_id, []).append((number, total, status.value))
    out = []
    for appointment, code, name, title, doctor in rows:
        local_start = appointment.start_at.astimezone(tz)
        local_end = appointment.end_at.astimezone(tz)
        booked = services.get(appointment.id, [])
        live = [b for b in bills.get(appointment.id, []) if b[2] != 'void']
        out.append([appointment.id, local_start.date().isoformat(), local_start.strftime('%H:%M'),
                    local_end.strftime('%H:%M'), code, name, f'{title} {doctor}'.strip(),
                    '; '.join(n for n, __ in booked), major_units(sum(p for __, p in booked), exponent), currency,
                    appointment.status.value, appointment.source.value, appointment.reason,
                    '; '.join(b[0] for b in live), major_units(sum(b[1] for b in live), exponent) if live else '',
                    '; '.join(b[2] for b in live)])
    return csv_bytes(['appointment_id', 'date', 'start', 'end', 'patient_code', 'patient_name', 'doctor', 'services',
                 'services_price', 'currency', 'status', 'booked_via', 'reason', 'invoices', 'billed_total',
                 'invoice_status'], out)


def default_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=6), today
