"""Short signed tokens for links and codes given to patients (booking links, ticket links, check-in codes).

A token is ``<payload>.<signature>``: the payload is dot-separated fields in URL-safe base64 without padding; the
signature is HMAC-SHA256 over the payload text, cut to ``signature_bytes``, under a key derived from the storage
secret and the token's own ``purpose`` (so one kind of token never passes as another, and another clinic's tokens
fail). Decoding is strict: a character outside the URL-safe alphabet is an altered token, not one to skip.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from .core.settings import Settings


def _key(settings: Settings, purpose: bytes) -> bytes:
    return hmac.new(settings.resolved_storage_secret().encode(), purpose, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + '=' * (-len(text) % 4), altchars=b'-_', validate=True)


def _signature(payload: str, settings: Settings, purpose: bytes, signature_bytes: int) -> bytes:
    return hmac.new(_key(settings, purpose), payload.encode('ascii'), hashlib.sha256).digest()[:signature_bytes]


def sign(fields: tuple[str | int, ...], settings: Settings, *, purpose: bytes, signature_bytes: int) -> str:
    payload = _b64('.'.join(str(field) for field in fields).encode('ascii'))
    return f'{payload}.{_b64(_signature(payload, settings, purpose, signature_bytes))}'


def read(token: str, settings: Settings, *, purpose: bytes, signature_bytes: int, max_length: int,
         fields: int) -> list[str] | None:
    """The ``fields`` of a token this clinic signed for ``purpose``; None when it is garbled, cut short, too long,
    forged or signed for something else. (What the fields mean, and expiry, are the caller's to judge.)"""
    token = (token or '').strip()
    payload, dot, signature = token.partition('.')
    if not dot or len(token) > max_length or not token.isascii():
        return None
    try:
        if not hmac.compare_digest(_unb64(signature), _signature(payload, settings, purpose, signature_bytes)):
            return None
        values = _unb64(payload).decode('ascii').split('.')
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return values if len(values) == fields else None
