"""The check-in code in a patient's appointment email (drawn as a QR code): shown to the self check-in kiosk's camera
or scanner, it finds that one appointment without typing anything.

The code names the appointment and expires at the end of the appointment's clinic-local day. It is signed with
HMAC-SHA256 under a key derived from the storage secret with its own purpose, so neither a booking link nor a
ticket link passes as one (and another clinic's code fails the signature). Nothing about the patient is in it.
Short on purpose: a scanner types it quickly and the QR code stays small.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timezone

from .core.clock import day_bounds
from .core.settings import Settings

_PURPOSE = b'clinic-flow check-in code v1'
_SIGNATURE_BYTES = 12  # 96 bits
MAX_LENGTH = 120


@dataclass(frozen=True)
class CheckInClaim:
    """What a well-signed code says; the caller judges expiry (to say so) and the appointment as it is now."""
    appointment_id: int
    expires_at: datetime


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.resolved_storage_secret().encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + '=' * (-len(text) % 4), altchars=b'-_', validate=True)


def _signature(payload: str, settings: Settings) -> bytes:
    return hmac.new(_key(settings), payload.encode('ascii'), hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def make_code(appointment_id: int, day: date, settings: Settings) -> str:
    """The code of an appointment on the clinic-local ``day``: valid until that day ends."""
    expires = int(day_bounds(day, settings.tz)[1].timestamp())
    payload = _b64(f'{appointment_id}.{expires}'.encode('ascii'))
    return f'{payload}.{_b64(_signature(payload, settings))}'


def read_code(code: str, settings: Settings) -> CheckInClaim | None:
    """The claim of a code signed by this clinic; None when it is garbled, cut short or forged (e.g. whatever a
    scanner typed from another barcode)."""
    code = (code or '').strip()
    payload, dot, signature = code.partition('.')
    if not dot or len(code) > MAX_LENGTH or not code.isascii():
        return None
    try:
        if not hmac.compare_digest(_unb64(signature), _signature(payload, settings)):
            return None
        appointment_id, expires = _unb64(payload).decode('ascii').split('.')
        return CheckInClaim(int(appointment_id), datetime.fromtimestamp(int(expires), timezone.utc))
    except (ValueError, UnicodeError, binascii.Error, OverflowError, OSError):
        return None


def is_expired(claim: CheckInClaim, now: datetime) -> bool:
    return now >= claim.expires_at
