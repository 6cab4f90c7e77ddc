"""Staff accounts, doctors, specialties, rooms, the service price list and working hours."""
from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401  (naming convention first)
from .enums import Role, RoomKind, ServiceKind
from .types import UTCDateTime, enum_type, utcnow


class User(SQLModel, table=True):
    """A staff member who signs in. Never deleted: deactivated.

    ``session_epoch`` goes up whenever the sessions already signed in must end (password changed or reset,
    deactivated, role changed): a signed-in browser keeps the epoch it was issued with and is let in only while
    it matches. ``locked_until`` says until when at least one device is locked out of the account after too many
    wrong passwords from it (the account itself stays usable from other devices)."""
    __tablename__ = 'users'
    __table_args__ = (
        sa.CheckConstraint('failed_logins >= 0', name='failed_logins_nonneg'),
        sa.CheckConstraint("length(username) >= 3", name='username_len'),
        sa.CheckConstraint('session_epoch >= 0', name='session_epoch_nonneg'),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True)
    full_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=20)
    role: Role = Field(sa_type=enum_type(Role))
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=8)  # the screens' language; None: the clinic's
    session_epoch: int = Field(default=0, sa_column_kwargs={'server_default': '0'})


class Specialty(SQLModel, table=True):
    __tablename__ = 'specialties'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    name_translations: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # by language code: the name as read in it
    description: str = Field(default='', max_length=500)
    # Health issues / keywords that map a patient's complaint to this specialty (seed: "doctor-patient mapping").
    keywords: str = Field(default='', max_length=1000)
    is_active: bool = True  # a deactivated specialty is no longer offered for booking; history keeps its name


class Doctor(SQLModel, table=True):
    __tablename__ = 'doctors'

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key='users.id', unique=True)
    full_name: str = Field(max_length=120)
    title: str = Field(default='Dr.', max_length=20)
    license_number: str = Field(max_length=40, unique=True)
    phone: str | None = Field(default=None, max_length=20, unique=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    is_active: bool = True


class DoctorSpecialty(SQLModel, table=True):
    __tablename__ = 'doctor_specialties'

    doctor_id: int = Field(foreign_key='doctors.id', primary_key=True)
    specialty_id: int = Field(foreign_key='specialties.id', primary_key=True, index=True)


class Room(SQLModel, table=True):
    __tablename__ = 'clinic_rooms'

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=80)
    name_translations: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # by language code: the name as read in it
    kind: RoomKind = Field(sa_type=enum_type(RoomKind))
    floor: str = Field(default='', max_length=20)
    is_active: bool = True


class Service(SQLModel, table=True):
    """An item of the price list: consultation, lab test, imaging or procedure."""
    __tablename__ = 'services'
    __table_args__ = (
        sa.CheckConstraint('duration_minutes > 0', name='duration_positive'),
        sa.CheckConstraint('price >= 0', name='price_nonneg'),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120)
    name_translations: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # by language code: the name as read in it
    kind: ServiceKind = Field(sa_type=enum_type(ServiceKind))
    specialty_id: int | None = Field(default=None, foreign_key='specialties.id', index=True)
    duration_minutes: int
    price: int = Field(sa_type=sa.BigInteger, description='minor units of the clinic currency')
    description: str = Field(default='', max_length=500)
    is_active: bool = True


class DoctorService(SQLModel, table=True):
    __tablename__ = 'doctor_services'

    doctor_id: int = Field(foreign_key='doctors.id', primary_key=True)
    service_id: int = Field(foreign_key='services.id', primary_key=True, index=True)


class WorkingHours(SQLModel, table=True):
    """A weekly block when a doctor works in a room (weekday 0 = Monday)."""
    __tablename__ = 'working_hours'
    __table_args__ = (
        sa.CheckConstraint('weekday >= 0 AND weekday <= 6', name='weekday_range'),
        sa.CheckConstraint('start_time < end_time', name='start_before_end'),
    )

    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(foreign_key='doctors.id', index=True)
    room_id: int = Field(foreign_key='clinic_rooms.id', index=True)
    weekday: int
    start_time: time
    end_time: time


class DoctorLeave(SQLModel, table=True):
    """Days off and leave: no booking falls inside."""
    __tablename__ = 'doctor_leaves'
    __table_args__ = (sa.CheckConstraint('start_date <= end_date', name='start_before_end'),)

    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(foreign_key='doctors.id', index=True)
    start_date: date
    end_date: date
    reason: str = Field(default='', max_length=200)
