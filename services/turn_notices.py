""""Your turn is near": one message to a waiting patient when a call leaves exactly N patients ahead of them.

N is the clinic setting ``turn_near_count`` (default 3; 0 turns it off). The message is queued in the same
transaction as the call that brought the ticket there (``services.queue``), through the patient's channel, with the
live ticket link when the clinic has a public address. Only on crossing to N: a ticket that joined the line with N
or fewer ahead is not told (its place only comes nearer), and a ticket is told at most once (the outbox's dedupe
key is per ticket), whatever happens later (recalls, patients put back in line ahead of it).
"""
from __future__ import annotations

from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Patient, Queue, QueueTicket, TicketStatus

from .notifications import queue_turn_near
from .ticket_links import make_token, ticket_url


async def after_call(session: AsyncSession, queue: Queue, day: date, *, settings, label) -> None:
    """A waiting ticket of ``queue`` just left the line (called, started, transferred): tell the one that now has
    exactly N ahead. ``label(ticket)`` is the ticket's printed number (A-012)."""
    from .queue import in_order  # here: queue imports this module
    near = settings.turn_near_count
    if near <= 0:
        return
    waiting = in_order(list((await session.exec(select(QueueTicket).where(
        QueueTicket.queue_id == queue.id, QueueTicket.service_date == day,
        QueueTicket.status == TicketStatus.WAITING))).all()))
    if len(waiting) <= near:
        return
    ticket = waiting[near]
    patient = await session.get(Patient, ticket.patient_id)
    if patient is None:
        return
    link = ticket_url(make_token(ticket.visit_id, ticket.service_date, settings), settings) \
        if settings.public_url else ''
    await queue_turn_near(session, patient=patient, ticket_id=ticket.id, label=label(ticket), ahead=near, link=link,
                          settings=settings)
