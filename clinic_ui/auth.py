"""Signed-in sessions: who is at this browser, idle expiry, the re-check against the account, safe redirects and
the sign-in that gives the browser a new session.

A signed-in browser's server-side storage (``app.storage.user``, found by the id in its signed session cookie)
holds the person and the session epoch of their account when they signed in. Every page, action and read checks
that the account is still active and still has that epoch (``verify``): a password change or reset, a
deactivation or a role change raises the epoch and so ends the sessions at their next step.
"""
from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from nicegui import app, context
from nicegui.slot import Slot
from nicegui.storage import request_contextvar
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from models import Role
from services import users
from services.access import Actor
from services.core.settings import get_settings

from . import ratelimit

_KEY = 'staff'
_ENDED = 'staff_ended'  # why this browser's last session ended ('idle', 'signed_out', ...), until the next sign-in
SIGN_IN_TOKEN_S = 60  # the sign-in page hands over to /login/complete within this time


def client_address(request: Request | None) -> str:
    """The address the request came from (forwarded headers believed only from the clinic's own proxies)."""
    if request is None:
        return 'unknown'
    return ratelimit.client_address(request) or 'unknown'


def this_request() -> Request | None:
    """The HTTP request that opened this tab (or is being answered now)."""
    if Slot.get_stack():
        return context.client.request
    return request_contextvar.get()


def browser_id(request: Request | None = None) -> str | None:
    """The id of this browser's session (what ``app.storage.user`` is keyed by)."""
    request = request or this_request()
    return request.session.get('id') if request is not None else None


def _storage() -> dict:
    """This browser's storage. Inside a tab it is found through the tab's own request: a live update runs in the
    context of whoever caused it, where ``app.storage.user`` alone would be that other person's."""
    request = this_request()
    if request is None:
        return app.storage.user
    token = request_contextvar.set(request)
    try:
        return app.storage.user
    finally:
        request_contextvar.reset(token)


def remembered(key: str, default=None):
    """What this browser remembered under ``key`` (e.g. the counter a station calls to), across its tabs."""
    return _storage().get(key, default)


def remember(key: str, value) -> None:
    _storage()[key] = value


def _record(actor: Actor, epoch: int) -> dict:
    return {'user_id': actor.user_id, 'username': actor.username, 'full_name': actor.full_name,
            'role': actor.role.value, 'language': actor.language, 'epoch': epoch, 'last_seen': time.time()}


def sign_in(actor: Actor, epoch: int) -> None:
    """Sign this browser's session in (or re-sign it with a new epoch after changing one's own password).
    A fresh sign-in goes through ``begin_sign_in`` instead, which also gives the browser a new session."""
    storage = _storage()
    storage[_KEY] = _record(actor, epoch)
    storage.pop(_ENDED, None)


def sign_out(reason: str = 'signed_out') -> None:
    storage = _storage()
    storage.pop(_KEY, None)
    storage[_ENDED] = reason


def ended_reason() -> str | None:
    """Why this browser's last session ended, so that every page opened afterwards says the same (a tab's idle
    timer and a search typed at the same moment must not tell "idle" to one and "signed out" to the other)."""
    return _storage().get(_ENDED)


def _idle_limit_s() -> float:
    return get_settings().session_idle_minutes * 60


@dataclass(frozen=True)
class Signed:
    """What this browser's session says (not yet checked against the account)."""
    actor: Actor
    epoch: int


def signed(*, touch: bool = True) -> Signed | None:
    """This browser's session, or None: never signed in, signed out, or idle for too long (then it is ended)."""
    storage = _storage()
    data = storage.get(_KEY)
    if not data:
        return None
    now = time.time()
    if now - data.get('last_seen', 0) > _idle_limit_s():
        storage.pop(_KEY, None)
        storage[_ENDED] = 'idle'
        return None
    if touch:
        storage[_KEY] = {**data, 'last_seen': now}
    actor = Actor(user_id=data['user_id'], username=data['username'], full_name=data['full_name'],
                  role=Role(data['role']), language=data.get('language'))
    return Signed(actor, data.get('epoch', -1))


def session_actor(*, touch: bool = True) -> Actor | None:
    """The signed-in person of this browser as the session says, or None (no database check: see ``verify``)."""
    found = signed(touch=touch)
    return found.actor if found else None


def stored_session(storage: dict) -> dict | None:
    """The session record in a browser's storage (for checking open tabs from outside them)."""
    return storage.get(_KEY)


async def verify(session: AsyncSession, *, touch: bool = True) -> users.SessionAccount:
    """The account behind this browser's session, checked in the database: active, and its sessions not ended
    since this one began. Raises ``users.SessionEnded`` (with the reason) and signs this browser out otherwise.
    ``touch``: this counts as activity (a person's click or search, not a live update)."""
    found = signed(touch=touch)
    if found is None:  # it went idle just now or earlier, or was signed out (maybe in another tab)
        raise users.session_ended(ended_reason() or 'signed_out')
    try:
        account = await users.signed_in_account(session, found.actor.user_id, found.epoch)
    except users.SessionEnded as ended:
        sign_out(ended.reason)
        raise
    if account.actor != found.actor:  # name or role changed meanwhile: show the fresh one from now on
        sign_in(account.actor, found.epoch)
    return account


def seconds_until_idle_logout() -> float:
    data = _storage().get(_KEY)
    if not data:
        return 0
    return _idle_limit_s() - (time.time() - data.get('last_seen', 0))


def _has_control_or_backslash(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or '\\' in text


def _is_local_path(text: str) -> bool:
    if _has_control_or_backslash(text) or not text.startswith('/') or text.startswith('//'):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (the caller then uses the role's home).

    Browsers drop tabs and line breaks inside a URL and read a backslash as a slash, so ``/<tab>/evil.example``
    would become ``//evil.example``, another site. So: no control character and no backslash anywhere, exactly
    one leading slash, no scheme or host; and the same again after undoing any percent-encoding (even twice)."""
    if not target or len(target) > 2000:
        return None
    decoded = target
    for _round in range(3):
        decoded = unquote(decoded)
    if not _is_local_path(target) or not _is_local_path(decoded):
        return None
    return target


def login_url(next_path: str | None = None, *, reason: str = '') -> str:
    url = '/login'
    params = []
    if next_path and safe_next(next_path):
        params.append(f'next={quote(next_path, safe="/")}')
    if reason:
        params.append(f'reason={quote(reason)}')
    return url + ('?' + '&'.join(params) if params else '')


# -- sign-in with a new browser session (no session fixation) ---------------------------------------------------

@dataclass(frozen=True)
class _Pending:
    record: dict
    target: str
    browser: str
    expires: float


_pending: dict[str, _Pending] = {}


def begin_sign_in(actor: Actor, epoch: int, target: str) -> str:
    """After the password was checked on the sign-in page: the URL that completes the sign-in.

    The page talks over its websocket, which cannot set a cookie; so the browser is sent to ``/login/complete``
    with a one-time token, valid for a minute and only for this browser, where it gets a new session id (see
    ``complete_sign_in``)."""
    now = time.monotonic()
    for token in [t for t, p in _pending.items() if p.expires < now]:
        del _pending[token]
    token = secrets.token_urlsafe(32)
    _pending[token] = _Pending(_record(actor, epoch), target, browser_id() or '', now + SIGN_IN_TOKEN_S)
    return f'/login/complete?token={token}'


async def complete_sign_in(request: Request, token: str) -> str | None:
    """Finish a sign-in begun by ``begin_sign_in`` and return where to go, or None (unknown, used or expired
    token, or another browser).

    A session cookie someone had before the sign-in (e.g. planted on a shared computer) must not become a
    signed-in one: the browser gets a new id, so a new, empty storage, holding only the signed-in person; the old
    storage keeps nothing of it."""
    old_id = request.session.get('id')
    pending = _pending.get(token)
    if pending is None or not old_id or pending.browser != old_id:  # another browser cannot use (nor spend) it
        return None
    del _pending[token]
    if pending.expires < time.monotonic():
        return None
    new_id = str(uuid.uuid4())
    storage = await _new_browser_storage(new_id)
    storage[_KEY] = {**pending.record, 'last_seen': time.time()}
    storage.pop(_ENDED, None)
    app.storage.user.pop(_KEY, None)  # the old id's storage (this request's)
    request.session['id'] = new_id  # the session middleware sends the new, signed cookie with the response
    return pending.target


async def _new_browser_storage(session_id: str) -> dict:
    """The storage NiceGUI keeps for a browser with this session id, made now. NiceGUI 3.18 makes it in its
    request middleware for the id a request arrives with; a new id needs it made by hand (one private call,
    here only)."""
    await app.storage._create_user_storage(session_id)  # noqa: SLF001
    return app.storage._users[session_id]  # noqa: SLF001
