"""Staff accounts for administrators: create, edit, roles, deactivate (never delete), reset password, unlock.

A doctor account comes with its Doctor record (license number required), which booking and the queues use.
Rules: the clinic always keeps one active administrator; nobody deactivates or demotes themselves; a doctor with
upcoming appointments is not deactivated until they are moved or cancelled.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Appointment, Doctor, Role, User
from models.types import utcnow

from . import audit, sign_in_guard, users
from .access import Actor, require
from .booking import ACTIVE as ACTIVE_APPOINTMENTS
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import StaffChanged, publish
from .core.i18n import _, ngettext
from .queue import queue_for_doctor
from .security import check_password_policy, hash_password_async
from .text import is_valid_phone, normalize_phone

# No look-alike characters (0/O, 1/l/I): the administrator reads it out or writes it down.
_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
_LOCK = 'users'


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    full_name: str
    email: str | None
    phone: str | None
    role: Role
    is_active: bool
    must_change_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    doctor_id: int | None
    license_number: str | None
    language: str | None = None  # the screens' language; None: the clinic's

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def temporary_password() -> str:
    """``kfz7-m3qa-x9tp``: 12 random letters and digits, valid until the person sets their own at sign-in."""
    letters = ''.join(secrets.choice(_ALPHABET) for __ in range(12))
    return '-'.join(letters[i:i + 4] for i in range(0, 12, 4))


def _columns():
    return (User.id, User.username, User.full_name, User.email, User.phone, User.role, User.is_active,
            User.must_change_password, User.locked_until, User.last_login_at, Doctor.id, Doctor.license_number,
            User.language)


@query
async def list_accounts(session: AsyncSession, actor: Actor, *, search: str = '', role: Role | None = None,
                        active: bool | None = None, offset: int = 0, limit: int = 50) -> tuple[list[AccountRow], int]:
    """One page of accounts (by name) and how many match."""
    require(actor, Role.ADMIN)
    where = []
    if search.strip():
        pattern = f'%{search.strip().lower()}%'
        where.append(or_(func.lower(User.full_name).like(pattern), User.username.like(pattern),
                         func.lower(func.coalesce(User.email, '')).like(pattern)))
    if role is not None:
        where.append(User.role == role)
    if active is not None:
        where.append(User.is_active == active)
    total = (await session.exec(select(func.count()).select_from(User).where(*where))).one()
    query = (select(*_columns()).outerjoin(Doctor, Doctor.user_id == User.id).where(*where)
             .order_by(sa.desc(User.is_active), func.lower(User.full_name), User.id)
             .offset(max(offset, 0)).limit(max(1, min(limit, 200))))
    return [AccountRow(*row) for row in (await session.exec(query)).all()], total


@query
async def get_account(session: AsyncSession, actor: Actor, user_id: int) -> AccountRow:
    require(actor, Role.ADMIN)
    row = (await session.exec(select(*_columns()).outerjoin(Doctor, Doctor.user_id == User.id)
                              .where(User.id == user_id))).first()
    if row is None:
        raise NotFound(_('This account does not exist.'))
    return AccountRow(*row)


def _phone(phone: str | None) -> str | None:
    if not (phone or '').strip():
        return None
    value = normalize_phone(phone)
    if not is_valid_phone(value):
        raise ValidationError(_('The phone number needs 6 to 15 digits (a leading + is allowed).'), 'phone')
    return value


def _license(license_number: str | None) -> str:
    value = ' '.join((license_number or '').split()).upper()
    if not value:
        raise ValidationError(_('A doctor account needs the license number.'), 'license_number')
    if len(value) > 40:
        raise ValidationError(_('The license number can have at most 40 characters.'), 'license_number')
    return value


def _language(language: str | None) -> str | None:
    """A language of the clinic's, or None (the clinic's language)."""
    if not language:
        return None
    if language not in i18n.LANGUAGES:
        raise ValidationError(_('"{code}" is not a language the clinic can use ({languages}).').format(
            code=language, languages=', '.join(i18n.LANGUAGES)), 'language')
    return language


async def _check_license_free(session: AsyncSession, license_number: str, doctor_id: int | None = None) -> None:
    query = select(Doctor).where(func.upper(Doctor.license_number) == license_number)
    if doctor_id is not None:
        query = query.where(Doctor.id != doctor_id)
    other = (await session.exec(query)).first()
    if other is not None:
        raise Conflict(_('The license number {number} is already registered for {doctor}.').format(
            number=license_number, doctor=f'{other.title} {other.full_name}'.strip()))


async def _active_admins(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(User)
                               .where(User.role == Role.ADMIN, User.is_active))).one()


async def _upcoming_appointments(session: AsyncSession, doctor_id: int) -> int:
    return (await session.exec(select(func.count()).select_from(Appointment).where(
        Appointment.doctor_id == doctor_id, Appointment.status.in_(ACTIVE_APPOINTMENTS),
        Appointment.end_at > utcnow()))).one()


async def _doctor_of(session: AsyncSession, user_id: int) -> Doctor | None:
    return (await session.exec(select(Doctor).where(Doctor.user_id == user_id))).first()


@action
async def create_account(session: AsyncSession, actor: Actor, *, username: str, full_name: str, role: Role,
                         email: str | None = None, phone: str | None = None, license_number: str | None = None,
                         title: str = 'Dr.', password: str | None = None,
                         language: str | None = None) -> tuple[User, str]:
    """Create an account with a temporary password (generated unless given); the person must change it at their
    first sign-in. A doctor account also gets its Doctor record and queue. Returns the user and the password."""
    require(actor, Role.ADMIN)
    if not isinstance(role, Role):
        raise ValidationError(_('Please choose the role.'), 'role')
    username, full_name, email = users._validate_account(username, full_name, email)  # noqa: SLF001
    phone = _phone(phone)
    language = _language(language)
    password = password or temporary_password()
    check_password_policy(password, username=username)
    await serialize(session, _LOCK)
    if role == Role.DOCTOR:
        license_number = _license(license_number)
        await _check_license_free(session, license_number)
    user = await users._insert_user(session, username=username, full_name=full_name, email=email,  # noqa: SLF001
                                    role=role, password=password, must_change_password=True)
    user.phone = phone
    user.language = language
    detail = f'{username}, role={role.value}'
    if role == Role.DOCTOR:
        doctor = Doctor(user_id=user.id, full_name=full_name, title=(title or 'Dr.').strip()[:20],
                        license_number=license_number)
        session.add(doctor)
        await session.flush()
        await queue_for_doctor(session, doctor.id)
        detail += f', doctor license {license_number}'
    audit.record(session, actor, 'user_created', entity='user', entity_id=user.id, detail=detail)
    publish(session, StaffChanged(user_id=user.id))
    return user, password


@action
async def update_account(session: AsyncSession, actor: Actor, user_id: int, *, full_name: str, role: Role,
                         email: str | None = None, phone: str | None = None,
                         license_number: str | None = None, language: str | None = None) -> User:
    """Change name, contact and role (the user name stays). Becoming a doctor needs a license number; leaving
    the doctor role deactivates the Doctor record (its history stays)."""
    require(actor, Role.ADMIN)
    await serialize(session, _LOCK)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_('This account does not exist.'))
    __, full_name, email = users._validate_account(user.username, full_name, email)  # noqa: SLF001
    phone = _phone(phone)
    language = _language(language)
    if email and (await session.exec(select(User.id).where(User.email == email, User.id != user_id))).first():
        raise Conflict(_('The email address {email} already belongs to another account.').format(email=email))
    changes = []
    if role != user.role:
        if user.id == actor.user_id:
            raise ValidationError(_('You cannot change your own role. Ask another administrator.'), 'role')
        if user.role == Role.ADMIN and user.is_active and await _active_admins(session) <= 1:
            raise Conflict(_('The clinic needs at least one active administrator.'))
        changes.append(f'role {user.role.value} -> {role.value}')
    doctor = await _doctor_of(session, user.id)
    if role == Role.DOCTOR:
        if doctor is None:
            license_number = _license(license_number)
            await _check_license_free(session, license_number)
            doctor = Doctor(user_id=user.id, full_name=full_name, license_number=license_number)
            session.add(doctor)
            await session.flush()
            await queue_for_doctor(session, doctor.id)
            changes.append(f'doctor record, license {license_number}')
        else:
            if license_number is not None and license_number.strip():
                new_license = _license(license_number)
                if new_license != doctor.license_number:
                    await _check_license_free(session, new_license, doctor.id)
                    changes.append(f'license {doctor.license_number} -> {new_license}')
                    doctor.license_number = new_license
            if not doctor.is_active and user.is_active:
                doctor.is_active = True
            doctor.full_name = full_name
            session.add(doctor)
    elif doctor is not None and doctor.is_active:
        upcoming = await _upcoming_appointments(session, doctor.id)
        if upcoming:
            raise Conflict(ngettext('{name} has {count} upcoming appointment. Please move or cancel it before '
                                    'changing the role.',
                                    '{name} has {count} upcoming appointments. Please move or cancel them before '
                                    'changing the role.', upcoming, name=full_name))
        doctor.is_active = False
        session.add(doctor)
    for field, value in (('full_name', full_name), ('email', email), ('phone', phone), ('language', language)):
        if getattr(user, field) != value:
            changes.append(f'{field} "{getattr(user, field) or ""}" -> "{value or ""}"')
            setattr(user, field, value)
    if user.role != role:
        users.end_sessions(user)  # pages opened with the old role must not keep its rights
    user.role = role
    session.add(user)
    if changes:
        audit.record(session, actor, 'user_updated', entity='user', entity_id=user.id,
                     detail=f'{user.username}: ' + '; '.join(changes))
        publish(session, StaffChanged(user_id=user.id))
    return user


@action
async def set_active(session: AsyncSession, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (the person can no longer sign in; everything they did stays) or reactivate an account."""
    require(actor, Role.ADMIN)
    await serialize(session, _LOCK)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_('This account does not exist.'))
    if user.is_active == active:
        return user
    doctor = await _doctor_of(session, user.id)
    if not active:
        if user.id == actor.user_id:
            raise ValidationError(_('You cannot deactivate your own account.'))
        if user.role == Role.ADMIN and await _active_admins(session) <= 1:
            raise Conflict(_('The clinic needs at least one active administrator.'))
        if doctor is not None and doctor.is_active:
            upcoming = await _upcoming_appointments(session, doctor.id)
            if upcoming:
                raise Conflict(ngettext('{name} has {count} upcoming appointment. Please move or cancel it first.',
                                        '{name} has {count} upcoming appointments. Please move or cancel them first.',
                                        upcoming, name=user.full_name))
    user.is_active = active
    if not active:
        users.end_sessions(user)  # open pages go to sign-in at once
    session.add(user)
    if doctor is not None and user.role == Role.DOCTOR:
        doctor.is_active = active
        session.add(doctor)
    audit.record(session, actor, 'user_reactivated' if active else 'user_deactivated', entity='user',
                 entity_id=user.id, detail=user.username)
    publish(session, StaffChanged(user_id=user.id))
    return user


@action
async def reset_password(session: AsyncSession, actor: Actor, user_id: int) -> str:
    """Give the account a new temporary password (returned, to hand over) that must be changed at next sign-in.
    Every session signed in with the old password ends; the account is unlocked."""
    require(actor, Role.ADMIN)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_('This account does not exist.'))
    if user.id == actor.user_id:
        raise ValidationError(_('To change your own password, use "Change password".'))
    password = temporary_password()
    user.password_hash = await hash_password_async(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    users.end_sessions(user)
    await sign_in_guard.forget(session, user.username)
    session.add(user)
    audit.record(session, actor, 'password_reset', entity='user', entity_id=user.id, detail=user.username)
    publish(session, StaffChanged(user_id=user.id))
    return password


@action
async def unlock(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """Lift the lockouts after too many wrong passwords (from every device that was locked out)."""
    require(actor, Role.ADMIN)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_('This account does not exist.'))
    user.failed_logins = 0
    user.locked_until = None
    await sign_in_guard.forget(session, user.username)
    session.add(user)
    audit.record(session, actor, 'user_unlocked', entity='user', entity_id=user.id, detail=user.username)
    publish(session, StaffChanged(user_id=user.id))
    return user


@query
async def people(session: AsyncSession, actor: Actor) -> dict[int, str]:
    """Every account as ``{id: "Full name (username)"}`` (for filters)."""
    require(actor, Role.ADMIN)
    rows = (await session.exec(select(User.id, User.full_name, User.username)
                               .order_by(func.lower(User.full_name)))).all()
    return {user_id: f'{name} ({username})' for user_id, name, username in rows}

