"""The email outbox: claiming due emails, sending them over SMTP, retrying with backoff, and the staff view.

Delivery guarantee (at least once, duplicates recognisable):

* An email is never lost. Its row is committed in the same transaction as the booking that caused it
  (``services.notifications.queue_email``), so it exists exactly when the booking does, and it survives restarts.
* A sender *claims* due rows (status SENDING with a lease), sends each one with no database transaction open,
  and marks it SENT right after the SMTP server accepted it. A failure is recorded and retried with exponential
  backoff (30 s, 1 min, 2 min, ... capped at 1 h) until ``MAX_ATTEMPTS``; then it is FAILED and staff can
  send it again from the outbox page.
* If the process dies mid-send, the lease runs out and the row is claimed again. The only window for a
  duplicate is a crash between "server accepted" and "marked sent"; the resent copy carries the same
  Message-ID (fixed when queued), so mail systems and clients can recognise it as the same message.
* On PostgreSQL several server processes may send: claiming uses ``FOR UPDATE SKIP LOCKED``, so no row is sent
  by two of them at once. On SQLite write transactions are serialized anyway.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from html import escape

import aiosmtplib
import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import EmailOutbox, OutboxStatus, Role
from models.types import utcnow

from . import audit, qr
from .access import Actor, require
from .core.boundary import action, query
from .core.errors import Conflict, NotFound
from .core.i18n import _
from .core.events import OutboxChanged, publish
from .notifications import sender

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
SMTP_TIMEOUT_S = 20
BATCH_SIZE = 10
# A claimed batch is sent one by one; the lease must outlast the slowest batch, or another process could
# claim the same rows while they are still being sent.
BATCH_LEASE_S = BATCH_SIZE * SMTP_TIMEOUT_S + 60


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, 4 min, ... at most 1 h."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


# --- The sender's side (no actor: this is the system working) ---------------------------------------------

async def claim_due(session: AsyncSession, *, now: datetime, limit: int = 20,
                    lease_seconds: int = 120) -> list[EmailOutbox]:
    """Take due PENDING rows, and SENDING rows whose lease ran out (a crash while sending), for this sender:
    they become SENDING until ``now + lease``. Commits; returns the claimed rows (oldest due first)."""
    query = (select(EmailOutbox)
             .where(col(EmailOutbox.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    EmailOutbox.next_attempt_at <= now)
             .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id)
             .limit(limit)
             .with_for_update(skip_locked=True))
    rows = list((await session.exec(query)).all())
    for row in rows:
        row.status = OutboxStatus.SENDING
        row.next_attempt_at = now + timedelta(seconds=lease_seconds)
    await session.commit()
    return rows


async def mark_sent(session: AsyncSession, outbox_id: int, *, now: datetime) -> None:
    """The SMTP server accepted the email. Commits."""
    row = await session.get(EmailOutbox, outbox_id)
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
    the failure is ``permanent`` (e.g. the server refused the address). Commits."""
    row = await session.get(EmailOutbox, outbox_id)
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
    rows = (await session.exec(select(EmailOutbox).where(col(EmailOutbox.id).in_(outbox_ids),
                                                         EmailOutbox.status == OutboxStatus.SENDING))).all()
    for row in rows:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now
    await session.commit()


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    """'text/calendar; method=REQUEST' -> ('text', 'calendar', {'method': 'REQUEST'})."""
    kind, *parameters = [part.strip() for part in value.split(';')]
    maintype, __, subtype = (kind or 'application/octet-stream').partition('/')
    params = dict(p.split('=', 1) for p in parameters if '=' in p)
    return maintype, subtype or 'octet-stream', {k.strip(): v.strip().strip('"') for k, v in params.items()}


def build_message(row: EmailOutbox, settings) -> EmailMessage:
    """The email as sent: UTF-8 text body; a text attachment (the .ics) attached as UTF-8 text with its
    parameters (``method=REQUEST``), since calendar apps garble non-ASCII names in a bytes attachment."""
    message = EmailMessage()
    message['From'] = formataddr(sender(settings))
    message['To'] = row.to_address
    message['Subject'] = row.subject
    message['Message-ID'] = row.message_id
    message['Date'] = format_datetime(row.created_at)
    message['Auto-Submitted'] = 'auto-generated'  # RFC 3834: no vacation auto-replies, please
    message.set_content(row.body_text, charset='utf-8', cte='quoted-printable')
    if row.qr_text:
        _add_qr_part(message, row)
    if row.attachment_data is not None:
        maintype, subtype, params = _content_type(row.attachment_type)
        name = row.attachment_name or 'attachment'
        if maintype == 'text':
            message.add_attachment(row.attachment_data.decode('utf-8'), subtype=subtype, charset='utf-8',
                                   cte='quoted-printable', filename=name, params=params)
        else:
            message.add_attachment(row.attachment_data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _add_qr_part(message: EmailMessage, row: EmailOutbox) -> None:
    """An HTML alternative of the text with ``row.qr_text`` drawn as a QR code, inline (a related image): mail
    apps show it under the text; a text-only reader still has the code as text in the body."""
    cid = make_msgid(domain='clinic-flow')
    text = escape(row.body_text)
    message.add_alternative(
        '<!DOCTYPE html><html><body>'
        f'<pre style="font-family:inherit;font-size:14px;white-space:pre-wrap">{text}</pre>'
        f'<p><img src="cid:{cid[1:-1]}" width="220" height="220" alt="{escape(row.qr_text)}"></p>'
        '</body></html>', subtype='html', charset='utf-8')
    html = message.get_payload()[-1]
    html.add_related(qr.png(row.qr_text, scale=6), maintype='image', subtype='png', cid=cid,
                     filename='check-in.png', disposition='inline')


async def _smtp_send(message: EmailMessage, settings) -> None:
    implicit_tls = settings.smtp_port == 465  # SMTPS; otherwise plain SMTP, upgraded with STARTTLS if set
    await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                          username=settings.smtp_username or None,
                          password=settings.smtp_password.get_secret_value() or None,
                          use_tls=implicit_tls, start_tls=settings.smtp_starttls and not implicit_tls,
                          timeout=SMTP_TIMEOUT_S)


def _is_permanent(error: Exception) -> bool:
    """The server refused every recipient with a 5xx: retrying would not help."""
    return isinstance(error, aiosmtplib.SMTPRecipientsRefused) and all(
        getattr(refusal, 'code', 0) >= 500 for refusal in error.recipients)


async def send_due(database, settings, *, now: datetime | None = None,
                   stopping: Callable[[], bool] = lambda: False) -> int:
    """Send every email that is due, batch by batch. Returns how many were sent. Does nothing when no SMTP
    server is configured (the emails wait in the outbox). No database transaction stays open during SMTP.

    ``stopping`` is asked before each email: once the server is shutting down, the rest of the claimed batch is
    handed back (``release``) and sending ends. The same happens if the task is cancelled mid-batch, the email
    in flight included: an email is marked sent only after the SMTP server accepted it."""
    if not settings.smtp_host:
        return 0
    sent = 0
    while not stopping():
        moment = now or utcnow()
        async with database.write() as session:
            rows = await claim_due(session, now=moment, limit=BATCH_SIZE, lease_seconds=BATCH_LEASE_S)
        unsent = [row.id for row in rows]
        try:
            for row in rows:
                if stopping():
                    break
                sent += await _deliver(database, settings, row, now=now)
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


async def _deliver(database, settings, row: EmailOutbox, *, now: datetime | None) -> int:
    """Send one claimed row and record the outcome in its own short transaction. Returns 1 if sent."""
    assert row.id is not None
    try:
        await _smtp_send(build_message(row, settings), settings)
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the row and retried
        log.warning('email %s to %s not sent: %s', row.id, row.to_address, error)
        async with database.write() as session:
            await mark_failed(session, row.id, f'{type(error).__name__}: {error}', now=now or utcnow(),
                              permanent=_is_permanent(error))
        return 0
    async with database.write() as session:
        await mark_sent(session, row.id, now=now or utcnow())
    return 1


# --- The staff view -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: datetime
    to_address: str
    subject: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None


@query
async def list_outbox(session: AsyncSession, actor: Actor, *, status: OutboxStatus | None = None,
                      offset: int = 0, limit: int = 50) -> tuple[list[OutboxRow], int]:
    """One page of the outbox, newest first, and the total count (bodies and attachments are not loaded)."""
    require(actor, Role.RECEPTIONIST)
    where = [EmailOutbox.status == status] if status is not None else []
    total = (await session.exec(select(func.count()).select_from(EmailOutbox).where(*where))).one()
    query = (select(EmailOutbox.id, EmailOutbox.created_at, EmailOutbox.to_address, EmailOutbox.subject,
                    EmailOutbox.status, EmailOutbox.attempts, EmailOutbox.next_attempt_at, EmailOutbox.last_error,
                    EmailOutbox.sent_at)
             .where(*where)
             .order_by(sa.desc(EmailOutbox.created_at), sa.desc(EmailOutbox.id))
             .offset(max(offset, 0)).limit(max(min(limit, 200), 1)))
    rows = [OutboxRow(*row) for row in (await session.exec(query)).all()]
    return rows, total


@action
async def requeue(session: AsyncSession, actor: Actor, outbox_id: int) -> None:
    """Send a FAILED email again (e.g. after the address or the mail settings were fixed). Audited; commits."""
    require(actor, Role.RECEPTIONIST)
    row = await session.get(EmailOutbox, outbox_id)
    if row is None:
        raise NotFound(_('This email is no longer in the outbox.'))
    if row.status != OutboxStatus.FAILED:
        raise Conflict(_('This email has not failed; only failed emails can be sent again.'))
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    audit.record(session, actor, 'email_requeued', entity='email_outbox', entity_id=row.id,
                 detail=f'to {row.to_address}: {row.subject}')
    publish(session, OutboxChanged(outbox_id=row.id))
