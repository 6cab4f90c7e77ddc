"""Rate limits of the public pages, kept in the database (``rate_limit_hits``) so that they hold whichever server
process a visitor lands on: at most ``limit`` uses per ``window_s`` seconds per key (a sliding window)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import RateLimitHit

from .core.db import serialize

KEY_LENGTH = 64


async def allow(session: AsyncSession, bucket: str, key: str, *, limit: int, window_s: float, now: datetime) -> bool:
    """Whether ``key`` may use ``bucket`` once more at ``now``; counts the use if so (the caller commits)."""
    key = key[:KEY_LENGTH]
    await serialize(session, f'rate-limit:{bucket}:{key}')  # two processes never both let the last one through
    since = now - timedelta(seconds=window_s)
    await session.exec(sa.delete(RateLimitHit).where(RateLimitHit.bucket == bucket, RateLimitHit.hit_at <= since))
    used = (await session.exec(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.key == key, RateLimitHit.hit_at > since))).one()
    if used >= limit:
        return False
    session.add(RateLimitHit(bucket=bucket, key=key, hit_at=now))
    return True


async def exhausted(session: AsyncSession, bucket: str, key: str, *, limit: int, window_s: float,
                    now: datetime) -> bool:
    """Whether ``key`` has used up ``bucket`` at ``now``, counting nothing (e.g. a visitor who sent too many bad
    links is refused before the next link is even read, good or bad)."""
    used = (await session.exec(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.key == key[:KEY_LENGTH],
        RateLimitHit.hit_at > now - timedelta(seconds=window_s)))).one()
    return used >= limit
