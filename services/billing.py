"""Billing: one itemized invoice per visit, discounts, vouchers, insurance share, payments, refunds and voids.

Rules (what the cashier can rely on):

- **Consolidation.** ``bill_visit`` puts everything billable of a visit on an invoice: the appointment's services
  at the price list (the consultation fee), completed service orders at their ordered price, dispensed medicines
  at quantity x unit price. Each service order and dispensed item is billed once among invoices that are not void
  (partial unique indexes in the database); an appointment service is billed once per visit (checked here, under
  the visit's lock), and not at all when the doctor also ordered it as a service order (then the order is billed,
  once it is completed). Items that appear later (a lab test done after the first bill) go on the visit's open
  invoice while that one is untouched (nothing paid, no discount, no insurance), otherwise on a new invoice.
- **Money** is an integer in the currency's minor units. A percentage is applied exactly (fractions) and rounded
  half-up to the minor unit (VND: to the whole dong): 10% of 15,005 is 1,500.5, billed as 1,501.
- **Adjustments.** One discount per bill: a manual one (percent or amount, with a reason; above
  ``discount_approval_percent`` of the subtotal only an administrator may approve it) *or* a voucher (one of its
  uses; on the lines of its services when it names some; the cashier is told why one is refused).
  The insurer's share (percent or amount, insurer and policy number required) applies to what is left after the
  discount. ``total = subtotal - discount - insurance`` is never negative. Adjustments change only while nothing
  is paid on the bill.
- **Payments** by cash (tendered and change), card, bank transfer or e-wallet, split across methods in one go
  (one receipt number; the extra tenders get ``-2``, ``-3``). Partial payments leave a balance. The amount paid
  never exceeds the total: checked under a lock per invoice (PostgreSQL advisory lock, SQLite's serialized
  writers) and by the database CHECK. Paying in full marks the invoice paid and moves the visit on
  (``visit_path``): it closes when nothing else of it is open or unbilled.
- **Deferring** a payment (cashier, with a reason, audited) lets the visit close unpaid: what is owed stays on its
  bill and can be paid later.
- **Refunds** return money of one payment (up to what is left of it), by its method, with a reason; they do not
  reopen the bill: ``amount_paid`` counts money received, refunds are rows of their own (net = paid - refunded).
- **Voids** need a reason and that nothing stays paid (refund first). The invoice turns VOID, its items ``is_void``
  (so what they billed can be billed again), a voucher on it is released, the visit waits for payment again.
- Nothing is ever deleted; every change is in the audit log.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AppointmentService,
    Dispense,
    DispenseItem,
    Doctor,
    Invoice,
    InvoiceItem,
    InvoiceItemKind,
    InvoiceStatus,
    Medicine,
    OrderStatus,
    Patient,
    Payment,
    PaymentKind,
    PaymentMethod,
    Role,
    Service,
    ServiceKind,
    ServiceOrder,
    StockBatch,
    User,
    Visit,
    VisitStatus,
    Voucher,
    VoucherService,
    VoucherUse,
)
from models.types import utcnow

from . import audit, cashier_close, visit_path
from .access import Actor, require
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from .core.events import BillingChanged, VisitChanged, publish
from .core.i18n import N_, _, day, pick
from .core.money import MAX_AMOUNT, format_money
from .core.settings import get_settings
from .sequences import next_value

OPEN_STATUSES = (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID)
CASHIER_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER, PaymentMethod.E_WALLET)
METHOD_LABELS = {PaymentMethod.CASH: N_('Cash'), PaymentMethod.CARD: N_('Card'),  # in English: show as _(label)
                 PaymentMethod.BANK_TRANSFER: N_('Bank transfer'), PaymentMethod.E_WALLET: N_('E-wallet'),
                 PaymentMethod.INSURANCE: N_('Insurance')}


# --- Exact arithmetic ---------------------------------------------------------------------------------------

def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact value to the nearest minor unit, halves up."""
    return math.floor(value + Fraction(1, 2))


def percent_of(base: int, percent: Decimal) -> int:
    """``percent`` % of ``base`` minor units, exact, rounded half-up."""
    return round_half_up(Fraction(base) * Fraction(percent) / 100)


@dataclass(frozen=True)
class Share:
    """A part of an amount: a percentage or a fixed amount (minor units), never more than the amount itself."""
    percent: Decimal | None = None
    amount: int | None = None

    def of(self, base: int) -> int:
        if self.percent is not None:
            return min(base, percent_of(base, self.percent))
        return min(base, self.amount or 0)


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount: int
    insurance: int
    total: int


def compute_totals(line_totals: list[int], *, discount: Share | None = None,
                   insurance: Share | None = None) -> Totals:
    """The bill's figures: discount on the subtotal, the insurer's share of what is left, the patient pays the rest."""
    subtotal = sum(line_totals)
    discount_amount = discount.of(subtotal) if discount else 0
    insurance_amount = insurance.of(subtotal - discount_amount) if insurance else 0
    return Totals(subtotal, discount_amount, insurance_amount, subtotal - discount_amount - insurance_amount)


def parse_percent(text: str) -> Decimal:
    """A percentage between 0 (exclusive) and 100, at most two decimals: ``'12.5'`` or ``'12,5'``."""
    try:
        value = Decimal((text or '').strip().rstrip('%').strip().replace(',', '.'))
    except InvalidOperation as e:
        raise ValidationError(_('"{text}" is not a percentage.').format(text=text)) from e
    if not value.is_finite() or value <= 0 or value > 100:
        raise ValidationError(_('The percentage must be more than 0 and at most 100.'))
    if value != value.quantize(Decimal('0.01')):
        raise ValidationError(_('Please use at most two decimals in the percentage.'))
    return value


# --- Reading -------------------------------------------------------------------------------------------------

def _live_item():
    return sa.not_(InvoiceItem.is_void)


def _unbilled_orders_query(visit_ids):
    billed = select(InvoiceItem.id).where(InvoiceItem.service_order_id == ServiceOrder.id, _live_item())
    return (select(ServiceOrder).where(ServiceOrder.visit_id.in_(visit_ids),
                                       ServiceOrder.status == OrderStatus.COMPLETED, ~billed.exists())
            .order_by(ServiceOrder.completed_at, ServiceOrder.id))


def _unbilled_dispensed_query(visit_ids):
    billed = select(InvoiceItem.id).where(InvoiceItem.dispense_item_id == DispenseItem.id, _live_item())
    return (select(DispenseItem, Dispense.visit_id).join(Dispense, Dispense.id == DispenseItem.dispense_id)
            .where(Dispense.visit_id.in_(visit_ids), ~billed.exists())
            .order_by(Dispense.at, DispenseItem.id))


@dataclass(frozen=True)
class Billable:
    kind: InvoiceItemKind
    description: str
    quantity: int
    unit_price: int
    service_id: int | None = None
    service_order_id: int | None = None
    dispense_item_id: int | None = None


async def unbilled(session: AsyncSession, visit: Visit) -> list[Billable]:
    """What of ``visit`` is billable and not yet on a live invoice line, in the order it happened."""
    items: list[Billable] = []
    ordered = set((await session.exec(select(ServiceOrder.service_id).where(
        ServiceOrder.visit_id == visit.id, ServiceOrder.status != OrderStatus.CANCELLED))).all())
    if visit.appointment_id is not None:
        billed = set((await session.exec(
            select(InvoiceItem.service_id).join(Invoice, Invoice.id == InvoiceItem.invoice_id)
            .where(Invoice.visit_id == visit.id, _live_item(), InvoiceItem.service_order_id.is_(None),
                   InvoiceItem.dispense_item_id.is_(None), InvoiceItem.service_id.is_not(None)))).all())
        services = (await session.exec(
            select(Service).join(AppointmentService, AppointmentService.service_id == Service.id)
            .where(AppointmentService.appointment_id == visit.appointment_id)
            .order_by(Service.kind != ServiceKind.CONSULTATION, Service.name))).all()
        for service in services:
            if service.id in billed or service.id in ordered:
                continue
            kind = InvoiceItemKind.CONSULTATION if service.kind == ServiceKind.CONSULTATION else InvoiceItemKind.SERVICE
            items.append(Billable(kind, service.name, 1, service.price, service_id=service.id))
    orders = (await session.exec(_unbilled_orders_query([visit.id]))).all()
    names = {s.id: s for s in (await session.exec(select(Service).where(
        Service.id.in_([o.service_id for o in orders])))).all()} if orders else {}
    for order in orders:
        service = names[order.service_id]
        kind = InvoiceItemKind.CONSULTATION if service.kind == ServiceKind.CONSULTATION else InvoiceItemKind.SERVICE
        items.append(Billable(kind, service.name, 1, order.price, service_id=service.id, service_order_id=order.id))
    dispensed = (await session.exec(_unbilled_dispensed_query([visit.id]))).all()
    medicines = {m.id: m for m in (await session.exec(select(Medicine).where(
        Medicine.id.in_([d.medicine_id for d, __ in dispensed])))).all()} if dispensed else {}
    for item, _visit_id in dispensed:
        medicine = medicines[item.medicine_id]
        description = medicine.name
        if medicine.strength and medicine.strength.lower() not in medicine.name.lower():
            description = f'{description} {medicine.strength}'
        items.append(Billable(InvoiceItemKind.MEDICINE, f'{description} ({medicine.unit})'[:200], item.quantity,
                              item.unit_price, dispense_item_id=item.id))
    return items


# --- The cashier's queue ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    visit_id: int
    visit_date: date
    checked_in_at: datetime
    patient_id: int
    patient_code: str
    patient_name: str
    doctor: str
    visit_status: VisitStatus
    invoices: str  # numbers of the open invoices
    balance: int   # still to pay on open invoices
    unbilled: bool  # something is not on a bill yet


@query
async def cashier_queue(session: AsyncSession, actor: Actor, *, today: date, limit: int = 300) -> list[QueueRow]:
    """Visits to settle: waiting for payment, with an open invoice, or (today) with something done and not billed."""
    require(actor, Role.CASHIER)
    open_invoice = select(Invoice.id).where(Invoice.visit_id == Visit.id, Invoice.status.in_(OPEN_STATUSES))
    order_unbilled = select(ServiceOrder.id).where(
        ServiceOrder.visit_id == Visit.id, ServiceOrder.status == OrderStatus.COMPLETED,
        ~select(InvoiceItem.id).where(InvoiceItem.service_order_id == ServiceOrder.id, _live_item()).exists())
    dispense_unbilled = select(DispenseItem.id).join(Dispense, Dispense.id == DispenseItem.dispense_id).where(
        Dispense.visit_id == Visit.id,
        ~select(InvoiceItem.id).where(InvoiceItem.dispense_item_id == DispenseItem.id, _live_item()).exists())
    query = (select(Visit, Patient.code, Patient.full_name, Doctor.full_name)
             .join(Patient, Patient.id == Visit.patient_id)
             .join(Doctor, Doctor.id == Visit.doctor_id, isouter=True)
             .where(Visit.status != VisitStatus.CANCELLED,
                    sa.or_(Visit.status == VisitStatus.AWAITING_PAYMENT, open_invoice.exists(),
                           sa.and_(Visit.visit_date == today,
                                   sa.or_(order_unbilled.exists(), dispense_unbilled.exists()))))
             .order_by(Visit.visit_date, Visit.checked_in_at).limit(limit))
    rows = (await session.exec(query)).all()
    visit_ids = [visit.id for visit, *__ in rows]
    invoices: dict[int, list[Invoice]] = {}
    if visit_ids:
        for invoice in (await session.exec(select(Invoice).where(Invoice.visit_id.in_(visit_ids),
                                                                 Invoice.status.in_(OPEN_STATUSES))
                                           .order_by(Invoice.id))).all():
            invoices.setdefault(invoice.visit_id, []).append(invoice)
    pending = set()
    if visit_ids:
        pending |= {o.visit_id for o in (await session.exec(_unbilled_orders_query(visit_ids))).all()}
        pending |= {v for __, v in (await session.exec(_unbilled_dispensed_query(visit_ids))).all()}
    result = []
    for visit, code, name, doctor in rows:
        open_ones = invoices.get(visit.id, [])
        result.append(QueueRow(
            visit_id=visit.id, visit_date=visit.visit_date, checked_in_at=visit.checked_in_at, patient_id=visit.patient_id,
            patient_code=code, patient_name=name, doctor=doctor or '', visit_status=visit.status,
            invoices=', '.join(i.number for i in open_ones), balance=sum(i.total - i.amount_paid for i in open_ones),
            unbilled=visit.id in pending or not open_ones))
    return result


# --- Building the bill -----------------------------------------------------------------------------------------

async def _visit(session: AsyncSession, visit_id: int) -> Visit:
    await serialize(session, f'billing:visit:{visit_id}')
    visit = (await session.exec(select(Visit).where(Visit.id == visit_id).with_for_update()
                                .execution_options(populate_existing=True))).first()
    if visit is None:
        raise NotFound(_('This visit does not exist.'))
    return visit


async def _locked_invoice(session: AsyncSession, invoice_id: int) -> Invoice:
    """The invoice, locked for this transaction: visit first, then the invoice (always in this order)."""
    visit_id = (await session.exec(select(Invoice.visit_id).where(Invoice.id == invoice_id))).first()
    if visit_id is None and (await session.get(Invoice, invoice_id)) is None:
        raise NotFound(_('This invoice does not exist.'))
    if visit_id is not None:
        await serialize(session, f'billing:visit:{visit_id}')
    await serialize(session, f'billing:invoice:{invoice_id}')
    invoice = (await session.exec(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                                  .execution_options(populate_existing=True))).one()
    return invoice


async def _new_invoice_number(session: AsyncSession, now: datetime) -> str:
    return f'INV-{now.year}-{await next_value(session, "invoice"):06d}'


def _has_adjustments(invoice: Invoice) -> bool:
    return bool(invoice.discount_amount or invoice.insurance_amount or invoice.voucher_code)


def _announce(session: AsyncSession, invoice: Invoice, action: str) -> None:
    publish(session, BillingChanged(invoice_id=invoice.id, visit_id=invoice.visit_id, action=action))


async def _recalculate(session: AsyncSession, invoice: Invoice) -> None:
    """Subtotal from the live lines; adjustments kept (the caller checks they still fit)."""
    lines = (await session.exec(select(InvoiceItem.line_total).where(InvoiceItem.invoice_id == invoice.id,
                                                                     _live_item()))).all()
    invoice.subtotal = sum(lines)
    invoice.total = invoice.subtotal - invoice.discount_amount - invoice.insurance_amount


@action
async def bill_visit(session: AsyncSession, actor: Actor, visit_id: int, *, now: datetime | None = None) -> int:
    """Put everything billable of the visit on an invoice; returns the invoice to show (the one billed, or the
    visit's open / latest invoice when there was nothing new). Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    visit = await _visit(session, visit_id)
    if visit.status == VisitStatus.CANCELLED:
        raise Conflict(_('This visit was cancelled: there is nothing to bill.'))
    items = await unbilled(session, visit)
    invoices = (await session.exec(select(Invoice).where(Invoice.visit_id == visit.id)
                                   .order_by(Invoice.id.desc()))).all()
    if not items:
        shown = next((i for i in invoices if i.status in OPEN_STATUSES), None) or next(
            (i for i in invoices if i.status != InvoiceStatus.VOID), None)
        if shown is None:
            raise Conflict(_('Nothing of this visit is billable yet (no consultation, service or medicine).'))
        return shown.id
    target = next((i for i in invoices if i.status == InvoiceStatus.UNPAID and i.amount_paid == 0
                   and not _has_adjustments(i)), None)
    if target is None:
        target = Invoice(number=await _new_invoice_number(session, now), patient_id=visit.patient_id,
                         visit_id=visit.id, created_by_id=actor.user_id, created_at=now, updated_at=now)
        session.add(target)
        await session.flush()
        action = 'invoice_created'
    else:
        await serialize(session, f'billing:invoice:{target.id}')
        action = 'invoice_extended'
    for item in items:
        session.add(InvoiceItem(invoice_id=target.id, kind=item.kind, description=item.description,
                                service_order_id=item.service_order_id, dispense_item_id=item.dispense_item_id,
                                service_id=item.service_id, quantity=item.quantity, unit_price=item.unit_price,
                                line_total=item.quantity * item.unit_price))
    await session.flush()
    await _recalculate(session, target)
    target.updated_at = now
    session.add(target)
    if visit.status == VisitStatus.PAID:  # something new to pay
        visit.status = VisitStatus.AWAITING_PAYMENT
        session.add(visit)
        publish(session, VisitChanged(visit_id=visit.id, status=visit.status.value))
    audit.record(session, actor, action, entity='invoice', entity_id=target.id,
                 detail=f'{target.number}: {len(items)} line(s), subtotal {target.subtotal}')
    _announce(session, target, action)
    return target.id


# --- Adjustments -------------------------------------------------------------------------------------------------

def _money(amount: int) -> str:
    settings = get_settings()
    return format_money(amount, settings.currency, settings.currency_exponent)


def _check_adjustable(invoice: Invoice) -> None:
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_('{number} is void.').format(number=invoice.number))
    if invoice.amount_paid > 0 or invoice.status != InvoiceStatus.UNPAID:
        raise Conflict(_('Money has been taken on {number}: its discount and insurance can no '
                         'longer change. Refund and void it to correct the bill.').format(number=invoice.number))


def _check_share(percent: Decimal | None, amount: int | None, what: str) -> Share | None:
    """``what``: 'discount' or 'insurance' (each has its own sentences, for the translations)."""
    discount = what == 'discount'
    if percent is not None and amount is not None:
        raise ValidationError(_('Give the discount as a percentage or as an amount, not both.') if discount else
                              _('Give the insurance as a percentage or as an amount, not both.'))
    if percent is not None:
        if percent <= 0 or percent > 100:
            raise ValidationError(_('The discount percentage must be more than 0 and at most 100.') if discount else
                                  _('The insurance percentage must be more than 0 and at most 100.'))
        return Share(percent=Decimal(percent))
    if amount:
        if amount < 0 or amount > MAX_AMOUNT:
            raise ValidationError(_('The discount amount is not valid.') if discount else
                                  _('The insurance amount is not valid.'))
        return Share(amount=amount)
    return None


async def _release_voucher(session: AsyncSession, invoice: Invoice, now: datetime | None = None) -> None:
    """Take the voucher off the bill: its use there is given back (one more use left on the voucher)."""
    if invoice.voucher_code:
        await serialize(session, f'billing:voucher:{invoice.voucher_code}')
        use = (await session.exec(select(VoucherUse).join(Voucher, Voucher.id == VoucherUse.voucher_id).where(
            Voucher.code == invoice.voucher_code, VoucherUse.invoice_id == invoice.id,
            VoucherUse.released_at.is_(None)))).first()
        if use is not None:
            use.released_at = now or utcnow()
            session.add(use)
            await session.exec(sa.update(Voucher).where(Voucher.id == use.voucher_id, Voucher.uses > 0)
                               .values(uses=Voucher.uses - 1))
        invoice.voucher_code = None
        await session.flush()


def _set_figures(invoice: Invoice, discount: int, insurance: int) -> None:
    invoice.discount_amount = discount
    invoice.insurance_amount = insurance
    invoice.total = invoice.subtotal - discount - insurance


def _remaining_insurance(invoice: Invoice, discount: int) -> int:
    """The insurer's share kept as an amount, but never more than what is left after a new discount."""
    return min(invoice.insurance_amount, invoice.subtotal - discount)


@action
async def set_discount(session: AsyncSession, actor: Actor, invoice_id: int, *, percent: Decimal | None = None,
                       amount: int | None = None, reason: str = '', approver: Actor | None = None,
                       approval_percent: int | None = None, now: datetime | None = None) -> Invoice:
    """Set (or with neither percent nor amount, remove) the manual discount. Replaces a voucher. Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    share = _check_share(percent, amount, 'discount')
    reason = ' '.join((reason or '').split())
    if share is not None and not reason:
        raise ValidationError(_('Please give the reason for the discount.'), 'reason')
    if len(reason) > 250:
        raise ValidationError(_('The reason can have at most 250 characters.'), 'reason')
    invoice = await _locked_invoice(session, invoice_id)
    _check_adjustable(invoice)
    if share is not None and share.amount is not None and share.amount > invoice.subtotal:
        raise ValidationError(_('The discount is larger than the bill.'), 'amount')
    discount = share.of(invoice.subtotal) if share else 0
    if approval_percent is None:
        approval_percent = get_settings().discount_approval_percent
    approved_by = None
    above_limit = (share.percent > approval_percent if share and share.percent is not None
                   else discount * 100 > approval_percent * invoice.subtotal)
    if discount and above_limit:
        approved_by = actor if actor.is_admin else approver
        if approved_by is None or not approved_by.is_admin:
            raise PermissionDenied(_('A discount above {approval_percent}% of the bill needs an '
                                     "administrator's approval.").format(approval_percent=approval_percent))
    await _release_voucher(session, invoice)
    if share is not None and share.percent is not None:
        reason = f'{reason} ({share.percent.normalize():f}%)'
    _set_figures(invoice, discount, _remaining_insurance(invoice, discount))
    invoice.discount_reason = reason if discount else ''
    invoice.discount_approved_by_id = (approved_by.user_id if approved_by else None) if discount else None
    invoice.updated_at = now
    session.add(invoice)
    detail = f'{invoice.number}: discount {discount}' + (f' ({reason})' if discount else ' removed')
    if approved_by is not None:
        detail += f', approved by {approved_by.username}'
    audit.record(session, actor, 'discount', entity='invoice', entity_id=invoice.id, detail=detail)
    _announce(session, invoice, 'discount')
    return invoice


def voucher_discount(lines: list[tuple[int | None, int]], service_ids: set[int] | frozenset[int], *,
                     percent_off: int | None = None, amount_off: int | None = None) -> int:
    """The discount a voucher gives on a bill's ``lines`` (service id, line total): a percentage (rounded as
    ``percent_of``) or an amount, of the lines of its services (all lines when it names none), never more than
    those lines."""
    base = sum(total for service_id, total in lines if not service_ids or service_id in service_ids)
    share = Share(percent=Decimal(percent_off)) if percent_off else Share(amount=amount_off)
    return share.of(base)


def _check_voucher(voucher: Voucher | None, code: str, invoice: Invoice, today: date) -> None:
    """Refuse a voucher the bill cannot use, saying why."""
    if voucher is None:
        raise NotFound(_('There is no voucher {code}. Please check the code.').format(code=code))
    if not voucher.is_active:
        raise Conflict(_('Voucher {code} has been deactivated.').format(code=voucher.code))
    if voucher.valid_from is not None and today < voucher.valid_from:
        raise Conflict(_('Voucher {code} is valid only from {date}.').format(code=voucher.code,
                                                                              date=day(voucher.valid_from, 'short')))
    if voucher.valid_until is not None and voucher.valid_until < today:
        raise Conflict(_('Voucher {code} expired on {date}.').format(code=voucher.code,
                                                                    date=day(voucher.valid_until, 'short')))
    if invoice.voucher_code == voucher.code:
        raise Conflict(_('Voucher {code} is already used on this bill.').format(code=voucher.code))
    if voucher.uses >= voucher.max_uses:
        raise Conflict(_('All uses of voucher {code} are taken ({used} of {count}).').format(
            code=voucher.code, used=voucher.uses, count=voucher.max_uses))


@action
async def apply_voucher(session: AsyncSession, actor: Actor, invoice_id: int, code: str, *, today: date,
                        now: datetime | None = None) -> Invoice:
    """Use a voucher as the bill's discount (replaces a manual discount or another voucher): one of its uses, on the
    lines of its services (the whole bill when it names none). Refused with the reason when it cannot be used.
    Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    code = (code or '').strip().upper()
    if not code:
        raise ValidationError(_('Please enter the voucher code.'), 'voucher')
    if len(code) > 40:
        raise NotFound(_('There is no voucher {code}. Please check the code.').format(code=code[:40] + '…'))
    invoice = await _locked_invoice(session, invoice_id)
    _check_adjustable(invoice)
    for key in sorted({code, invoice.voucher_code or code}):  # the old voucher is given back: both, in order
        await serialize(session, f'billing:voucher:{key}')
    voucher = (await session.exec(select(Voucher).where(Voucher.code == code).with_for_update()
                                  .execution_options(populate_existing=True))).first()
    _check_voucher(voucher, code, invoice, today)
    services = (await session.exec(select(Service.id, Service.name, Service.name_translations)
                                   .join(VoucherService, VoucherService.service_id == Service.id)
                                   .where(VoucherService.voucher_id == voucher.id).order_by(Service.name))).all()
    service_ids = {service_id for service_id, __, __ in services}
    lines = (await session.exec(select(InvoiceItem.service_id, InvoiceItem.line_total)
                                .where(InvoiceItem.invoice_id == invoice.id, _live_item()))).all()
    if service_ids and not any(service_id in service_ids for service_id, __ in lines):
        raise Conflict(_('Voucher {code} applies only to {services}: none of them is on this bill.').format(
            code=voucher.code, services=', '.join(pick(name, names) for __, name, names in services)))
    if invoice.voucher_code:
        await _release_voucher(session, invoice, now)
    taken = await session.exec(sa.update(Voucher).where(Voucher.id == voucher.id, Voucher.uses < Voucher.max_uses)
                               .values(uses=Voucher.uses + 1))
    if taken.rowcount != 1:  # only if the lock above did not hold: the database's count decides
        raise Conflict(_('All uses of voucher {code} are taken ({used} of {count}).').format(
            code=voucher.code, used=voucher.max_uses, count=voucher.max_uses))
    discount = voucher_discount(list(lines), service_ids, percent_off=voucher.percent_off,
                                amount_off=voucher.amount_off)
    use = (await session.exec(select(VoucherUse).where(VoucherUse.voucher_id == voucher.id,
                                                       VoucherUse.invoice_id == invoice.id))).first()
    use = use or VoucherUse(voucher_id=voucher.id, invoice_id=invoice.id)
    use.discount, use.used_at, use.used_by_id, use.released_at = discount, now, actor.user_id, None
    _set_figures(invoice, discount, _remaining_insurance(invoice, discount))
    invoice.voucher_code = voucher.code
    label = f'{voucher.percent_off}%' if voucher.percent_off else f'{voucher.amount_off}'
    invoice.discount_reason = f'Voucher {voucher.code} ({label})'[:300]
    invoice.discount_approved_by_id = None
    invoice.updated_at = now
    session.add_all([invoice, use])
    audit.record(session, actor, 'voucher', entity='invoice', entity_id=invoice.id,
                 detail=f'{invoice.number}: voucher {voucher.code}, discount {discount}')
    _announce(session, invoice, 'voucher')
    return invoice


@action
async def set_insurance(session: AsyncSession, actor: Actor, invoice_id: int, *, percent: Decimal | None = None,
                        amount: int | None = None, insurer: str = '', policy_no: str = '',
                        now: datetime | None = None) -> Invoice:
    """Set (or with neither percent nor amount, remove) the insurer's share of what is left after the discount."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    share = _check_share(percent, amount, 'insurance')
    insurer = ' '.join((insurer or '').split())
    policy_no = (policy_no or '').strip()
    if share is not None:
        if not insurer:
            raise ValidationError(_('Please enter the insurer.'), 'insurer')
        if not policy_no:
            raise ValidationError(_('Please enter the policy number.'), 'policy')
        if len(insurer) > 120 or len(policy_no) > 60:
            raise ValidationError(_('The insurer (120) or policy number (60 characters) is too long.'))
    invoice = await _locked_invoice(session, invoice_id)
    _check_adjustable(invoice)
    base = invoice.subtotal - invoice.discount_amount
    if share is not None and share.amount is not None and share.amount > base:
        raise ValidationError(_('The insurance share is larger than what is left to pay.'), 'amount')
    insurance = share.of(base) if share else 0
    _set_figures(invoice, invoice.discount_amount, insurance)
    invoice.insurer, invoice.insurance_policy_no = (insurer, policy_no) if insurance else ('', '')
    invoice.updated_at = now
    session.add(invoice)
    audit.record(session, actor, 'insurance', entity='invoice', entity_id=invoice.id,
                 detail=f'{invoice.number}: insurance {insurance}' + (f' ({insurer}, {policy_no})' if insurance else ''))
    _announce(session, invoice, 'insurance')
    return invoice


# --- Payments ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tender:
    method: PaymentMethod
    amount: int
    tendered: int | None = None  # cash handed over (cash only)
    reference: str = ''


@dataclass(frozen=True)
class PaymentResult:
    receipt_number: str | None
    invoice_id: int
    paid_now: int
    change_due: int
    balance: int
    status: InvoiceStatus
    visit_paid: bool


def receipt_number_text(value: int) -> str:
    return f'R-{value:06d}'


async def next_receipt_number(session: AsyncSession) -> str:
    """The next receipt number (gap-free: taken in the caller's transaction)."""
    return receipt_number_text(await next_value(session, 'receipt'))


def _check_tenders(tenders: list[Tender]) -> list[Tender]:
    checked = []
    for tender in tenders:
        method = PaymentMethod(tender.method)
        label = METHOD_LABELS[method]
        if method not in CASHIER_METHODS:
            raise ValidationError(_('Insurance is entered as the insurer\'s share of the bill, not as a payment.'))
        if not isinstance(tender.amount, int) or tender.amount <= 0 or tender.amount > MAX_AMOUNT:
            raise ValidationError(_('The amount for {method} must be more than 0.').format(method=_(label).lower()))
        tendered = tender.tendered
        if method == PaymentMethod.CASH:
            if tendered is not None and tendered < tender.amount:
                raise ValidationError(_('The cash handed over is less than the cash amount.'))
        elif tendered is not None:
            raise ValidationError(_('Only cash has an amount handed over.'))
        reference = ' '.join((tender.reference or '').split())
        if len(reference) > 80:
            raise ValidationError(_('A reference can have at most 80 characters.'))
        if method == PaymentMethod.BANK_TRANSFER and not reference:
            # How the transfer is found again on the bank statement (its transaction code or its note).
            raise ValidationError(_('Please enter the reference of the bank transfer (its transaction code or '
                                    'note).'), 'reference')
        checked.append(Tender(method, tender.amount, tendered, reference))
    return checked


@action
async def pay(session: AsyncSession, actor: Actor, invoice_id: int, tenders: list[Tender], *,
              now: datetime | None = None) -> PaymentResult:
    """Take one payment, possibly split across methods, under one receipt number. Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    tenders = _check_tenders(tenders)
    if tenders:
        await cashier_close.ensure_open(session, actor, now)
    invoice = await _locked_invoice(session, invoice_id)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_('{number} is void: it cannot be paid.').format(number=invoice.number))
    balance = invoice.total - invoice.amount_paid
    if invoice.status == InvoiceStatus.PAID or (balance == 0 and invoice.total > 0):
        raise Conflict(_('{number} is already paid in full.').format(number=invoice.number))
    paying = sum(t.amount for t in tenders)
    if not tenders and invoice.total > 0:
        raise ValidationError(_('Please enter the amount paid.'))
    if paying > balance:
        raise Conflict(_('The balance of {number} is {balance}: it cannot take {paying}. (If someone else took a '
                         'payment meanwhile, the screen now shows it.)').format(
            number=invoice.number, balance=_money(balance), paying=_money(paying)))
    number = await next_receipt_number(session) if tenders else None
    change = 0
    for index, tender in enumerate(tenders, start=1):
        tender_change = (tender.tendered - tender.amount) if tender.tendered is not None else 0
        change += tender_change
        session.add(Payment(invoice_id=invoice.id, kind=PaymentKind.PAYMENT, method=tender.method,
                            amount=tender.amount, tendered=tender.tendered, change_due=tender_change,
                            reference=tender.reference, receipt_number=number if index == 1 else f'{number}-{index}',
                            cashier_id=actor.user_id, received_at=now))
    invoice.amount_paid += paying
    invoice.status = InvoiceStatus.PAID if invoice.amount_paid == invoice.total else InvoiceStatus.PARTIALLY_PAID
    invoice.updated_at = now
    session.add(invoice)
    await session.flush()
    visit_paid = False
    if invoice.status == InvoiceStatus.PAID and invoice.visit_id is not None:
        visit = await session.get(Visit, invoice.visit_id)
        await visit_path.advance(session, actor, visit, now=now)
        visit_paid = visit.status == VisitStatus.CLOSED  # nothing else of it open: the visit is done
    methods = ', '.join(f'{t.method.value} {t.amount}' for t in tenders) or 'nothing to pay'
    audit.record(session, actor, 'payment', entity='invoice', entity_id=invoice.id,
                 detail=f'{invoice.number} {number or ""}: {methods}; paid {invoice.amount_paid} of {invoice.total}')
    _announce(session, invoice, 'payment')
    return PaymentResult(number, invoice.id, paying, change, invoice.total - invoice.amount_paid, invoice.status,
                         visit_paid)


@action
async def defer_payment(session: AsyncSession, actor: Actor, visit_id: int, reason: str, *,
                        now: datetime | None = None) -> Visit:
    """The patient pays later (no money today, insurer to confirm, ...): the visit may close unpaid; what is owed
    stays on its bill. Cashiers and administrators, with a reason; audited."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    reason = ' '.join((reason or '').split())
    if len(reason) < 3:
        raise ValidationError(_('Please say why the payment is deferred (a few words).'), 'reason')
    if len(reason) > 300:
        raise ValidationError(_('The reason can have at most 300 characters.'), 'reason')
    visit = await _visit(session, visit_id)
    if visit.status in (VisitStatus.CLOSED, VisitStatus.CANCELLED):
        raise Conflict(_('This visit is already closed: there is nothing to defer.')
                       if visit.status == VisitStatus.CLOSED else
                       _('This visit is already cancelled: there is nothing to defer.'))
    if visit.payment_deferred_at is not None:
        raise Conflict(_('The payment of this visit is already deferred.'))
    visit.payment_deferred_at = now
    visit.payment_deferred_reason = reason
    session.add(visit)
    audit.record(session, actor, 'payment_deferred', entity='visit', entity_id=visit.id, detail=reason)
    await visit_path.advance(session, actor, visit, now=now)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    publish(session, BillingChanged(visit_id=visit.id, action='deferred'))
    return visit


async def refunded_amounts(session: AsyncSession, payment_ids: list[int]) -> dict[int, int]:
    if not payment_ids:
        return {}
    rows = await session.exec(select(Payment.refund_of_id, func.sum(Payment.amount))
                              .where(Payment.refund_of_id.in_(payment_ids), Payment.kind == PaymentKind.REFUND)
                              .group_by(Payment.refund_of_id))
    return {payment_id: int(total) for payment_id, total in rows.all()}


@action
async def refund(session: AsyncSession, actor: Actor, payment_id: int, amount: int, reason: str, *,
                 now: datetime | None = None) -> str:
    """Give back (part of) one payment, by its method, with a reason. Returns the refund's receipt number."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    reason = ' '.join((reason or '').split())
    if not reason:
        raise ValidationError(_('Please give the reason for the refund.'), 'reason')
    if len(reason) > 300:
        raise ValidationError(_('The reason can have at most 300 characters.'), 'reason')
    if not isinstance(amount, int) or amount <= 0:
        raise ValidationError(_('The refund must be more than 0.'), 'amount')
    original = await session.get(Payment, payment_id)
    if original is None:
        raise NotFound(_('This payment does not exist.'))
    if original.kind != PaymentKind.PAYMENT:
        raise ValidationError(_('A refund cannot be refunded.'))
    await cashier_close.ensure_open(session, actor, now)
    invoice = await _locked_invoice(session, original.invoice_id)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_('{number} is void.').format(number=invoice.number))
    left = original.amount - (await refunded_amounts(session, [original.id])).get(original.id, 0)
    if amount > left:
        raise Conflict(_('Only {left} of receipt {receipt_number} can still be refunded.').format(
            left=_money(left), receipt_number=original.receipt_number))
    number = await next_receipt_number(session)
    session.add(Payment(invoice_id=invoice.id, kind=PaymentKind.REFUND, method=original.method, amount=amount,
                        reason=reason, receipt_number=number, refund_of_id=original.id, cashier_id=actor.user_id,
                        received_at=now))
    invoice.updated_at = now
    session.add(invoice)
    audit.record(session, actor, 'refund', entity='invoice', entity_id=invoice.id,
                 detail=f'{invoice.number} {number}: {amount} of {original.receipt_number} ({original.method.value}); '
                        f'reason: {reason}')
    _announce(session, invoice, 'refund')
    return number


async def net_paid(session: AsyncSession, invoice_id: int) -> int:
    """Money received on the invoice minus money given back."""
    rows = (await session.exec(select(Payment.kind, func.sum(Payment.amount)).where(Payment.invoice_id == invoice_id)
                               .group_by(Payment.kind))).all()
    sums = {PaymentKind(kind): int(total) for kind, total in rows}
    return sums.get(PaymentKind.PAYMENT, 0) - sums.get(PaymentKind.REFUND, 0)


@action
async def void(session: AsyncSession, actor: Actor, invoice_id: int, reason: str, *,
               now: datetime | None = None) -> Invoice:
    """Cancel a bill (nothing may stay paid on it): its lines can be billed again. Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    reason = ' '.join((reason or '').split())
    if not reason:
        raise ValidationError(_('Please give the reason for voiding the bill.'), 'reason')
    if len(reason) > 300:
        raise ValidationError(_('The reason can have at most 300 characters.'), 'reason')
    invoice = await _locked_invoice(session, invoice_id)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_('{number} is already void.').format(number=invoice.number))
    held = await net_paid(session, invoice.id)
    if held > 0:
        raise Conflict(_('{held} is still paid on {number}: refund it before voiding the bill.').format(
            held=_money(held), number=invoice.number))
    await _release_voucher(session, invoice)
    items = (await session.exec(select(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id))).all()
    for item in items:
        item.is_void = True
        session.add(item)
    invoice.status = InvoiceStatus.VOID
    invoice.void_reason = reason
    invoice.voided_at = now
    invoice.voided_by_id = actor.user_id
    invoice.updated_at = now
    session.add(invoice)
    if invoice.visit_id is not None:
        visit = await session.get(Visit, invoice.visit_id)
        if visit.status in (VisitStatus.PAID, VisitStatus.CLOSED):
            visit.status = VisitStatus.AWAITING_PAYMENT
            visit.closed_at = None
            session.add(visit)
            publish(session, VisitChanged(visit_id=visit.id, status=visit.status.value))
    audit.record(session, actor, 'invoice_void', entity='invoice', entity_id=invoice.id,
                 detail=f'{invoice.number}: {reason}')
    _announce(session, invoice, 'void')
    return invoice


# --- One invoice, as the cashier sees it -------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemView:
    id: int
    kind: InvoiceItemKind
    description: str
    quantity: int
    unit_price: int
    line_total: int
    medicine_id: int | None = None  # a dispensed medicine: which one, and the stock batch it came from
    batch_no: str = ''


@dataclass(frozen=True)
class BillLine:
    """A line as the bill and the receipt print it: a dispensed medicine at one unit price is one line, however many
    stock batches it came from (``items``: the invoice lines it folds, one per batch)."""
    kind: InvoiceItemKind
    description: str
    quantity: int
    unit_price: int
    line_total: int
    items: tuple[ItemView, ...]


def bill_lines(items: list[ItemView]) -> list[BillLine]:
    """The invoice lines as the counter reads them, in the order they were billed: the batches of one medicine at
    one unit price make one line (quantities and amounts summed, exactly); the same medicine at two prices stays two
    lines (each quantity x its price, as dispensed); every other item is a line of its own."""
    groups: dict[object, list[ItemView]] = {}
    for item in items:
        key = (('medicine', item.medicine_id, item.unit_price, item.description)
               if item.kind == InvoiceItemKind.MEDICINE and item.medicine_id is not None else ('item', item.id))
        groups.setdefault(key, []).append(item)
    return [BillLine(group[0].kind, group[0].description, sum(i.quantity for i in group), group[0].unit_price,
                     sum(i.line_total for i in group), tuple(group)) for group in groups.values()]


@dataclass(frozen=True)
class PaymentView:
    id: int
    kind: PaymentKind
    method: PaymentMethod
    amount: int
    tendered: int | None
    change_due: int
    reference: str
    reason: str
    receipt_number: str | None
    refund_of_id: int | None
    cashier: str
    received_at: datetime
    refunded: int  # of a payment: how much was given back already

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded if self.kind == PaymentKind.PAYMENT else 0


@dataclass(frozen=True)
class InvoiceView:
    invoice: Invoice
    patient: Patient
    visit: Visit | None
    doctor: str
    items: list[ItemView]
    payments: list[PaymentView]
    approved_by: str
    voided_by: str
    other_invoices: list[tuple[int, str, InvoiceStatus]] = field(default_factory=list)

    @property
    def lines(self) -> list[BillLine]:
        return bill_lines(self.items)

    @property
    def balance(self) -> int:
        return self.invoice.total - self.invoice.amount_paid

    @property
    def refunded(self) -> int:
        return sum(p.amount for p in self.payments if p.kind == PaymentKind.REFUND)

    @property
    def net_paid(self) -> int:
        return self.invoice.amount_paid - self.refunded

    @property
    def can_adjust(self) -> bool:
        return self.invoice.status == InvoiceStatus.UNPAID and self.invoice.amount_paid == 0

    @property
    def can_pay(self) -> bool:
        return self.invoice.status in OPEN_STATUSES

    @property
    def can_void(self) -> bool:
        return self.invoice.status != InvoiceStatus.VOID and self.net_paid <= 0


@query
async def invoice_view(session: AsyncSession, actor: Actor, invoice_id: int) -> InvoiceView:
    require(actor, Role.CASHIER)
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(_('This invoice does not exist.'))
    patient = await session.get(Patient, invoice.patient_id)
    visit = await session.get(Visit, invoice.visit_id) if invoice.visit_id else None
    doctor = ''
    if visit is not None and visit.doctor_id is not None:
        row = await session.get(Doctor, visit.doctor_id)
        doctor = f'{row.title} {row.full_name}'.strip() if row else ''
    items = [ItemView(i.id, i.kind, i.description, i.quantity, i.unit_price, i.line_total, medicine_id, batch_no or '')
             for i, medicine_id, batch_no in (await session.exec(
                 select(InvoiceItem, DispenseItem.medicine_id, StockBatch.batch_no)
                 .join(DispenseItem, DispenseItem.id == InvoiceItem.dispense_item_id, isouter=True)
                 .join(StockBatch, StockBatch.id == DispenseItem.batch_id, isouter=True)
                 .where(InvoiceItem.invoice_id == invoice.id).order_by(InvoiceItem.id))).all()]
    rows = (await session.exec(select(Payment, User.full_name).join(User, User.id == Payment.cashier_id)
                               .where(Payment.invoice_id == invoice.id)
                               .order_by(Payment.received_at, Payment.id))).all()
    refunded = await refunded_amounts(session, [p.id for p, __ in rows if p.kind == PaymentKind.PAYMENT])
    payments = [PaymentView(p.id, p.kind, p.method, p.amount, p.tendered, p.change_due, p.reference, p.reason,
                            p.receipt_number, p.refund_of_id, cashier, p.received_at, refunded.get(p.id, 0))
                for p, cashier in rows]
    names = {}
    for user_id in (invoice.discount_approved_by_id, invoice.voided_by_id):
        if user_id:
            user = await session.get(User, user_id)
            names[user_id] = user.full_name if user else ''
    others = []
    if invoice.visit_id is not None:
        others = [(i, n, s) for i, n, s in (await session.exec(
            select(Invoice.id, Invoice.number, Invoice.status).where(Invoice.visit_id == invoice.visit_id,
                                                                      Invoice.id != invoice.id)
            .order_by(Invoice.id))).all()]
    return InvoiceView(invoice, patient, visit, doctor, items, payments,
                       names.get(invoice.discount_approved_by_id, ''), names.get(invoice.voided_by_id, ''), others)

