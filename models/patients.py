"""Patients, their addresses, and changes to their details that reception has to confirm."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import AllergySeverity, AllergyStatus, ChangeStatus, MessageChannel, Sex
from .types import UTCDateTime, enum_type, utcnow


class Patient(SQLModel, table=True):
    __tablename__ = 'patients'
    __table_args__ = (
        sa.CheckConstraint('phone IS NOT NULL OR date_of_birth IS NOT NULL', name='phone_or_dob'),
        sa.CheckConstraint("date_of_birth IS NULL OR date_of_birth >= '1900-01-01'", name='dob_plausible'),
        sa.CheckConstraint("length(full_name) > 0", name='name_not_empty'),
        # A record merged into another (the same person registered twice) is kept, pointing at the survivor.
        sa.CheckConstraint('(merged_into_id IS NULL AND merged_at IS NULL) OR '
                           '(merged_into_id IS NOT NULL AND merged_at IS NOT NULL AND merged_into_id <> id)',
                           name='merged_whole'),
        # Search reads the names of live records in order from here, without touching the table until a name fits.
        sa.Index('ix_patients_live_search_name', 'search_name', 'id', sqlite_where=sa.text('merged_into_id IS NULL'),
                 postgresql_where=sa.text('merged_into_id IS NULL')),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)  # e.g. P0001234, printed on tickets and receipts
    full_name: str = Field(max_length=120)
    # Lower-case, accent-free copy of the name for search ("nguyen van" finds "Nguyễn Văn").
    # On PostgreSQL it sorts by "C" (bytes), like SQLite: "starts with" is then a range of the index, whatever the
    # database's collation (a LIKE prefix cannot use an index under a language collation).
    search_name: str = Field(max_length=120, index=True, sa_type=sa.String(120).with_variant(
        sa.String(120, collation='C'), 'postgresql'))
    date_of_birth: date | None = Field(default=None, index=True)
    sex: Sex = Field(default=Sex.UNKNOWN, sa_type=enum_type(Sex))
    phone: str | None = Field(default=None, max_length=20, index=True)  # not unique: families share phones
    email: str | None = Field(default=None, max_length=254)
    national_id: str | None = Field(default=None, max_length=30, unique=True)
    allergies: str = Field(default='', max_length=1000)  # free-text note beside the structured entries
    allergy_status: AllergyStatus = Field(default=AllergyStatus.UNKNOWN, sa_type=enum_type(AllergyStatus))
    notes: str = Field(default='', max_length=2000)
    language: str | None = Field(default=None, max_length=8)  # what the patient reads and receives in; None: the clinic's
    # How messages reach them; None: by email when they have an address, else by SMS (services.channels).
    preferred_channel: MessageChannel | None = Field(default=None, sa_type=enum_type(MessageChannel))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Merged into another record of the same person: hidden from search and booking, its page links the survivor.
    merged_into_id: int | None = Field(default=None, foreign_key='patients.id', index=True)
    merged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merged_by_id: int | None = Field(default=None, foreign_key='users.id')


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


class PatientContactChange(SQLModel, table=True):
    """A detail typed for a recognised patient (on the public booking page) that differs from their record.

    The record is not changed by whoever typed it: anyone who knows a patient's name, birth date and phone could.
    Reception accepts (the record takes the new value) or rejects (it stays as it was); both are audited.
    """
    __tablename__ = 'patient_contact_changes'
    __table_args__ = (
        sa.CheckConstraint("field IN ('full_name', 'email')", name='known_field'),
        sa.CheckConstraint('length(new_value) > 0 AND new_value <> old_value', name='is_a_change'),
        sa.CheckConstraint('length(source) > 0', name='source_given'),
        sa.CheckConstraint("(status = 'pending' AND decided_at IS NULL AND decided_by_id IS NULL) OR "
                           "(status <> 'pending' AND decided_at IS NOT NULL AND decided_by_id IS NOT NULL)",
                           name='decided_by_someone'),
        sa.Index('ix_patient_contact_changes_status_patient', 'status', 'patient_id'),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    field: str = Field(max_length=20)  # the Patient column: full_name or email
    old_value: str = Field(default='', max_length=254)  # what the record had when it was asked ('' for nothing)
    new_value: str = Field(max_length=254)
    source: str = Field(max_length=40)  # e.g. "online booking"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: ChangeStatus = Field(default=ChangeStatus.PENDING, sa_type=enum_type(ChangeStatus))
    decided_by_id: int | None = Field(default=None, foreign_key='users.id')
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PatientAllergy(SQLModel, table=True):
    """One allergy of a patient: a substance (amoxicillin) or a drug group (penicillins), its reaction and severity."""
    __tablename__ = 'patient_allergies'
    __table_args__ = (
        sa.CheckConstraint("length(substance) > 0 OR length(drug_group) > 0", name='substance_or_group'),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    substance: str = Field(default='', max_length=120)
    drug_group: str = Field(default='', max_length=60)
    reaction: str = Field(default='', max_length=200)
    severity: AllergySeverity = Field(default=AllergySeverity.MODERATE, sa_type=enum_type(AllergySeverity))
    is_active: bool = True
    recorded_by_id: int | None = Field(default=None, foreign_key='users.id')
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
