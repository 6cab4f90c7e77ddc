"""Who may try a password now: slows down guessing without letting a stranger lock staff out.

Two records, kept in the database (``sign_in_failures``) so that every server process of the clinic sees the same
ones: a guesser gains nothing by landing on another process.

* **per client address**: after ``max_failed`` failed sign-ins from one address within the window, that address
  must wait before each further attempt: 1 second after that failure, then 2, 4, 8, ... seconds after each next
  one, never more than the window. Someone guessing from one address slows down only that address.
* **per user name and address**: after ``max_failed`` wrong passwords for one user name from one address within
  the window (and no right one since), that name is locked for that address (only) for the whole window. The
  person at their own workstation, another address, still signs in: a stranger cannot lock the account (nor the
  administrator's) for everybody.

Both are keyed by the user name as typed, whether an account has it or not, so a refusal says nothing about
which names exist. Failures older than the window are forgotten (deleted with the next failure). An
administrator's "Unlock" or password reset forgets the name's records (and those of the addresses that failed on
it).

Each function works in the caller's transaction; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import SignInFailure

ADDRESS_LENGTH = 64  # the column's: longer "addresses" (none are) are cut


@dataclass(frozen=True)
class Verdict:
    """``wait_s`` > 0: refuse this attempt, try again after that many seconds. ``first_refusal``: the first refusal
    since the latest failure (worth an audit line; the ones after it are not)."""
    wait_s: float
    first_refusal: bool = False
    latest: tuple[int | None, int | None] = (None, None)  # the failures the refusal follows (address, name)


_FOR_ADDRESS = col(SignInFailure.for_address).is_(True)
_FOR_NAME = col(SignInFailure.for_name).is_(True)


@dataclass(frozen=True)
class _Record:
    count: int
    latest_id: int
    latest_at: datetime
    told: bool


async def _record(session: AsyncSession, since: datetime, for_address: bool, *where) -> _Record | None:
    """The failures within the window that count for one record: how many, and the latest."""
    count = (await session.exec(select(sa.func.count()).select_from(SignInFailure)
                                .where(SignInFailure.failed_at > since, *where))).one()
    if not count:
        return None
    latest = (await session.exec(select(SignInFailure).where(SignInFailure.failed_at > since, *where)
                                 .order_by(col(SignInFailure.failed_at).desc(), col(SignInFailure.id).desc())
                                 .limit(1))).one()
    told = latest.address_told if for_address else latest.name_told
    return _Record(count, latest.id, latest.failed_at, told)


async def check(session: AsyncSession, address: str, username: str, now: datetime, *, max_failed: int,
                window_s: float) -> Verdict:
    """May ``address`` try a password for ``username`` at ``now``? (Only reads.)"""
    address = address[:ADDRESS_LENGTH]
    since = now - timedelta(seconds=window_s)
    by_address = await _record(session, since, True, SignInFailure.address == address, _FOR_ADDRESS)
    by_name = await _record(session, since, False, SignInFailure.address == address,
                            SignInFailure.username == username, _FOR_NAME)
    wait = 0.0
    if by_address is not None and by_address.count >= max_failed:
        backoff = min(2.0 ** (by_address.count - max_failed), window_s)
        wait = max(wait, (by_address.latest_at - now).total_seconds() + backoff)
    if by_name is not None and by_name.count >= max_failed:
        wait = max(wait, (by_name.latest_at - now).total_seconds() + window_s)
    if wait <= 0:
        return Verdict(0.0)
    first = not ((by_address and by_address.told) or (by_name and by_name.told))
    return Verdict(wait, first, (by_address.latest_id if by_address else None, by_name.latest_id if by_name else None))


async def told(session: AsyncSession, verdict: Verdict) -> None:
    """The refusal ``verdict`` was audited: the next ones (until another failure) are not."""
    by_address, by_name = verdict.latest
    if by_address is not None:
        await session.exec(sa.update(SignInFailure).where(SignInFailure.id == by_address).values(address_told=True))
    if by_name is not None:
        await session.exec(sa.update(SignInFailure).where(SignInFailure.id == by_name).values(name_told=True))


async def failed(session: AsyncSession, address: str, username: str, now: datetime, *, max_failed: int,
                 window_s: float) -> bool:
    """Count a failed attempt. Returns True when it locked ``username`` for this address."""
    address = address[:ADDRESS_LENGTH]
    since = now - timedelta(seconds=window_s)
    await session.exec(sa.delete(SignInFailure).where(SignInFailure.failed_at <= since))  # the table stays small
    session.add(SignInFailure(address=address, username=username, failed_at=now))
    await session.flush()
    by_name = await _record(session, since, False, SignInFailure.address == address,
                            SignInFailure.username == username, _FOR_NAME)
    return by_name is not None and by_name.count >= max_failed


async def succeeded(session: AsyncSession, address: str, username: str) -> None:
    """The right password: this name starts afresh at this address (the address keeps its record)."""
    await session.exec(sa.update(SignInFailure).where(SignInFailure.address == address[:ADDRESS_LENGTH],
                                                   SignInFailure.username == username).values(for_name=False))


async def forget(session: AsyncSession, username: str) -> None:
    """An administrator unlocked the account or reset its password: lift what its failures caused."""
    addresses = select(SignInFailure.address).where(SignInFailure.username == username, _FOR_NAME)
    await session.exec(sa.update(SignInFailure).where(col(SignInFailure.address).in_(addresses))
                       .values(for_address=False))
    await session.exec(sa.update(SignInFailure).where(SignInFailure.username == username).values(for_name=False))
