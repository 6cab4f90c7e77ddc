"""The public pages' rate limits (kept in the database, so they hold across server processes), and the one place
that says which address a request comes from."""
from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime, timezone

from starlette.requests import HTTPConnection

from models.types import utcnow
from services import rate_limits
from services.core.db import get_db
from services.core.settings import get_settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimiter:
    """At most ``limit`` uses per ``window_s`` seconds per key (sliding window), for one kind of use (``name``)."""

    def __init__(self, name: str, limit: int, window_s: float) -> None:
        self.name = name
        self.limit = limit
        self.window_s = window_s

    async def allow(self, key: str, *, now: float | None = None) -> bool:
        """``now``: seconds since the epoch (tests)."""
        at = utcnow() if now is None else datetime.fromtimestamp(now, timezone.utc)
        async with get_db().write() as session:
            allowed = await rate_limits.allow(session, self.name, key, limit=self.limit, window_s=self.window_s,
                                              now=at)
            await session.commit()
        return allowed

    async def exhausted(self, key: str) -> bool:
        """Whether ``key`` has used up its uses for now (this asks only: nothing is counted)."""
        async with get_db().read() as session:
            return await rate_limits.exhausted(session, self.name, key, limit=self.limit, window_s=self.window_s,
                                               now=utcnow())


def client_key(address: str | None, secret: str) -> str:
    """A keyed hash of the client's address: enough to rate-limit, without storing addresses."""
    return hashlib.sha256(f'{secret}:{address or "unknown"}'.encode()).hexdigest()[:32]


def client_address(request: HTTPConnection, trusted: tuple[IPNetwork, ...] | None = None) -> str | None:
    """The visitor's address, for every rate limit. Anyone can send any ``X-Forwarded-For``, so it is believed only
    when the connection comes from one of the clinic's own reverse proxies (``CLINIC_TRUSTED_PROXIES``; none by
    default). Each proxy appends the address it saw, so the header is read from the right, past the clinic's
    proxies: the first address that is not one of them is the visitor's. (The server itself does not rewrite the
    connecting address from such headers: main.py runs it with ``proxy_headers=False``.)"""
    peer = request.client.host if request.client else None
    trusted = get_settings().trusted_proxy_networks if trusted is None else trusted
    if not _within(_ip(peer), trusted):
        return peer
    hops = [hop for value in request.headers.getlist('x-forwarded-for') for hop in value.split(',')]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            break  # not an address: nothing left of it can be believed; count the proxy's own address
        if not _within(address, trusted):
            return str(address)
    return peer


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``203.0.113.7``, ``203.0.113.7:5123`` or ``[2001:db8::1]:443`` as an address; None when it is none."""
    text = (text or '').strip()
    if text.startswith('['):
        text = text[1:].split(']', 1)[0]
    elif text.count(':') == 1:
        text = text.split(':', 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)
