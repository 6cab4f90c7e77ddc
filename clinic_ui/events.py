"""The event bus: services announce what changed, after the transaction committed; pages subscribe.

Built on NiceGUI's ``Event`` (a subscription made inside a page function ends when the tab goes away).
Payloads carry ids and small facts only: subscribers re-read what they show.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from nicegui import Event, context, helpers
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from .settings import get_settings

_PENDING = 'clinic_pending_events'


class Topic(str, Enum):
    PATIENTS = 'patients'
    APPOINTMENTS = 'appointments'
    VISITS = 'visits'
    QUEUE = 'queue'
    ORDERS = 'orders'
    PHARMACY = 'pharmacy'
    BILLING = 'billing'
    OUTBOX = 'outbox'
    STAFF = 'staff'
    SETTINGS = 'settings'


_events: dict[Topic, Event] = {}


def event_for(topic: Topic) -> Event:
    """The topic's event; a new one after NiceGUI reset its events (between tests), so no stale subscriber stays."""
    event = _events.get(topic)
    if event is None or event not in Event.instances:
        event = _events[topic] = Event()
    return event


def subscribe(topic: Topic, callback: Callable[..., Any]) -> None:
    """Subscribe from inside a page function: the subscription ends with the tab.

    A tab can close while its callback awaits the database; then the update is simply dropped.
    """
    client = context.client
    takes_payload = helpers.expects_arguments(callback)

    async def guarded(payload: dict) -> None:
        if client.is_deleted:
            return
        try:
            result = callback(payload) if takes_payload else callback()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            if not client.is_deleted:
                raise

    event_for(topic).subscribe(guarded)


def emit_after_commit(session: AsyncSession | Session, topic: Topic, **payload: Any) -> None:
    """Queue an event on the session; it goes out only if (and right after) the transaction commits."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    sync_session.info.setdefault(_PENDING, []).append((topic, payload))


@sa_event.listens_for(Session, 'after_commit')
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # committed outside the event loop (e.g. a command-line tool): nobody is listening
        return
    trace = get_settings().event_log
    if trace is not None:  # benchmarks measure from here: the transaction has just committed
        with open(trace, 'a', encoding='utf-8') as log:
            log.writelines(f'{time.monotonic():.6f} {topic.value} {json.dumps(payload, default=str)}\n'
                           for topic, payload in pending)
    for topic, payload in pending:
        loop.call_soon(event_for(topic).emit, payload)


@sa_event.listens_for(Session, 'after_rollback')
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
