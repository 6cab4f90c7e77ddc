"""Patients and their addresses."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import Sex
from .types import UTCDateTime, enum_type, utcnow


class Patient(SQLModel, table=True):
    __tablename__ = 'patients'
    __table_args__ = (
        sa.CheckConstraint('phone IS NOT NULL OR date_of_birth IS NOT NULL', name='phone_or_dob'),
        sa.CheckConstraint("date_of_birth IS NULL OR date_of_birth >= '1900-01-01'", name='dob_plausible'),
        sa.CheckConstraint("length(full_name) > 0", name='name_not_empty'),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)  # e.g. P0001234, printed on tickets and receipts
    full_name: str = Field(max_length=120)
    # Lower-case, accent-free copy of the name for search ("nguyen van" finds "Nguyễn Văn").
    search_name: str = Field(max_length=120, index=True)
    date_of_birth: date | None = Field(default=None, index=True)
    sex: Sex = Field(default=Sex.UNKNOWN, sa_type=enum_type(Sex))
    phone: str | None = Field(default=None, max_length=20, index=True)  # not unique: families share phones
    email: str | None = Field(default=None, max_length=254)
    national_id: str | None = Field(default=None, max_length=30, unique=True)
    allergies: str = Field(default='', max_length=1000)
    notes: str = Field(default='', max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Address(SQLModel, table=True):
    __tablename__ = 'addresses'

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    kind: str = Field(default='home', max_length=20)
    line1: str = Field(max_length=200)
    line2: str = Field(default='', max_length=200)
    city: str = Field(default='', max_length=80)
    province: str = Field(default='', max_length=80)
    postal_code: str = Field(default='', max_length=20)
    country: str = Field(default='', max_length=80)
    is_primary: bool = False
