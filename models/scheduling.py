"""Appointments, visits (one per arrival) and the queues of the day."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import AppointmentStatus, BookingSource, QueueKind, TicketStatus, VisitStatus
from .types import UTCDateTime, enum_type, utcnow


class Appointment(SQLModel, table=True):
    __tablename__ = 'appointments'
    __table_args__ = (
        sa.CheckConstraint('end_at > start_at', name='start_before_end'),
        sa.CheckConstraint('sequence >= 0', name='sequence_nonneg'),
        sa.Index('ix_appointments_doctor_start', 'doctor_id', 'start_at'),
        sa.Index('ix_appointments_room_start', 'room_id', 'start_at'),
        sa.Index('ix_appointments_start_status', 'start_at', 'status'),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(max_length=36, unique=True)  # stable UID for calendar invitations
    patient_id: int = Field(foreign_key='patients.id', index=True)
    doctor_id: int = Field(foreign_key='doctors.id')
    room_id: int | None = Field(default=None, foreign_key='clinic_rooms.id')
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    status: AppointmentStatus = Field(default=AppointmentStatus.SCHEDULED, sa_type=enum_type(AppointmentStatus))
    source: BookingSource = Field(sa_type=enum_type(BookingSource))
    reason: str = Field(default='', max_length=500)  # nature of the illness, as told by the patient
    notes: str = Field(default='', max_length=1000)
    cancel_reason: str = Field(default='', max_length=500)
    sequence: int = 0  # iCalendar SEQUENCE, raised on each reschedule
    language: str | None = Field(default=None, max_length=8)  # the booking's messages; None: the patient's
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AppointmentService(SQLModel, table=True):
    __tablename__ = 'appointment_services'

    appointment_id: int = Field(foreign_key='appointments.id', primary_key=True)
    service_id: int = Field(foreign_key='services.id', primary_key=True, index=True)


class Visit(SQLModel, table=True):
    """One arrival of a patient at the clinic, from check-in until paid and closed."""
    __tablename__ = 'visits'
    __table_args__ = (sa.Index('ix_visits_date_status', 'visit_date', 'status'),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    appointment_id: int | None = Field(default=None, foreign_key='appointments.id', unique=True)
    doctor_id: int | None = Field(default=None, foreign_key='doctors.id', index=True)
    visit_date: date  # the clinic's local date of the arrival
    status: VisitStatus = Field(default=VisitStatus.WAITING, sa_type=enum_type(VisitStatus))
    is_walk_in: bool = False
    checked_in_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    consultation_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consultation_ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str = Field(default='', max_length=200)  # set when the day's close ends an unfinished visit
    # The doctor let the patient go to tests and will finish the consultation when the results are in.
    awaiting_results: bool = False
    payment_deferred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payment_deferred_reason: str = Field(default='', max_length=300)
    checked_in_by_id: int | None = Field(default=None, foreign_key='users.id')


class Queue(SQLModel, table=True):
    """A line of waiting patients: one per doctor, or one per station (lab, imaging, ...)."""
    __tablename__ = 'queues'

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    name_translations: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)  # by language code: the name as read in it
    prefix: str = Field(max_length=3, unique=True)  # "A" gives tickets, ...
    kind: QueueKind = Field(sa_type=enum_type(QueueKind))
    doctor_id: int | None = Field(default=None, foreign_key='doctors.id', unique=True)
    room_id: int | None = Field(default=None, foreign_key='clinic_rooms.id')
    is_active: bool = True


class QueueDayCounter(SQLModel, table=True):
    """The last ticket number issued per queue and clinic-local day; incremented atomically."""
    __tablename__ = 'queue_day_counters'
    __table_args__ = (sa.CheckConstraint('last_number >= 0', name='last_number_nonneg'),)

    queue_id: int = Field(foreign_key='queues.id', primary_key=True)
    service_date: date = Field(primary_key=True)
    last_number: int = 0


class QueueTicket(SQLModel, table=True):
    __tablename__ = 'queue_tickets'
    __table_args__ = (
        sa.UniqueConstraint('queue_id', 'service_date', 'number', name='uq_queue_tickets_number_per_day'),
        sa.CheckConstraint('number > 0', name='number_positive'),
        sa.CheckConstraint('priority >= 0', name='priority_nonneg'),
        sa.CheckConstraint('call_count >= 0', name='call_count_nonneg'),
        sa.Index('ix_queue_tickets_queue_day_status', 'queue_id', 'service_date', 'status'),
        sa.Index('ix_queue_tickets_queue_finished', 'queue_id', 'finished_at'),  # recent consultation lengths
    )

    id: int | None = Field(default=None, primary_key=True)
    queue_id: int = Field(foreign_key='queues.id')
    service_date: date
    number: int
    visit_id: int = Field(foreign_key='visits.id', index=True)
    patient_id: int = Field(foreign_key='patients.id', index=True)
    status: TicketStatus = Field(default=TicketStatus.WAITING, sa_type=enum_type(TicketStatus))
    priority: int = 0  # 0 normal; higher is served sooner (elderly, pregnant, urgent)
    priority_reason: str = Field(default='', max_length=200)
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    room_id: int | None = Field(default=None, foreign_key='clinic_rooms.id')
    transferred_from_id: int | None = Field(default=None, foreign_key='queue_tickets.id')
    call_count: int = 0
    back_with_results: bool = False  # returns to the doctor with results: served before new arrivals
    close_reason: str = Field(default='', max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    called_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlotHold(SQLModel, table=True):
    """A slot kept free for a few minutes while a patient fills in the online booking form."""
    __tablename__ = 'slot_holds'
    __table_args__ = (
        sa.CheckConstraint('end_at > start_at', name='start_before_end'),
        sa.Index('ix_slot_holds_doctor_start', 'doctor_id', 'start_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    doctor_id: int = Field(foreign_key='doctors.id')
    room_id: int | None = Field(default=None, foreign_key='clinic_rooms.id')
    service_id: int = Field(foreign_key='services.id')
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    client_key: str = Field(default='', max_length=64)  # hashed address, for rate limits
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DayClosure(SQLModel, table=True):
    """A clinic day the end-of-day job has closed: no-shows marked and open tickets ended (runs once per day)."""
    __tablename__ = 'day_closures'
    __table_args__ = (
        sa.CheckConstraint('no_shows >= 0', name='no_shows_nonneg'),
        sa.CheckConstraint('tickets_closed >= 0', name='tickets_closed_nonneg'),
        sa.CheckConstraint('visits_closed >= 0', name='visits_closed_nonneg'),
    )

    service_date: date = Field(primary_key=True)
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    no_shows: int = 0
    tickets_closed: int = 0
    visits_closed: int = 0
