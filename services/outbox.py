"""The outbox of messages to patients (email, SMS, Zalo): claiming due messages, sending each through its
channel's gateway (``services.gateways``), retrying with backoff, and the staff view.

Delivery guarantee (at least once, duplicates recognisable):

* A message is never lost. Its row is committed in the same transaction as what caused it (a booking, a call in
  the queue: ``services.notifications.queue_email`` / ``queue_text``), so it exists exactly when that does, and it
  survives restarts. A ``dedupe_key`` makes sure the same notice is never queued twice.
* A sender *claims* due rows of the channels the clinic has set up (status SENDING with a lease), sends each one
  with no database transaction open, and marks it SENT right after the provider accepted it. A failure is
  recorded and retried with exponential backoff (30 s, 1 min, 2 min, ... capped at 1 h) until ``MAX_ATTEMPTS``;
  a permanent one (the provider refused the request) is FAILED at once, with the provider's reason. Staff can
  send a failed message again from the outbox page.
* If the process dies mid-send, the lease runs out and the row is claimed again. The only window for a
  duplicate is a crash between "provider accepted" and "marked sent"; the resent copy carries the same
  Message-ID (email) or request/tracking id (the dedupe key: SMS and Zalo), so providers and clients can
  recognise it as the same message.
* On PostgreSQL several server processes may send: claiming uses ``FOR UPDATE SKIP LOCKED``, so no row is sent
  by two of them at once. On SQLite write transactions are serialized anyway.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import MessageChannel, OutboxMessage, OutboxStatus, Role
from models.types import utcnow

from . import audit
from .access import Actor, require
from .core.boundary import action, query
from .core.errors import Conflict, NotFound
from .core.events import OutboxChanged, publish
from .core.i18n import _
from .gateways import SMTP_TIMEOUT_S, Gateway, PermanentFailure, TemporaryFailure, configured

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
BATCH_SIZE = 10
# A claimed batch is sent one by one; the lease must outlast the slowest batch, or another process could
# claim the same rows while they are still being sent.
BATCH_LEASE_S = BATCH_SIZE * SMTP_TIMEOUT_S + 60


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, 4 min, ... at most 1 h."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


# --- The sender's side (no actor: this is the system working) ---------------------------------------------

async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 20, lease_seconds: int = 120,
                    channels: Iterable[MessageChannel] = tuple(MessageChannel)) -> list[OutboxMessage]:
    """Take due PENDING rows of ``channels``, and SENDING rows whose lease ran out (a crash while sending), for this
    sender: they become SENDING until ``now + lease``. Commits; returns the claimed rows (oldest due first)."""
    query = (select(OutboxMessage)
             .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    col(OutboxMessage.channel).in_(list(channels)),
                    OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
             .limit(limit)
             .with_for_update(skip_locked=True))
    rows = list((await session.exec(query)).all())
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.next_attempt_at = now + timedelta(seconds=lease_seconds)
    await session.commit()
    return rows


async def mark_sent(session: AsyncSession, outbox_id: int, *, now: datetime) -> None:
    """The provider accepted the message. Commits."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        return
    row.status = OutboxStatus.SENT
    row.attempts += 1
    row.sent_at = now
    row.last_error = ''
    publish(session, OutboxChanged(outbox_id=outbox_id))
    await session.commit()


async def mark_failed(session: AsyncSession, outbox_id: int, error: str, *, now: datetime,
                      permanent: bool = False) -> None:
    """A delivery attempt failed: retry later with backoff, or give up (FAILED) after ``MAX_ATTEMPTS`` or when
    the failure is ``permanent`` (e.g. the provider refused the request). Commits."""
    row = await session.get(OutboxMessage, outbox_id)
    if row is None or row.status == OutboxStatus.SENT:
        return
    row.attempts += 1
    row.last_error = error[:1000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
    else:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now + retry_delay(row.attempts)
    publish(session, OutboxChanged(outbox_id=outbox_id))
    await session.commit()


async def release(session: AsyncSession, outbox_ids: list[int], *, now: datetime) -> None:
    """Hand back claimed rows this sender will not send (it is stopping): PENDING and due at once, for the next
    sender, instead of waiting for their lease to run out. A row already marked sent stays sent. Commits."""
    rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(outbox_ids),
                                                         OutboxMessage.status == OutboxStatus.SENDING))).all()
    for row in rows:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now
    await session.commit()


async def send_due(database, settings, *, now: datetime | None = None,
                   stopping: Callable[[], bool] = lambda: False) -> int:
    """Send every message that is due, batch by batch, through its channel. Returns how many were sent. Messages
    of a channel the clinic has not set up (no mail server, no SMS gateway, no Zalo account) wait in the outbox.
    No database transaction stays open while a provider is talked to.

    ``stopping`` is asked before each message: once the server is shutting down, the rest of the claimed batch is
    handed back (``release``) and sending ends. The same happens if the task is cancelled mid-batch, the message
    in flight included: a message is marked sent only after the provider accepted it."""
    gateways = configured(settings, database)
    if not gateways:
        return 0
    sent = 0
    while not stopping():
        moment = now or utcnow()
        async with database.write() as session:
            rows = await claim_due(session, now=moment, limit=BATCH_SIZE, lease_seconds=BATCH_LEASE_S,
                                   channels=gateways)
        unsent = [row.id for row in rows]
        try:
            for row in rows:
                if stopping():
                    break
                sent += await _deliver(database, gateways[row.channel], row, now=now)
                unsent.remove(row.id)
        finally:
            if unsent:
                await asyncio.shield(_release(database, unsent))
        if len(rows) < BATCH_SIZE:
            break
    return sent


async def _release(database, outbox_ids: list[int]) -> None:
    async with database.write() as session:
        await release(session, outbox_ids, now=utcnow())


async def _deliver(database, gateway: Gateway, row: OutboxMessage, *, now: datetime | None) -> int:
    """Send one claimed row and record the outcome in its own short transaction. Returns 1 if sent."""
    assert row.id is not None
    try:
        await gateway.send(row)
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the row and retried
        log.warning('%s message %s not sent: %s', row.channel.value, row.id, error)
        permanent = isinstance(error, PermanentFailure)
        text = str(error) if isinstance(error, (PermanentFailure, TemporaryFailure)) \
            else f'{type(error).__name__}: {error}'
        async with database.write() as session:
            await mark_failed(session, row.id, text, now=now or utcnow(), permanent=permanent)
        return 0
    async with database.write() as session:
        await mark_sent(session, row.id, now=now or utcnow())
    return 1


# --- The staff view -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    channel: MessageChannel
    to_address: str
    subject: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None


@query
async def list_outbox(session: AsyncSession, actor: Actor, *, status: OutboxStatus | None = None,
                      channel: MessageChannel | None = None, offset: int = 0,
                      limit: int = 50) -> tuple[list[OutboxRow], int]:
    """One page of the outbox, newest first, and the total count (bodies and attachments are not loaded)."""
    require(actor, Role.RECEPTIONIST)
    where = [OutboxMessage.status == status] if status is not None else []
    if channel is not None:
        where.append(OutboxMessage.channel == channel)
    total = (await session.exec(select(func.count()).select_from(OutboxMessage).where(*where))).one()
    query = (select(OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.channel, OutboxMessage.to_address,
                    OutboxMessage.subject, OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.next_attempt_at,
                    OutboxMessage.last_error, OutboxMessage.sent_at)
             .where(*where)
             .order_by(sa.desc(OutboxMessage.created_at), sa.desc(OutboxMessage.id))
             .offset(max(offset, 0)).limit(max(min(limit, 200), 1)))
    rows = [OutboxRow(*row) for row in (await session.exec(query)).all()]
    return rows, total


@action
async def requeue(session: AsyncSession, actor: Actor, outbox_id: int) -> None:
    """Send a FAILED message again (e.g. after the address or the gateway settings were fixed). Audited; commits."""
    require(actor, Role.RECEPTIONIST)
    row = await session.get(OutboxMessage, outbox_id)
    if row is None:
        raise NotFound(_('This message is no longer in the outbox.'))
    if row.status != OutboxStatus.FAILED:
        raise Conflict(_('This message has not failed; only failed messages can be sent again.'))
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    audit.record(session, actor, 'message_requeued', entity='outbox_message', entity_id=row.id,
                 detail=f'{row.channel.value} to {row.to_address}: {row.subject}')
    publish(session, OutboxChanged(outbox_id=row.id))
