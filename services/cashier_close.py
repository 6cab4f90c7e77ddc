"""A cashier's day, closed: the drawer counted against what it should hold, then locked.

Rules (what the cashier and the administrator can rely on):

- **Expected cash** of a cashier's clinic-local day = the opening float (``opening_cash_float`` setting, or what
  the cashier says was in the drawer in the morning) + cash received by that cashier that day (the amount applied
  to bills: the change was handed back) - cash that cashier refunded that day.
- **Counted** is what the cashier counts in the drawer: a total, or notes by denomination (VND: 500,000 down to
  1,000; count x value, summed exactly). A difference from the expected cash needs a reason.
- **Closing** stores one row per cashier and day (``cashier_day_closes``) with the figures per method. While it is
  closed, that cashier takes no payment or refund on that day (``billing.pay`` and ``billing.refund`` call
  ``ensure_open``). A void moves no money (the bill must be refunded first), so it is not blocked.
- **Concurrency.** The close and every payment or refund of the same cashier and day share one lock
  (``serialize``: an advisory lock on PostgreSQL, the single writer on SQLite). A payment that committed first is
  in the close's figures; one that comes after the close committed is refused.
- **Reopening** is for administrators, with a reason (audited). Closing again writes the new figures over the row;
  the audit log keeps every close and reopening.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CashierDayClose, Payment, PaymentKind, PaymentMethod, Role, User
from models.types import utcnow

from . import audit, clinic_settings
from .access import Actor, require
from .core.boundary import action, query
from .core.clock import day_bounds, local_today
from .core.db import serialize
from .core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from .core.i18n import _
from .core.money import MAX_AMOUNT, format_money

# The Vietnamese banknotes a drawer holds, largest first (minor units of VND).
DENOMINATIONS = (500_000, 200_000, 100_000, 50_000, 20_000, 10_000, 5_000, 2_000, 1_000)
METHOD_ORDER = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER, PaymentMethod.E_WALLET,
                PaymentMethod.INSURANCE)
MAX_NOTES = 100_000


@dataclass
class MethodTotal:
    method: PaymentMethod
    payments: int = 0   # count
    received: int = 0
    refunds: int = 0    # count
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.received - self.refunded


@dataclass
class Drawer:
    """One cashier's day: the money that moved, and its close if there is one."""
    cashier_id: int
    cashier: str
    day: date
    methods: list[MethodTotal] = field(default_factory=list)
    close: CashierDayClose | None = None
    closed_by: str = ''
    reopened_by: str = ''
    language: str | None = None  # the cashier's language (the close sheet is written in it)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.methods)

    @property
    def cash(self) -> MethodTotal:
        return next((m for m in self.methods if m.method == PaymentMethod.CASH), MethodTotal(PaymentMethod.CASH))

    @property
    def is_closed(self) -> bool:
        return self.close is not None and self.close.reopened_at is None

    def expected(self, opening_float: int) -> int:
        return opening_float + self.cash.received - self.cash.refunded


def _key(cashier_id: int, day: date) -> str:
    return f'cashier-close:{cashier_id}:{day.isoformat()}'


def _money(amount: int) -> str:
    settings = clinic_settings.current()
    return format_money(amount, settings.currency, settings.currency_exponent)


def count_notes(counts: dict[int, int]) -> int:
    """The cash a count of notes makes: count x value, summed exactly (values from ``DENOMINATIONS``)."""
    total = 0
    for value, count in counts.items():
        if value not in DENOMINATIONS:
            raise ValidationError(_('{value} is not a banknote of the drawer.').format(value=_money(value)))
        if not isinstance(count, int) or count < 0 or count > MAX_NOTES:
            raise ValidationError(_('The number of {value} notes must be a whole number from 0 to {most}.').format(
                value=_money(value), most=MAX_NOTES), 'denominations')
        total += value * count
    return total


def _clean_reason(reason: str, *, required: bool, message: str) -> str:
    reason = ' '.join((reason or '').split())
    if required and len(reason) < 3:
        raise ValidationError(message, 'reason')
    if len(reason) > 300:
        raise ValidationError(_('The reason can have at most 300 characters.'), 'reason')
    return reason


async def _methods(session: AsyncSession, cashier_id: int, day: date, tz: ZoneInfo) -> list[MethodTotal]:
    start, end = day_bounds(day, tz)
    rows = (await session.exec(
        select(Payment.method, Payment.kind, func.count(), func.sum(Payment.amount))
        .where(Payment.cashier_id == cashier_id, Payment.received_at >= start, Payment.received_at < end)
        .group_by(Payment.method, Payment.kind))).all()
    lines: dict[PaymentMethod, MethodTotal] = {}
    for method, kind, count, amount in rows:
        line = lines.setdefault(PaymentMethod(method), MethodTotal(PaymentMethod(method)))
        if PaymentKind(kind) == PaymentKind.PAYMENT:
            line.payments, line.received = line.payments + count, line.received + int(amount)
        else:
            line.refunds, line.refunded = line.refunds + count, line.refunded + int(amount)
    return [lines[m] for m in METHOD_ORDER if m in lines]


async def _row(session: AsyncSession, cashier_id: int, day: date) -> CashierDayClose | None:
    return (await session.exec(select(CashierDayClose).where(CashierDayClose.cashier_id == cashier_id,
                                                             CashierDayClose.day == day)
                               .execution_options(populate_existing=True))).first()


async def _drawer(session: AsyncSession, cashier_id: int, day: date, tz: ZoneInfo) -> Drawer:
    user = await session.get(User, cashier_id)
    if user is None:
        raise NotFound(_('This cashier does not exist.'))
    drawer = Drawer(cashier_id, user.full_name, day, await _methods(session, cashier_id, day, tz),
                    await _row(session, cashier_id, day), language=user.language)
    if drawer.close is not None:
        for attribute, user_id in (('closed_by', drawer.close.closed_by_id),
                                   ('reopened_by', drawer.close.reopened_by_id)):
            if user_id is not None:
                person = await session.get(User, user_id)
                setattr(drawer, attribute, person.full_name if person else '')
    return drawer


def _may_see(actor: Actor, cashier_id: int) -> None:
    if cashier_id != actor.user_id and not actor.is_admin:
        raise PermissionDenied(_("Only an administrator may see another cashier's close."))


@query
async def drawer(session: AsyncSession, actor: Actor, day: date, *, tz: ZoneInfo,
                 cashier_id: int | None = None) -> Drawer:
    """The day of ``cashier_id`` (default: the person asking; someone else's: administrators only)."""
    require(actor, Role.CASHIER)
    cashier_id = actor.user_id if cashier_id is None else cashier_id
    _may_see(actor, cashier_id)
    return await _drawer(session, cashier_id, day, tz)


@query
async def drawers(session: AsyncSession, actor: Actor, day: date, *, tz: ZoneInfo) -> list[Drawer]:
    """Every cashier's day (who took money or closed that day), by name: administrators only."""
    require(actor)
    start, end = day_bounds(day, tz)
    ids = set((await session.exec(select(Payment.cashier_id).where(
        Payment.received_at >= start, Payment.received_at < end).distinct())).all())
    ids |= set((await session.exec(select(CashierDayClose.cashier_id).where(CashierDayClose.day == day))).all())
    found = [await _drawer(session, cashier_id, day, tz) for cashier_id in ids]
    return sorted(found, key=lambda d: d.cashier)


@query
async def close_sheet(session: AsyncSession, actor: Actor, close_id: int, *, tz: ZoneInfo) -> Drawer:
    """A stored close with its day's figures (for the printed sheet): the cashier's own, or any for an
    administrator."""
    require(actor, Role.CASHIER)
    row = await session.get(CashierDayClose, close_id)
    if row is None:
        raise NotFound(_('This close does not exist.'))
    _may_see(actor, row.cashier_id)
    return await _drawer(session, row.cashier_id, row.day, tz)


def _closed_message(row: CashierDayClose, tz: ZoneInfo) -> str:
    return _('The day {day} is closed for you (at {time}): no payment or refund can be taken on it any more. '
             'An administrator can reopen it.').format(day=row.day.strftime('%d/%m/%Y'),
                                                       time=row.closed_at.astimezone(tz).strftime('%H:%M'))


async def ensure_open(session: AsyncSession, actor: Actor, now: datetime) -> None:
    """Before money moves: the cashier's day of ``now`` is not closed (and a close waits until this transaction
    ends, so it counts what this one takes)."""
    tz = clinic_settings.current().tz
    day = local_today(tz, now)
    await serialize(session, _key(actor.user_id, day))
    row = await _row(session, actor.user_id, day)
    if row is not None and row.reopened_at is None:
        raise Conflict(_closed_message(row, tz))


@action
async def close_day(session: AsyncSession, actor: Actor, day: date, *, counted: int | None = None,
                    notes: dict[int, int] | None = None, opening_float: int = 0, reason: str = '',
                    tz: ZoneInfo, now: datetime | None = None) -> CashierDayClose:
    """The cashier closes their own ``day``: counted cash (a total, or ``notes`` by denomination) against the
    expected cash; a difference needs a reason. Commits."""
    require(actor, Role.CASHIER)
    now = now or utcnow()
    if day > local_today(tz, now):
        raise ValidationError(_('A day can be closed once it has started.'), 'day')
    if not isinstance(opening_float, int) or not 0 <= opening_float <= MAX_AMOUNT:
        raise ValidationError(_('The opening float is not valid.'), 'float')
    notes = {int(value): count for value, count in (notes or {}).items() if count}
    if notes:
        by_notes = count_notes(notes)
        if counted is not None and counted != by_notes:
            raise ValidationError(_('The notes make {notes}, not {counted}.').format(
                notes=_money(by_notes), counted=_money(counted)), 'counted')
        counted = by_notes
    if counted is None:
        raise ValidationError(_('Please enter the cash counted in the drawer.'), 'counted')
    if not isinstance(counted, int) or not 0 <= counted <= MAX_AMOUNT:
        raise ValidationError(_('The cash counted is not valid.'), 'counted')
    await serialize(session, _key(actor.user_id, day))
    current = await _drawer(session, actor.user_id, day, tz)
    if current.is_closed:
        raise Conflict(_('Your day {day} is already closed (at {time}, by {name}).').format(
            day=day.strftime('%d/%m/%Y'), time=current.close.closed_at.astimezone(tz).strftime('%H:%M'),
            name=current.closed_by))
    expected = current.expected(opening_float)
    difference = counted - expected
    reason = _clean_reason(reason, required=difference != 0, message=_(
        'The drawer is {difference} off: please say why (a few words).').format(difference=_money(difference)))
    row = current.close or CashierDayClose(cashier_id=actor.user_id, day=day, closed_by_id=actor.user_id)
    row.opening_float, row.cash_in, row.cash_out = opening_float, current.cash.received, current.cash.refunded
    row.expected, row.counted, row.difference, row.reason = expected, counted, difference, reason
    row.denominations = {str(value): count for value, count in sorted(notes.items(), reverse=True)}
    row.totals = {m.method.value: [m.payments, m.received, m.refunds, m.refunded] for m in current.methods}
    row.payments, row.refunds = current.total('payments'), current.total('refunds')
    row.closed_at, row.closed_by_id = now, actor.user_id
    row.reopened_at = row.reopened_by_id = None
    row.reopen_reason = ''
    session.add(row)
    await session.flush()
    audit.record(session, actor, 'cashier_day_closed', entity='cashier_day_close', entity_id=row.id,
                 detail=f'{day.isoformat()}: expected {expected}, counted {counted}, difference {difference}'
                        + (f' ({reason})' if reason else '') + f'; {row.payments} payment(s), {row.refunds} refund(s)')
    return row


@action
async def reopen_day(session: AsyncSession, actor: Actor, close_id: int, reason: str, *,
                     now: datetime | None = None) -> CashierDayClose:
    """An administrator reopens a cashier's closed day, with a reason (audited): payments and refunds can be taken
    on it again. Commits."""
    if actor is None or not actor.is_admin:
        raise PermissionDenied(_("Only an administrator may reopen a cashier's day."))
    now = now or utcnow()
    reason = _clean_reason(reason, required=True, message=_('Please say why the day is reopened (a few words).'))
    row = await session.get(CashierDayClose, close_id)
    if row is None:
        raise NotFound(_('This close does not exist.'))
    await serialize(session, _key(row.cashier_id, row.day))
    row = await _row(session, row.cashier_id, row.day)
    if row.reopened_at is not None:
        raise Conflict(_('This day is already open again.'))
    row.reopened_at, row.reopened_by_id, row.reopen_reason = now, actor.user_id, reason
    session.add(row)
    audit.record(session, actor, 'cashier_day_reopened', entity='cashier_day_close', entity_id=row.id,
                 detail=f'{row.day.isoformat()} of user {row.cashier_id}: {reason}')
    return row
