"""Starting and stopping the real app (``python main.py`` in a subprocess), as a person installing it would:
nothing but a "starting…" page until it is ready, one clear line for a wrong setting, a quiet stop on Ctrl+C
and SIGTERM, the addresses to open from tablets, a working board link at every demo start, several servers
starting at once on one PostgreSQL database (and a setting saved through one process showing on all), and HTTPS."""
from __future__ import annotations

import asyncio
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from services.core.settings import Settings
from tests.conftest import ROOT, TEST_DATABASE_URL, free_port, postgres_admin

ON_POSTGRESQL = TEST_DATABASE_URL.startswith('postgresql')
PASSWORD = 'demo-start-1'


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix='clinic-start-'))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def database_url(data_dir: Path) -> Iterator[str]:
    """A fresh, empty database of the kind the suite runs on (never the tests' own database)."""
    if not ON_POSTGRESQL:
        yield f'sqlite+aiosqlite:///{data_dir / "clinic.db"}'
        return
    name = f'clinic_start_{uuid.uuid4().hex[:12]}'
    asyncio.run(postgres_admin(f'CREATE DATABASE {name}'))
    try:
        yield TEST_DATABASE_URL.rsplit('/', 1)[0] + '/' + name
    finally:
        asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))


def app_env(data_dir: Path, database_url: str, **settings: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(('PYTEST', 'NICEGUI', 'CLINIC_'))}  # not a test run, no test settings
    env = {**inherited, 'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_DATABASE_URL': database_url,
           'CLINIC_HOST': '127.0.0.1', 'CLINIC_PORT': str(free_port()), 'CLINIC_DEMO': '0',
           'CLINIC_DEMO_PASSWORD': PASSWORD}
    env.update({f'CLINIC_{key.upper()}': value for key, value in settings.items()})
    return env


class AppProcess:
    """``python main.py`` with its output in a file (so a test can read it while the app runs)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = env['CLINIC_PORT']
        self.log_path = log_path
        self.log = open(log_path, 'w+', encoding='utf-8')  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding='utf-8')

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f'the app never printed {text!r}:\n{self.output}')
            time.sleep(0.05)
        return self.output

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f'the app did not stop within {timeout} s:\n{self.output}') from None
        finally:
            self.log.close()
        return code, self.output

    def finished(self, timeout: float = 30) -> tuple[int, str]:
        """The exit code and output of an app that ends by itself."""
        return self.stop(sig=None, timeout=timeout)


def start_app(env: dict[str, str], data_dir: Path, name: str = 'app') -> AppProcess:
    return AppProcess(env, data_dir / f'{name}.log')


def get(url: str, *, context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], str]:
    """One GET without following redirects: status, headers (lower-case names), body."""
    parsed = urllib.request.urlparse(url)
    connection = (http.client.HTTPSConnection(parsed.hostname, parsed.port, timeout=10, context=context)
                  if parsed.scheme == 'https' else http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10))
    try:
        connection.request('GET', parsed.path + (f'?{parsed.query}' if parsed.query else ''))
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read().decode(errors='replace')
    finally:
        connection.close()


def board_url(output: str) -> str:
    match = re.search(r'Waiting-room TV\s+(\S+/board\?key=[\w-]+)$', output, re.MULTILINE)
    assert match, f'no board link in the banner:\n{output}'
    return match.group(1)


# --- 1. nothing but "starting…" until ready -------------------------------------------------------------------

PATHS = ('/', '/login', '/setup', '/reception', '/book', '/board?key=not-a-key', '/cashier/transactions.csv')


def test_until_it_is_ready_every_route_answers_starting_and_never_an_error_or_the_setup_page(data_dir, database_url):
    app = start_app(app_env(data_dir, database_url, demo='1', demo_patients='300'), data_dir)
    seen: list[tuple[str, int, dict, str]] = []
    try:
        while 'is ready' not in app.output:
            assert app.process.poll() is None, app.output
            for path in PATHS:
                try:
                    seen.append((path, *get(f'http://127.0.0.1:{app.port}{path}')))
                except OSError:  # not listening yet
                    time.sleep(0.01)
        status, _, page = get(f'http://127.0.0.1:{app.port}/login')
        assert status == 200 and 'Sign in' in page
    finally:
        app.stop()
    for path, status, headers, body in seen:
        assert status != 500, f'{path} failed while starting:\n{body[:300]}'
        assert '/setup' not in headers.get('location', '') and 'Create the administrator account' not in body, \
            f'{path} sent a stranger to the first-administrator setup while the demo loaded'
    starting = [(path, headers, body) for path, status, headers, body in seen if status == 503]
    assert starting, 'the app was never seen starting: the test did not test anything'
    for path, headers, body in starting:
        assert 'is starting…' in body and headers.get('retry-after') and 'http-equiv="refresh"' in body, path


def test_the_starting_gate_answers_503_until_ready_then_lets_everything_through():
    from clinic_ui.startup import Readiness, StartingGate

    async def scenario() -> None:
        import httpx

        async def inner(scope, receive, send):
            await send({'type': 'http.response.start', 'status': 200, 'headers': []})
            await send({'type': 'http.response.body', 'body': b'the page'})

        readiness = Readiness()
        gate = StartingGate(inner, readiness=readiness, clinic_name='Phòng khám <An Bình>')
        async with httpx.AsyncClient(transport=httpx.ASGITransport(gate), base_url='http://clinic') as client:
            response = await client.get('/cashier/receipts/7.pdf')
            assert response.status_code == 503 and response.headers['retry-after'] == '2'
            assert 'Phòng khám &lt;An Bình&gt; is starting…' in response.text
            sent = []

            async def send(message):
                sent.append(message)
            await gate({'type': 'websocket', 'path': '/_nicegui_ws/socket.io'}, None, send)
            assert sent == [{'type': 'websocket.close', 'code': 1013}]
            readiness.ready.set()
            response = await client.get('/cashier/receipts/7.pdf')
            assert response.status_code == 200 and response.text == 'the page'

    asyncio.run(scenario())


# --- 2. a wrong setting: one line, exit code not 0, no traceback, within seconds ------------------------------

def _held_file(data_dir: Path) -> Path:
    blocker = data_dir / 'a-file'
    blocker.write_text('not a folder')
    return blocker


WRONG_DATABASES = {
    'unknown driver': (lambda d: 'mysql://clinic:secret@127.0.0.1/clinic', "unsupported database 'mysql'"),
    'not a URL': (lambda d: 'clinic database please', 'not a database URL'),
    'refused': (lambda d: f'postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/clinic',
                'refused the connection'),
    'unwritable SQLite path': (lambda d: f'sqlite+aiosqlite:///{_held_file(d)}/clinic.db',
                               'part of that path is a file, not a folder'),
}


@pytest.mark.parametrize('case', list(WRONG_DATABASES))
def test_a_wrong_database_url_stops_the_start_with_one_clear_line(case, data_dir):
    url, cause = WRONG_DATABASES[case]
    began = time.monotonic()
    app = start_app(app_env(data_dir, url(data_dir)), data_dir)
    code, output = app.finished(timeout=30)
    assert code != 0
    assert time.monotonic() - began < 15
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith('Clinic Flow cannot start: CLINIC_DATABASE_URL: ') and cause in lines[0], output
    assert 'secret' not in output  # the password in the URL is not repeated


@pytest.mark.skipif(not ON_POSTGRESQL, reason='needs the PostgreSQL server of the test database')
def test_a_missing_postgresql_database_is_named(data_dir):
    missing = f'clinic_missing_{uuid.uuid4().hex[:8]}'
    app = start_app(app_env(data_dir, TEST_DATABASE_URL.rsplit('/', 1)[0] + '/' + missing), data_dir)
    code, output = app.finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip().startswith('Clinic Flow cannot start: CLINIC_DATABASE_URL: ')
    assert f"has no database '{missing}'" in output


def test_a_database_server_that_never_answers_is_given_up_on_after_the_timeout():
    from services.core.db import DatabaseUnavailable, check_connection
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(('127.0.0.1', 0))
        silent.listen()
        port = silent.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=f'PostgreSQL at 127.0.0.1:{port} did not answer within 0.5 s'):
            asyncio.run(check_connection(f'postgresql+asyncpg://postgres@127.0.0.1:{port}/clinic', timeout=0.5))
        assert time.monotonic() - began < 5


def test_wrong_settings_are_one_line_each_without_pydantic_boilerplate(data_dir):
    env = app_env(data_dir, 'sqlite+aiosqlite:///ignored.db', port='eighty', timezone='Mars/Olympus_Mons')
    code, output = start_app(env, data_dir).finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip().splitlines() == [
        ("Clinic Flow cannot start: CLINIC_PORT: input should be a valid integer, unable to parse string as an "
         "integer (got 'eighty')"),
        ("Clinic Flow cannot start: CLINIC_TIMEZONE: unknown timezone 'Mars/Olympus_Mons' (use an IANA name such "
         "as Asia/Ho_Chi_Minh)")]


def test_sessions_in_redis_need_a_shared_secret_and_a_redis_that_answers(data_dir, database_url):
    """Several processes share sessions through Redis: a missing secret or a Redis that is not there is one clear
    line before anything starts (the URL, which may hold Redis's password, is not repeated)."""
    closed = free_port()
    env = app_env(data_dir, database_url, redis_url=f'redis://:hunter2@127.0.0.1:{closed}/0')
    code, output = start_app(env, data_dir).finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip().startswith('Clinic Flow cannot start: CLINIC_STORAGE_SECRET: set it (the same on every '
                                     'process) when CLINIC_REDIS_URL is set'), output
    env = app_env(data_dir, database_url, redis_url=f'redis://:hunter2@127.0.0.1:{closed}/0',
                  storage_secret='one-secret-for-every-process')
    code, output = start_app(env, data_dir).finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip().startswith('Clinic Flow cannot start: CLINIC_REDIS_URL: Redis does not answer'), output
    assert len(output.strip().splitlines()) == 1 and 'hunter2' not in output


def test_a_port_in_use_is_named(data_dir, database_url):
    env = app_env(data_dir, database_url)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', int(env['CLINIC_PORT'])))
        taken.listen()
        code, output = start_app(env, data_dir).finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip() == (f'Clinic Flow cannot start: CLINIC_PORT: port {env["CLINIC_PORT"]} is already in '
                              f'use on 127.0.0.1 (is Clinic Flow already running?)')


@pytest.mark.parametrize(('given', 'used'), [
    ('postgresql://clinic:s3cret@db.example:5433/clinic', 'postgresql+asyncpg://clinic:s3cret@db.example:5433/clinic'),
    ('postgres://clinic@db.example/clinic', 'postgresql+asyncpg://clinic@db.example/clinic'),
    ('sqlite:///data/clinic.db', 'sqlite+aiosqlite:///data/clinic.db'),
    ('postgresql+asyncpg://clinic@db.example/clinic', 'postgresql+asyncpg://clinic@db.example/clinic'),
])
def test_a_plain_database_url_means_the_async_driver(given, used):
    assert Settings(database_url=given).effective_database_url == used


@pytest.mark.parametrize('url', ['mysql://u@h/db', 'postgresql+psycopg2://u@h/db', 'sqlite:///:memory:', 'sqlite://',
                                 'postgresql://u@h:port/db', 'just words'])
def test_an_unsupported_database_url_is_refused(url):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match='database'):
        Settings(database_url=url)


# --- 3. Ctrl+C and SIGTERM stop quietly -----------------------------------------------------------------------

@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['Ctrl+C', 'SIGTERM'])
def test_a_running_clinic_stops_quietly_with_exit_code_0(sig, data_dir, database_url):
    app = start_app(app_env(data_dir, database_url), data_dir)
    app.wait_for('is ready')
    assert get(f'http://127.0.0.1:{app.port}/setup')[0] == 200
    code, output = app.stop(sig)
    assert code == 0, output
    assert 'Traceback' not in output and 'Error' not in output, output


def test_ctrl_c_while_the_demo_loads_stops_quietly_and_the_next_start_loads_it_whole(data_dir, database_url):
    env = app_env(data_dir, database_url, demo='1', demo_patients='500')
    app = start_app(env, data_dir, 'first')
    app.wait_for('Loading demo data')
    code, output = app.stop(signal.SIGINT)
    assert code == 0 and 'Traceback' not in output and 'Error' not in output, output
    assert 'is ready' not in output, 'the demo loaded before Ctrl+C: the test did not test anything'
    env['CLINIC_DEMO_PATIENTS'] = '50'
    again = start_app(env, data_dir, 'second')
    try:
        output = again.wait_for('is ready')
        assert 'Loading demo data' in output  # the interrupted load left nothing behind
        status, _, page = get(board_url(output))
        assert status == 200 and 'not valid' not in page
    finally:
        again.stop()


# --- 4. the addresses tablets and the TV open -----------------------------------------------------------------

def test_the_banner_lists_every_lan_address_of_the_machine():
    from clinic_ui.startup import banner
    ip = shutil.which('ip')
    if ip is None:
        pytest.skip('needs the ip command to list the interfaces independently')
    listing = subprocess.run([ip, '-o', '-4', 'addr', 'show', 'up'], capture_output=True, text=True,
                             check=True).stdout
    expected = [a for a in re.findall(r'inet (\d+\.\d+\.\d+\.\d+)/', listing)
                if not a.startswith(('127.', '169.254.'))]
    if not expected:
        pytest.skip('this machine has no network address besides loopback')
    text = banner(Settings(host='0.0.0.0', port=8080), None, time.perf_counter())
    for address in expected:
        assert f'http://{address}:8080' in text
    assert 'http://127.' not in text


# --- 5. every demo start prints a working board link ---------------------------------------------------------

def test_every_demo_start_prints_a_board_link_that_opens_the_board(data_dir, database_url):
    env = app_env(data_dir, database_url, demo='1', demo_patients='50')
    links = []
    for name in ('first', 'second'):
        app = start_app(env, data_dir, name)
        try:
            links.append(board_url(app.wait_for('is ready')))
            status, _, page = get(links[-1])
            assert status == 200 and 'Now calling' in page and 'not valid' not in page, f'{name} start: {links[-1]}'
        finally:
            app.stop()
    assert links[0] == links[1]  # a TV opened with the first link keeps working after a restart


# --- 6. several processes start at once on an empty PostgreSQL database ---------------------------------------

@pytest.mark.skipif(not ON_POSTGRESQL, reason='several servers on one database is a PostgreSQL set-up')
def test_four_servers_starting_at_once_on_an_empty_database_all_come_up_and_load_the_demo_once(data_dir,
                                                                                              database_url):
    patients = 40
    apps = []
    for n in range(4):
        folder = data_dir / f'server{n}'
        folder.mkdir()
        apps.append(start_app(app_env(folder, database_url, demo='1', demo_patients=str(patients)), folder))
    try:
        for app in apps:
            app.wait_for('is ready')
    finally:
        outputs = [app.stop() for app in apps]
    for code, output in outputs:
        assert code == 0 and 'Traceback' not in output, output
    assert sum('Loading demo data' in output for _, output in outputs) == 1

    async def count() -> tuple[int, int]:
        import asyncpg
        url = make_url(database_url)
        connection = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username,
                                           password=url.password, database=url.database)
        try:
            return (await connection.fetchval("SELECT count(*) FROM users WHERE username = 'admin'"),
                    await connection.fetchval('SELECT count(*) FROM patients'))
        finally:
            await connection.close()
    assert asyncio.run(count()) == (1, patients)


@pytest.mark.skipif(not ON_POSTGRESQL, reason='several servers on one database is a PostgreSQL set-up')
def test_a_clinic_setting_saved_through_another_process_shows_on_every_server_at_once(data_dir, database_url):
    """Two servers on one database; a third process (this test) saves a new clinic name: both show it on their
    next page without a restart (each put it in force when it heard of the change)."""
    apps = []
    for n in range(2):
        folder = data_dir / f'server{n}'
        folder.mkdir()
        apps.append(start_app(app_env(folder, database_url), folder))
    try:
        for app in apps:
            app.wait_for('is ready')
            assert 'Hòa Bình' not in get(f'http://127.0.0.1:{app.port}/book')[2]
        asyncio.run(save_clinic_name(database_url, 'Phòng khám Hòa Bình'))
        deadline = time.monotonic() + 5
        for app in apps:
            while 'Phòng khám Hòa Bình' not in get(f'http://127.0.0.1:{app.port}/book')[2]:
                assert time.monotonic() < deadline, f'server on {app.port} still shows the old name'
                time.sleep(0.05)
    finally:
        outputs = [app.stop() for app in apps]
    for code, output in outputs:
        assert code == 0 and 'Traceback' not in output, output


async def save_clinic_name(database_url: str, name: str) -> None:
    from services import clinic_settings
    from services.core.db import Database
    from services.core.events import Bus
    from services.core.fanout import Fanout
    from tests.factories import make_clinic
    database = Database(database_url)
    fanout = Fanout(database_url, database.engine.sync_engine, target=Bus())
    await fanout.start()
    try:
        clinic = await make_clinic(database)
        async with database.write() as session:
            await clinic_settings.save_clinic(session, clinic.admin, name=name, address='', phone='')
    finally:
        clinic_settings.put_in_force(None)
        await fanout.stop()
        await database.dispose()


# --- 7. HTTPS -------------------------------------------------------------------------------------------------

def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which('openssl')
    if openssl is None:
        pytest.skip('needs openssl to make a certificate')
    cert, key = folder / 'clinic.crt', folder / 'clinic.key'
    subprocess.run([openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
                    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_the_clinic_serves_https_with_its_certificate(data_dir, database_url):
    cert, key = self_signed_certificate(data_dir)
    env = app_env(data_dir, database_url, demo='1', demo_patients='0', ssl_certfile=str(cert), ssl_keyfile=str(key))
    app = start_app(env, data_dir)
    try:
        output = app.wait_for('is ready')
        assert f'Open https://127.0.0.1:{app.port}' in output
        trusted = ssl.create_default_context(cafile=str(cert))  # the browser told to trust this certificate
        status, _, page = get(f'https://127.0.0.1:{app.port}/login', context=trusted)
        assert status == 200 and 'Sign in' in page
        with pytest.raises((http.client.HTTPException, OSError)):  # plain HTTP gets no page
            get(f'http://127.0.0.1:{app.port}/login')
    finally:
        code, output = app.stop()
    assert code == 0 and 'Traceback' not in output


def test_a_certificate_without_its_key_or_a_wrong_key_is_named(data_dir):
    cert, key = self_signed_certificate(data_dir)
    code, output = start_app(app_env(data_dir, 'sqlite+aiosqlite:///x.db', ssl_certfile=str(cert)), data_dir).finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip() == ('Clinic Flow cannot start: HTTPS needs both CLINIC_SSL_CERTFILE and CLINIC_SSL_KEYFILE; '
                              'CLINIC_SSL_KEYFILE is not set')
    (data_dir / 'other').mkdir()
    other_cert, _ = self_signed_certificate(data_dir / 'other')
    env = app_env(data_dir, f'sqlite+aiosqlite:///{data_dir}/x.db', ssl_certfile=str(other_cert), ssl_keyfile=str(key))
    code, output = start_app(env, data_dir, 'mismatch').finished()
    assert code != 0 and 'Traceback' not in output
    assert output.strip().startswith('Clinic Flow cannot start: CLINIC_SSL_CERTFILE / CLINIC_SSL_KEYFILE: ')


# --- 3b. the email sender stops without losing an email, and never marks an unsent one sent -------------------

class SlowInbox:
    """An SMTP server that takes ``delay`` seconds to accept each email (``delay=None``: never answers)."""

    def __init__(self, delay: float | None) -> None:
        self.delay = delay
        self.accepted: list[str] = []
        self.receiving = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.receiving.set()
        if self.delay is None:
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return '451 Try again later'
        await asyncio.sleep(self.delay)
        self.accepted.append(re.search(rb'Message-ID: (\S+)', envelope.content).group(1).decode())
        return '250 Message accepted for delivery'


@pytest.fixture
def slow_smtp(request):
    from aiosmtpd.controller import Controller
    inbox = SlowInbox(request.param)
    controller = Controller(inbox, hostname='127.0.0.1', port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    inbox.release.set()
    controller.stop()


async def queue_emails(db, count: int) -> None:
    from models import OutboxMessage
    async with db.write() as session:
        session.add_all(OutboxMessage(dedupe_key=f'test:{n}', message_id=f'<mail-{n}@clinic.test>',
                                    to_address=f'patient{n}@example.test', subject=f'Email {n}', body_text='Hello')
                        for n in range(count))
        await session.commit()


async def outbox_states(db) -> dict[str, tuple]:
    from sqlmodel import select

    from models import OutboxMessage
    async with db.read() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return {row.message_id: (row.status.value, row.next_attempt_at, row.attempts) for row in rows}


def sender_settings(port: int) -> Settings:
    return Settings(smtp_host='127.0.0.1', smtp_port=port, smtp_starttls=False, smtp_from='clinic@example.test')


@pytest.mark.parametrize('slow_smtp', [None], indirect=True)
async def test_stopping_while_the_smtp_server_hangs_hands_the_claimed_emails_back(db, slow_smtp, monkeypatch):
    from models.types import utcnow
    from services import mailer
    monkeypatch.setattr(mailer, 'STOP_TIMEOUT_S', 0.3)
    await queue_emails(db, 3)
    sender = mailer.Mailer(sender_settings(slow_smtp.port))
    sender.start()
    await asyncio.to_thread(slow_smtp.receiving.wait, 10)  # the first email is in flight, the batch is claimed
    began = time.monotonic()
    await sender.stop()
    assert time.monotonic() - began < 5  # the shutdown does not wait out the SMTP timeout (20 s)
    states = await outbox_states(db)
    assert {status for status, _, _ in states.values()} == {'pending'}  # none left claimed, none marked sent
    assert all(due <= utcnow() for _, due, _ in states.values())  # due at once for the next start, not in minutes


@pytest.mark.parametrize('slow_smtp', [0.2], indirect=True)
async def test_stopping_mid_batch_marks_sent_exactly_what_the_server_accepted(db, slow_smtp):
    from services import mailer
    await queue_emails(db, 5)
    sender = mailer.Mailer(sender_settings(slow_smtp.port))
    sender.start()
    await asyncio.to_thread(slow_smtp.receiving.wait, 10)
    await sender.stop()
    states = await outbox_states(db)
    sent = {message_id for message_id, (status, _, _) in states.items() if status == 'sent'}
    assert sent == set(slow_smtp.accepted) and len(sent) < 5  # stopped after the email in hand
    assert {status for message_id, (status, _, _) in states.items() if message_id not in sent} == {'pending'}


async def test_after_many_screens_were_forgotten_their_memory_is_collected_and_given_back_in_the_lull(monkeypatch):
    """Boards switched off leave reference cycles behind: after a burst of forgotten tabs the server collects them
    once things are quiet and returns the freed heap to the system, instead of keeping it until much later."""
    from clinic_ui import startup as shell
    done: list[str] = []
    monkeypatch.setattr(shell.gc, 'collect', lambda: done.append('collect'))
    monkeypatch.setattr(shell, 'give_back_free_memory', lambda: done.append('trim'))
    collector = shell.QuietCollector(burst=3, lull=0.05)
    for _ in range(2):
        collector.on_delete()
    await asyncio.sleep(0.1)
    assert done == []  # two tabs are not a burst
    collector.on_delete()
    await asyncio.sleep(0.02)
    assert done == []  # not while tabs are still going
    await asyncio.sleep(0.1)
    assert done == ['collect', 'trim']
    for _ in range(3):
        collector.on_connect()
    await asyncio.sleep(0.1)
    assert done == ['collect', 'trim', 'collect']  # after new screens: collected, nothing to give back

