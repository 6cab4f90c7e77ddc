"""The link on a patient's ticket slip (its QR code) that opens their live ticket page on their own phone.

The token names the visit, not one ticket, so the page follows the patient from the doctor's queue to the lab and
back. It expires at the end of the visit's clinic day. It is signed with HMAC-SHA256 under a key derived from the
storage secret (its own purpose, so a booking link can never pass as a ticket link); nothing about the patient is
in it, and it cannot be guessed or altered. Short on purpose: a short URL makes a small, easily scanned QR code.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import quote

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


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.resolved_storage_secret().encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text: str) -> bytes:
    # Strict: a character outside the URL-safe alphabet is an altered token, not one to skip.
    return base64.b64decode(text + '=' * (-len(text) % 4), altchars=b'-_', validate=True)


def expiry_for(visit_date: date, settings: Settings) -> datetime:
    """The end of the visit's clinic-local day (UTC)."""
    return day_bounds(visit_date, settings.tz)[1]


def make_token(visit_id: int, visit_date: date, settings: Settings) -> str:
    expires = int(expiry_for(visit_date, settings).timestamp())
    payload = _b64(f'{visit_id}.{expires}'.encode('ascii'))
    signature = hmac.new(_key(settings), payload.encode('ascii'), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return f'{payload}.{_b64(signature)}'


def read_token(token: str, settings: Settings) -> TicketClaim | None:
    """The claim of a token signed by this clinic; None when it is garbled, cut short or forged."""
    token = (token or '').strip()
    payload, dot, signature = token.partition('.')
    if not dot or len(token) > 120:
        return None
    try:
        given = _unb64(signature)
        expected = hmac.new(_key(settings), payload.encode('ascii'), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        if not hmac.compare_digest(given, expected):
            return None
        visit_id, expires = _unb64(payload).decode('ascii').split('.')
        return TicketClaim(int(visit_id), datetime.fromtimestamp(int(expires), timezone.utc))
    except (ValueError, UnicodeError, binascii.Error):
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
