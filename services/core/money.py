"""Money: integers in the currency's minor unit everywhere; text only at the edges, parsed and written here.

``parse_money`` reads what people type at the counter or in the price list. VND has no minor unit and people
group thousands with dots, commas or spaces (``150.000``, ``150,000``, ``150 000``); with a minor unit the last
separator followed by at most that many digits is the decimal point (``1,234.50``, ``12,50``). Anything else (a
stray group, ``12.5.3``, ``NaN``, a minus sign, digits of other scripts) is refused with a message naming the
field, never guessed.
"""
from __future__ import annotations

import re

from . import i18n
from .errors import ValidationError
from .i18n import _

MAX_AMOUNT = 10 ** 15  # minor units: far above any bill or price, far below BIGINT
_GROUPED = re.compile(r'^\d{1,3}([.,])\d{3}(\1\d{3})*$')  # 150.000 / 1,234,567: one separator kind, groups of 3
_DIGITS = re.compile(r'^\d+$')


def parse_money(text: str | int | None, exponent: int, label: str = 'amount') -> int:
    """What a person typed, as minor units (raises ValidationError for the field ``label``: ``'amount'`` or
    ``'price'``, which also chooses the wording of the message)."""
    raw = re.sub(r'[\s_\u00a0]', '', str(text if text is not None else ''))
    price = label == 'price'
    if not raw:
        raise ValidationError(_('Please enter the price.') if price else _('Please enter the amount.'), label)
    if raw.startswith('-'):
        raise ValidationError(_('The price cannot be negative.') if price else _('The amount cannot be negative.'),
                              label)
    whole, fraction = _split(raw, exponent, label)
    if not raw.isascii() or not _DIGITS.match(whole) or (fraction and not _DIGITS.match(fraction)):
        raise _not_a_number(label, exponent)
    if len(fraction) > exponent:
        raise _too_many_decimals(label, exponent)
    minor = int(whole) * 10 ** exponent + int(fraction.ljust(exponent, '0') or 0)
    if minor > MAX_AMOUNT:
        raise ValidationError(_('The price is too large.') if price else _('The amount is too large.'), label)
    return minor


def _not_a_number(label: str, exponent: int) -> ValidationError:
    example = '150000' if exponent == 0 else '12.50'
    message = (_('The price must be a number, e.g. {example}.') if label == 'price' else
               _('The amount must be a number, e.g. {example}.'))
    return ValidationError(message.format(example=example), label)


def _too_many_decimals(label: str, exponent: int) -> ValidationError:
    message = (_('The price has too many decimals for the currency (at most {count}).') if label == 'price' else
               _('The amount has too many decimals for the currency (at most {count}).'))
    return ValidationError(message.format(count=exponent), label)


def _split(raw: str, exponent: int, label: str) -> tuple[str, str]:
    """The whole part (thousands separators removed) and the decimals, or a ValidationError."""
    grouped = _GROUPED.match(raw)
    if grouped and not (exponent and raw.count('.') == 1 and raw.count(',') == 0):
        return re.sub(r'[.,]', '', raw), ''  # 150.000, 150,000, 1,234,567 (but 12.345 with cents is decimals)
    last = max(raw.rfind('.'), raw.rfind(','))
    if last < 0:
        return raw, ''
    if exponent == 0:  # 1.5 or 12.5.3: no way to read it as whole thousands
        if re.fullmatch(r'\d+[.,]\d{1,2}', raw):
            raise _too_many_decimals(label, 0)
        raise _not_a_number(label, 0)
    whole, fraction = raw[:last], raw[last + 1:]
    thousands = ',' if raw[last] == '.' else '.'
    if whole and not (_DIGITS.match(whole) or (_GROUPED.match(whole) and thousands in whole)):
        raise _not_a_number(label, exponent)
    return whole.replace(thousands, '') or '0', fraction


def format_amount(amount: int, exponent: int) -> str:
    """An amount without its currency, as the reader groups it: ``1.234.567`` (Vietnamese), ``1,234.50``."""
    return i18n.amount(amount, exponent)


def format_money(amount: int, currency: str, exponent: int) -> str:
    """``format_money(150000, 'VND', 0)`` -> ``'150.000 ₫'`` (Vietnamese) / ``'₫150,000'`` (English)."""
    return i18n.money(amount, currency, exponent)
