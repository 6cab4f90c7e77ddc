"""Staff accounts: first-admin setup, sign-in with lockout, creating accounts and changing passwords."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Role, User
from models.types import utcnow

from . import audit
from .access import Actor, require
from .core.db import serialize
from .core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from .core.events import StaffChanged, publish
from .security import check_password_policy, hash_password_async, verify_password_async
from .text import clean_name, is_valid_email

USERNAME_RE = re.compile(r'^[a-z0-9._-]{3,40}$')
FAILED_LOGIN_DELAY_S = 0.5  # every failed attempt costs this, on top of the lockout
_BAD_CREDENTIALS = 'Wrong user name or password.'


def actor_of(user: User) -> Actor:
    assert user.id is not None
    return Actor(user_id=user.id, username=user.username, full_name=user.full_name, role=user.role)


async def count_users(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User))).one()


async def needs_first_admin(session: AsyncSession) -> bool:
    return await count_users(session) == 0


def _validate_account(username: str, full_name: str, email: str | None) -> tuple[str, str, str | None]:
    username = username.strip().lower()
    full_name = clean_name(full_name)
    email = (email or '').strip().lower() or None
    if not USERNAME_RE.match(username):
        raise ValidationError('The user name needs 3 to 40 characters: letters a-z, digits, dot, dash or underscore.',
                              'username')
    if not full_name:
        raise ValidationError('Please enter the full name.', 'full_name')
    if len(full_name) > 120:
        raise ValidationError('The full name can have at most 120 characters.', 'full_name')
    if email is not None and not is_valid_email(email):
        raise ValidationError('Please enter a valid email address, or leave it empty.', 'email')
    return username, full_name, email


async def _insert_user(session: AsyncSession, *, username: str, full_name: str, email: str | None, role: Role,
                       password: str, must_change_password: bool) -> User:
    if (await session.exec(select(User.id).where(User.username == username))).first() is not None:
        raise Conflict(f'The user name "{username}" is already taken.')
    if email and (await session.exec(select(User.id).where(User.email == email))).first() is not None:
        raise Conflict(f'The email address {email} already belongs to another account.')
    user = User(username=username, full_name=full_name, email=email, role=role,
                password_hash=await hash_password_async(password), must_change_password=must_change_password)
    session.add(user)
    await session.flush()
    return user


async def create_first_admin(session: AsyncSession, *, username: str, full_name: str, password: str,
                             password_repeat: str, email: str | None = None) -> Actor:
    """Create the first account of a new clinic. Refused once any account exists (no default password exists)."""
    username, full_name, email = _validate_account(username, full_name, email)
    if password != password_repeat:
        raise ValidationError('The two passwords differ.', 'password_repeat')
    check_password_policy(password, username=username)
    await serialize(session, 'users:first-admin')
    if await count_users(session) > 0:
        raise Conflict('This clinic already has an administrator. Please sign in.')
    user = await _insert_user(session, username=username, full_name=full_name, email=email, role=Role.ADMIN,
                              password=password, must_change_password=False)
    actor = actor_of(user)
    audit.record(session, actor, 'first_admin_created', entity='user', entity_id=user.id)
    publish(session, StaffChanged(user_id=user.id))
    await session.commit()
    return actor


async def create_user(session: AsyncSession, actor: Actor, *, username: str, full_name: str, role: Role,
                      password: str, email: str | None = None, must_change_password: bool = True) -> User:
    require(actor, Role.ADMIN)
    username, full_name, email = _validate_account(username, full_name, email)
    check_password_policy(password, username=username)
    user = await _insert_user(session, username=username, full_name=full_name, email=email, role=role,
                              password=password, must_change_password=must_change_password)
    audit.record(session, actor, 'user_created', entity='user', entity_id=user.id, detail=f'role={role.value}')
    publish(session, StaffChanged(user_id=user.id))
    await session.commit()
    return user


async def authenticate(session: AsyncSession, username: str, password: str, *, max_failed: int = 5,
                       lockout_minutes: int = 15, now: datetime | None = None) -> Actor:
    """Check a sign-in. After ``max_failed`` wrong passwords in a row the account is locked for a while.

    Every outcome is audited; every failure is slowed down a little.
    """
    now = now or utcnow()
    username = username.strip().lower()
    if not username or not password:
        raise ValidationError('Please enter your user name and password.')
    if len(username) > 40 or len(password) > 128:
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None:
        audit.record(session, None, 'login_failed', username=username, detail='unknown user name')
        await session.commit()
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        audit.record(session, None, 'login_refused', username=username, entity='user', entity_id=user.id,
                     detail='account locked')
        await session.commit()
        raise AuthenticationFailed(f'Too many wrong passwords: this account is locked for {minutes} more '
                                   f'minute{"s" if minutes != 1 else ""}. An administrator can unlock it.')
    if not await verify_password_async(password, user.password_hash):
        user.failed_logins += 1
        detail = f'wrong password ({user.failed_logins} in a row)'
        if user.failed_logins >= max_failed:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
            detail += f'; locked for {lockout_minutes} minutes'
        session.add(user)
        audit.record(session, None, 'login_failed', username=username, entity='user', entity_id=user.id,
                     detail=detail)
        await session.commit()
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        if user.locked_until is not None and user.locked_until > now:
            raise AuthenticationFailed(f'Too many wrong passwords: this account is locked for {lockout_minutes} '
                                       'minutes. An administrator can unlock it.')
        raise AuthenticationFailed(_BAD_CREDENTIALS)
    if not user.is_active:
        audit.record(session, None, 'login_refused', username=username, entity='user', entity_id=user.id,
                     detail='account deactivated')
        await session.commit()
        raise AuthenticationFailed('This account has been deactivated. Please ask an administrator.')
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    actor = actor_of(user)
    audit.record(session, actor, 'login', entity='user', entity_id=user.id)
    await session.commit()
    return actor


async def must_change_password(session: AsyncSession, actor: Actor) -> bool:
    user = await session.get(User, actor.user_id)
    return bool(user and user.must_change_password)


async def change_password(session: AsyncSession, actor: Actor, *, current: str, new: str, repeat: str) -> Actor:
    user = await session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise NotFound('This account no longer exists or was deactivated.')
    if not await verify_password_async(current, user.password_hash):
        raise ValidationError('The current password is wrong.', 'current')
    if new != repeat:
        raise ValidationError('The two new passwords differ.', 'repeat')
    if new == current:
        raise ValidationError('Please choose a password different from the current one.', 'new')
    check_password_policy(new, username=user.username)
    user.password_hash = await hash_password_async(new)
    user.must_change_password = False
    session.add(user)
    audit.record(session, actor, 'password_changed', entity='user', entity_id=user.id)
    await session.commit()
    return actor


async def active_actor(session: AsyncSession, user_id: int) -> Actor | None:
    """The actor for a signed-in session, or None if the account was deactivated or removed meanwhile."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    return actor_of(user)


async def record_logout(session: AsyncSession, actor: Actor, *, reason: str = '') -> None:
    audit.record(session, actor, 'logout', entity='user', entity_id=actor.user_id, detail=reason)
    await session.commit()


async def list_users(session: AsyncSession, actor: Actor) -> list[User]:
    require(actor, Role.ADMIN)
    return list((await session.exec(select(User).order_by(sa.func.lower(User.full_name)))).all())
