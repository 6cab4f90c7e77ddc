"""The link in a patient's appointment email with which they see, move or cancel that one booking themselves.

The token names the appointment (its uuid), the version the email was about (its ``sequence``: any later change,
by staff or by the patient, makes older links stale) and when the link expires (the appointment's start), signed
with HMAC-SHA256 under a key derived from the storage secret. Nothing about the patient is in it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from .core.settings import Settings

MANAGE_PATH = '/book/manage'
_PURPOSE = b'clinic-flow booking link v1'
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class LinkClaim:
    """What a well-signed token says (not yet checked against the appointment as it is now)."""
    appointment_uuid: str
    sequence: int
    expires_at: datetime


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.resolved_storage_secret().encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def make_token(appointment_uuid: str, sequence: int, expires_at: datetime, settings: Settings) -> str:
    payload = _b64(f'{appointment_uuid}.{sequence}.{int(expires_at.timestamp())}'.encode('ascii'))
    signature = hmac.new(_key(settings), payload.encode('ascii'), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return f'{payload}.{_b64(signature)}'


def read_token(token: str, settings: Settings) -> LinkClaim | None:
    """The claim of a token signed by this clinic; None when it is garbled, cut short or forged. (Expiry is the
    caller's to judge, so that it can say so.)"""
    payload, dot, signature = (token or '').strip().partition('.')
    if not dot or len(token) > 300:
        return None
    try:
        given = _unb64(signature)
        expected = hmac.new(_key(settings), payload.encode('ascii'), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        if not hmac.compare_digest(given, expected):
            return None
        appointment_uuid, sequence, expires = _unb64(payload).decode('ascii').split('.')
        return LinkClaim(appointment_uuid, int(sequence), datetime.fromtimestamp(int(expires), timezone.utc))
    except (ValueError, UnicodeError, binascii.Error):
        return None


def manage_url(token: str, language: str, settings: Settings) -> str:
    """The whole link (``CLINIC_PUBLIC_URL``), opening the page in the booking's language; '' without that setting."""
    if not settings.public_url:
        return ''
    return f'{settings.public_url}{MANAGE_PATH}?{urlencode({"token": token, "lang": language})}'
