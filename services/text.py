"""Text helpers: accent- and case-insensitive search keys, and validation of common fields."""
from __future__ import annotations

import re
import unicodedata

_EXTRA_FOLDS = str.maketrans({'đ': 'd', 'Đ': 'd', 'ø': 'o', 'Ø': 'o', 'ł': 'l', 'Ł': 'l', 'ß': 'ss'})
_SPACES = re.compile(r'\s+')
PHONE_RE = re.compile(r'^\+?[0-9]{6,15}$')
EMAIL_RE = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')


def search_key(text: str) -> str:
    """``'  Nguyễn  Văn Đức '`` -> ``'nguyen van duc'``: lower case, no accents, single spaces."""
    text = unicodedata.normalize('NFKD', text.translate(_EXTRA_FOLDS))
    text = ''.join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(' ', text).strip().casefold()


def clean_name(text: str) -> str:
    """Trim and collapse spaces, keep the letters as typed (NFC)."""
    return _SPACES.sub(' ', unicodedata.normalize('NFC', text)).strip()


def normalize_phone(text: str) -> str:
    """Keep a leading + and the digits: ``'090 123-4567'`` -> ``'0901234567'``."""
    text = text.strip()
    return ('+' if text.startswith('+') else '') + re.sub(r'\D', '', text)


def is_valid_phone(phone: str) -> bool:
    return bool(PHONE_RE.match(phone))


def is_valid_email(email: str) -> bool:
    return len(email) <= 254 and bool(EMAIL_RE.match(email))
