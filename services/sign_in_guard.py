"""Who may try a password now: slows down guessing without letting a stranger lock staff out.

Two records, kept in this process's memory (Clinic Flow runs as one server process):

* **per client address**: after ``max_failed`` failed sign-ins from one address within the window, that address
  must wait before each further attempt: 1 second after that failure, then 2, 4, 8, ... seconds after each next
  one, never more than the window. Someone guessing from one address slows down only that address.
* **per user name and address**: after ``max_failed`` wrong passwords for one user name from one address within
  the window (and no right one since), that name is locked for that address (only) for the whole window. The
  person at their own workstation, another address, still signs in: a stranger cannot lock the account (nor the
  administrator's) for everybody.

Both are keyed by the user name as typed, whether an account has it or not, so a refusal says nothing about
which names exist. Failures older than the window are forgotten. An administrator's "Unlock" or password reset
forgets the name's records (and those of the addresses that failed on it).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

MAX_ADDRESSES = 10_000  # memory stays bounded under a flood of addresses: the oldest records go first


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)  # within the window, oldest first
    told: bool = False  # the refusal after the latest failure has been written to the audit log


@dataclass(frozen=True)
class Verdict:
    """``wait_s`` > 0: refuse this attempt, try again after that many seconds. ``first_refusal``: the first refusal
    since the latest failure (worth an audit line; the ones after it are not)."""
    wait_s: float
    first_refusal: bool = False


class SignInGuard:
    def __init__(self) -> None:
        self._addresses: dict[str, _Failures] = {}
        self._names: dict[tuple[str, str], _Failures] = {}

    def check(self, address: str, username: str, now: float, *, max_failed: int, window_s: float) -> Verdict:
        """May ``address`` try a password for ``username`` at ``now`` (seconds)?"""
        by_address = self._recent(self._addresses, address, now, window_s)
        by_name = self._recent(self._names, (address, username), now, window_s)
        wait = 0.0
        if by_address is not None and len(by_address.times) >= max_failed:
            backoff = min(2.0 ** (len(by_address.times) - max_failed), window_s)
            wait = max(wait, by_address.times[-1] + backoff - now)
        if by_name is not None and len(by_name.times) >= max_failed:
            wait = max(wait, by_name.times[-1] + window_s - now)
        if wait <= 0:
            return Verdict(0.0)
        first = not ((by_address and by_address.told) or (by_name and by_name.told))
        for record in (by_address, by_name):
            if record is not None:
                record.told = True
        return Verdict(wait, first)

    def failed(self, address: str, username: str, now: float, *, max_failed: int) -> bool:
        """Count a failed attempt. Returns True when it locked ``username`` for this address."""
        self._forget_oldest()
        by_address = self._addresses.setdefault(address, _Failures())
        by_name = self._names.setdefault((address, username), _Failures())
        for record in (by_address, by_name):
            record.times.append(now)
            record.told = False
        return len(by_name.times) >= max_failed

    def succeeded(self, address: str, username: str) -> None:
        """The right password: this name starts afresh at this address (the address keeps its record)."""
        self._names.pop((address, username), None)

    def forget(self, username: str) -> None:
        """An administrator unlocked the account or reset its password: lift what its failures caused."""
        for key in [key for key in self._names if key[1] == username]:
            del self._names[key]
            self._addresses.pop(key[0], None)

    def clear(self) -> None:
        self._addresses.clear()
        self._names.clear()

    @staticmethod
    def _recent(records: dict, key, now: float, window_s: float) -> _Failures | None:
        record = records.get(key)
        if record is None:
            return None
        while record.times and record.times[0] <= now - window_s:
            record.times.popleft()
        if not record.times:
            del records[key]
            return None
        return record

    def _forget_oldest(self) -> None:
        if len(self._addresses) < MAX_ADDRESSES:
            return
        oldest = sorted(self._addresses, key=lambda a: self._addresses[a].times[-1] if self._addresses[a].times
                        else 0.0)[:MAX_ADDRESSES // 10]
        for address in oldest:
            del self._addresses[address]
        for key in [key for key in self._names if key[0] not in self._addresses]:
            del self._names[key]
