"""How fast a call reaches the waiting-room boards, and what a board costs the server.

    .venv/bin/python bench/board_latency.py [--clients 10 100 300] [--calls 10] [--patients 300]

Starts `python main.py` (127.0.0.1 only) on a fresh SQLite demo database, checks in walk-ins for the first doctor
and issues a display key (through the services, before the boards connect). For each N it restarts the app, opens
N boards (`/board?key=...`) and a few staff pages (the doctor's worklist, reception's queues) and connects each over
NiceGUI's real websocket protocol (socket.io, like the browser: the page's client_id and next_message_id in the
query, implicit handshake). The simulated doctor then presses "Call next" (the same socket event a browser sends)
once to warm up, then `--calls` times; the script records when the new number arrives at every board and staff page.

Printed per N: latency from the click (before the server's transaction, so it includes the commit) to the update
at each client: p50 / p95 / max, updates delivered / expected, and the server's resident memory per connected
board. Everything stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import json
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

import httpx
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import free_port, rss_mb  # noqa: E402

PASSWORD = 'bench-pass-1'
WS_PATH = '/_nicegui_ws/socket.io'


class Server:
    def __init__(self, data_dir: Path, patients: int) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.database_url = f'sqlite+aiosqlite:///{data_dir / "clinic.db"}'
        self.log_path = data_dir / 'server.log'
        self.env = {**os.environ, 'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_PORT': str(self.port),
                    'CLINIC_HOST': '127.0.0.1', 'CLINIC_DEMO': '1', 'CLINIC_DEMO_PATIENTS': str(patients),
                    'CLINIC_DEMO_PASSWORD': PASSWORD, 'CLINIC_DATABASE_URL': self.database_url}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, 'a') as log:
            self.process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while 'is ready' not in self.log_path.read_text()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit('the app did not start:\n' + self.log_path.read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


async def prepare(database_url: str, walk_ins: int) -> str:
    """Walk-ins for the first doctor (queue A) and a display key for all queues."""
    os.environ['CLINIC_DATABASE_URL'] = database_url
    from sqlmodel import select

    from clinic_ui.db import Database
    from clinic_ui.settings import get_settings
    from models import Doctor, Patient, User
    from models.types import utcnow
    from services import checkin, display_keys, users

    database = Database(database_url)
    try:
        async with database.read() as session:
            reception = users.actor_of((await session.exec(select(User).where(User.username == 'reception'))).one())
            admin = users.actor_of((await session.exec(select(User).where(User.username == 'admin'))).one())
            doctor = (await session.exec(select(Doctor).join(User, User.id == Doctor.user_id)
                                         .where(User.username == 'doctor'))).one()
            patients = (await session.exec(select(Patient.id).order_by(Patient.id).limit(walk_ins))).all()
        for patient_id in patients:
            async with database.write() as session:
                await checkin.walk_in(session, reception, patient_id=patient_id, doctor_id=doctor.id,
                                      tz=get_settings().tz, now=utcnow())
        async with database.write() as session:
            _, key = await display_keys.issue(session, admin, 'Benchmark board')
        return key
    finally:
        await database.dispose()


@dataclass
class Page:
    """One browser tab: the page's elements from its HTML, and its socket."""
    kind: str
    client_id: str = ''
    elements: dict = field(default_factory=dict)
    sio: socketio.AsyncClient | None = None
    waiting_for: str | None = None
    arrived: dict[str, float] = field(default_factory=dict)

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
        self.sio = socketio.AsyncClient(reconnection=False)

        async def on_update(message: dict) -> None:
            for id_, element in message.items():  # staff pages finish building after the socket connects
                if id_ != '_id' and isinstance(element, dict):
                    self.elements[id_] = element
            if self.waiting_for and self.waiting_for not in self.arrived and self.waiting_for in json.dumps(message):
                self.arrived[self.waiting_for] = time.perf_counter()

        async def on_javascript(message: dict) -> None:  # e.g. the staff layout asks whether its drawer is open
            if 'request_id' in message:
                await self.sio.emit('javascript_response', {'request_id': message['request_id'],
                                                            'client_id': self.client_id, 'result': True})

        self.sio.on('update', on_update)
        self.sio.on('run_javascript', on_javascript)
        query = urlencode({'client_id': self.client_id, 'tab_id': str(uuid.uuid4()),
                           'document_id': str(uuid.uuid4()), 'next_message_id': self.next_message_id,
                           'implicit_handshake': 'true'})
        await self.sio.connect(f'{base}?{query}', socketio_path=WS_PATH, transports=['websocket'],
                               headers={'Cookie': cookies} if cookies else {}, wait_timeout=20)

    async def emit(self, element_id: str, event_type: str, args) -> None:
        element = self.elements[element_id]
        listener = next(e['listener_id'] for e in element['events'] if e['type'] == event_type)
        await self.sio.emit('event', {'id': int(element_id), 'client_id': self.client_id, 'listener_id': listener,
                                      'args': [json.dumps(args)]})  # each argument JSON-encoded, as nicegui.js does

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()


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
    for _ in range(100):  # signing in hashes the password in a thread
        await asyncio.sleep(0.1)
        check = await http.get(base + '/', follow_redirects=False)
        if check.headers.get('location', '').rstrip('/') not in ('/login', ''):
            break
    await login.close()
    return http


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def measure(server: Server, key: str, boards: int, calls: int, first_number: int) -> dict:
    base = server.url
    doctor_http = await signed_in(base, 'doctor')
    reception_http = await signed_in(base, 'reception')
    doctor = await open_page(doctor_http, base, '/consultation', 'worklist')
    call_id, _ = await doctor.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Call next')
    staff = [doctor] + [await open_page(reception_http, base, '/reception/queues', 'reception')
                        for _ in range(max(1, boards // 20) * int(os.environ.get("BENCH_RECEPTION", "1")))]
    await asyncio.sleep(1)
    before = rss_mb(server.process.pid)
    anonymous = httpx.AsyncClient(timeout=60)
    pages: list[Page] = []
    gate = asyncio.Semaphore(8)

    async def open_board() -> None:
        async with gate:
            pages.append(await open_page(anonymous, base, f'/board?key={key}', 'board'))

    await asyncio.gather(*(open_board() for _ in range(boards)))
    await asyncio.sleep(3)
    after = rss_mb(server.process.pid)
    everyone = pages + staff
    await doctor.emit(call_id, 'click', {})  # warm-up: the first call of a fresh process is not measured
    await asyncio.sleep(1.5)
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    delivered = 0
    for index in range(calls):
        label = f'A-{first_number + 1 + index:03d}'
        for page in everyone:
            page.waiting_for = label
        clicked = time.perf_counter()
        await doctor.emit(call_id, 'click', {})
        deadline = clicked + 10
        while time.perf_counter() < deadline and not all(label in p.arrived for p in everyone):
            await asyncio.sleep(0.002)
        for page in everyone:
            if label in page.arrived:
                delivered += 1
                latencies.append((page.arrived[label] - clicked) * 1000)
                by_kind.setdefault(page.kind, []).append(latencies[-1])
        await asyncio.sleep(0.5)
    for page in everyone:
        await page.close()
    for http in (doctor_http, reception_http, anonymous):
        await http.aclose()
    return {'boards': boards, 'staff': len(staff), 'expected': calls * len(everyone), 'delivered': delivered,
            'p50': statistics.median(latencies) if latencies else float('nan'),
            'p95': percentile(latencies, 0.95) if latencies else float('nan'),
            'max': max(latencies) if latencies else float('nan'),
            'mb_per_board': (after - before) / boards, 'rss': after,
            'kinds': {kind: (statistics.median(v), percentile(v, 0.95)) for kind, v in by_kind.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--clients', type=int, nargs='+', default=[10, 100, 300])
    parser.add_argument('--calls', type=int, default=10)
    parser.add_argument('--patients', type=int, default=300, help='demo patients (keeps the first start short)')
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix='clinic-board-bench-'))
    server = Server(data_dir, args.patients)
    print(f'Loading the demo database in {data_dir} …', flush=True)
    server.start()
    server.stop()
    key = asyncio.run(prepare(server.database_url, (args.calls + 1) * len(args.clients)))
    results = []
    number = 1
    try:
        for boards in args.clients:
            server.start()  # a fresh process per N: memory is measured from the same start
            try:
                results.append(asyncio.run(measure(server, key, boards, args.calls, number)))
            finally:
                server.stop()
            number += args.calls + 1
            row = results[-1]
            kinds = ', '.join(f'{kind} p50/p95 {p50:.0f}/{p95:.0f} ms' for kind, (p50, p95) in row['kinds'].items())
            print(f'N={boards}: p95 {row["p95"]:.1f} ms, {row["delivered"]}/{row["expected"]} delivered ({kinds})',
                  flush=True)
    finally:
        server.stop()
    print()
    print('Latency from "Call next" (click, before the commit) to the new number arriving at each client')
    print(f'{"boards":>7} {"staff":>6} {"p50 ms":>8} {"p95 ms":>8} {"max ms":>8} {"delivered":>12} '
          f'{"MB/board":>9} {"server RSS MB":>14}')
    for row in results:
        print(f'{row["boards"]:>7} {row["staff"]:>6} {row["p50"]:>8.1f} {row["p95"]:>8.1f} {row["max"]:>8.1f} '
              f'{row["delivered"]:>5}/{row["expected"]:<6} {row["mb_per_board"]:>9.2f} {row["rss"]:>14.1f}')


if __name__ == '__main__':
    main()
