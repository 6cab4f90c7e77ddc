"""The durable outbox of messages to patients (email, SMS, Zalo) and the audit log."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401
from .enums import MessageChannel, OutboxStatus
from .types import UTCDateTime, enum_type, utcnow


class OutboxMessage(SQLModel, table=True):
    """A message to a patient (an email, an SMS or a Zalo message). Written in the same transaction as what caused
    it; a background sender delivers it through its channel."""
    __tablename__ = 'outbox_messages'
    __table_args__ = (
        sa.CheckConstraint('attempts >= 0', name='attempts_nonneg'),
        sa.Index('ix_outbox_messages_status_next', 'status', 'next_attempt_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=120, unique=True)  # e.g. "appointment:42:booked:0"; never queued twice
    message_id: str = Field(max_length=200, unique=True)
    channel: MessageChannel = Field(default=MessageChannel.EMAIL, sa_type=enum_type(MessageChannel))
    to_address: str = Field(max_length=254)  # an email address, or a phone in E.164 for SMS and Zalo
    subject: str = Field(max_length=200)  # an email's subject; for SMS and Zalo what staff read in the outbox
    # Zalo: which kind of template (e.g. 'reminder', 'turn') and body_text holds its data as JSON; '' otherwise.
    template: str = Field(default='', max_length=40)
    body_text: str = Field(sa_type=sa.Text)
    attachment_name: str = Field(default='', max_length=120)
    attachment_type: str = Field(default='', max_length=80)
    attachment_data: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    # A QR code drawn at sending time into an HTML part of the email (e.g. the check-in code); '': text only
    qr_text: str = Field(default='', max_length=200, sa_column_kwargs={'server_default': ''})
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=enum_type(OutboxStatus))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str = Field(default='', max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """Who did what and when: logins, chart views, edits, payments, refunds, setting changes. Append only."""
    __tablename__ = 'audit_log'
    __table_args__ = (sa.Index('ix_audit_log_at', 'at'), sa.Index('ix_audit_log_entity', 'entity', 'entity_id'))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    user_id: int | None = Field(default=None, foreign_key='users.id', index=True)
    username: str = Field(default='', max_length=40)  # as typed, also for failed logins of unknown names
    action: str = Field(max_length=40, index=True)
    entity: str = Field(default='', max_length=40)
    entity_id: int | None = None
    detail: str = Field(default='', max_length=2000)


class DisplayKey(SQLModel, table=True):
    """A key that lets a waiting-room TV open the board, or an entrance tablet the self check-in kiosk, without a
    keyboard (in its URL). Revocable; a board key opens only the board, a kiosk key only the kiosk. The key itself
    is never stored, only its SHA-256."""
    __tablename__ = 'display_keys'
    __table_args__ = (sa.CheckConstraint("purpose IN ('board', 'kiosk')", name='purpose_known'),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)  # e.g. "Waiting room TV, ground floor"
    key_hash: str = Field(max_length=64, unique=True)
    queue_ids: str = Field(default='', max_length=500)  # comma-separated queue ids; empty: all queues
    created_by_id: int | None = Field(default=None, foreign_key='users.id')
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=8)  # 'en', 'vi', or 'both' (one after the other); None: the clinic's
    purpose: str = Field(default='board', max_length=8, sa_column_kwargs={'server_default': 'board'})  # or 'kiosk'


class ClinicSetting(SQLModel, table=True):
    """A clinic setting changed on the administration pages; overrides the CLINIC_* default of the same name."""
    __tablename__ = 'clinic_settings'

    key: str = Field(max_length=60, primary_key=True)
    value: str = Field(default='', sa_type=sa.Text)
    updated_by_id: int | None = Field(default=None, foreign_key='users.id')
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignInFailure(SQLModel, table=True):
    """A failed sign-in, remembered for the lockout window so that every server process of the clinic slows down
    the same guesser (``services.sign_in_guard``). It counts for its address and for its name at that address,
    until a right password (``for_name`` off) or an administrator's unlock (both off) lifts what it caused.
    ``*_told``: the refusal after it was written to the audit log."""
    __tablename__ = 'sign_in_failures'
    __table_args__ = (
        sa.Index('ix_sign_in_failures_address_failed_at', 'address', 'failed_at'),
        sa.Index('ix_sign_in_failures_username', 'username'),
        sa.Index('ix_sign_in_failures_failed_at', 'failed_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=64)
    username: str = Field(max_length=40)
    failed_at: datetime = Field(sa_type=UTCDateTime)
    for_address: bool = True
    for_name: bool = True
    address_told: bool = False
    name_told: bool = False


class RateLimitHit(SQLModel, table=True):
    """One use of a rate-limited public action (``bucket``: which limit; ``key``: a keyed hash of the visitor's
    address), kept for the limit's window, so the limit holds across server processes."""
    __tablename__ = 'rate_limit_hits'
    __table_args__ = (
        sa.Index('ix_rate_limit_hits_bucket_key_at', 'bucket', 'key', 'hit_at'),
        sa.Index('ix_rate_limit_hits_bucket_at', 'bucket', 'hit_at'),
    )

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=40)
    key: str = Field(max_length=64)
    hit_at: datetime = Field(sa_type=UTCDateTime)
