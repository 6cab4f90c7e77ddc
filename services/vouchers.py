"""Vouchers for administrators: issue (a code typed or generated), find a page of them, deactivate and reactivate,
and see where each was used. The cashier uses them on a bill with ``billing.apply_voucher``.

Rules: a code is 4 to 40 capitals, digits or dashes, unique whatever the case it is typed in; a generated one is
three groups of four characters drawn with ``secrets`` from an alphabet without look-alikes (no 0/O, 1/I), about
60 bits: not guessable. A voucher is a percentage (1 to 100) or an amount off, usable 1 to ``MAX_USES`` times,
valid from / until a day (both included, either open), on the whole bill or only on the lines of chosen services.
Nothing is deleted: a voucher is deactivated (and can be reactivated); every change is audited.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Invoice, Patient, Role, Service, User, Voucher, VoucherService, VoucherUse
from models.types import utcnow

from . import audit
from .access import Actor, require
from .core.boundary import action, query
from .core.errors import Conflict, NotFound, ValidationError
from .core.i18n import N_, _, number, pick
from .core.money import MAX_AMOUNT, parse_money
from .patients import parse_date

CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'  # no 0/O, no 1/I: read out or copied without mistakes
MAX_USES = 1_000_000
_CODE = re.compile(r'[A-Z0-9-]{4,40}')

# What a voucher is now, by key (``VoucherRow.state``), in English marked for translation.
STATE_LABELS = {'active': N_('active'), 'upcoming': N_('not yet valid'), 'expired': N_('expired'),
                'used_up': N_('used up'), 'inactive': N_('deactivated')}


def generate_code() -> str:
    """``K7QM-9XRT-C2HW``: 12 random characters of ``CODE_ALPHABET`` in groups of four."""
    letters = ''.join(secrets.choice(CODE_ALPHABET) for __ in range(12))
    return '-'.join(letters[i:i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class VoucherRow:
    id: int
    code: str
    percent_off: int | None
    amount_off: int | None
    valid_from: date | None
    valid_until: date | None
    max_uses: int
    uses: int
    is_active: bool
    description: str
    services: tuple[str, ...]  # names, in the reader's language; none: the whole bill
    created_at: datetime
    created_by: str

    def state(self, today: date) -> str:
        """A key of ``STATE_LABELS``."""
        if not self.is_active:
            return 'inactive'
        if self.valid_until is not None and self.valid_until < today:
            return 'expired'
        if self.uses >= self.max_uses:
            return 'used_up'
        if self.valid_from is not None and today < self.valid_from:
            return 'upcoming'
        return 'active'


@dataclass(frozen=True)
class UseRow:
    invoice_id: int
    invoice_number: str
    patient: str
    discount: int
    used_at: datetime
    used_by: str
    released_at: datetime | None  # given back (the bill's discount changed, or the bill was voided)


def read_value(kind: str, text: str | None, exponent: int) -> tuple[int | None, int | None]:
    """What the administrator typed as the voucher's value: (percent off, None) for ``kind`` 'percent', else
    (None, amount off in minor units)."""
    text = (text or '').strip().rstrip('%').strip()
    if kind == 'percent':
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100:
            raise ValidationError(_('The percentage must be between 1 and 100.'), 'value')
        return int(text), None
    amount = parse_money(text, exponent)
    if amount <= 0:
        raise ValidationError(_('The amount off must be more than 0.'), 'value')
    return None, amount


def read_day(text: str | None, field: str) -> date | None:
    """A day of validity typed as dd/mm/yyyy (``field``: 'valid_from' or 'valid_until'); None when left empty."""
    if not (text or '').strip():
        return None
    value = parse_date(text)
    if value is None:
        raise ValidationError(_('Please write the first day as dd/mm/yyyy.') if field == 'valid_from' else
                              _('Please write the last day as dd/mm/yyyy.'), field)
    return value


def read_uses(value: float | int | None) -> int:
    """How many times the voucher may be used, as typed in a number field."""
    if value is None or value != int(value) or not 1 <= value <= MAX_USES:
        raise ValidationError(_('A voucher can be used from 1 to {most} times.').format(most=number(MAX_USES)),
                              'max_uses')
    return int(value)


def _clean_code(code: str) -> str:
    code = (code or '').strip().upper()
    if not _CODE.fullmatch(code):
        raise ValidationError(_('A voucher code has 4 to 40 letters, digits or dashes.'), 'code')
    return code


@action
async def create_voucher(session: AsyncSession, actor: Actor, *, code: str, percent_off: int | None = None,
                         amount_off: int | None = None, valid_from: date | None = None,
                         valid_until: date | None = None, max_uses: int = 1, service_ids: list[int] | None = None,
                         description: str = '', now: datetime | None = None) -> Voucher:
    """An administrator issues a voucher. Commits."""
    require(actor)  # administrators only
    code = _clean_code(code)
    if (percent_off is None) == (amount_off is None):
        raise ValidationError(_('Give the voucher a percentage or an amount off.'), 'value')
    if percent_off is not None and not 0 < percent_off <= 100:
        raise ValidationError(_('The percentage must be between 1 and 100.'), 'value')
    if amount_off is not None and not 0 < amount_off <= MAX_AMOUNT:
        raise ValidationError(_('The amount off must be more than 0.'), 'value')
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise ValidationError(_('The first day of validity comes after the last one.'), 'valid_until')
    if not 1 <= max_uses <= MAX_USES:
        raise ValidationError(_('A voucher can be used from 1 to {most} times.').format(most=number(MAX_USES)),
                              'max_uses')
    description = ' '.join((description or '').split())
    if len(description) > 200:
        raise ValidationError(_('The description can have at most 200 characters.'), 'description')
    service_ids = sorted(set(service_ids or ()))
    if service_ids:
        found = (await session.exec(select(Service.id).where(Service.id.in_(service_ids)))).all()
        if len(found) != len(service_ids):
            raise NotFound(_('One of the chosen services does not exist.'))
    if (await session.exec(select(Voucher.id).where(Voucher.code == code))).first() is not None:
        raise Conflict(_('Voucher {code} already exists.').format(code=code))
    voucher = Voucher(code=code, percent_off=percent_off, amount_off=amount_off, valid_from=valid_from,
                      valid_until=valid_until, max_uses=max_uses, description=description,
                      created_by_id=actor.user_id, created_at=now or utcnow())
    session.add(voucher)
    await session.flush()
    session.add_all([VoucherService(voucher_id=voucher.id, service_id=service_id) for service_id in service_ids])
    kind = f'{percent_off}%' if percent_off is not None else f'{amount_off}'
    audit.record(session, actor, 'voucher_created', entity='voucher', entity_id=voucher.id,
                 detail=f'{code}: {kind}, {max_uses} use(s), {valid_from or "…"} to {valid_until or "…"}'
                        + (f', services {service_ids}' if service_ids else ''))
    return voucher


@action
async def set_voucher_active(session: AsyncSession, actor: Actor, voucher_id: int, active: bool) -> Voucher:
    """Deactivate a voucher (the cashier can no longer use it; its uses stay) or reactivate it. Commits."""
    require(actor)
    voucher = await session.get(Voucher, voucher_id)
    if voucher is None:
        raise NotFound(_('This voucher does not exist.'))
    if voucher.is_active != active:
        voucher.is_active = active
        session.add(voucher)
        audit.record(session, actor, 'voucher_reactivated' if active else 'voucher_deactivated', entity='voucher',
                     entity_id=voucher.id, detail=voucher.code)
    return voucher


@query
async def list_vouchers(session: AsyncSession, actor: Actor, *, search: str = '', offset: int = 0,
                        limit: int = 50) -> tuple[list[VoucherRow], int]:
    """One page of vouchers, newest first, whose code (or description) has ``search`` in it, and how many match."""
    require(actor)
    where = []
    text = (search or '').strip()
    if text:
        pattern = f'%{text.lower()}%'
        where.append(or_(Voucher.code.like(f'%{text.upper()}%'), func.lower(Voucher.description).like(pattern)))
    total = (await session.exec(select(func.count()).select_from(Voucher).where(*where))).one()
    page = (select(Voucher.id).where(*where).order_by(Voucher.id.desc())  # the page's ids first: by the index
            .offset(max(offset, 0)).limit(max(1, min(limit, 200)))).subquery()
    rows = (await session.exec(
        select(Voucher, User.full_name).join(page, page.c.id == Voucher.id)
        .outerjoin(User, User.id == Voucher.created_by_id).order_by(Voucher.id.desc()))).all()
    names: dict[int, list[str]] = {}
    if rows:
        for voucher_id, name, translations in (await session.exec(
                select(VoucherService.voucher_id, Service.name, Service.name_translations)
                .join(Service, Service.id == VoucherService.service_id)
                .where(VoucherService.voucher_id.in_([v.id for v, __ in rows])).order_by(Service.name))).all():
            names.setdefault(voucher_id, []).append(pick(name, translations))
    return [VoucherRow(v.id, v.code, v.percent_off, v.amount_off, v.valid_from, v.valid_until, v.max_uses, v.uses,
                       v.is_active, v.description, tuple(names.get(v.id, ())), v.created_at, by or '')
            for v, by in rows], total


@query
async def voucher_usage(session: AsyncSession, actor: Actor, voucher_id: int) -> tuple[Voucher, list[UseRow]]:
    """The voucher and each bill it was used on (newest first): how much it took off, when, by whom, and whether
    the use was given back."""
    require(actor)
    voucher = await session.get(Voucher, voucher_id)
    if voucher is None:
        raise NotFound(_('This voucher does not exist.'))
    rows = (await session.exec(
        select(VoucherUse, Invoice.number, Patient.full_name, User.full_name)
        .join(Invoice, Invoice.id == VoucherUse.invoice_id).join(Patient, Patient.id == Invoice.patient_id)
        .outerjoin(User, User.id == VoucherUse.used_by_id).where(VoucherUse.voucher_id == voucher_id)
        .order_by(VoucherUse.used_at.desc(), VoucherUse.id.desc()))).all()
    return voucher, [UseRow(u.invoice_id, number, patient, u.discount, u.used_at, by or '', u.released_at)
                     for u, number, patient, by in rows]


@query
async def service_choices(session: AsyncSession, actor: Actor) -> dict[int, str]:
    """The services a voucher may be limited to (those in the price list now), by id, in the reader's language."""
    require(actor, Role.ADMIN)
    rows = (await session.exec(select(Service.id, Service.name, Service.name_translations, Service.code)
                               .where(Service.is_active).order_by(Service.name))).all()
    return {service_id: f'{pick(name, translations)} ({code})' for service_id, name, translations, code in rows}
