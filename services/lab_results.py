"""Lab panels: what a lab test measures (its analytes, in order, with units) and the reference ranges that say
whether a value is low, high or critical.

A range applies to everyone or to one sex and/or age band; for a patient the most specific one wins (sex and age
band, then sex, then age band, then the range for anyone). Ages are whole years on the day the test was ordered
(minimum included, maximum excluded). ``judge`` compares a typed value ("11,8" or "11.8") with a range; values
beyond the critical limits are critical and alert the ordering doctor (``CriticalResult``).

The administrator edits the panels (``save_analyte``, ``save_range``, ...); each change is audited. A result
keeps the range and flag it was judged with, so later edits of a panel never change past results.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    LabAnalyte,
    LabReferenceRange,
    Patient,
    ResultFlag,
    ResultValue,
    Role,
    Service,
    ServiceKind,
    ServiceOrder,
    Sex,
    Visit,
)

from . import audit
from .access import Actor, doctor_id_of, require
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import CatalogChanged, publish
from .core.i18n import N_, _
from .text import clean_name

NUMBER_RE = re.compile(r'^[+-]?(\d+(\.\d*)?|\.\d+)$')
MAX_ANALYTES = 40
MAX_AGE = 150
LIMIT = Decimal('99999999')  # what Numeric(12, 4) holds
CRITICAL = (ResultFlag.CRITICAL_LOW, ResultFlag.CRITICAL_HIGH)
MARKS = {ResultFlag.LOW: 'L', ResultFlag.HIGH: 'H', ResultFlag.CRITICAL_LOW: 'LL', ResultFlag.CRITICAL_HIGH: 'HH',
         ResultFlag.ABNORMAL: 'A'}


# --------------------------------------------------------------------------------------------------------------
# Judging a value (pure: the lab dialog previews with the same functions)
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    low: Decimal | None = None
    high: Decimal | None = None
    critical_low: Decimal | None = None
    critical_high: Decimal | None = None


def parse_number(text: str) -> Decimal | None:
    """The number typed in ``text`` ("11,8", "11.8", " 6 "), or None when it is not a plain number."""
    text = (text or '').strip().replace(' ', '')
    if ',' in text and '.' not in text and text.count(',') == 1:
        text = text.replace(',', '.')
    if not NUMBER_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def stored_number(text: str) -> Decimal | None:
    """The number of a value as the database keeps it (None when it is text or too large to keep)."""
    number = parse_number(text)
    return number if number is not None and abs(number) <= LIMIT else None


def judge(value_text: str, limits: Range | None, *, marked_abnormal: bool = False) -> ResultFlag:
    """How the value compares with its range. Text that is not a number, or a value without a range, is not
    judged (NONE), unless the technician marked it abnormal."""
    number = parse_number(value_text)
    if number is None or limits is None or all(
            x is None for x in (limits.low, limits.high, limits.critical_low, limits.critical_high)):
        return ResultFlag.ABNORMAL if marked_abnormal else ResultFlag.NONE
    if limits.critical_low is not None and number < limits.critical_low:
        return ResultFlag.CRITICAL_LOW
    if limits.critical_high is not None and number > limits.critical_high:
        return ResultFlag.CRITICAL_HIGH
    if limits.low is not None and number < limits.low:
        return ResultFlag.LOW
    if limits.high is not None and number > limits.high:
        return ResultFlag.HIGH
    return ResultFlag.NORMAL


def number_text(number: Decimal, decimals: int) -> str:
    return f'{number:.{decimals}f}'


def reference_text(limits: Range | None) -> str:
    """The range as printed: "4.0–10.0", "≤ 5.0", "≥ 40"; '' without limits. Whole numbers under 100 keep one
    decimal (4.0–10.0), larger ones none (150–400)."""
    if limits is None or (limits.low is None and limits.high is None):
        return ''
    numbers = [n for n in (limits.low, limits.high) if n is not None]
    decimals = max(max(-n.normalize().as_tuple().exponent, 0) for n in numbers)
    if decimals == 0 and max(abs(n) for n in numbers) < 100:
        decimals = 1
    if limits.low is not None and limits.high is not None:
        return f'{number_text(limits.low, decimals)}–{number_text(limits.high, decimals)}'
    if limits.high is not None:
        return f'≤ {number_text(limits.high, decimals)}'
    return f'≥ {number_text(limits.low, decimals)}'


def parse_reference(text: str) -> Range | None:
    """A range typed by hand on an extra row ("12-16", "12–16", "12,0 - 16,0"), or None when it is not one."""
    parts = re.split(r'\s*[–-]\s*', (text or '').strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    low, high = parse_number(parts[0]), parse_number(parts[1])
    if low is None or high is None or low > high:
        return None
    return Range(low, high)


def flag_mark(flag: ResultFlag) -> str:
    """The mark beside a value on screen and on paper: L, H, LL, HH, A ('' when normal or not judged)."""
    return MARKS.get(flag, '')


def is_critical(flag: ResultFlag) -> bool:
    return flag in CRITICAL


# --------------------------------------------------------------------------------------------------------------
# The panel of a patient's order
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PanelRow:
    """One analyte as the lab enters it for this patient: its name, unit and the range in force."""
    analyte_id: int
    name: str
    unit: str
    reference: str
    limits: Range | None


def age_on(born: date | None, day: date) -> int | None:
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _applies(row: LabReferenceRange, sex: Sex | None, age: int | None) -> bool:
    if row.sex is not None and row.sex != sex:
        return False
    if row.min_age_years is None and row.max_age_years is None:
        return True
    if age is None:
        return False
    return (row.min_age_years is None or age >= row.min_age_years) and \
        (row.max_age_years is None or age < row.max_age_years)


def choose_range(ranges: list[LabReferenceRange], sex: Sex | None, age: int | None) -> LabReferenceRange | None:
    """The most specific range that applies: sex and age band > sex > age band > anyone."""
    def rank(row: LabReferenceRange) -> tuple[int, int]:
        banded = row.min_age_years is not None or row.max_age_years is not None
        return 2 * (row.sex is not None) + banded, -(row.id or 0)
    fitting = [row for row in ranges if _applies(row, sex, age)]
    return max(fitting, key=rank) if fitting else None


def limits_of(row: LabReferenceRange | None) -> Range | None:
    if row is None:
        return None
    return Range(row.low, row.high, row.critical_low, row.critical_high)


async def panel_for(session: AsyncSession, service_id: int, *, sex: Sex | None, age: int | None) -> list[PanelRow]:
    """The active analytes of the service, in order, each with the range that applies to this patient."""
    analytes = (await session.exec(select(LabAnalyte).where(LabAnalyte.service_id == service_id,
                                                            LabAnalyte.is_active.is_(True))
                                   .order_by(LabAnalyte.position))).all()
    ranges: dict[int, list[LabReferenceRange]] = {}
    if analytes:
        for row in (await session.exec(select(LabReferenceRange).where(
                LabReferenceRange.analyte_id.in_([a.id for a in analytes])))).all():
            ranges.setdefault(row.analyte_id, []).append(row)
    rows = []
    for analyte in analytes:
        limits = limits_of(choose_range(ranges.get(analyte.id, []), sex, age))
        rows.append(PanelRow(analyte.id, analyte.name, analyte.unit, reference_text(limits), limits))
    return rows


async def order_panel(session: AsyncSession, order_id: int) -> list[PanelRow]:
    """The panel of an order, for its patient's sex and age on the day it was ordered."""
    row = (await session.exec(select(ServiceOrder.service_id, ServiceOrder.ordered_at, Patient.sex,
                                     Patient.date_of_birth)
                              .join(Visit, Visit.id == ServiceOrder.visit_id)
                              .join(Patient, Patient.id == Visit.patient_id)
                              .where(ServiceOrder.id == order_id))).first()
    if row is None:
        return []
    service_id, ordered_at, sex, born = row
    return await panel_for(session, service_id, sex=sex, age=age_on(born, ordered_at.date()))


# --------------------------------------------------------------------------------------------------------------
# The critical-result alert (for the ordering doctor)
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalAlert:
    visit_id: int
    patient_name: str
    values: list[str]  # "K 6.9 mmol/L"

    @property
    def message(self) -> str:
        return _('Critical result for {patient}: {values}').format(patient=self.patient_name,
                                                                    values=', '.join(self.values))


@query
async def critical_alert(session: AsyncSession, actor: Actor, order_id: int) -> CriticalAlert | None:
    """What the ordering doctor is told about an order's critical values; None for anyone else, or when no value
    is critical any more."""
    require(actor, Role.DOCTOR)
    found = (await session.exec(select(ServiceOrder.visit_id, ServiceOrder.ordered_by_id, Patient.full_name)
                                .join(Visit, Visit.id == ServiceOrder.visit_id)
                                .join(Patient, Patient.id == Visit.patient_id)
                                .where(ServiceOrder.id == order_id))).first()
    if found is None or found[1] != await doctor_id_of(session, actor):
        return None
    values = (await session.exec(select(ResultValue).where(ResultValue.order_id == order_id,
                                                           ResultValue.flag.in_(list(CRITICAL)))
                                 .order_by(ResultValue.position))).all()
    if not values:
        return None
    return CriticalAlert(found[0], found[2], [' '.join(p for p in (v.name, v.value, v.unit) if p) for v in values])


# --------------------------------------------------------------------------------------------------------------
# Editing the panels (admin)
# --------------------------------------------------------------------------------------------------------------

_WHO_TEXTS = {'female': N_('female'), 'male': N_('male'), 'other': N_('other')}


@dataclass(frozen=True)
class RangeView:
    id: int
    sex: Sex | None
    min_age_years: int | None
    max_age_years: int | None
    limits: Range

    @property
    def who(self) -> str:
        """``'female, 0–12 y'``, ``'anyone'``: in the reader's language."""
        sex = _(_WHO_TEXTS.get(self.sex.value, self.sex.value)) if self.sex else _('anyone')
        if self.min_age_years is None and self.max_age_years is None:
            return sex
        return _('{who}, {low}–{high} y').format(
            who=sex, low=self.min_age_years or 0, high=self.max_age_years if self.max_age_years is not None else '')


@dataclass(frozen=True)
class AnalyteView:
    id: int
    position: int
    name: str
    unit: str
    is_active: bool
    ranges: list[RangeView] = field(default_factory=list)


@dataclass(frozen=True)
class RangeInput:
    """A range as typed on the panel editor: numbers as text ('' = none), ages in whole years."""
    sex: Sex | None = None
    min_age_years: str = ''
    max_age_years: str = ''
    low: str = ''
    high: str = ''
    critical_low: str = ''
    critical_high: str = ''


async def _lab_service(session: AsyncSession, service_id: int) -> Service:
    service = await session.get(Service, service_id)
    if service is None:
        raise NotFound(_('This service does not exist.'))
    if service.kind != ServiceKind.LAB:
        raise ValidationError(_('{service} is not a lab test: only lab tests have a panel of values.').format(
            service=service.name))
    return service


async def _analyte(session: AsyncSession, analyte_id: int) -> LabAnalyte:
    analyte = await session.get(LabAnalyte, analyte_id)
    if analyte is None:
        raise NotFound(_('This value of the panel does not exist.'))
    return analyte


async def _analytes(session: AsyncSession, service_id: int) -> list[LabAnalyte]:
    return list((await session.exec(select(LabAnalyte).where(LabAnalyte.service_id == service_id)
                                    .order_by(LabAnalyte.position))).all())


def _changed(session: AsyncSession, actor: Actor, service_id: int, action_name: str, detail: str) -> None:
    audit.record(session, actor, action_name, entity='service', entity_id=service_id, detail=detail[:500])
    publish(session, CatalogChanged(entity='lab_panel', entity_id=service_id))


@dataclass(frozen=True)
class LabService:
    id: int
    code: str
    name: str
    is_active: bool
    analytes: int  # active values on its panel


@query
async def lab_services(session: AsyncSession, actor: Actor) -> list[LabService]:
    """Every lab test of the price list, with how many values its panel has."""
    require(actor, Role.ADMIN)
    counted = (select(LabAnalyte.service_id, sa.func.count().label('n')).where(LabAnalyte.is_active.is_(True))
               .group_by(LabAnalyte.service_id).subquery())
    rows = (await session.exec(select(Service.id, Service.code, Service.name, Service.name_translations,
                                      Service.is_active, counted.c.n)
                               .outerjoin(counted, counted.c.service_id == Service.id)
                               .where(Service.kind == ServiceKind.LAB).order_by(Service.name))).all()
    return [LabService(id_, code, i18n.pick(name, names), active, n or 0)
            for id_, code, name, names, active, n in rows]


@query
async def panel(session: AsyncSession, actor: Actor, service_id: int) -> list[AnalyteView]:
    """Every analyte of a lab service (deactivated ones too), in order, with all its ranges."""
    require(actor, Role.ADMIN)
    await _lab_service(session, service_id)
    analytes = await _analytes(session, service_id)
    ranges: dict[int, list[RangeView]] = {}
    if analytes:
        for row in (await session.exec(select(LabReferenceRange).where(
                LabReferenceRange.analyte_id.in_([a.id for a in analytes])).order_by(LabReferenceRange.id))).all():
            ranges.setdefault(row.analyte_id, []).append(
                RangeView(row.id, row.sex, row.min_age_years, row.max_age_years, limits_of(row)))
    return [AnalyteView(a.id, a.position, a.name, a.unit, a.is_active, ranges.get(a.id, [])) for a in analytes]


@action
async def save_analyte(session: AsyncSession, actor: Actor, service_id: int, analyte_id: int | None, *, name: str,
                       unit: str = '') -> LabAnalyte:
    """Add a value to the end of a lab panel (``analyte_id=None``) or rename it / change its unit."""
    require(actor, Role.ADMIN)
    service = await _lab_service(session, service_id)
    await serialize(session, f'lab_panel:{service_id}')
    name, unit = clean_name(name or ''), (unit or '').strip()
    if not name:
        raise ValidationError(_('Please enter the name of the value (e.g. WBC).'), 'name')
    if len(name) > 80:
        raise ValidationError(_('The name can have at most 80 characters.'), 'name')
    if len(unit) > 30:
        raise ValidationError(_('The unit can have at most 30 characters.'), 'unit')
    analytes = await _analytes(session, service_id)
    if any(a.name.lower() == name.lower() and a.id != analyte_id and a.is_active for a in analytes):
        raise Conflict(_('{service} already has a value named "{name}".').format(service=service.name, name=name))
    if analyte_id is None:
        if sum(a.is_active for a in analytes) >= MAX_ANALYTES:
            raise ValidationError(_('A panel can have at most {count} values.').format(count=MAX_ANALYTES))
        analyte = LabAnalyte(service_id=service_id, position=max((a.position for a in analytes), default=-1) + 1,
                             name=name, unit=unit)
        detail = f'{service.code}: added {name}'
    else:
        analyte = next((a for a in analytes if a.id == analyte_id), None)
        if analyte is None:
            raise NotFound(_('This value is not part of this panel.'))
        detail = f'{service.code}: {analyte.name} {analyte.unit!r} -> {name} {unit!r}'
        analyte.name, analyte.unit = name, unit
    session.add(analyte)
    await session.flush()
    _changed(session, actor, service_id, 'lab_analyte_saved', detail)
    return analyte


@action
async def set_analyte_active(session: AsyncSession, actor: Actor, analyte_id: int, active: bool) -> LabAnalyte:
    """Take a value off the panel (past results keep it) or put it back."""
    require(actor, Role.ADMIN)
    analyte = await _analyte(session, analyte_id)
    await serialize(session, f'lab_panel:{analyte.service_id}')
    if active and not analyte.is_active:
        clash = (await session.exec(select(LabAnalyte.id).where(
            LabAnalyte.service_id == analyte.service_id, LabAnalyte.is_active.is_(True),
            sa.func.lower(LabAnalyte.name) == analyte.name.lower()))).first()
        if clash is not None:
            raise Conflict(_('The panel already has a value named "{name}".').format(name=analyte.name))
    if analyte.is_active != active:
        analyte.is_active = active
        session.add(analyte)
        _changed(session, actor, analyte.service_id, 'lab_analyte_reactivated' if active
                 else 'lab_analyte_deactivated', analyte.name)
    return analyte


@action
async def move_analyte(session: AsyncSession, actor: Actor, analyte_id: int, *, up: bool) -> LabAnalyte:
    """Move a value one place up or down in its panel (the order it is entered and printed in)."""
    require(actor, Role.ADMIN)
    analyte = await _analyte(session, analyte_id)
    await serialize(session, f'lab_panel:{analyte.service_id}')
    analytes = await _analytes(session, analyte.service_id)
    index = next(i for i, a in enumerate(analytes) if a.id == analyte.id)
    other_index = index - 1 if up else index + 1
    if not 0 <= other_index < len(analytes):
        return analyte  # already first (or last)
    other = analytes[other_index]
    mine, theirs = analyte.position, other.position
    for row, position in ((analyte, max(a.position for a in analytes) + 1), (other, mine), (analyte, theirs)):
        row.position = position  # one at a time: positions are unique within the panel
        session.add(row)
        await session.flush()
    _changed(session, actor, analyte.service_id, 'lab_analyte_moved', f'{analyte.name} {"up" if up else "down"}')
    return analyte


_NOT_A_NUMBER = {  # field -> message
    'low limit': N_('The low limit must be a number (e.g. 4.0 or 4,0).'),
    'high limit': N_('The high limit must be a number (e.g. 4.0 or 4,0).'),
    'critical low limit': N_('The critical low limit must be a number (e.g. 4.0 or 4,0).'),
    'critical high limit': N_('The critical high limit must be a number (e.g. 4.0 or 4,0).')}
_NOT_AN_AGE = {
    'minimum age': N_('The minimum age must be a whole number of years from 0 to {max}.'),
    'maximum age': N_('The maximum age must be a whole number of years from 0 to {max}.')}


def _limit(text: str, label: str) -> Decimal | None:
    if not (text or '').strip():
        return None
    number = parse_number(text)
    if number is None or abs(number) > LIMIT:
        raise ValidationError(_(_NOT_A_NUMBER[label]), label)
    return number


def _age(text: str, label: str) -> int | None:
    text = (text or '').strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > MAX_AGE:
        raise ValidationError(_(_NOT_AN_AGE[label]).format(max=MAX_AGE), label)
    return int(text)


def check_range(data: RangeInput) -> dict:
    """The column values of a range, or a clear error: low ≤ high, critical limits outside the normal range."""
    values = {'sex': data.sex if data.sex not in (None, Sex.UNKNOWN) else None,
              'min_age_years': _age(data.min_age_years, 'minimum age'),
              'max_age_years': _age(data.max_age_years, 'maximum age'),
              'low': _limit(data.low, 'low limit'), 'high': _limit(data.high, 'high limit'),
              'critical_low': _limit(data.critical_low, 'critical low limit'),
              'critical_high': _limit(data.critical_high, 'critical high limit')}
    low, high, critical_low, critical_high = (values[k] for k in ('low', 'high', 'critical_low', 'critical_high'))
    if low is None and high is None:
        raise ValidationError(_('Please give the low limit, the high limit or both.'), 'low limit')
    if low is not None and high is not None and low > high:
        raise ValidationError(_('The low limit must not be above the high limit.'), 'low limit')
    if critical_low is not None and critical_low > (low if low is not None else high):
        raise ValidationError(_('The critical low limit must not be above the normal range.'),
                              'critical low limit')
    if critical_high is not None and critical_high < (high if high is not None else low):
        raise ValidationError(_('The critical high limit must not be below the normal range.'),
                              'critical high limit')
    if values['min_age_years'] is not None and values['max_age_years'] is not None and \
            values['max_age_years'] <= values['min_age_years']:
        raise ValidationError(_('The maximum age must be above the minimum age.'), 'maximum age')
    return values


def _bands_overlap(a: dict, b: LabReferenceRange) -> bool:
    a_low, a_high = a['min_age_years'] or 0, a['max_age_years'] if a['max_age_years'] is not None else 10 ** 6
    b_low, b_high = b.min_age_years or 0, b.max_age_years if b.max_age_years is not None else 10 ** 6
    a_banded = a['min_age_years'] is not None or a['max_age_years'] is not None
    b_banded = b.min_age_years is not None or b.max_age_years is not None
    return a_banded == b_banded and a_low < b_high and b_low < a_high


@action
async def save_range(session: AsyncSession, actor: Actor, analyte_id: int, range_id: int | None,
                     data: RangeInput) -> LabReferenceRange:
    """Add a reference range to a value (``range_id=None``) or change one. Two ranges for the same people (same
    sex, overlapping age bands) are refused: the one that applies would be a guess."""
    require(actor, Role.ADMIN)
    analyte = await _analyte(session, analyte_id)
    await serialize(session, f'lab_panel:{analyte.service_id}')
    values = check_range(data)
    others = (await session.exec(select(LabReferenceRange).where(LabReferenceRange.analyte_id == analyte_id))).all()
    if any(o.id != range_id and o.sex == values['sex'] and _bands_overlap(values, o) for o in others):
        raise Conflict(_('{name} already has a range for these patients; please change that one.').format(
            name=analyte.name))
    if range_id is None:
        row = LabReferenceRange(analyte_id=analyte_id)
    else:
        row = next((o for o in others if o.id == range_id), None)
        if row is None:
            raise NotFound(_('This range is not one of this value.'))
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    await session.flush()
    limits = limits_of(row)
    _changed(session, actor, analyte.service_id, 'lab_range_saved',
             f'{analyte.name} ({RangeView(row.id, row.sex, row.min_age_years, row.max_age_years, limits).who}): '
             f'{reference_text(limits)} critical {limits.critical_low}/{limits.critical_high}')
    return row


@action
async def delete_range(session: AsyncSession, actor: Actor, range_id: int) -> LabAnalyte:
    """Remove a reference range (results already judged with it keep their printed range and flag); returns its
    value."""
    require(actor, Role.ADMIN)
    row = await session.get(LabReferenceRange, range_id)
    if row is None:
        raise NotFound(_('This range does not exist.'))
    analyte = await _analyte(session, row.analyte_id)
    await serialize(session, f'lab_panel:{analyte.service_id}')
    await session.delete(row)
    _changed(session, actor, analyte.service_id, 'lab_range_deleted',
             f'{analyte.name}: {reference_text(limits_of(row))}')
    return analyte
