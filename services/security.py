"""Password hashing (Argon2id via pwdlib) and the password policy."""
from __future__ import annotations

import asyncio

from pwdlib import PasswordHash

from .core.errors import ValidationError
from .core.i18n import _

_hasher = PasswordHash.recommended()  # Argon2id
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # malformed hash: treat as a wrong password, never crash the login
        return False


async def hash_password_async(password: str) -> str:
    """Argon2 takes tens of milliseconds of CPU: keep it off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(verify_password, password, password_hash)


def check_password_policy(password: str, *, username: str = '') -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(_('The password needs at least {count} characters.').format(
            count=MIN_PASSWORD_LENGTH), 'password')
    if len(password) > 128:
        raise ValidationError(_('The password can have at most 128 characters.'), 'password')
    if username and password.casefold() == username.casefold():
        raise ValidationError(_('The password must not be the user name.'), 'password')
    if len(set(password)) < 4:
        raise ValidationError(_('The password is too simple: use more different characters.'), 'password')
