"""The Zalo Official Account's access token, kept fresh.

Zalo's access token lasts about 25 hours; a refresh token (valid about three months, and **for one use only**)
buys a new pair from Zalo's OAuth endpoint (``CLINIC_ZALO_OAUTH_URL``: a form POST of ``app_id``,
``grant_type=refresh_token`` and ``refresh_token``, the app's secret key in the ``secret_key`` header; the answer is
``{"access_token", "refresh_token", "expires_in"}``). With the app's id, its secret key and a refresh token in the
clinic's settings, the token is renewed shortly before it expires, or at once when Zalo refuses it, and the new
pair is stored at once (``clinic_settings.store_zalo_tokens``: every process uses it from then on).

Since a refresh token works once, two processes must never spend it together: on PostgreSQL the renewal holds an
advisory lock in the transaction that stores the new pair, and a process that waited for it takes the pair the
other one stored. SQLite runs one process with one sender, so there the call to Zalo holds no transaction (a
write transaction would stop the clinic's writes while Zalo answers).

Without those settings the token typed on the settings page is used as it is (the clinic renews it by hand).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import httpx

from . import clinic_settings
from .core.db import serialize
from .core.settings import Settings

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(minutes=30)  # renew this long before the stored token expires
OAUTH_TIMEOUT_S = 15
_LOCK = 'zalo-token'


class RenewalFailed(Exception):
    """Zalo did not issue a new pair (its reason in the message, for the outbox page)."""


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=moment.tzinfo or timezone.utc) if moment else None


_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None


def _process_lock() -> asyncio.Lock:
    global _lock  # noqa: PLW0603 - one lock per event loop (tests run many loops)
    loop = asyncio.get_running_loop()
    if _lock is None or _lock[0] is not loop:
        _lock = (loop, asyncio.Lock())
    return _lock[1]


def renews_by_itself(settings: Settings) -> bool:
    """The settings hold what renewing takes: the app's id and secret key, and a refresh token."""
    return bool(settings.zalo_app_id and settings.zalo_secret_key.get_secret_value() and settings.zalo_refresh_token.get_secret_value())


def expires_at(settings: Settings) -> datetime | None:
    """When the stored access token expires, if known (it is once it was renewed here)."""
    return _moment(settings.zalo_token_expires_at)


class ZaloTokens:
    """The access token one sender uses, renewed when needed (see the module's text)."""

    def __init__(self, database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.access_token = settings.zalo_access_token.get_secret_value()
        self.expires_at = _moment(settings.zalo_token_expires_at)

    @property
    def renewable(self) -> bool:
        settings = self.settings
        return bool(self.database is not None and settings.zalo_app_id and settings.zalo_secret_key.get_secret_value()
                    and settings.zalo_oauth_url)

    def _expiring(self, expires_at: datetime | None, now: datetime) -> bool:
        return expires_at is not None and expires_at - now <= RENEW_BEFORE

    async def token(self, now: datetime) -> str:
        """The token to send with: renewed first if it is missing or about to expire (and renewable). If renewing
        fails while the current token still holds, it is used meanwhile (the next message tries again)."""
        if self.renewable and (not self.access_token or self._expiring(self.expires_at, now)):
            try:
                await self.renew(now, refused=self.access_token)
            except RenewalFailed as failed:
                if not self.access_token or self.expires_at is None or self.expires_at <= now:
                    raise
                log.warning('%s; the current Zalo token holds until %s', failed, self.expires_at.isoformat())
        return self.access_token

    async def renew(self, now: datetime, *, refused: str) -> None:
        """A new pair in place of ``refused`` (the token that expired or that Zalo refused). If another process
        already renewed it, its pair is taken instead. Raises ``RenewalFailed``."""
        if not self.renewable:
            raise RenewalFailed('Zalo refused the access token, and the settings hold no app ID, secret key and '
                                'refresh token to renew it: enter a new token in Settings → Messages.')
        async with _process_lock():  # one renewal at a time in this process
            if self.database.is_sqlite:  # one process: nobody else renews; no transaction waits on Zalo
                async with self.database.read() as session:
                    saved = await clinic_settings.stored(session)
                if not self._take_stored(saved, refused, now):
                    issued = await self._exchange(saved)
                    async with self.database.write() as session:
                        await self._store(session, issued, now)
                return
            async with self.database.write() as session:
                await serialize(session, _LOCK)  # and across the clinic's processes
                saved = await clinic_settings.stored(session)
                if not self._take_stored(saved, refused, now):
                    issued = await self._exchange(saved)
                    await self._store(session, issued, now)

    def _take_stored(self, saved: dict[str, str], refused: str, now: datetime) -> bool:
        """Another process (or a person) stored a token other than the refused one, not about to expire: use it."""
        stored = saved.get('zalo_access_token', self.settings.zalo_access_token.get_secret_value())
        expires_at = _moment(saved.get('zalo_token_expires_at', self.settings.zalo_token_expires_at))
        if stored and stored != refused and not self._expiring(expires_at, now):
            self.access_token, self.expires_at = stored, expires_at
            return True
        return False

    async def _exchange(self, saved: dict[str, str]) -> dict:
        refresh_token = saved.get('zalo_refresh_token', self.settings.zalo_refresh_token.get_secret_value())
        if not refresh_token:
            raise RenewalFailed('The Zalo access token needs renewing, but no refresh token is stored: enter one in '
                                'Settings → Messages.')
        try:
            async with httpx.AsyncClient(timeout=OAUTH_TIMEOUT_S, follow_redirects=False) as client:
                response = await client.post(
                    self.settings.zalo_oauth_url, headers={'secret_key': self.settings.zalo_secret_key.get_secret_value()},
                    data={'app_id': self.settings.zalo_app_id, 'grant_type': 'refresh_token',
                          'refresh_token': refresh_token})
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RenewalFailed(f'Renewing the Zalo access token failed: {type(error).__name__}: {error}'[:300]) \
                from error
        if not isinstance(answer, dict) or not answer.get('access_token') or not answer.get('refresh_token'):
            reason = (answer.get('error_description') or answer.get('error_name') or answer.get('message')
                      if isinstance(answer, dict) else None) or response.text[:200]
            raise RenewalFailed(f'Zalo did not renew the access token (HTTP {response.status_code}: {reason}). If the '
                                'refresh token has expired, enter a new one in Settings → Messages.')
        return answer

    async def _store(self, session, issued: dict, now: datetime) -> None:
        try:
            lifetime = timedelta(seconds=int(issued.get('expires_in') or 0))
        except (TypeError, ValueError):
            lifetime = timedelta(0)
        expires_at = now + (lifetime if lifetime > timedelta(0) else timedelta(hours=1))
        await clinic_settings.store_zalo_tokens(session, access_token=issued['access_token'],
                                                refresh_token=issued['refresh_token'], expires_at=expires_at)
        await session.commit()
        self.access_token, self.expires_at = issued['access_token'], expires_at
