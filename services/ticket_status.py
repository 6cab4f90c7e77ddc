"""The patient's live ticket page, as a rule free of any UI: what the holder of a ticket link may see of their visit.

The link (``services.ticket_links``) is the credential: no person signs in, so ``read`` takes no actor. It answers
with the visit's current ticket only (the patient follows it from the doctor's queue to the lab and back): its
number, the queue and room, where the patient stands, how many patients are ahead (the queue's own calling order,
``queue.load_views``), the estimated wait (the queue's recent consultation lengths) and, once the bill is ready, what
is due. Of anyone else it tells nothing but the number being served now in the same queue.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Invoice, InvoiceStatus, Patient, Queue, QueueKind, TicketStatus, Visit, VisitStatus

from . import queue, ticket_links, vietqr
from .core import i18n
from .core.boundary import query
from .core.errors import DomainError, NotFound
from .core.i18n import _, pick
from .core.settings import Settings


class InvalidLink(NotFound):
    """Forged, altered, cut short, or for a visit that no longer exists."""


class ExpiredLink(DomainError):
    """A real link, for an earlier clinic day."""

    def __init__(self, message: str, day: date) -> None:
        super().__init__(message)
        self.day = day


class Stage(str, Enum):
    WAITING = 'waiting'        # in a queue (the doctor's, the lab's, the cashier's ...), or on the way to it
    CALLED = 'called'          # go to the room now
    SERVING = 'serving'        # being seen / served
    MISSED = 'missed'          # called, did not come: set aside until they come back
    DONE = 'done'              # the visit is over: thank you
    CANCELLED = 'cancelled'


@dataclass(frozen=True)
class TicketState:
    """What the ticket page shows. ``kind``: where the patient is (the doctor, the lab, the cashier ...);
    ``label`` is empty when the visit holds no ticket now (e.g. sent to the cashier without a number)."""
    visit_id: int
    visit_date: date
    stage: Stage
    kind: QueueKind | None = None
    queue_id: int | None = None        # to follow that queue's news; never shown
    ticket_id: int | None = None       # to find it in that queue's view; never shown
    label: str = ''
    queue_name: str = ''
    queue_names: dict[str, str] = field(default_factory=dict)
    room_code: str = ''
    room_name: str = ''
    room_names: dict[str, str] = field(default_factory=dict)
    ahead: int | None = None           # waiting only
    wait_minutes: int | None = None    # waiting only
    now_serving: str = ''              # the number called last in the same queue, if any
    call_count: int = 0                # goes up with each call: a new call chimes
    back_with_results: bool = False
    amount_due: int | None = None      # the bill is ready: what is left to pay
    transfers: tuple[vietqr.InvoiceTransfer, ...] = ()  # the bank transfer (VietQR) per open bill, if the clinic has an account
    language: str | None = None        # the patient's own
    expires_at: datetime | None = None  # the link's end (the end of the visit's clinic day): the page says so then

    @property
    def queue(self) -> str:
        """The queue's name in the reader's language."""
        return pick(self.queue_name, self.queue_names)

    @property
    def room_name_shown(self) -> str:
        """The room's name in the reader's language ('' when it has none besides its code)."""
        name = pick(self.room_name, self.room_names)
        return '' if name == self.room_code else name

    @property
    def room(self) -> str:
        """``R1 · Room 1`` in the reader's language (the code alone when the room has no other name)."""
        name = pick(self.room_name, self.room_names)
        if not name or name == self.room_code:
            return self.room_code
        return f'{self.room_code} · {name}' if self.room_code else name


_PLACE_OF_VISIT = {VisitStatus.WAITING: QueueKind.DOCTOR, VisitStatus.IN_CONSULTATION: QueueKind.DOCTOR,
                   VisitStatus.IN_SERVICES: QueueKind.LAB, VisitStatus.AWAITING_PHARMACY: QueueKind.PHARMACY,
                   VisitStatus.AWAITING_PAYMENT: QueueKind.CASHIER}
_STAGE_OF_TICKET = {TicketStatus.WAITING: Stage.WAITING, TicketStatus.CALLED: Stage.CALLED,
                    TicketStatus.IN_SERVICE: Stage.SERVING, TicketStatus.SKIPPED: Stage.MISSED}


def claim_of(token: str, settings: Settings, now: datetime) -> ticket_links.TicketClaim:
    """The visit the link names; ``InvalidLink`` or ``ExpiredLink`` (with its day) otherwise."""
    claim = ticket_links.read_token(token, settings)
    if claim is None:
        raise InvalidLink(_('This link is not valid. Please scan the code on your ticket again, or ask at '
                            'reception.'))
    if ticket_links.is_expired(claim, now):
        day = (claim.expires_at - timedelta(seconds=1)).astimezone(settings.tz).date()
        raise ExpiredLink(_('This ticket was for {day}; it has expired.').format(day=i18n.day(day, 'full')), day)
    return claim


async def _bills(session: AsyncSession, visit_id: int, settings: Settings) -> dict:
    """What is left to pay on the visit's bills, once there is a bill (None: no bill yet, or nothing left), and the
    bank transfer that pays each (none without the clinic's bank account)."""
    invoices = (await session.exec(select(Invoice).where(
        Invoice.visit_id == visit_id, Invoice.status.in_([InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID]))
        .order_by(Invoice.id))).all()
    due = sum(invoice.total - invoice.amount_paid for invoice in invoices)
    if due <= 0:
        return {'amount_due': None}
    transfers = tuple(t for t in (vietqr.for_invoice(invoice, settings) for invoice in invoices) if t is not None)
    return {'amount_due': due, 'transfers': transfers}


@query
async def read(session: AsyncSession, token: str, *, settings: Settings, now: datetime) -> TicketState:
    """The visit's state as its patient may see it (the link is checked first: ``InvalidLink``, ``ExpiredLink``)."""
    claim = claim_of(token, settings, now)
    visit = await session.get(Visit, claim.visit_id)
    if visit is None:
        raise InvalidLink(_('This link is not valid. Please scan the code on your ticket again, or ask at '
                            'reception.'))
    language = (await session.exec(select(Patient.language).where(Patient.id == visit.patient_id))).first()
    base = {'visit_id': visit.id, 'visit_date': visit.visit_date, 'language': language,
            'expires_at': claim.expires_at}
    if visit.status in (VisitStatus.CLOSED, VisitStatus.PAID):
        return TicketState(stage=Stage.DONE, **base)
    if visit.status == VisitStatus.CANCELLED:
        return TicketState(stage=Stage.CANCELLED, **base)
    bills = await _bills(session, visit.id, settings)
    due = bills['amount_due']
    ticket = await queue.active_ticket(session, visit.id)
    if ticket is None:  # between two places without a number (e.g. to the cashier of a clinic that calls nobody)
        kind = QueueKind.CASHIER if due is not None else _PLACE_OF_VISIT.get(visit.status)
        return TicketState(stage=Stage.WAITING, kind=kind, **bills, **base)
    line = await session.get(Queue, ticket.queue_id)
    view = (await queue.load_views(session, [line], day=ticket.service_date, now=now))[0]
    fields = _in_queue(view, ticket.id) or {'stage': Stage.WAITING, 'kind': line.kind}  # (one read: always found)
    return TicketState(**fields, **bills, **base)


def following(state: TicketState, view: queue.QueueView) -> TicketState | None:
    """The state after a change to the queue the ticket is in, from that queue's new view (read once for every
    screen following it, ``clinic_ui.live.queue_view``) with no read of its own: the visit and its bills did not
    change by another patient's turn. None when the view does not hold the ticket (moved on, finished): then read
    everything (``read``)."""
    if state.ticket_id is None or view.id != state.queue_id:
        return None
    fields = _in_queue(view, state.ticket_id)
    return None if fields is None else replace(state, **fields)


def _in_queue(view: queue.QueueView, ticket_id: int) -> dict | None:
    """What the page shows of a ticket in its queue's view: its number, room, place in the line, the number served
    now. None when the view does not hold the ticket."""
    mine = next((t for t in (*view.active, *view.waiting, *view.skipped) if t.id == ticket_id), None)
    if mine is None:
        return None
    ahead = next((i for i, t in enumerate(view.waiting) if t.id == ticket_id), None)
    serving = view.now_serving
    return {'stage': _STAGE_OF_TICKET[mine.status], 'kind': view.kind, 'queue_id': view.id, 'ticket_id': mine.id,
            'label': mine.label, 'queue_name': view.name, 'queue_names': dict(view.names or {}),
            'room_code': mine.room_code, 'room_name': mine.room_name, 'room_names': dict(mine.room_names),
            'ahead': ahead, 'wait_minutes': mine.wait_minutes if ahead is not None else None,
            'now_serving': serving.label if serving is not None and serving.id != ticket_id else '',
            'call_count': mine.call_count, 'back_with_results': mine.back_with_results}

def link_for(visit_id: int, issued_at: datetime, settings: Settings, *, base_url: str = '') -> str:
    """The whole address of the ticket page of a visit whose ticket was issued at ``issued_at`` (its clinic day is
    the visit's): for the QR code on the slip and on reception's screen. ``base_url``: where the staff page was
    opened, used when the clinic has no public address (``CLINIC_PUBLIC_URL``)."""
    day = issued_at.astimezone(settings.tz).date()
    return ticket_links.ticket_url(ticket_links.make_token(visit_id, day, settings), settings, base_url=base_url)
