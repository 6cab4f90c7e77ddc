"""Signed-in sessions: who is at this browser, idle expiry, and the guard every staff page goes through."""
from __future__ import annotations

import time
from urllib.parse import quote

from nicegui import app

from models import Role
from services.access import Actor
from services.core.settings import get_settings

_KEY = 'staff'


def sign_in(actor: Actor) -> None:
    app.storage.user[_KEY] = {'user_id': actor.user_id, 'username': actor.username, 'full_name': actor.full_name,
                              'role': actor.role.value, 'last_seen': time.time()}


def sign_out() -> None:
    app.storage.user.pop(_KEY, None)


def _idle_limit_s() -> float:
    return get_settings().session_idle_minutes * 60


def session_actor(*, touch: bool = True) -> Actor | None:
    """The signed-in person of this browser, or None (never signed in, signed out, or idle for too long)."""
    data = app.storage.user.get(_KEY)
    if not data:
        return None
    now = time.time()
    if now - data.get('last_seen', 0) > _idle_limit_s():
        sign_out()
        return None
    if touch:
        app.storage.user[_KEY] = {**data, 'last_seen': now}
    return Actor(user_id=data['user_id'], username=data['username'], full_name=data['full_name'],
                 role=Role(data['role']))


def seconds_until_idle_logout() -> float:
    data = app.storage.user.get(_KEY)
    if not data:
        return 0
    return _idle_limit_s() - (time.time() - data.get('last_seen', 0))


def safe_next(target: str | None) -> str | None:
    """Only local paths may be a redirect target after signing in (no open redirects)."""
    if target and target.startswith('/') and not target.startswith('//') and '\\' not in target:
        return target
    return None


def login_url(next_path: str | None = None, *, reason: str = '') -> str:
    url = '/login'
    params = []
    if next_path and safe_next(next_path):
        params.append(f'next={quote(next_path, safe="/")}')
    if reason:
        params.append(f'reason={reason}')
    return url + ('?' + '&'.join(params) if params else '')
