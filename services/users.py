"""Staff accounts: first-admin setup, sign-in (throttled per address), session checks, creating accounts and
changing passwords."""
from __future__ import annotations

import asyncio
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Role, User
from models.types import utcnow

from . import audit, sign_in_guard
from .access import Actor, require
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from .core.events import StaffChanged, publish
from .core.i18n import LANGUAGES, N_, _, ngettext
from .security import check_password_policy, hash_password_async, verify_password_async
from .text import clean_name, is_valid_email

USERNAME_RE = re.compile(r'^[a-z0-9._-]{3,40}$')
FAILED_LOGIN_DELAY_S = 0.5  # every failed attempt costs this, whatever failed
_BAD_CREDENTIALS = N_('Wrong user name or password.')
NEW_ACCOUNT_EPOCH = 0  # the session epoch of a new account (the column's default)


def actor_of(user: User) -> Actor:
    assert user.id is not None
    return Actor(user_id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                 language=user.language)


async def count_users(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User))).one()


async def needs_first_admin(session: AsyncSession) -> bool:
    return await count_users(session) == 0


def _validate_account(username: str, full_name: str, email: str | None) -> tuple[str, str, str | None]:
    username = username.strip().lower()
    full_name = clean_name(full_name)
    email = (email or '').strip().lower() or None
    if not USERNAME_RE.match(username):
        raise ValidationError(_('The user name needs 3 to 40 characters: letters a-z, digits, dot, dash or '
                                'underscore.'), 'username')
    if not full_name:
        raise ValidationError(_('Please enter the full name.'), 'full_name')
    if len(full_name) > 120:
        raise ValidationError(_('The full name can have at most 120 characters.'), 'full_name')
    if email is not None and not is_valid_email(email):
        raise ValidationError(_('Please enter a valid email address, or leave it empty.'), 'email')
    return username, full_name, email


async def _insert_user(session: AsyncSession, *, username: str, full_name: str, email: str | None, role: Role,
                       password: str, must_change_password: bool) -> User:
    if (await session.exec(select(User.id).where(User.username == username))).first() is not None:
        raise Conflict(_('The user name "{username}" is already taken.').format(username=username))
    if email and (await session.exec(select(User.id).where(User.email == email))).first() is not None:
        raise Conflict(_('The email address {email} already belongs to another account.').format(email=email))
    user = User(username=username, full_name=full_name, email=email, role=role,
                password_hash=await hash_password_async(password), must_change_password=must_change_password)
    session.add(user)
    await session.flush()
    return user


@action
async def create_first_admin(session: AsyncSession, *, username: str, full_name: str, password: str,
                             password_repeat: str, email: str | None = None) -> Actor:
    """Create the first account of a new clinic. Refused once any account exists (no default password exists)."""
    username, full_name, email = _validate_account(username, full_name, email)
    if password != password_repeat:
        raise ValidationError(_('The two passwords differ.'), 'password_repeat')
    check_password_policy(password, username=username)
    await serialize(session, 'users:first-admin')
    if await count_users(session) > 0:
        raise Conflict(_('This clinic already has an administrator. Please sign in.'))
    user = await _insert_user(session, username=username, full_name=full_name, email=email, role=Role.ADMIN,
                              password=password, must_change_password=False)
    actor = actor_of(user)
    audit.record(session, actor, 'first_admin_created', entity='user', entity_id=user.id)
    publish(session, StaffChanged(user_id=user.id))
    return actor


@action
async def create_user(session: AsyncSession, actor: Actor, *, username: str, full_name: str, role: Role,
                      password: str, email: str | None = None, must_change_password: bool = True) -> User:
    require(actor, Role.ADMIN)
    username, full_name, email = _validate_account(username, full_name, email)
    check_password_policy(password, username=username)
    user = await _insert_user(session, username=username, full_name=full_name, email=email, role=role,
                              password=password, must_change_password=must_change_password)
    audit.record(session, actor, 'user_created', entity='user', entity_id=user.id, detail=f'role={role.value}')
    publish(session, StaffChanged(user_id=user.id))
    return user


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and the session epoch their session is issued with."""
    actor: Actor
    session_epoch: int


class SessionEnded(AuthenticationFailed):
    """A signed-in session that may no longer act: ``reason`` is what the sign-in page tells the person
    (``idle``, ``deactivated``, ``ended``, ``signed_out``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


SESSION_ENDED = {
    'idle': N_('You were signed out after a while without activity. Please sign in again.'),
    'deactivated': N_('This account has been deactivated.'),
    'ended': N_('Your password or access has changed. Please sign in again.'),
    'signed_out': N_('You have signed out. Please sign in again.'),
}


def session_ended(reason: str) -> SessionEnded:
    return SessionEnded(reason, _(SESSION_ENDED[reason]))


_dummy_hash: str | None = None


async def _hash_for_unknown_names() -> str:
    """An Argon2 hash of a random password, made with today's parameters: checking a password against it takes as
    long as against a real account's, so the answer's timing does not tell which user names exist."""
    global _dummy_hash  # noqa: PLW0603
    if _dummy_hash is None:
        _dummy_hash = await hash_password_async(secrets.token_urlsafe(24))
    return _dummy_hash


def _wait_text(seconds: float) -> str:
    """The refusal of a throttled sign-in, with how long to wait (one whole sentence per unit)."""
    if seconds < 90:
        return ngettext('Too many failed sign-ins from this device. Please wait {count} second and try again.',
                        'Too many failed sign-ins from this device. Please wait {count} seconds and try again.',
                        max(1, math.ceil(seconds)))
    return ngettext('Too many failed sign-ins from this device. Please wait {count} minute and try again.',
                    'Too many failed sign-ins from this device. Please wait {count} minutes and try again.',
                    math.ceil(seconds / 60))


@action(audits_refusals=True)
async def sign_in(session: AsyncSession, username: str, password: str, *, address: str | None = None,
                  max_failed: int = 5, lockout_minutes: int = 15, now: datetime | None = None) -> SignedIn:
    """Check a sign-in from ``address`` (the client's address, for the throttle and the audit log).

    An unknown user name and a wrong password get the same answer in the same time: one Argon2 check always runs
    (against a stand-in hash for unknown names), then the same delay. Too many failures from one address make
    that address wait, and lock a user name for that address only (``sign_in_guard``): such attempts are refused
    at once, with no password check, alike for names that exist and names that do not. No stranger can lock an
    account for the other addresses. Every outcome is audited with the address.

    Give it a read session (``run_action(..., write=False)``): the slow part (the password check and the delay)
    then holds no transaction, and the outcome is written in a short one of its own.
    """
    now = now or utcnow()
    address = address or 'unknown'
    username = username.strip().lower()
    if not username or not password:
        raise ValidationError(_('Please enter your user name and password.'))
    too_long = len(username) > 40 or len(password) > 128  # no account has such a name or password
    username = username[:40]
    window_s = lockout_minutes * 60
    verdict = await sign_in_guard.check(session, address, username, now, max_failed=max_failed, window_s=window_s)
    if verdict.wait_s > 0:
        await session.commit()  # ends the read: a write on SQLite starts its own transaction
        if verdict.first_refusal:
            await sign_in_guard.told(session, verdict)
            audit.record(session, None, 'login_refused', username=username,
                         detail=f'too many failed sign-ins from {address}')
            await session.commit()
        raise AuthenticationFailed(_wait_text(verdict.wait_s))
    user = None if too_long else (await session.exec(select(User).where(User.username == username))).first()
    await session.commit()  # ends the read: nothing is held during the slow part
    right = await verify_password_async(password[:128], user.password_hash if user is not None
                                        else await _hash_for_unknown_names())
    if user is None or not right:
        await _failed(session, user, username, address, now, max_failed=max_failed, window_s=window_s)
        raise AuthenticationFailed(_(_BAD_CREDENTIALS))
    if not user.is_active:
        audit.record(session, None, 'login_refused', username=username, entity='user', entity_id=user.id,
                     detail=f'account deactivated; from {address}')
        await session.commit()
        raise AuthenticationFailed(_('This account has been deactivated. Please ask an administrator.'))
    await sign_in_guard.succeeded(session, address, username)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    actor = actor_of(user)
    audit.record(session, actor, 'login', entity='user', entity_id=user.id, detail=f'from {address}')
    await session.commit()
    return SignedIn(actor, user.session_epoch)


async def _failed(session: AsyncSession, user: User | None, username: str, address: str, now: datetime, *,
                  max_failed: int, window_s: float) -> None:
    """Count and audit a failed attempt, after the same delay whoever it was for."""
    await asyncio.sleep(FAILED_LOGIN_DELAY_S)
    locked = await sign_in_guard.failed(session, address, username, now, max_failed=max_failed, window_s=window_s)
    detail = f'from {address}'
    if user is None:
        detail = f'unknown user name; {detail}'
    else:
        user.failed_logins += 1
        detail = f'wrong password ({user.failed_logins} since the last sign-in); {detail}'
        if locked:
            user.locked_until = now + timedelta(seconds=window_s)  # shown to administrators, who can unlock
        session.add(user)
    if locked:
        detail += f'; this user name is locked for this address for {round(window_s / 60)} minutes'
    audit.record(session, None, 'login_failed', username=username, entity='user' if user else '',
                 entity_id=user.id if user else None, detail=detail)
    await session.commit()


@action(audits_refusals=True)
async def authenticate(session: AsyncSession, username: str, password: str, **options) -> Actor:
    """``sign_in`` for a one-off check of someone's password (e.g. an administrator approving a discount)."""
    return (await sign_in(session, username, password, **options)).actor


@query
async def must_change_password(session: AsyncSession, actor: Actor) -> bool:
    user = await session.get(User, actor.user_id)
    return bool(user and user.must_change_password)


@action
async def change_password(session: AsyncSession, actor: Actor, *, current: str, new: str, repeat: str) -> int:
    """Change one's own password. Every other signed-in session of the account ends (a new session epoch, which
    is returned: the session that changed it carries on with it)."""
    user = await session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise NotFound(_('This account no longer exists or was deactivated.'))
    if not await verify_password_async(current, user.password_hash):
        raise ValidationError(_('The current password is wrong.'), 'current')
    if new != repeat:
        raise ValidationError(_('The two new passwords differ.'), 'repeat')
    if new == current:
        raise ValidationError(_('Please choose a password different from the current one.'), 'new')
    check_password_policy(new, username=user.username)
    user.password_hash = await hash_password_async(new)
    user.must_change_password = False
    end_sessions(user)
    session.add(user)
    audit.record(session, actor, 'password_changed', entity='user', entity_id=user.id)
    publish(session, StaffChanged(user_id=user.id))
    return user.session_epoch


def end_sessions(user: User) -> None:
    """Every session signed in with the account's current epoch ends (at its next step, or at once where a page
    is open: pages follow ``StaffChanged``). The caller publishes ``StaffChanged`` and commits."""
    user.session_epoch += 1


@dataclass(frozen=True)
class SessionAccount:
    actor: Actor
    must_change_password: bool


async def signed_in_account(session: AsyncSession, user_id: int, session_epoch: int) -> SessionAccount:
    """The account behind a signed-in session, read fresh (one look-up by primary key). Raises ``SessionEnded``
    when the account was deactivated or removed, or its sessions were ended since this one began."""
    row = (await session.exec(select(User.username, User.full_name, User.role, User.language, User.is_active,
                                     User.must_change_password, User.session_epoch)
                              .where(User.id == user_id))).first()
    if row is None or not row.is_active:
        raise session_ended('deactivated')
    if row.session_epoch != session_epoch:
        raise session_ended('ended')
    actor = Actor(user_id=user_id, username=row.username, full_name=row.full_name, role=row.role,
                  language=row.language)
    return SessionAccount(actor, row.must_change_password)


async def live_session_epoch(session: AsyncSession, user_id: int) -> int | None:
    """The account's session epoch, or None when it was deactivated or removed (no session of it is valid)."""
    row = (await session.exec(select(User.is_active, User.session_epoch).where(User.id == user_id))).first()
    return row.session_epoch if row is not None and row.is_active else None


@action
async def set_language(session: AsyncSession, actor: Actor, language: str | None) -> Actor:
    """The language of one's own screens: a code of ``i18n.LANGUAGES``, or None for the clinic's language.
    Returns the actor as they are now (their pages are drawn in it from the next page on)."""
    language = language or None
    if language is not None and language not in LANGUAGES:
        raise ValidationError(_('Please choose a language from the list.'), 'language')
    user = await session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise NotFound(_('This account no longer exists or was deactivated.'))
    if user.language != language:
        user.language = language
        session.add(user)
        audit.record(session, actor, 'language_changed', entity='user', entity_id=user.id,
                     detail=language or 'clinic')
        publish(session, StaffChanged(user_id=user.id))
    return actor_of(user)


@action
async def record_refused_page(session: AsyncSession, actor: Actor, path: str) -> None:
    """Someone opened a page their role may not see (audited: it may be curiosity, or a stolen link)."""
    audit.record(session, actor, 'access_denied', detail=path[:300])


@action
async def record_logout(session: AsyncSession, actor: Actor, *, reason: str = '') -> None:
    audit.record(session, actor, 'logout', entity='user', entity_id=actor.user_id, detail=reason)

