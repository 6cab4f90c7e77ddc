"""Wires the app together: database and migrations at start, demo data, routes, and the start-up banner."""
from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import socket
import time
from collections.abc import Callable

from nicegui import app, background_tasks
from sqlmodel import select

from models import User
from services import clinic_settings, display_keys, documents, private_files, users
from services.core.clock import local_today
from services.core.db import close_db, get_db, init_db
from services.core.events import DomainEvent, bus
from services.core.migrate import upgrade
from services.core.settings import Settings
from services.mailer import Mailer

from .security_headers import SecurityHeaders
from .stations import STATIONS
from .upload_limit import UploadLimit

log = logging.getLogger('clinic')


def lan_addresses() -> list[str]:
    addresses = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(info[4][0])
    except OSError:
        pass
    return sorted(a for a in addresses if not a.startswith('127.'))


def base_urls(settings: Settings) -> list[str]:
    if settings.host in ('0.0.0.0', '::', ''):
        return [f'http://localhost:{settings.port}'] + [f'http://{a}:{settings.port}' for a in lan_addresses()]
    return [f'http://{settings.host}:{settings.port}']


async def demo_board_key(session) -> str:
    """A display key for the demo's waiting-room TV, issued as the demo administrator (shown once, at first start)."""
    admin = (await session.exec(select(User).where(User.username == 'admin'))).one()
    _, key = await display_keys.issue(session, users.actor_of(admin), 'Demo waiting-room TV')
    return key


def banner(settings: Settings, accounts: list | None, started: float, board_key: str | None = None) -> str:
    urls = base_urls(settings)
    lines = ['', f'{settings.clinic_name} is ready in {time.perf_counter() - started:.1f} s.',
             f'Open {urls[0]}' + (f'  (from tablets and the TV: {", ".join(urls[1:])})' if urls[1:] else ''),
             'Stations:']
    lines += [f'  {station.title:<16} {urls[0]}{station.path}' for station in STATIONS]
    lines.append(f'  {"Online booking":<16} {urls[0]}/book')
    lines.append(f'  {"Waiting-room TV":<16} ' + (f'{urls[0]}/board?key={board_key}' if board_key else
                                                  f'{urls[0]}/board?key=…  (issue a key at {urls[0]}/admin/displays)'))
    if accounts:
        lines.append(f'Demo accounts (password "{settings.demo_password.get_secret_value()}"):')
        lines += [f'  {account.role.label:<20} {account.username}' for account in accounts]
    lines.append('')
    return '\n'.join(lines)


def event_log_writer(path) -> Callable[[DomainEvent], None]:
    """Benchmarks (``CLINIC_EVENT_LOG``): one line per event, with the moment its transaction committed."""
    def write(event: DomainEvent) -> None:
        facts = {k: v for k, v in dataclasses.asdict(event).items() if k != 'number'}
        with open(path, 'a', encoding='utf-8') as log_file:
            log_file.write(f'{time.monotonic():.6f} {event.topic} {json.dumps(facts, default=str)}\n')
    return write


def build(settings: Settings, started: float | None = None) -> None:
    started = started or time.perf_counter()
    bus.clear()  # a new app: no subscriber of an earlier one (tests build the app many times) stays
    if settings.event_log is not None:
        bus.observers.append(event_log_writer(settings.event_log))
    mailer = Mailer(settings)
    private_files.make_private(settings)  # before the database, the secret or a session file is created
    app.add_middleware(UploadLimit, max_bytes=settings.upload_max_mb * 1_048_576)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so also on the upload limit's refusals

    async def startup() -> None:
        database = init_db(settings.effective_database_url) if _no_db() else get_db()
        async with database.migration_lock:
            if not database.migrated:
                await upgrade(database)
                database.migrated = True
        async with database.read() as session:
            await clinic_settings.load(session)  # values saved on the settings page override CLINIC_* defaults
        accounts = None
        board_key = None
        if settings.demo:
            from services import demo  # only demo installations need it
            async with database.write() as session:
                if await demo.is_empty(session):
                    print('Loading demo data (first start only)…', flush=True)
                    summary = await demo.load_demo(session, password=settings.demo_password.get_secret_value(),
                                                   today=local_today(settings.tz), tz=settings.tz,
                                                   patients=settings.demo_patients)
                    accounts = summary.accounts
                    board_key = await demo_board_key(session)
                else:
                    accounts = demo.DEMO_ACCOUNTS
        mailer.start()
        background_tasks.create(asyncio.to_thread(documents.prepare_fonts), name='prepare PDF fonts')
        print(banner(settings, accounts, started, board_key), flush=True)

    app.on_startup(startup)
    app.on_shutdown(mailer.stop)  # lets a batch in hand finish, before the database closes
    app.on_shutdown(close_db)


# -- garbage collection: a full collection pauses every screen (about 1 ms per 2,000 live objects; 60-90 ms with 100
# boards connected, measured in bench/board_latency.py). Only for the real server process: tests start the app many
# times in one process.

def tune_garbage_collection() -> None:
    """After start-up, move everything alive (modules, ORM mappings, the ICD-10 list, ...) out of the collector's
    reach: it lives as long as the process. A full collection then scans only what the day created. And consider
    a full collection after 100 collections of the middle generation instead of 10: each call sends a message to
    every screen, kept a few seconds for a reconnect, so with many boards the default ran one every ~15 calls.
    Garbage in reference cycles (a closed tab) waits longer; everything else is freed at once, as always."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


class QuietCollector:
    """Python runs a full collection once enough new long-lived objects have piled up. After a burst of new screens
    (TVs and laptops switched on in the morning) that moment is the next busy one: typically the next call, which
    then reaches the boards late. Instead, once many screens have connected, collect in the lull right after."""

    def __init__(self, burst: int = 20, lull: float = 2.0) -> None:
        self.burst = burst
        self.lull = lull
        self.connected = 0
        self.timer: asyncio.TimerHandle | None = None

    def on_connect(self) -> None:
        self.connected += 1
        if self.connected >= self.burst:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = asyncio.get_running_loop().call_later(self.lull, self.collect)

    def collect(self) -> None:
        self.timer = None
        self.connected = 0
        gc.collect()


def _no_db() -> bool:
    try:
        get_db()
    except RuntimeError:
        return True
    return False

