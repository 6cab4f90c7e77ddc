"""Time ``services.demo.load_demo`` on a fresh SQLite file and, optionally, on an empty PostgreSQL database.

    .venv/bin/python bench/demo_load.py
    .venv/bin/python bench/demo_load.py --postgres postgresql+asyncpg://postgres@127.0.0.1/clinic_bench

The PostgreSQL database must exist and be empty (it is migrated here, then filled).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.core.db import Database  # noqa: E402
from services.core.errors import Conflict  # noqa: E402
from services.core.migrate import upgrade  # noqa: E402
from services.demo import load_demo  # noqa: E402


async def run(url: str, *, patients: int, today: date, tz: ZoneInfo) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        started = time.perf_counter()
        async with db.write() as session:
            summary = await load_demo(session, password='demo-clinic', today=today, tz=tz, patients=patients)
        seconds = time.perf_counter() - started
    except Conflict as error:
        print(f'{db.dialect}: {error}')
        return
    finally:
        await db.dispose()
    total = sum(summary.counts.values())
    print(f'\n{db.dialect}: {patients} patients loaded in {seconds:.2f} s ({total} rows)')
    for table, rows in sorted(summary.counts.items(), key=lambda item: -item[1]):
        print(f'  {table:<22} {rows:>7}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--postgres', metavar='URL', help='an empty PostgreSQL database (postgresql+asyncpg://...)')
    parser.add_argument('--patients', type=int, default=2000)
    parser.add_argument('--timezone', default='Asia/Ho_Chi_Minh')
    args = parser.parse_args()
    tz = ZoneInfo(args.timezone)
    today = date.today()
    with tempfile.TemporaryDirectory(prefix='clinic-bench-') as folder:
        asyncio.run(run(f'sqlite+aiosqlite:///{folder}/demo.db', patients=args.patients, today=today, tz=tz))
    if args.postgres:
        asyncio.run(run(args.postgres, patients=args.patients, today=today, tz=tz))


if __name__ == '__main__':
    main()
