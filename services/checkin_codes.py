"""The check-in code in a patient's appointment email (drawn as a QR code): shown to the self check-in kiosk's camera
or scanner, it finds that one appointment without typing anything.

The code names the appointment and expires at the end of the appointment's clinic-local day. It is signed with
HMAC-SHA256 under a key derived from the storage secret with its own purpose, so neither a booking link nor a
ticket link passes as one (and another clinic's code fails the signature). Nothing about the patient is in it.
Short on purpose: a scanner types it quickly and the QR code stays small.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from . import signed_tokens
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


def make_code(appointment_id: int, day: date, settings: Settings) -> str:
    """The code of an appointment on the clinic-local ``day``: valid until that day ends."""
    expires = int(day_bounds(day, settings.tz)[1].timestamp())
    return signed_tokens.sign((appointment_id, expires), settings, purpose=_PURPOSE,
                              signature_bytes=_SIGNATURE_BYTES)


def read_code(code: str, settings: Settings) -> CheckInClaim | None:
    """The claim of a code signed by this clinic; None when it is garbled, cut short or forged (e.g. whatever a
    scanner typed from another barcode)."""
    fields = signed_tokens.read(code, settings, purpose=_PURPOSE, signature_bytes=_SIGNATURE_BYTES,
                                max_length=MAX_LENGTH, fields=2)
    if fields is None:
        return None
    try:
        return CheckInClaim(int(fields[0]), datetime.fromtimestamp(int(fields[1]), timezone.utc))
    except (ValueError, OverflowError, OSError):
        return None


def is_expired(claim: CheckInClaim, now: datetime) -> bool:
    return now >= claim.expires_at
