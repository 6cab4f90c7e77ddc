"""The link in a patient's appointment email with which they see, move or cancel that one booking themselves.

The token names the appointment (its uuid), the version the email was about (its ``sequence``: any later change,
by staff or by the patient, makes older links stale) and when the link expires (the appointment's start), signed
with HMAC-SHA256 under a key derived from the storage secret. Nothing about the patient is in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from . import signed_tokens
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


def make_token(appointment_uuid: str, sequence: int, expires_at: datetime, settings: Settings) -> str:
    return signed_tokens.sign((appointment_uuid, sequence, int(expires_at.timestamp())), settings,
                              purpose=_PURPOSE, signature_bytes=_SIGNATURE_BYTES)


def read_token(token: str, settings: Settings) -> LinkClaim | None:
    """The claim of a token signed by this clinic; None when it is garbled, cut short or forged. (Expiry is the
    caller's to judge, so that it can say so.)"""
    fields = signed_tokens.read(token, settings, purpose=_PURPOSE, signature_bytes=_SIGNATURE_BYTES,
                                max_length=300, fields=3)
    if fields is None:
        return None
    try:
        return LinkClaim(fields[0], int(fields[1]), datetime.fromtimestamp(int(fields[2]), timezone.utc))
    except (ValueError, OverflowError, OSError):
        return None


def manage_url(token: str, language: str, settings: Settings) -> str:
    """The whole link (``CLINIC_PUBLIC_URL``), opening the page in the booking's language; '' without that setting."""
    if not settings.public_url:
        return ''
    return f'{settings.public_url}{MANAGE_PATH}?{urlencode({"token": token, "lang": language})}'
