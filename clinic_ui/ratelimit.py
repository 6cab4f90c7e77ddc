"""A small in-process rate limiter for public pages (one server process; see README for scaling out)."""
from __future__ import annotations

import hashlib
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds per key (sliding window)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, *, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        events = self._events[key]
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # forget idle keys, so memory stays bounded
            for stale in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window_s]:
                del self._events[stale]
        return True


def client_key(address: str | None, secret: str) -> str:
    """A keyed hash of the client's address: enough to rate-limit, without storing addresses."""
    return hashlib.sha256(f'{secret}:{address or "unknown"}'.encode()).hexdigest()[:32]
