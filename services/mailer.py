"""The background sender of the outbox (email, SMS, Zalo): one task per server process, woken by new outbox rows.

It sends whatever is due (``services.outbox.send_due``), then sleeps until an OUTBOX event arrives (an email
was queued or re-queued and committed) or ``POLL_S`` pass (retries that became due, rows left by a crash, rows
queued by another process). Errors are logged and never end the loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from . import clinic_settings
from .core.db import get_db
from .core.events import EventsMissed, OutboxChanged, bus
from .core.settings import Settings
from .gateways import configured
from .outbox import send_due

log = logging.getLogger(__name__)

POLL_S = 15.0
ERROR_PAUSE_S = 5.0
STOP_TIMEOUT_S = 10.0  # on shutdown, let the email in hand finish (and be marked sent) for at most this long
QUIT_GRACE_S = 1.0  # after cancelling, how long the SMTP client may say goodbye (QUIT) to a server that hangs


class Mailer:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings  # None: the clinic's settings in force at each batch (they may change)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._unsubscribe = lambda: None

    def start(self) -> None:
        """Start the sender (call from ``app.on_startup``, after the database is ready)."""
        if self._task is not None and not self._task.done():
            return
        self._wake = asyncio.Event()  # bound to the running loop
        self._stopping = False
        on_outbox = bus.subscribe(OutboxChanged, self._on_outbox_event)
        on_missed = bus.subscribe(EventsMissed, self._on_outbox_event)  # another process may have queued some
        self._unsubscribe = lambda: (on_outbox(), on_missed())
        if not configured(self._settings()):
            log.info('No mail server, SMS gateway or Zalo account configured: messages stay in the outbox until '
                     'one is set.')
        self._task = asyncio.create_task(self._run(), name='outbox sender')

    def _settings(self) -> Settings:
        return self.settings or clinic_settings.current()

    async def stop(self) -> None:
        """Stop the sender (``app.on_shutdown``, before the database closes). The email in hand is finished, so
        one the server accepted is also marked sent, and the rest of the claimed batch goes back to the queue;
        if the email in hand takes too long (a slow SMTP server) the task is cancelled, and that email goes back
        to the queue too. Nothing is lost, and nothing is marked sent that was not: unsent emails are sent after
        the next start, or by another server process."""
        self._unsubscribe()
        if self._task is None or self._task.done():  # never started, or already ended by the server's shutdown
            self._task = None
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_TIMEOUT_S)
        except asyncio.TimeoutError:
            self._task.cancel()
            # A cancelled SMTP client still sends QUIT and waits for the answer (up to its timeout); a server
            # that hangs would hold the shutdown that long. A second cancel ends the goodbye.
            await asyncio.wait({self._task}, timeout=QUIT_GRACE_S)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def _on_outbox_event(self, _event: OutboxChanged) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await send_due(get_db(), self._settings(), stopping=lambda: self._stopping)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable: try again later
                log.exception('email sender: sending due emails failed')
                await asyncio.sleep(ERROR_PAUSE_S)
            if self._stopping:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_S)
