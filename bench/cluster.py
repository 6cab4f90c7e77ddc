"""The scaled-out layout on one machine, for a trial and for the benchmarks: N app processes behind HAProxy, sharing
PostgreSQL (data, and events between processes) and Redis (sessions).

    .venv/bin/python bench/cluster.py                      # 3 processes, demo data, http://127.0.0.1:8080
    .venv/bin/python bench/cluster.py --processes 2 --port 9000 --no-demo \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1/clinic --redis-url redis://127.0.0.1:6379/0

Needs PostgreSQL and Redis running (the defaults: 127.0.0.1, user postgres) and HAProxy installed
(`apt-get install haproxy`). Creates the database when it is missing, starts the first process (which migrates and,
with the demo, loads it), then the others, writes the HAProxy configuration (sticky cookie, health checks on
/healthz, a dead process's browsers sent to another) and runs HAProxy. Prints the address to open, each process's
own port and HAProxy's statistics page. Ctrl+C stops everything; the data folder (logs, the shared storage
secret, haproxy.cfg) stays for a look. The same layout for a real installation is in the README.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.startup import free_port  # noqa: E402

HAPROXY_CFG = '''global
    maxconn {maxconn}
    log stdout format raw local0 warning

defaults
    mode http
    log global
    option redispatch          # a process that died: its browsers go to another one
    option forwardfor          # the visitor's address for the rate limits (CLINIC_TRUSTED_PROXIES)
    retries 2
    timeout connect 3s
    timeout client 65s
    timeout server 65s
    timeout tunnel 1h          # websockets: a board stays connected all day
    timeout http-request 10s

frontend clinic
    bind {host}:{port}
    default_backend app

backend app
    balance roundrobin
    cookie CLINICSERVER insert indirect nocache httponly   # sticky: a tab's page and its socket reach one process
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
{servers}

listen stats
    bind {host}:{stats_port}
    stats enable
    stats uri /
    stats refresh 2s
'''


class Cluster:
    """N ``python main.py`` processes and an HAProxy in front of them."""

    def __init__(self, processes: int, database_url: str, redis_url: str, data_dir: Path, *, port: int,
                 host: str = '127.0.0.1', demo: bool = True, extra_env: dict[str, str] | None = None,
                 app_dir: Path = ROOT) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.stats_port = free_port()
        self.demo = demo
        self.app_dir = app_dir
        self.ports = [free_port() for _ in range(processes)]
        self.apps: list[subprocess.Popen | None] = [None] * processes
        self.log_start = [0] * processes  # where each process's current start begins in its log
        self.haproxy: subprocess.Popen | None = None
        self.extra_env = extra_env or {}
        secret_file = data_dir / 'storage_secret.shared'
        if not secret_file.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secrets.token_urlsafe(48))
            secret_file.chmod(0o600)
        self.secret = secret_file.read_text().strip()

    @property
    def url(self) -> str:
        return f'http://{self.host}:{self.port}'

    def app_url(self, index: int) -> str:
        return f'http://127.0.0.1:{self.ports[index]}'

    def log(self, index: int) -> Path:
        return self.data_dir / f'app{index + 1}.log'

    def env(self, index: int) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(('CLINIC_', 'NICEGUI_', 'PYTEST'))}
        return {**inherited, 'CLINIC_DATABASE_URL': self.database_url, 'CLINIC_REDIS_URL': self.redis_url,
                'CLINIC_STORAGE_SECRET': self.secret, 'CLINIC_HOST': '127.0.0.1',
                'CLINIC_PORT': str(self.ports[index]), 'CLINIC_TRUSTED_PROXIES': '127.0.0.1/32',
                'CLINIC_DATA_DIR': str(self.data_dir / 'data'),  # shared: result files, backups
                'CLINIC_DEMO': '1' if self.demo and index == 0 else '0',
                **({'CLINIC_LANGUAGE': 'vi'} if self.demo else {}),  # the demo clinic is Vietnamese (as --demo)
                **self.extra_env}

    def start_app(self, index: int) -> None:
        self.log_start[index] = self.log(index).stat().st_size if self.log(index).exists() else 0
        log = open(self.log(index), 'a')  # noqa: SIM115 - the process writes it as long as it runs
        self.apps[index] = subprocess.Popen([sys.executable, 'main.py'], cwd=self.app_dir, env=self.env(index),
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, index: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while 'is ready' not in self.log(index).read_text()[self.log_start[index]:]:  # this start's own lines
            process = self.apps[index]
            if process is None or process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'app {index + 1} did not start:\n{self.log(index).read_text()[-3000:]}')
            time.sleep(0.1)

    def write_haproxy_config(self) -> Path:
        servers = '\n'.join(f'    server app{i + 1} 127.0.0.1:{port} check cookie app{i + 1}'
                            for i, port in enumerate(self.ports))
        path = self.data_dir / 'haproxy.cfg'
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # two descriptors per connection, and some
        maxconn = max(256, min(10_000, (hard if hard != resource.RLIM_INFINITY else 65_536) // 2 - 100))
        path.write_text(HAPROXY_CFG.format(host=self.host, port=self.port, stats_port=self.stats_port,
                                           servers=servers, maxconn=maxconn))
        return path

    def start(self) -> None:
        asyncio.run(create_database(self.database_url))
        self.start_app(0)  # migrates the database (and loads the demo) before the others come
        self.wait_ready(0)
        for index in range(1, len(self.ports)):
            self.start_app(index)
        for index in range(1, len(self.ports)):
            self.wait_ready(index)
        haproxy = shutil.which('haproxy') or '/usr/sbin/haproxy'
        config = self.write_haproxy_config()
        check = subprocess.run([haproxy, '-c', '-q', '-f', str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f'HAProxy refused its configuration:\n{check.stdout}{check.stderr}')
        self.haproxy = subprocess.Popen([haproxy, '-db', '-f', str(config)],
                                        stdout=open(self.data_dir / 'haproxy.log', 'a'), stderr=subprocess.STDOUT)
        wait_for_port(self.host, self.port)

    def kill(self, index: int) -> None:
        """The process dies (as in a crash: no clean stop)."""
        process = self.apps[index]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in [self.haproxy, *self.apps]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [self.haproxy, *self.apps]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


async def create_database(database_url: str) -> None:
    """The PostgreSQL database of the URL, created when it does not exist yet."""
    import asyncpg
    from sqlalchemy.engine import make_url
    url = make_url(database_url)
    connection = await asyncpg.connect(host=url.host or '127.0.0.1', port=url.port or 5432,
                                       user=url.username or 'postgres', password=url.password, database='postgres')
    try:
        if not await connection.fetchval('SELECT 1 FROM pg_database WHERE datname = $1', url.database):
            await connection.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await connection.close()


def wait_for_port(host: str, port: int, timeout: float = 20) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f'nothing listens on {host}:{port}')


def _interrupted(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--processes', type=int, default=3)
    parser.add_argument('--port', type=int, default=8080, help="HAProxy's port: the address to open")
    parser.add_argument('--host', default='127.0.0.1', help='0.0.0.0: reachable from tablets and TVs on the LAN')
    parser.add_argument('--database-url', default='postgresql+asyncpg://postgres@127.0.0.1/clinic_trial')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/0')
    parser.add_argument('--no-demo', action='store_true', help='an empty clinic (the first-run set-up)')
    parser.add_argument('--data-dir', type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix='clinic-cluster-'))
    cluster = Cluster(args.processes, args.database_url, args.redis_url, data_dir, port=args.port, host=args.host,
                      demo=not args.no_demo)
    signal.signal(signal.SIGTERM, _interrupted)  # stopped by the system: as with Ctrl+C
    print(f'Starting {args.processes} app processes and HAProxy (logs in {data_dir}) …', flush=True)
    try:
        cluster.start()
        banner = cluster.log(0).read_text()
        accounts = banner[banner.find('Demo accounts'):].split('\n\n')[0] if 'Demo accounts' in banner else ''
        print(f'\nClinic Flow is ready: open {cluster.url}')
        for index, port in enumerate(cluster.ports):
            print(f'  app {index + 1}: http://127.0.0.1:{port}  (log: {cluster.log(index)})')
        print(f"  HAProxy's statistics: http://{args.host}:{cluster.stats_port}/")
        key = re.search(r'/board\?key=([\w-]+)', banner)
        if key:
            print(f'  Waiting-room TV: {cluster.url}/board?key={key.group(1)}')
        if accounts:
            print('\n' + accounts)
        print('\nCtrl+C stops everything.', flush=True)
        while all(process.poll() is None for process in [cluster.haproxy, *cluster.apps] if process is not None):
            time.sleep(1)
        print('A process stopped: stopping the others.')
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
