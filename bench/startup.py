"""Start-up time and idle memory of the server.

    .venv/bin/python bench/startup.py [--patients 2000] [--database-url URL]

Starts `python main.py` three ways on a fresh data folder and prints: the first start with demo data (loads the
demo), a restart on the same database, and a start on an empty database without demo data; for each, the seconds
until the server first answered (its "starting…" page), until the app printed it was ready, the answers other
than "starting…" (503) seen before ready (should be none), and the server's resident memory once idle (after a
page was served).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def status(url: str) -> int | None:
    """The HTTP status of one GET (redirects not followed), or None while nothing listens."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=5).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def start(data_dir: Path, *, demo: bool, patients: int, database_url: str | None) -> tuple[float, float, float, int]:
    port = free_port()
    env = {**os.environ, 'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_PORT': str(port), 'CLINIC_HOST': '127.0.0.1',
           'CLINIC_DEMO': '1' if demo else '0', 'CLINIC_DEMO_PATIENTS': str(patients)}
    if database_url:
        env['CLINIC_DATABASE_URL'] = database_url
    log_path = data_dir / f'server-{port}.log'
    with open(log_path, 'w') as log:
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        first_answer, early = None, 0
        try:
            while 'is ready' not in log_path.read_text():
                if process.poll() is not None:
                    raise SystemExit('the app did not start:\n' + log_path.read_text())
                answer = status(f'http://127.0.0.1:{port}/reception')
                if answer is not None and first_answer is None:
                    first_answer = time.perf_counter() - began
                if answer is not None and answer != 503 and 'is ready' not in log_path.read_text():
                    early += 1
                time.sleep(0.05)
            ready = time.perf_counter() - began
            urllib.request.urlopen(f'http://127.0.0.1:{port}/login', timeout=10).read()
            time.sleep(2)
            return first_answer or ready, ready, rss_mb(process.pid), early
        finally:
            process.terminate()
            process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--patients', type=int, default=2000)
    parser.add_argument('--database-url', help='an EMPTY database to use instead of a fresh SQLite file')
    args = parser.parse_args()
    demo_dir = Path(tempfile.mkdtemp(prefix='clinic-bench-'))
    first = start(demo_dir, demo=True, patients=args.patients, database_url=args.database_url)
    again = start(demo_dir, demo=True, patients=args.patients, database_url=args.database_url)
    empty = start(Path(tempfile.mkdtemp(prefix='clinic-bench-')), demo=False, patients=0, database_url=None)
    print(f'{"start":<42} {"answers (s)":>12} {"ready (s)":>10} {"idle RSS (MB)":>14} {"not 503 before ready":>21}')
    for label, (answers, seconds, memory, early) in ((f'first start, loads demo ({args.patients} patients)', first),
                                                     ('restart on the demo database', again),
                                                     ('first start, empty database', empty)):
        print(f'{label:<42} {answers:>12.2f} {seconds:>10.2f} {memory:>14.1f} {early:>21}')


if __name__ == '__main__':
    main()
