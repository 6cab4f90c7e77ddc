"""Wires the app together: database, stored settings, demo data, the email sender and the day's close at start,
the "starting…" answer until all that is done, a clean stop, and the start-up banner. (What is checked before the
server listens is in ``preflight.py``.)"""
from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import dataclasses
import gc
import html
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable

import psutil
from nicegui import app, background_tasks
from sqlmodel import select

from models import User
from services import clinic_settings, display_keys, pdf_fonts, private_files, users
from services.core.clock import local_today
from services.core.db import close_db, get_db, init_db, serialize
from services.core.events import DomainEvent, EventsMissed, SettingsChanged, bus
from services.core.fanout import Fanout
from services.core.i18n import _
from services.core.migrate import upgrade
from services.core.settings import Settings
from services.day_close import DayCloser
from services.mailer import Mailer

from . import health, i18n, socket_guard
from .security_headers import SecurityHeaders
from .stations import STATIONS
from .upload_limit import UploadLimit

log = logging.getLogger('clinic')

RETRY_AFTER_S = 2  # the "starting…" page asks the browser to try again after this many seconds
DEMO_BOARD_NAME = 'Demo waiting-room TV'


# -- "starting…" until ready ---------------------------------------------------------------------------------

class Readiness:
    """Whether the app finished starting (migrations, stored settings, demo data, email sender)."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.failure: str | None = None
        self.task: asyncio.Task | None = None

    @property
    def is_ready(self) -> bool:
        return self.ready.is_set()


class StartingGate:
    """ASGI middleware: until the app is ready, every HTTP request (pages, downloads, the board, online
    booking, NiceGUI's own files and socket) gets a small "starting…" page with 503 and Retry-After, which
    reloads itself; a websocket is refused. Without it a visitor in the first seconds met errors (no tables
    yet) or, while the demo loaded, the first-administrator setup page of an empty clinic."""

    def __init__(self, app, readiness: Readiness, clinic_name: str) -> None:
        self.app = app
        self.readiness = readiness
        self.clinic_name = clinic_name

    def body(self) -> bytes:
        """The "starting…" page, in the clinic's language (written when asked: no tab, no stored settings yet)."""
        starting = html.escape(_('{clinic} is starting…').format(clinic=self.clinic_name))
        soon = html.escape(_('This page opens by itself in a moment.'))
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
                f'<meta http-equiv="refresh" content="{RETRY_AFTER_S}">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{starting}</title></head>'
                f'<body style="font-family: sans-serif; text-align: center; margin-top: 20vh">'
                f'<h1>{starting}</h1><p>{soon}</p>'
                f'</body></html>').encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] == 'lifespan' or self.readiness.is_ready:
            await self.app(scope, receive, send)
        elif scope['type'] == 'websocket':
            await send({'type': 'websocket.close', 'code': 1013})  # "try again later"
        else:
            body = self.body()
            await send({'type': 'http.response.start', 'status': 503,
                        'headers': [(b'content-type', b'text/html; charset=utf-8'),
                                    (b'content-length', str(len(body)).encode()),
                                    (b'retry-after', str(RETRY_AFTER_S).encode()),
                                    (b'cache-control', b'no-store')]})
            await send({'type': 'http.response.body', 'body': b'' if scope.get('method') == 'HEAD' else body})


readiness = Readiness()  # replaced by build(); tests wait on it (tests/conftest.py)


async def wait_until_ready(timeout: float = 60) -> None:
    """For tests: the app started (or the reason it could not)."""
    async with asyncio.timeout(timeout):
        while not readiness.is_ready:
            if readiness.failure:
                raise RuntimeError(readiness.failure)
            await asyncio.sleep(0.01)


# -- the banner ----------------------------------------------------------------------------------------------

def lan_addresses() -> list[str]:
    """The IPv4 address of each network interface that is up, except loopback and link-local (169.254.*, no
    network answered): what tablets and the TV on the clinic's network can open. Asking the resolver for the
    host name's address instead often yields only 127.0.1.1."""
    up = {name for name, stats in psutil.net_if_stats().items() if stats.isup}
    found = set()
    for name, addresses in psutil.net_if_addrs().items():
        for address in addresses:
            if address.family != socket.AF_INET or name not in up:
                continue
            ip = ipaddress.ip_address(address.address)
            if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
                found.add(ip)
    return [str(ip) for ip in sorted(found)]


def base_urls(settings: Settings) -> list[str]:
    scheme = 'https' if settings.uses_tls else 'http'
    if settings.host in ('0.0.0.0', '::', ''):
        return [f'{scheme}://localhost:{settings.port}'] + [f'{scheme}://{a}:{settings.port}' for a in lan_addresses()]
    host = f'[{settings.host}]' if ':' in settings.host else settings.host
    return [f'{scheme}://{host}:{settings.port}']


async def demo_board_key(session, settings: Settings) -> str | None:
    """A display key for the demo's waiting-room TV, so every demo start prints a board URL that works. The
    database keeps only a key's hash, so the plain key is kept in the data folder (like the session secret);
    a TV opened with it keeps working across restarts. A new one is issued, as the demo administrator, only
    when there is none yet or it no longer opens the board (revoked, or another database)."""
    path = settings.data_dir / 'demo_board_key'
    key = path.read_text(encoding='utf-8').strip() if path.is_file() else ''
    if key and await display_keys.verify(session, key) is not None:
        return key
    admin = (await session.exec(select(User).where(User.username == 'admin', User.is_active))).first()
    if admin is None:  # the demo's administrator was renamed or deactivated: no key in its name
        return None
    _key_row, key = await display_keys.issue(session, users.actor_of(admin), DEMO_BOARD_NAME)
    path.write_text(key, encoding='utf-8')
    path.chmod(0o600)
    return key


def banner(settings: Settings, accounts: list | None, started: float, board_key: str | None = None) -> str:
    urls = base_urls(settings)
    lines = ['', f'{settings.clinic_name} is ready in {time.perf_counter() - started:.1f} s.',
             f'Open {urls[0]}' + (f'  (from tablets and the TV: {", ".join(urls[1:])})' if urls[1:] else ''),
             'Stations:']
    lines += [f'  {station.title:<16} {urls[0]}{station.path}' for station in STATIONS]
    lines.append(f'  {"Online booking":<16} {urls[0]}/book')
    tv = urls[1] if len(urls) > 1 else urls[0]  # the TV is another machine: a LAN address, not localhost
    lines.append(f'  {"Waiting-room TV":<16} ' + (f'{tv}/board?key={board_key}' if board_key else
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


# -- start and stop ------------------------------------------------------------------------------------------

def build(settings: Settings, started: float | None = None, *, database_prepared: bool = False) -> None:
    """Register start-up and shutdown. ``database_prepared``: ``preflight`` already migrated the database."""
    global readiness  # noqa: PLW0603 - one app per process, rebuilt by tests
    started = started or time.perf_counter()
    bus.clear()  # a new app: no subscriber of an earlier one (tests build the app many times) stays
    if settings.event_log is not None:
        bus.observers.append(event_log_writer(settings.event_log))
    mailer = Mailer()
    day_closer = DayCloser()
    fanouts: list[Fanout] = []  # PostgreSQL only: the events of the other processes of the clinic
    clinic_settings.put_in_force(None)  # a new app: its start-up reads the saved settings again
    private_files.make_private(settings)  # before the database, the secret or a session file is created
    socket_guard.install()  # values sent over the websocket are checked before any page sees them
    health.install()  # /healthz for a load balancer in front of several processes
    i18n.install()  # each tab in its viewer's language
    state = readiness = Readiness()
    app.add_middleware(StartingGate, readiness=state, clinic_name=settings.clinic_name)
    app.add_middleware(UploadLimit, max_bytes=settings.upload_max_mb * 1_048_576)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so also on the starting page and the refusals

    async def start() -> None:
        database = init_db(settings.effective_database_url) if _no_db() else get_db()
        if database_prepared:
            database.migrated = True
        async with database.migration_lock:
            if not database.migrated:
                await upgrade(database)
                database.migrated = True
        async with database.read() as session:
            await clinic_settings.load(session)  # values saved on the settings page override CLINIC_* defaults
        if not database.is_sqlite:
            await start_fanout(database, fanouts)
        accounts, board_key = await load_demo(database, settings) if settings.demo else (None, None)
        mailer.start()
        await day_closer.start()  # the days that ended while the server was off are closed before the first screen
        background_tasks.create(asyncio.to_thread(pdf_fonts.prepare), name='prepare PDF fonts')
        state.ready.set()
        print(banner(settings, accounts, started, board_key), flush=True)

    async def startup() -> None:
        state.task = asyncio.current_task()
        try:
            await start()
        except asyncio.CancelledError:  # stopped while starting
            raise
        except Exception as error:  # noqa: BLE001 - the start failed: say so in one line and stop the server
            log.exception('start-up failed')
            state.failure = f'Clinic Flow cannot start: {error}'
            print(state.failure, flush=True)
            with contextlib.suppress(Exception):  # no server to stop in the tests' simulation
                app.shutdown()

    async def shutdown() -> None:
        """Stop what start-up began, in order: a start still running (e.g. loading the demo: its transaction
        rolls back), then the email sender (the batch in hand is finished or handed back), then the database."""
        if state.task is not None and not state.task.done():
            state.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.task
        await mailer.stop()
        await day_closer.stop()
        while fanouts:
            await fanouts.pop().stop()
        await close_db()

    app.on_startup(startup)
    app.on_shutdown(shutdown)


async def start_fanout(database, started: list[Fanout]) -> None:
    """Several app processes on one PostgreSQL database: each hears the others' events. A changed setting is put
    in force here before any screen hears of it; so are the settings after the news was cut for a while."""
    fanout = Fanout(database.url, database.engine.sync_engine)

    async def read_settings_again(_event: DomainEvent) -> None:
        await clinic_settings.read_again(database)
    fanout.prepare(SettingsChanged, read_settings_again)
    fanout.prepare(EventsMissed, read_settings_again)
    started.append(fanout)
    await fanout.start()


async def load_demo(database, settings: Settings) -> tuple[list, str | None]:
    """Fill an empty database with the demo (first start only) and return the demo accounts and the TV's key.
    Several processes may start at once on one database: the check and the load run under one lock, so the
    demo is loaded once and the others find it there."""
    from services import demo  # only demo installations need it
    async with database.write() as session:
        await serialize(session, 'demo-load')
        if await demo.is_empty(session):
            print('Loading demo data (first start only)…', flush=True)
            summary = await demo.load_demo(session, password=settings.demo_password.get_secret_value(),
                                           today=local_today(settings.tz), tz=settings.tz,
                                           patients=settings.demo_patients)
            accounts = summary.accounts
        else:
            await session.rollback()  # lets go of the lock
            accounts = demo.DEMO_ACCOUNTS
    async with database.write() as session:
        return accounts, await demo_board_key(session, settings)


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
    young, middle, _oldest = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


class QuietCollector:
    """Python runs a full collection once enough new long-lived objects have piled up. After a burst of new screens
    (TVs and laptops switched on in the morning) that moment is the next busy one: typically the next call, which
    then reaches the boards late. Instead, once many screens have connected, collect in the lull right after.

    The same after many screens were forgotten (switched off, ``reconnect_timeout`` after they left): their pages
    are reference cycles, which would otherwise wait for the next full collection, and the memory they held is
    then given back to the system (``malloc_trim``), so the server's memory returns to its plateau."""

    def __init__(self, burst: int = 20, lull: float = 2.0) -> None:
        self.burst = burst
        self.lull = lull
        self.connected = 0
        self.forgotten = 0
        self.timer: asyncio.TimerHandle | None = None

    def on_connect(self) -> None:
        self.connected += 1
        if self.connected >= self.burst:
            self._soon()

    def on_delete(self) -> None:
        self.forgotten += 1
        if self.forgotten >= self.burst:
            self._soon()

    def _soon(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.lull, self.collect)

    def collect(self) -> None:
        self.timer = None
        self.connected = 0
        trim = self.forgotten >= self.burst
        self.forgotten = 0
        gc.collect()
        if trim:
            give_back_free_memory()


def give_back_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere nothing happens)."""
    try:
        ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _no_db() -> bool:
    try:
        get_db()
    except RuntimeError:
        return True
    return False

