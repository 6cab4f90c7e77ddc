"""Medical records, ordered services with their results, and prescriptions."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import OrderStatus, PrescriptionStatus, RecordStatus, ResultFlag, Sex
from .types import UTCDateTime, enum_type, utcnow


class MedicalRecord(SQLModel, table=True):
    """The consultation record of one visit (1:1). Signed records change only through amendments."""
    __tablename__ = 'medical_records'
    __table_args__ = (
        sa.CheckConstraint('temperature_c IS NULL OR (temperature_c >= 30 AND temperature_c <= 45)', name='temp'),
        sa.CheckConstraint('pulse_bpm IS NULL OR (pulse_bpm >= 20 AND pulse_bpm <= 250)', name='pulse'),
        sa.CheckConstraint('bp_systolic IS NULL OR (bp_systolic >= 50 AND bp_systolic <= 260)', name='bp_sys'),
        sa.CheckConstraint('bp_diastolic IS NULL OR (bp_diastolic >= 30 AND bp_diastolic <= 160)', name='bp_dia'),
        sa.CheckConstraint('spo2 IS NULL OR (spo2 >= 50 AND spo2 <= 100)', name='spo2'),
        sa.CheckConstraint('weight_kg IS NULL OR (weight_kg > 0 AND weight_kg <= 400)', name='weight'),
        sa.CheckConstraint('height_cm IS NULL OR (height_cm >= 20 AND height_cm <= 260)', name='height'),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key='visits.id', unique=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    doctor_id: int = Field(foreign_key='doctors.id', index=True)
    status: RecordStatus = Field(default=RecordStatus.DRAFT, sa_type=enum_type(RecordStatus))
    reason: str = Field(default='', max_length=1000)
    symptoms: str = Field(default='', max_length=2000)
    temperature_c: Decimal | None = Field(default=None, sa_type=sa.Numeric(4, 1))
    pulse_bpm: int | None = None
    bp_systolic: int | None = None
    bp_diastolic: int | None = None
    spo2: int | None = None
    weight_kg: Decimal | None = Field(default=None, sa_type=sa.Numeric(5, 1))
    height_cm: Decimal | None = Field(default=None, sa_type=sa.Numeric(4, 1))
    preliminary_diagnosis: str = Field(default='', max_length=1000)
    diagnosis_code: str = Field(default='', max_length=10, index=True)  # ICD-10
    diagnosis: str = Field(default='', max_length=1000)
    advice: str = Field(default='', max_length=2000)
    notes: str = Field(default='', max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_by_id: int | None = Field(default=None, foreign_key='users.id')


class RecordAmendment(SQLModel, table=True):
    """A change to a signed record: what changed, by whom, when and why."""
    __tablename__ = 'record_amendments'

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key='medical_records.id', index=True)
    user_id: int = Field(foreign_key='users.id')
    field_name: str = Field(max_length=40)
    old_value: str = Field(default='', max_length=4000)
    new_value: str = Field(default='', max_length=4000)
    reason: str = Field(max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ServiceOrder(SQLModel, table=True):
    """A lab test, imaging or procedure ordered during a visit: a task in that station's worklist.

    Billed exactly once: the invoice item that bills it points back here and is unique (seed: temp_service_usage).
    """
    __tablename__ = 'service_orders'
    __table_args__ = (
        sa.CheckConstraint('price >= 0', name='price_nonneg'),
        sa.Index('ix_service_orders_status_ordered', 'status', 'ordered_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key='visits.id', index=True)
    service_id: int = Field(foreign_key='services.id')
    ordered_by_id: int = Field(foreign_key='doctors.id')
    status: OrderStatus = Field(default=OrderStatus.PENDING, sa_type=enum_type(OrderStatus))
    price: int = Field(sa_type=sa.BigInteger)  # price list value when ordered; later price changes don't alter it
    notes: str = Field(default='', max_length=1000)
    result_text: str = Field(default='', max_length=8000)
    performed_by_id: int | None = Field(default=None, foreign_key='users.id')
    ordered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LabAnalyte(SQLModel, table=True):
    """One value a lab panel measures (a full blood count has about 18), in the order it is entered and printed."""
    __tablename__ = 'lab_analytes'
    __table_args__ = (
        sa.UniqueConstraint('service_id', 'position', name='uq_lab_analytes_position'),
        sa.CheckConstraint('position >= 0', name='position_nonneg'),
        sa.CheckConstraint('length(name) > 0', name='name_not_empty'),
    )

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key='services.id', index=True)
    position: int
    name: str = Field(max_length=80)
    unit: str = Field(default='', max_length=30)
    is_active: bool = True


class LabReferenceRange(SQLModel, table=True):
    """A reference range of an analyte, for everyone or for one sex and age band; the most specific one applies."""
    __tablename__ = 'lab_reference_ranges'
    __table_args__ = (
        sa.CheckConstraint('low IS NULL OR high IS NULL OR low <= high', name='low_le_high'),
        sa.CheckConstraint('critical_low IS NULL OR low IS NULL OR critical_low <= low', name='critical_low_below'),
        sa.CheckConstraint('critical_high IS NULL OR high IS NULL OR critical_high >= high', name='critical_high_above'),
        sa.CheckConstraint('min_age_years IS NULL OR min_age_years >= 0', name='min_age_nonneg'),
        sa.CheckConstraint('max_age_years IS NULL OR min_age_years IS NULL OR max_age_years > min_age_years',
                           name='age_band'),
    )

    id: int | None = Field(default=None, primary_key=True)
    analyte_id: int = Field(foreign_key='lab_analytes.id', index=True)
    sex: Sex | None = Field(default=None, sa_type=enum_type(Sex))  # None: any sex
    min_age_years: int | None = None  # inclusive
    max_age_years: int | None = None  # exclusive
    low: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))
    high: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))
    critical_low: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))
    critical_high: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))


class ResultValue(SQLModel, table=True):
    """One measured value of an order's result, with the range and flag as they were when it was entered."""
    __tablename__ = 'result_values'
    __table_args__ = (
        sa.UniqueConstraint('order_id', 'position', name='uq_result_values_position'),
        sa.CheckConstraint('position >= 0', name='position_nonneg'),
        sa.CheckConstraint('length(name) > 0', name='name_not_empty'),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key='service_orders.id', index=True)
    analyte_id: int | None = Field(default=None, foreign_key='lab_analytes.id')
    position: int
    name: str = Field(max_length=80)
    value: str = Field(max_length=60)
    numeric_value: Decimal | None = Field(default=None, sa_type=sa.Numeric(12, 4))
    unit: str = Field(default='', max_length=30)
    reference: str = Field(default='', max_length=60)  # "4.0–10.0" as printed
    flag: ResultFlag = Field(default=ResultFlag.NONE, sa_type=enum_type(ResultFlag))


class ResultFile(SQLModel, table=True):
    """An image or PDF attached to a service result; the bytes live outside the web root."""
    __tablename__ = 'result_files'
    __table_args__ = (sa.CheckConstraint('size_bytes > 0', name='size_positive'),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key='service_orders.id', index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=80)
    size_bytes: int
    storage_key: str = Field(max_length=80, unique=True)
    uploaded_by_id: int = Field(foreign_key='users.id')
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Prescription(SQLModel, table=True):
    __tablename__ = 'prescriptions'

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key='visits.id', index=True)
    record_id: int = Field(foreign_key='medical_records.id', index=True)
    doctor_id: int = Field(foreign_key='doctors.id')
    status: PrescriptionStatus = Field(default=PrescriptionStatus.DRAFT, sa_type=enum_type(PrescriptionStatus))
    notes: str = Field(default='', max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PrescriptionItem(SQLModel, table=True):
    __tablename__ = 'prescription_items'
    __table_args__ = (
        sa.CheckConstraint('quantity > 0', name='quantity_positive'),
        sa.CheckConstraint('dispensed_quantity >= 0', name='dispensed_nonneg'),
        sa.CheckConstraint('times_per_day IS NULL OR times_per_day > 0', name='times_positive'),
        sa.CheckConstraint('duration_days IS NULL OR duration_days > 0', name='days_positive'),
    )

    id: int | None = Field(default=None, primary_key=True)
    prescription_id: int = Field(foreign_key='prescriptions.id', index=True)
    medicine_id: int = Field(foreign_key='medicines.id', index=True)
    dose: str = Field(max_length=60)  # e.g. "1 tablet", "5 ml"
    times_per_day: int | None = None
    duration_days: int | None = None
    quantity: int
    instructions: str = Field(default='', max_length=500)
    dispensed_quantity: int = 0
    # Prescribed although it matches an allergy: the doctor's reason, and the pharmacist who acknowledged it.
    allergy_override_reason: str = Field(default='', max_length=500)
    allergy_acknowledged_by_id: int | None = Field(default=None, foreign_key='users.id')
    allergy_acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
