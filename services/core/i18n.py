"""Languages: every text a person reads goes through ``_()``, in the language of whoever reads it.

English is the source language; translations are gettext catalogs in ``assets/locales/<lang>/LC_MESSAGES/
messages.po`` (extracted and updated with Babel, see the README). The ``.po`` files are read and compiled in
memory the first time a language is needed: there is no compiled file to forget.

Which language: an explicit ``with use('vi'):`` (a message for a patient, a document, a board) wins; else the
viewer's own language, which the app shell supplies through ``set_viewer_language`` (the tab whose callback is
running, never the tab that caused the event); else the clinic's language from its settings.

``N_('…')`` marks a text for translation where it is defined (a table of labels) without translating it then:
translate it with ``_()`` where it is shown. Numbers, money, dates and weekdays are formatted by Babel for the
language (``1.234.567 ₫``, ``Thứ Hai, 30 tháng 11, 2026``).
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parents[2] / 'assets' / 'locales'
LANGUAGES = {'en': 'English', 'vi': 'Tiếng Việt'}
SOURCE = 'en'
PSEUDO = 'pseudo'  # tests: every translated text comes back marked, so a text that skipped translation shows
BABEL_LOCALE = {'en': 'en_GB', 'vi': 'vi_VN', PSEUDO: 'en_GB'}  # en_GB: day/month order, as the clinic writes dates

_explicit: ContextVar[str | None] = ContextVar('clinic_language', default=None)
_viewer: Callable[[], str | None] = lambda: None  # noqa: E731 - replaced by the app shell
_clinic_default = SOURCE


def set_viewer_language(resolver: Callable[[], str | None]) -> None:
    """How to find the language of the person whose screen is being drawn (installed by the app shell)."""
    global _viewer  # noqa: PLW0603 - one resolver per process
    _viewer = resolver


def set_clinic_language(language_code: str) -> None:
    """The clinic's language: for anyone who chose none (set when the clinic's settings are put in force)."""
    global _clinic_default  # noqa: PLW0603
    _clinic_default = normalize(language_code) or SOURCE


def normalize(language_code: str | None) -> str | None:
    """``'vi_VN'`` / ``'vi-vn'`` / ``'vi'`` -> ``'vi'``; a language without a catalog -> None."""
    if not language_code:
        return None
    code = language_code.replace('-', '_').split('_')[0].lower()
    return code if code in LANGUAGES or code == PSEUDO else None


def current() -> str:
    """The language texts are written in right now."""
    return _explicit.get() or normalize(_viewer()) or _clinic_default


@contextmanager
def use(language_code: str | None) -> Iterator[str]:
    """Write in ``language_code`` inside the block (None or unknown: keep the current language)."""
    code = normalize(language_code) or current()
    token = _explicit.set(code)
    try:
        yield code
    finally:
        _explicit.reset(token)


def _translations(language_code: str) -> NullTranslations:
    return _catalog(LOCALES_DIR, language_code)


@cache
def _catalog(folder: Path, language_code: str) -> NullTranslations:
    """The compiled catalog of ``folder`` (one per folder: a test's own catalog never outlives the test)."""
    path = folder / language_code / 'LC_MESSAGES' / 'messages.po'
    if language_code == SOURCE or not path.exists():
        return NullTranslations()
    with open(path, 'rb') as po_file:
        catalog = read_po(po_file, locale=language_code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def _(message: str) -> str:
    """``message`` in the current language (English when it has no translation yet)."""
    code = current()
    if code == PSEUDO:
        return f'⟦{message}⟧'
    return _translations(code).gettext(message)


def ngettext(singular: str, plural: str, count: int, **values: object) -> str:
    """The form of ``singular``/``plural`` for ``count``, in the current language, with ``{count}`` and any other
    ``{placeholder}`` in ``values`` filled in."""
    code = current()
    if code == PSEUDO:
        return f'⟦{singular if count == 1 else plural}⟧'.format(count=count, **values)
    return _translations(code).ngettext(singular, plural, count).format(count=count, **values)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it here (translate it where it is shown)."""
    return message


def pick(name: str, translations: dict[str, str] | None) -> str:
    """A name the clinic typed, in the reader's language when the clinic gave one (``translations`` by language
    code), else as typed (``name``)."""
    return (translations or {}).get(current()) or name


def locale() -> Locale:
    return Locale.parse(BABEL_LOCALE.get(current(), current()))


# --- formatting for the reader's language ---------------------------------------------------------------------------

def number(value: int | float | Decimal) -> str:
    """``1234567`` -> ``1,234,567`` (English) or ``1.234.567`` (Vietnamese)."""
    return format_decimal(value, locale=locale())


def amount(minor_units: int, exponent: int) -> str:
    """An amount without its currency, grouped for the reader: ``1.234.567`` / ``1,234.50``."""
    pattern = '#,##0' + ('.' + '0' * exponent if exponent else '')
    return format_decimal(Decimal(minor_units).scaleb(-exponent), pattern, locale=locale())


def money(amount: int, currency: str, exponent: int) -> str:
    """Minor units in the currency, as the reader writes it: ``1.234.567 ₫`` / ``₫1,234,567``."""
    return format_currency(Decimal(amount).scaleb(-exponent), currency, locale=locale(),
                           currency_digits=True)


def day(value: date, style: str = 'medium') -> str:
    """``Thứ Hai, 30 tháng 11, 2026`` (style ``full``), ``30/11/2026`` (``short``), ..."""
    return format_date(value, style, locale=locale())


def moment(value: datetime, style: str = 'short') -> str:
    return format_datetime(value, style, tzinfo=value.tzinfo, locale=locale())


def clock(value: datetime) -> str:
    """Hours and minutes, 24-hour: ``08:30``."""
    return format_time(value, 'HH:mm', tzinfo=value.tzinfo, locale=locale())


def weekday(value: date, width: str = 'wide') -> str:
    return format_date(value, 'EEEE' if width == 'wide' else 'EEE', locale=locale())
