"""The link on a patient's ticket slip (its QR code) that opens their live ticket page on their own phone.

The token names the visit, not one ticket, so the page follows the patient from the doctor's queue to the lab and
back. It expires at the end of the visit's clinic day. It is signed with HMAC-SHA256 under a key derived from the
storage secret (its own purpose, so a booking link can never pass as a ticket link); nothing about the patient is
in it, and it cannot be guessed or altered. Short on purpose: a short URL makes a small, easily scanned QR code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import quote

from . import signed_tokens
from .core.clock import day_bounds
from .core.settings import Settings

TICKET_PATH = '/t'
_PURPOSE = b'clinic-flow ticket link v1'
_SIGNATURE_BYTES = 12  # 96 bits: guessing one is out of reach, and the token stays short


@dataclass(frozen=True)
class TicketClaim:
    """What a well-signed token says; the caller judges expiry (to say so) and the visit as it is now."""
    visit_id: int
    expires_at: datetime


def expiry_for(visit_date: date, settings: Settings) -> datetime:
    """The end of the visit's clinic-local day (UTC)."""
    return day_bounds(visit_date, settings.tz)[1]


def make_token(visit_id: int, visit_date: date, settings: Settings) -> str:
    expires = int(expiry_for(visit_date, settings).timestamp())
    return signed_tokens.sign((visit_id, expires), settings, purpose=_PURPOSE, signature_bytes=_SIGNATURE_BYTES)


def read_token(token: str, settings: Settings) -> TicketClaim | None:
    """The claim of a token signed by this clinic; None when it is garbled, cut short or forged."""
    fields = signed_tokens.read(token, settings, purpose=_PURPOSE, signature_bytes=_SIGNATURE_BYTES,
                                max_length=120, fields=2)
    if fields is None:
        return None
    try:
        return TicketClaim(int(fields[0]), datetime.fromtimestamp(int(fields[1]), timezone.utc))
    except (ValueError, OverflowError, OSError):
        return None


def is_expired(claim: TicketClaim, now: datetime) -> bool:
    return now >= claim.expires_at


def ticket_path(token: str) -> str:
    """The page's path (relative: works on any host the slip was printed from)."""
    return f'{TICKET_PATH}/{quote(token, safe="")}'


def ticket_url(token: str, settings: Settings, *, base_url: str = '') -> str:
    """The whole link for a QR code: ``CLINIC_PUBLIC_URL`` if set, else ``base_url`` (the address the staff page
    was opened at), so a phone on the clinic's Wi-Fi reaches the same server."""
    base = (settings.public_url or base_url or '').rstrip('/')
    return f'{base}{ticket_path(token)}'
