"""Equivalent medicines: what the pharmacist may hand out instead of the prescribed one.

A substitute is EQUIVALENT when it has
* the same active ingredient (``generic_name``; compared without accents, case or extra spaces, and with "+",
  "/", ",", "&", "and", "và" all read as the separator of a combination: "Amoxicillin/Clavulanic acid" =
  "amoxicillin + clavulanic acid"; no synonyms: "Acetaminophen" is not "Paracetamol");
* the same strength (``strength``), compared as amounts: "500mg" = "500 mg" = "0.5 g" = "0,5 g" = "500000 mcg";
  "250 mg/5 ml" = "50 mg/ml" (a concentration is read per one unit of its denominator); mass in g/mg/mcg/µg/ng,
  volume in l/ml, other units (IU, %, mmol...) compared as written; a strength that cannot be read this way is
  compared as text without spaces, accents or case;
* the same dose unit (the ``base_unit`` of a pack, else the unit sold): a blister of 10 tablets can replace
  tablets (20 tablets = 2 blisters), a capsule cannot replace a tablet. The dosage form is not compared otherwise.

The quantity given of a substitute is rounded up to whole units sold.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Medicine

from .core.i18n import _
from .prescriptions import stock_on_hand
from .text import search_key

_SEPARATORS = re.compile(r'\s*(?:\+|/|,|&|;|\band\b|\bva\b)\s*')
_AMOUNT = re.compile(r'^(\d+(?:\.\d+)?)?\s*([a-zμµ%]*)$')
_MASS = {'kg': Fraction(1_000_000), 'g': Fraction(1000), 'gram': Fraction(1000), 'mg': Fraction(1),
         'mcg': Fraction(1, 1000), 'μg': Fraction(1, 1000), 'µg': Fraction(1, 1000), 'ug': Fraction(1, 1000),
         'ng': Fraction(1, 1_000_000)}
_VOLUME = {'l': Fraction(1000), 'ml': Fraction(1)}
_SAME = {'iu': 'iu', 'ui': 'iu', 'dvqt': 'iu', 'unit': 'iu', 'units': 'iu', '%': '%', 'mmol': 'mmol',
         'meq': 'meq'}


def ingredient_key(generic_name: str) -> str:
    """The active ingredient(s) as compared: ``'Amoxicillin/Clavulanic  Acid'`` -> ``'amoxicillin + clavulanic
    acid'``; '' when none is recorded."""
    key = search_key(generic_name or '')
    return ' + '.join(part for part in _SEPARATORS.split(key) if part)


def _amount(text: str) -> tuple[Fraction, str] | None:
    match = _AMOUNT.match(text.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    number, unit = Fraction(match.group(1) or 1), match.group(2)
    if unit in _MASS:
        return number * _MASS[unit], 'mg'
    if unit in _VOLUME:
        return number * _VOLUME[unit], 'ml'
    if unit in _SAME or unit == '':
        return number, _SAME.get(unit, '')
    return None


def strength_key(strength: str) -> tuple | str:
    """The strength as compared (see the module's doc); '' when none is recorded."""
    text = search_key(strength or '')
    if not text:
        return ''
    text = re.sub(r'(\d),(\d)', r'\1.\2', text)
    parts = []
    for component in re.split(r'\s*\+\s*', text):
        pieces = component.split('/')
        amounts = [_amount(piece) for piece in pieces]
        if len(pieces) > 2 or None in amounts:
            return text.replace(' ', '')
        if len(amounts) == 2:
            (top, top_unit), (bottom, bottom_unit) = amounts
            if bottom == 0:
                return text.replace(' ', '')
            parts.append((top / bottom, f'{top_unit}/{bottom_unit}'))
        else:
            parts.append(amounts[0])
    return tuple(parts)


def dose_unit(medicine: Medicine) -> str:
    """The unit a dose is counted in: the pack's base unit, else the unit sold."""
    return medicine.base_unit or medicine.unit


def refusal(prescribed: Medicine, candidate: Medicine) -> str:
    """Why ``candidate`` is not an equivalent of ``prescribed`` (a whole sentence), or '' when it is."""
    if not ingredient_key(prescribed.generic_name):
        return _('{medicine} has no active ingredient recorded, so no equivalent can be checked. An administrator '
                 'can record it in Administration → Catalog & prices → Medicines (Generic name).').format(
            medicine=prescribed.name)
    if not strength_key(prescribed.strength):
        return _('{medicine} has no strength recorded, so no equivalent can be checked. An administrator can '
                 'record it in Administration → Catalog & prices → Medicines (Strength).').format(
            medicine=prescribed.name)
    if ingredient_key(candidate.generic_name) != ingredient_key(prescribed.generic_name):
        return _('{medicine} is not an equivalent of {prescribed}: its active ingredient is "{ingredient}", not '
                 '"{prescribed_ingredient}".').format(
            medicine=candidate.name, prescribed=prescribed.name, ingredient=candidate.generic_name or '—',
            prescribed_ingredient=prescribed.generic_name)
    if strength_key(candidate.strength) != strength_key(prescribed.strength):
        return _('{medicine} is not an equivalent of {prescribed}: its strength is {strength}, not '
                 '{prescribed_strength}.').format(
            medicine=candidate.name, prescribed=prescribed.name, strength=candidate.strength or '—',
            prescribed_strength=prescribed.strength)
    if search_key(dose_unit(candidate)) != search_key(dose_unit(prescribed)):
        return _('{medicine} is not an equivalent of {prescribed}: it is counted in {unit}, not in '
                 '{prescribed_unit}.').format(medicine=candidate.name, prescribed=prescribed.name,
                                                 unit=dose_unit(candidate), prescribed_unit=dose_unit(prescribed))
    return ''


def sold_quantity(quantity: int, prescribed: Medicine, substitute: Medicine) -> int:
    """``quantity`` units of ``prescribed`` in whole units of ``substitute``, rounded up."""
    return math.ceil(quantity * prescribed.units_per_pack / substitute.units_per_pack)


@dataclass(frozen=True)
class Substitute:
    id: int
    name: str
    strength: str
    unit: str  # the unit sold
    units_per_pack: int  # dose units in one unit sold
    price: int
    on_hand: int  # in ``unit``


@dataclass
class Substitutes:
    """The equivalents of a prescribed medicine, in stock first; ``reason`` says why none can be chosen."""
    dose_unit: str  # the unit a dose is counted in ("tablet")
    per_prescribed_unit: int  # dose units in one unit of the prescribed medicine
    options: list[Substitute] = field(default_factory=list)
    reason: str = ''

    def quantity(self, quantity: int, substitute: Substitute) -> int:
        """``quantity`` prescribed units as whole units of ``substitute``, rounded up."""
        return math.ceil(quantity * self.per_prescribed_unit / substitute.units_per_pack)

    def conversion(self, quantity: int, prescribed_unit: str, substitute: Substitute) -> str:
        """How much of ``substitute`` is handed out for ``quantity`` prescribed units, as the pharmacist reads
        it: "20 tablet = 2 blister of 10", with the rounding when there is one."""
        doses, sold = quantity * self.per_prescribed_unit, self.quantity(quantity, substitute)
        given = f'{quantity} {prescribed_unit}' if prescribed_unit == self.dose_unit or quantity == doses \
            else _('{quantity} {unit} ({doses} {dose_unit})').format(quantity=quantity, unit=prescribed_unit,
                                                                   doses=doses, dose_unit=self.dose_unit)
        if substitute.units_per_pack == 1 and quantity == doses and substitute.unit == prescribed_unit:
            return f'{sold} {substitute.unit}'  # the same count of the same unit: nothing to convert
        if substitute.units_per_pack == 1:
            text = _('{given} = {sold} {unit}').format(given=given, sold=sold, unit=substitute.unit)
        else:
            text = _('{given} = {sold} {unit} of {per_pack}').format(given=given, sold=sold, unit=substitute.unit,
                                                                     per_pack=substitute.units_per_pack)
        if sold * substitute.units_per_pack > doses:
            text += ' ' + _('(rounded up: {doses} {dose_unit})').format(doses=sold * substitute.units_per_pack,
                                                                        dose_unit=self.dose_unit)
        return text


def _named(medicines: list[Medicine], *, strength: bool = False) -> str:
    return ', '.join(f'{m.name} ({m.strength or "—"}, {dose_unit(m)})' if strength else m.name for m in medicines)


async def active_medicines(session: AsyncSession) -> list[Medicine]:
    """The medicines that may be handed out (read once for all the lines of a prescription)."""
    return list((await session.exec(select(Medicine).where(Medicine.is_active.is_(True)))).all())


async def equivalents(session: AsyncSession, prescribed: Medicine, today: date,
                      catalog: list[Medicine]) -> Substitutes:
    """The equivalents of ``prescribed`` among ``catalog`` (``active_medicines``) with their usable stock, in stock
    first (most first), and when none is in stock the reason, as a sentence for the pharmacist."""
    result = Substitutes(dose_unit(prescribed), prescribed.units_per_pack)
    ingredient = ingredient_key(prescribed.generic_name)
    if not ingredient or not strength_key(prescribed.strength):
        result.reason = refusal(prescribed, prescribed)
        return result
    same_ingredient = [m for m in catalog if m.id != prescribed.id and ingredient_key(m.generic_name) == ingredient]
    matching = [m for m in same_ingredient if not refusal(prescribed, m)]
    stock = await stock_on_hand(session, [m.id for m in matching], today)
    matching.sort(key=lambda m: (stock[m.id] == 0, -stock[m.id], m.name))
    result.options = [Substitute(m.id, m.name, m.strength, m.unit, m.units_per_pack, m.price, stock[m.id])
                      for m in matching]
    others = [m for m in same_ingredient if m not in matching]
    if matching and all(stock[m.id] == 0 for m in matching):
        result.reason = _('The equivalent medicines are all out of stock: {names}.').format(names=_named(matching))
    elif not matching and others:
        result.reason = _('No equivalent: {ingredient} is in the catalog only in other strengths or dose units: '
                          '{names}.').format(ingredient=prescribed.generic_name, names=_named(others, strength=True))
    elif not matching:
        result.reason = _('No other medicine in the catalog contains {ingredient} {strength}.').format(
            ingredient=prescribed.generic_name, strength=prescribed.strength)
    return result
