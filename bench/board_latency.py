"""How fast a call reaches the waiting-room boards and the doctor's own screen, and what a board costs the server.

    .venv/bin/python bench/board_latency.py [--clients 0 100 300] [--calls 20] [--runs 3] [--patients 300]
    .venv/bin/python bench/board_latency.py --app-dir ../other-checkout   # the same measure of another version
    BENCH_VERBOSE=1 ...   # also one line per call

Starts `python main.py` (127.0.0.1 only) on a fresh SQLite demo database, checks in walk-ins for the first doctor
and issues a display key (through the services, before the boards connect). For each N and each run it restarts
the app, opens N boards (`/board?key=...`) and a few staff pages (the doctor's worklist, reception's queues: one
per 20 boards) and connects each over NiceGUI's real websocket protocol, spoken directly (Engine.IO 4 / Socket.IO
5: the page's client_id and next_message_id in the query, implicit handshake, pongs, and an "ack" every 3 s as
nicegui.js sends). Each frame is time-stamped on arrival, before any decoding, so the figures are the server's,
not this script's (which also pauses its own garbage collector while it measures). The simulated doctor then
presses "Call next" (the socket event a browser sends) once to warm up, then `--calls` times.

Printed per N and run, for every client and call: the latency to the new number's arrival, from the commit of
the call (the server's event log, CLINIC_EVENT_LOG, written right after each commit) and from the click, p50 /
p95 / max; the same from the click for the doctor's own worklist alone; updates delivered / expected; the
server's resident memory per connected board, and how much of it stays once every board has left (40 s later,
when NiceGUI has forgotten their tabs);
the machine's load average. Everything stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import free_port, rss_mb  # noqa: E402

PASSWORD = 'bench-pass-1'
WS_PATH = '/_nicegui_ws/socket.io'
FORGOTTEN_S = 40  # main.py's reconnect_timeout (30 s: a TV's network may drop for a while) and some margin


class Server:
    def __init__(self, data_dir: Path, patients: int, app_dir: Path = ROOT) -> None:
        self.app_dir = app_dir
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.database_url = f'sqlite+aiosqlite:///{data_dir / "clinic.db"}'
        self.log_path = data_dir / 'server.log'
        self.event_log = data_dir / 'events.log'
        self.env = {**os.environ, 'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_PORT': str(self.port),
                    'CLINIC_HOST': '127.0.0.1', 'CLINIC_DEMO': '1', 'CLINIC_DEMO_PATIENTS': str(patients),
                    'CLINIC_DEMO_PASSWORD': PASSWORD, 'CLINIC_DATABASE_URL': self.database_url,
                    'CLINIC_EVENT_LOG': str(self.event_log)}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, 'a') as log:
            self.process = subprocess.Popen([sys.executable, 'main.py'], cwd=self.app_dir, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while 'is ready' not in self.log_path.read_text()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit('the app did not start:\n' + self.log_path.read_text())
            time.sleep(0.1)

    def committed(self, label: str) -> float:
        """When the server committed the call of ``label`` (its event log, written right after each commit)."""
        for line in reversed(self.event_log.read_text(encoding='utf-8').splitlines()):
            moment, topic, payload = line.split(' ', 2)
            event = json.loads(payload)
            if topic == 'queue' and event.get('label') == label and event.get('action') == 'called':
                return float(moment)
        raise RuntimeError(f'the server did not commit the call of {label}')

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


async def _on_duty_today(database, doctor_id: int, tz) -> None:
    """A walk-in needs a doctor who still works today: the benchmark's doctor works all of today, whatever the hour
    it runs."""
    from datetime import time as clock_time

    from sqlmodel import delete, select

    from models import WorkingHours
    from services.core.clock import local_today

    weekday = local_today(tz).weekday()
    async with database.write() as session:
        room_id = (await session.exec(select(WorkingHours.room_id).where(WorkingHours.doctor_id == doctor_id))).first()
        await session.exec(delete(WorkingHours).where(WorkingHours.doctor_id == doctor_id,
                                                      WorkingHours.weekday == weekday))
        session.add(WorkingHours(doctor_id=doctor_id, room_id=room_id, weekday=weekday, start_time=clock_time.min,
                                 end_time=clock_time.max))
        await session.commit()


async def prepare(database_url: str, waiting: int, key: str | None) -> tuple[str, int]:
    """Tops the first doctor's queue (A) up to ``waiting`` walk-ins, so every N starts with the same waiting room,
    and issues a display key for all queues the first time. Returns the key and the number called next."""
    os.environ['CLINIC_DATABASE_URL'] = database_url
    from sqlmodel import select

    from models import Doctor, Patient, QueueTicket, TicketStatus, User
    from models.types import utcnow
    from services import checkin, display_keys, queue, users
    from services.core.clock import local_today
    from services.core.db import Database
    from services.core.settings import get_settings

    tz = get_settings().tz
    database = Database(database_url)
    try:
        async with database.write() as session:
            reception = users.actor_of((await session.exec(select(User).where(User.username == 'reception'))).one())
            admin = users.actor_of((await session.exec(select(User).where(User.username == 'admin'))).one())
            doctor = (await session.exec(select(Doctor).join(User, User.id == Doctor.user_id)
                                         .where(User.username == 'doctor'))).one()
            queue_id = (await queue.queue_for_doctor(session, doctor.id)).id
            await session.commit()
            today = (await session.exec(select(QueueTicket).where(QueueTicket.service_date == local_today(tz))))
            tickets = today.all()
        seen = {t.patient_id for t in tickets}
        missing = waiting - sum(t.queue_id == queue_id and t.status == TicketStatus.WAITING for t in tickets)
        async with database.read() as session:
            fresh = (await session.exec(select(Patient.id).where(Patient.id.not_in(seen) if seen else True)
                                        .order_by(Patient.id).limit(max(0, missing)))).all()
        if fresh:
            await _on_duty_today(database, doctor.id, tz)
        for patient_id in fresh:
            async with database.write() as session:
                await checkin.walk_in(session, reception, patient_id=patient_id, doctor_id=doctor.id, tz=tz,
                                      now=utcnow())
        if key is None:
            async with database.write() as session:
                _, key = await display_keys.issue(session, admin, 'Benchmark board')
        async with database.read() as session:
            first = min((await session.exec(select(QueueTicket.number).where(
                QueueTicket.queue_id == queue_id, QueueTicket.service_date == local_today(tz),
                QueueTicket.status == TicketStatus.WAITING))).all())
        return key, first
    finally:
        await database.dispose()


@dataclass
class Page:
    """One browser tab: the page's elements from its HTML, and its socket."""
    kind: str
    client_id: str = ''
    elements: dict = field(default_factory=dict)
    ws: aiohttp.ClientWebSocketResponse | None = None
    http: aiohttp.ClientSession | None = None
    reader: asyncio.Task | None = None
    acker: asyncio.Task | None = None
    next_id: int | None = None
    waiting_for: str | None = None
    needle: str | None = None  # what shows it arrived (the label; on the worklist, the called patient's card)
    arrived: dict[str, float] = field(default_factory=dict)
    opened: str | None = None  # a page the server told this tab to open (as the browser then would)

    def load(self, html: str) -> None:
        self.client_id = re.search(r"'client_id': '([0-9a-f-]+)'", html).group(1)
        self.next_message_id = re.search(r"'next_message_id': (\d+)", html).group(1)
        raw = re.search(r'parseElements\(String\.raw`(.*?)`\)', html, re.S).group(1)
        for escaped, plain in (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&')):
            raw = raw.replace(escaped, plain)
        self.elements = json.loads(raw)

    async def wait_for(self, predicate, seconds: float = 20) -> tuple[str, dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(predicate(element) for element in self.elements.values()):
                break
            await asyncio.sleep(0.05)
        return self.find(predicate)

    def find(self, predicate) -> tuple[str, dict]:
        found = [(id_, element) for id_, element in self.elements.items() if predicate(element)]
        if not found:
            texts = [e.get('text') for e in self.elements.values() if e.get('text')]
            raise RuntimeError(f'{self.kind}: element not found on the page; it shows {texts[:12]}')
        return found[0]

    async def connect(self, base: str, cookies: str) -> None:
        """Engine.IO 4 / Socket.IO 5 over a websocket, spoken directly (as nicegui.js does through socket.io-client):
        each frame is time-stamped the moment it arrives, before any decoding, so the figures are the server's."""
        self.http = aiohttp.ClientSession()
        query = urlencode({'client_id': self.client_id, 'tab_id': str(uuid.uuid4()),
                           'document_id': str(uuid.uuid4()), 'next_message_id': self.next_message_id,
                           'implicit_handshake': 'true', 'EIO': '4', 'transport': 'websocket'})
        url = base.replace('http', 'ws', 1) + WS_PATH + '/?' + query
        self.ws = await self.http.ws_connect(url, headers={'Cookie': cookies} if cookies else {})
        opened = await self.ws.receive_str(timeout=20)  # '0{"sid": ...}'
        assert opened.startswith('0'), opened
        await self.ws.send_str('40')  # join the default namespace: NiceGUI's handshake runs here
        joined = await self.ws.receive_str(timeout=20)
        while joined.startswith('42'):  # a page may already send (e.g. classes set on connect) before the ack
            joined = await self.ws.receive_str(timeout=20)
        if not joined.startswith('40'):
            raise RuntimeError(f'{self.kind}: the server refused the socket: {joined}')
        self.reader = asyncio.create_task(self._read())
        self.acker = asyncio.create_task(self._ack())

    async def _ack(self) -> None:
        """As nicegui.js does every 3 s: the server may then forget the messages it kept for a reconnect."""
        acked = None
        while True:
            await asyncio.sleep(3)
            if self.next_id is not None and self.next_id != acked:
                await self._send('ack', {'client_id': self.client_id, 'next_message_id': self.next_id})
                acked = self.next_id

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            arrived = time.monotonic()  # the clock of the server's event log (same machine)
            text = frame.data
            if text == '2':  # the server's ping
                await self.ws.send_str('3')
                continue
            if not text.startswith('42'):
                continue
            found = text.rfind('"_id":')  # every message is numbered; the browser acknowledges them
            if found > 0:
                self.next_id = int(text[found + 6:].rstrip(']}').split(',')[0]) + 1
            if self.waiting_for and self.waiting_for not in self.arrived and self.needle in text:
                self.arrived[self.waiting_for] = arrived
            if self.kind == 'board':  # boards are only watched; staff pages are also driven
                continue
            kind, message = json.loads(text[2:])
            if kind == 'update':  # staff pages change as they are used (and finish building after connecting)
                for id_, element in message.items():
                    if isinstance(element, dict):
                        self.elements[id_] = element
                    elif element is None:  # deleted
                        self.elements.pop(id_, None)
            elif kind == 'open':
                self.opened = message['path']
            elif kind == 'run_javascript' and 'request_id' in message:  # e.g. is the staff drawer open
                await self._send('javascript_response', {'request_id': message['request_id'],
                                                         'client_id': self.client_id, 'result': True})

    async def _send(self, kind: str, data: dict) -> None:
        await self.ws.send_str('42' + json.dumps([kind, data]))

    async def emit(self, element_id: str, event_type: str, args) -> None:
        element = self.elements[element_id]
        listener = next(e['listener_id'] for e in element['events'] if e['type'] == event_type)
        await self._send('event', {'id': int(element_id), 'client_id': self.client_id, 'listener_id': listener,
                                   'args': [json.dumps(args)]})  # each argument JSON-encoded, as nicegui.js does

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.reader.cancel()
            self.acker.cancel()
            await self.http.close()


async def open_page(http: httpx.AsyncClient, base: str, path: str, kind: str) -> Page:
    response = await http.get(base + path, follow_redirects=True)
    response.raise_for_status()
    page = Page(kind)
    page.load(response.text)
    await page.connect(base, '; '.join(f'{k}={v}' for k, v in http.cookies.items()))
    return page


async def signed_in(base: str, username: str) -> httpx.AsyncClient:
    """A browser session signed in through the real login form (typed and clicked over the socket)."""
    http = httpx.AsyncClient(timeout=30)
    login = await open_page(http, base, '/login', 'login')
    name_id, _ = login.find(lambda e: e.get('props', {}).get('name') == 'username')
    password_id, _ = login.find(lambda e: e.get('props', {}).get('name') == 'password')
    button_id, _ = login.find(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Sign in')
    await login.emit(name_id, 'update:value', username)
    await login.emit(password_id, 'update:value', PASSWORD)
    await asyncio.sleep(0.2)
    await login.emit(button_id, 'click', {})
    for _ in range(100):  # signing in checks the password in a thread; then the page opens the link that
        await asyncio.sleep(0.1)  # completes it (and gives this browser its new session cookie)
        if login.opened is not None:
            await http.get(base + login.opened, follow_redirects=False)
            break
    check = await http.get(base + '/', follow_redirects=False)
    if check.headers.get('location', '').rstrip('/') in ('/login', ''):
        raise RuntimeError(f'signing in as {username} failed')
    await login.close()
    return http


async def press(page: Page, label: str) -> None:
    button, _ = await page.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == label)
    await page.emit(button, 'click', {})


async def see_patient(doctor: Page) -> None:
    """Start and finish the consultation of the patient just called, on the worklist (not measured). The page
    would open the chart; the simulated doctor stays on the worklist."""
    await press(doctor, 'Start consultation')
    await press(doctor, 'Finish')
    deadline = time.monotonic() + 10
    while any(e.get('props', {}).get('label') == 'Finish' for e in doctor.elements.values()):
        if time.monotonic() > deadline:
            raise RuntimeError('the consultation did not finish')
        await asyncio.sleep(0.02)


async def _boards_here(base: str, paths: list[str], conn) -> None:
    """A board (or a patient's phone) per path in this process, driven through ``conn``: watch for a label, report
    when it arrived."""
    pages: list[Page] = []
    gate = asyncio.Semaphore(4)

    async def open_board(path: str) -> None:
        async with gate:  # each TV its own browser: its own cookies (behind HAProxy, its own process)
            async with httpx.AsyncClient(timeout=60) as own:
                pages.append(await open_page(own, base, path, 'board'))

    await asyncio.gather(*(open_board(path) for path in paths))
    loop = asyncio.get_running_loop()
    conn.send(len(pages))
    gc.collect()
    gc.disable()  # this process's own collections would delay reading the frames: measure the server only
    while True:
        command, label = await loop.run_in_executor(None, conn.recv)
        if command == 'watch':
            for page in pages:
                page.waiting_for = page.needle = label
            conn.send('ok')
        elif command == 'collect':
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(label in page.arrived for page in pages):
                await asyncio.sleep(0.005)
            conn.send([page.arrived.get(label) for page in pages])
        else:
            for page in pages:
                await page.close()
            conn.send('closed')
            return


def _board_process(base: str, paths: list[str], conn) -> None:
    asyncio.run(_boards_here(base, paths, conn))


class Boards:
    """The simulated TVs, spread over a few processes apart from this one (which drives the doctor), so that
    reading hundreds of sockets at once does not itself delay the arrivals measured. Arrival times are the
    system's monotonic clock, the same in every process."""

    def __init__(self, base: str, key: str, count: int, processes: int, *, paths: list[str] | None = None) -> None:
        """``count`` boards opened with ``key``; or, given ``paths``, one watcher per path (e.g. patients' phones)."""
        context = multiprocessing.get_context('fork')
        paths = paths if paths is not None else [f'/board?key={key}'] * count
        shares = [paths[index::processes] for index in range(processes)]
        self.conns = []
        self.processes = []
        for share in (share for share in shares if share):
            ours, theirs = context.Pipe()
            process = context.Process(target=_board_process, args=(base, share, theirs), daemon=True)
            process.start()
            self.conns.append(ours)
            self.processes.append(process)
        self.count = sum(conn.recv() for conn in self.conns)

    def watch(self, label: str) -> None:
        for conn in self.conns:
            conn.send(('watch', label))
        for conn in self.conns:
            conn.recv()

    def collect(self, label: str) -> list[float]:
        for conn in self.conns:
            conn.send(('collect', label))
        return [moment for conn in self.conns for moment in conn.recv() if moment is not None]

    def close(self) -> None:
        for conn in self.conns:
            conn.send(('close', ''))
        for conn, process in zip(self.conns, self.processes):
            conn.recv()
            process.join(timeout=30)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(server: Server, key: str, boards: int, calls: int, first_number: int, processes: int) -> dict:
    base = server.url
    doctor_http = await signed_in(base, 'doctor')
    reception_http = await signed_in(base, 'reception')
    doctor = await open_page(doctor_http, base, '/consultation', 'worklist')
    call_id, _ = await doctor.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Call next')
    staff = [doctor] + [await open_page(reception_http, base, '/reception/queues', 'reception')
                        for _ in range(max(1, boards // 20))]
    await asyncio.sleep(1)
    before = rss_mb(server.process.pid)
    tvs = await asyncio.to_thread(Boards, base, key, boards, processes)
    await asyncio.sleep(3)
    after = rss_mb(server.process.pid)
    await doctor.emit(call_id, 'click', {})  # warm-up: the first call of a fresh process is not measured
    await see_patient(doctor)
    await asyncio.sleep(1.5)
    profiler = profile(server.process.pid, boards) if os.environ.get('BENCH_PROFILE') else None
    gc.collect()
    gc.disable()  # this process's own collections would delay reading the frames: measure the server only
    from_commit: list[float] = []
    from_click: list[float] = []
    by_kind: dict[str, list[float]] = {}
    click_by_kind: dict[str, list[float]] = {}
    delivered = 0
    for index in range(calls):
        label = f'A-{first_number + 1 + index:03d}'
        for page in staff:
            page.waiting_for = label
            # the doctor's own screen: the card of the patient called (its big number), not the "called" notice
            page.needle = f'"text":"{label}"' if page.kind == 'worklist' else label
        await asyncio.to_thread(tvs.watch, label)
        clicked = time.monotonic()
        await doctor.emit(call_id, 'click', {})
        deadline = clicked + 10
        while time.monotonic() < deadline and not all(label in p.arrived for p in staff):
            await asyncio.sleep(0.002)
        on_boards = await asyncio.to_thread(tvs.collect, label)
        committed = server.committed(label)
        arrivals = [(page.kind, page.arrived[label]) for page in staff if label in page.arrived]
        arrivals += [('board', moment) for moment in on_boards]
        delivered += len(arrivals)
        for kind, arrived in arrivals:
            from_click.append((arrived - clicked) * 1000)
            from_commit.append((arrived - committed) * 1000)
            by_kind.setdefault(kind, []).append(from_commit[-1])
            click_by_kind.setdefault(kind, []).append(from_click[-1])
        if os.environ.get('BENCH_VERBOSE'):
            got = sorted((arrived - committed) * 1000 for _, arrived in arrivals) or [float('nan')]
            print(f'  {label}: committed {(committed - clicked) * 1000:.0f} ms after the click; from the commit: '
                  f'first {got[0]:.0f} ms, median {got[len(got) // 2]:.0f} ms, last {got[-1]:.0f} ms')
        await see_patient(doctor)  # as a doctor does: nobody piles up in "called"
        await asyncio.sleep(0.5)
    gc.enable()
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(timeout=60)
        print_profile(Path(os.environ['BENCH_PROFILE']) / f'server-{boards}.txt')
    await asyncio.to_thread(tvs.close)  # the TVs are switched off; the staff stay
    await asyncio.sleep(FORGOTTEN_S)  # NiceGUI forgets a tab once it did not come back within reconnect_timeout
    left = rss_mb(server.process.pid)
    for page in staff:
        await page.close()
    for http in (doctor_http, reception_http):
        await http.aclose()
    board_commit = by_kind.get('board', [])
    board_click = click_by_kind.get('board', [])
    return {'boards': boards, 'staff': len(staff), 'expected': calls * (len(staff) + boards), 'delivered': delivered,
            'commit': summary(board_commit or from_commit), 'click': summary(board_click or from_click),
            'worklist': summary(click_by_kind.get('worklist', [])),
            'mb_per_board': (after - before) / boards if boards else float('nan'), 'rss': after,
            'kept_mb': left - before, 'load': os.getloadavg()[0],
            'kinds': {kind: (statistics.median(v), percentile(v, 0.95)) for kind, v in by_kind.items()}}


def profile(pid: int, boards: int) -> subprocess.Popen:
    """py-spy (``pip install py-spy``) samples the server while the calls are made: BENCH_PROFILE=<folder>."""
    folder = Path(os.environ['BENCH_PROFILE'])
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(['py-spy', 'record', '--pid', str(pid), '--rate', '200', '--format', 'raw',
                                '--output', str(folder / f'server-{boards}.txt')],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return process


def print_profile(path: Path, shown: int = 22) -> None:
    """The event loop's time by function (inclusive), as shares of its samples that were not idle."""
    total = 0
    inclusive: dict[str, int] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(' ')
        frames = [frame for frame in stack.split(';') if ' (' in frame]
        if not any('main.py' in frame for frame in frames):  # other threads (database, file writes)
            continue
        if any(idle in frames[-1] for idle in ('select (selectors.py', 'poll (selectors.py')):
            continue
        total += int(count)
        names = {frame.split(' (')[0] + ' (' + frame.split(' (')[1].split(':')[0].split('site-packages/')[-1]
                 for frame in frames}
        for name in names:
            inclusive[name] = inclusive.get(name, 0) + int(count)
    print(f'  profile ({path.name}): {total} busy samples of the event loop; inclusive share:')
    skipped = ('main.py', 'runners.py', 'ui_run.py', 'server.py', '_compat.py', 'base_events.py', 'events.py')
    rows = [(name, count) for name, count in inclusive.items() if not name.endswith(skipped)]
    for name, count in sorted(rows, key=lambda item: -item[1])[:shown]:
        print(f'    {100 * count / max(total, 1):5.1f}%  {name})')


def summary(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return float('nan'), float('nan'), float('nan')
    return statistics.median(values), percentile(values, 0.95), max(values)


def demo_server(prefix: str, patients: int, app_dir: Path) -> Server:
    """A server on a fresh demo database in a new data folder (loaded once now, so that each run starts alike)."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ['CLINIC_DATA_DIR'] = str(data_dir)  # the server's secret is kept there (links signed here hold)
    server = Server(data_dir, patients, app_dir.resolve())
    print(f'Measuring {server.app_dir} on {os.cpu_count()} CPUs; loading the demo database in {data_dir} …',
          flush=True)
    server.start()
    server.stop()
    return server


def in_fresh_process(server: Server, measure_it) -> dict:
    """``measure_it()`` against a freshly started server (memory is measured from the same start each run)."""
    server.start()
    try:
        return asyncio.run(measure_it())
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--clients', type=int, nargs='+', default=[0, 100, 300])
    parser.add_argument('--calls', type=int, default=20)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--patients', type=int, default=300, help='demo patients (keeps the first start short)')
    parser.add_argument('--waiting', type=int, default=30, help='patients still waiting after the last call')
    parser.add_argument('--processes', type=int, default=4, help='processes the simulated boards are spread over')
    parser.add_argument('--app-dir', type=Path, default=ROOT, help='the checkout whose main.py is measured')
    args = parser.parse_args()
    server = demo_server('clinic-board-bench-', args.patients, args.app_dir)
    results = []
    key = None
    try:
        for boards in args.clients:
            for run in range(1, args.runs + 1):
                key, number = asyncio.run(prepare(server.database_url, args.calls + 1 + args.waiting, key))
                results.append(in_fresh_process(server, lambda: measure(server, key, boards, args.calls, number,
                                                                        args.processes)))
                row = results[-1]
                row['run'] = run
                kinds = ', '.join(f'{kind} p50/p95 {p50:.0f}/{p95:.0f} ms' for kind, (p50, p95) in row['kinds'].items())
                print(f'N={boards} run {run}: p95 {row["commit"][1]:.1f} ms from the commit, '
                      f'{row["delivered"]}/{row["expected"]} delivered ({kinds}), load {row["load"]:.2f}', flush=True)
    finally:
        server.stop()
    print()
    print('"Call next": to the new number on every board (with none, on the staff pages), from the commit and from')
    print('the click; to the doctor\'s own worklist from the click; the server\'s memory per board, and what of it is')
    print('still held 40 s after every board left (once NiceGUI forgot them); the 1-minute load average when the run ended')
    print(f'{"boards":>7} {"run":>4} {"commit p50/p95/max":>19} {"click p50/p95/max":>18} {"own screen p50/p95/max":>23} '
          f'{"delivered":>12} {"MB/board":>9} {"RSS MB":>7} {"kept MB":>8} {"load":>5}')
    for row in results:
        figures = ['/'.join(f'{v:.0f}' for v in row[name]) for name in ('commit', 'click', 'worklist')]
        print(f'{row["boards"]:>7} {row["run"]:>4} {figures[0]:>19} {figures[1]:>18} {figures[2]:>23} '
              f'{row["delivered"]:>5}/{row["expected"]:<6} {row["mb_per_board"]:>9.2f} {row["rss"]:>7.1f} '
              f'{row["kept_mb"]:>8.1f} {row["load"]:>5.2f}')
    print()
    print('Median of the runs (p95 from the click: boards; own screen)')
    for boards in args.clients:
        rows = [row for row in results if row['boards'] == boards]
        boards_runs = ', '.join(f'{row["click"][1]:.0f}' for row in rows)
        own_runs = ', '.join(f'{row["worklist"][1]:.0f}' for row in rows)
        print(f'  N={boards}: every board p95 {statistics.median(row["click"][1] for row in rows):.0f} ms '
              f'(runs {boards_runs}); own screen p95 {statistics.median(row["worklist"][1] for row in rows):.0f} ms '
              f'(runs {own_runs})')


if __name__ == '__main__':
    main()
