"""Patients' phone numbers: checked for the clinic's region, stored in E.164 (``+84901234567``), shown in the
national format (``0901 234 567``).

The region (``CLINIC_PHONE_REGION``, default VN) decides how a number typed without a country code is read:
``0901234567``, ``090 123 4567`` and ``84901234567`` are all ``+84901234567``. A number from another country
is typed with its ``+`` and country code. Numbers that cannot be dialled (too short, retired prefixes such as
Vietnam's 11-digit ``012…``) are refused with a message naming the region.

Numbers stored before this check that do not parse stay as they were typed (nothing is lost); they are shown as
stored with a warning, and the next save of the patient asks for a valid number (or none).
"""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from .core.errors import ValidationError
from .core.i18n import _

DEFAULT_REGION = 'VN'
_TYPED_RE = re.compile(r'^\+?[\d\s().\-]{1,30}$')


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = (text or '').strip()
    if not text or not _TYPED_RE.match(text):
        return None
    try:
        number = phonenumbers.parse(text, region or DEFAULT_REGION)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def to_e164(text: str, region: str) -> str | None:
    """The number in E.164 (``+84901234567``), or None when ``text`` is no valid number for ``region``."""
    number = _parse(text, region)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number is not None else None


def validate(text: str, region: str) -> str:
    """A typed phone as stored (E.164); '' for an empty one; ValidationError (field ``phone``) when invalid."""
    if not (text or '').strip():
        return ''
    e164 = to_e164(text, region)
    if e164 is None:
        raise ValidationError(_('"{phone}" is not a valid phone number. Please type it as it is dialled, e.g. '
                                '{example} (a number from another country starts with + and its country code).')
                              .format(phone=text.strip()[:40], example=example(region)), 'phone')
    return e164


def example(region: str) -> str:
    """A mobile number of the region in its national format (what the error message shows)."""
    number = phonenumbers.example_number_for_type(region or DEFAULT_REGION, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if number else '+84 901 234 567'


def is_stored_valid(stored: str | None) -> bool:
    """A stored number in E.164 that can be dialled (not an old number kept as typed)."""
    return bool(stored) and stored.startswith('+') and _parse(stored, DEFAULT_REGION) is not None


def display(stored: str | None, region: str) -> str:
    """How people read a stored number: national format in the clinic's region (``0901 234 567``), international
    for others (``+1 415-555-2671``); an old number that is not valid is shown as stored, marked with ⚠."""
    if not stored:
        return ''
    number = _parse(stored, region) if stored.startswith('+') else None
    if number is None:
        return f'{stored} ⚠'
    same_region = phonenumbers.region_code_for_number(number) == (region or DEFAULT_REGION)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL if same_region
                                      else PhoneNumberFormat.INTERNATIONAL)


def digits_only(stored: str) -> str:
    """``+84901234567`` -> ``84901234567`` (what SMS gateways and Zalo take)."""
    return re.sub(r'\D', '', stored or '')


def search_forms(text: str, region: str) -> tuple[str | None, str]:
    """What staff typed in the search box, as (the whole number in E.164 or None, a fragment to look for).

    ``0901234567`` -> ('+84901234567', '901234567'); ``4567`` -> (None, '4567'); ``0901 23`` -> (None, '90123'):
    a leading national 0 is dropped from a fragment, since stored numbers carry the country code instead."""
    whole = to_e164(text, region)
    digits = re.sub(r'\D', '', text)
    fragment = digits[1:] if digits.startswith('0') and len(digits) > 3 else digits
    return whole, fragment


def shown(stored: str | None) -> str:
    """``display`` for the clinic's region in force (what pages show)."""
    from . import clinic_settings  # here: the settings module reaches this one through patients
    return display(stored, clinic_settings.current().phone_region)


def editable(stored: str | None) -> str:
    """A stored number as put in a form field: national format (``0901 234 567``), an old invalid one as stored."""
    text = shown(stored)
    return stored or '' if text.endswith('⚠') else text
