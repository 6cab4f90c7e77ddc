"""Reception latency at scale: patient search and free-slot search with 100,000 patients.

    .venv/bin/python bench/reception.py [--patients 100000] [--database-url postgresql+asyncpg://.../empty_db]

Fills a fresh database with the demo clinic, adds patients up to --patients (plus a year of appointments),
then times each kind of search 50 times and prints p50 / p95 / max in milliseconds.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import Doctor, Patient, Service, Sex, User  # noqa: E402
from services import booking, demo, patients, users  # noqa: E402
from services.core.db import Database  # noqa: E402
from services.core.migrate import upgrade  # noqa: E402
from services.text import search_key  # noqa: E402

TZ = ZoneInfo('Asia/Ho_Chi_Minh')
RUNS = 50


async def add_patients(database: Database, target: int) -> None:
    rng = random.Random(11)
    families, weights = zip(*demo.FAMILY_NAMES)
    async with database.write() as session:
        start = (await session.exec(sa.select(sa.func.max(Patient.id)))).one()[0] or 0
        rows = []
        for number in range(start + 1, target + 1):
            sex = rng.choice([Sex.FEMALE, Sex.MALE])
            name = ' '.join([rng.choices(families, weights)[0], rng.choice(demo.MIDDLE_NAMES[sex]),
                             rng.choice(demo.GIVEN_NAMES[sex])])
            rows.append({'id': number, 'code': f'P{number:07d}', 'full_name': name, 'search_name': search_key(name),
                         'date_of_birth': date(1940, 1, 1) + timedelta(days=rng.randrange(30_000)), 'sex': sex,
                         'phone': f'09{rng.randrange(10**8):08d}', 'allergies': '', 'notes': '',
                         'created_at': datetime.now(timezone.utc), 'updated_at': datetime.now(timezone.utc)})
            if len(rows) == 10_000:
                await session.exec(sa.insert(Patient.__table__), params=rows)
                rows = []
        if rows:
            await session.exec(sa.insert(Patient.__table__), params=rows)
        if not database.is_sqlite:
            await session.exec(sa.text("SELECT setval(pg_get_serial_sequence('patients', 'id'), "
                                       "(SELECT MAX(id) FROM patients))"))
        await session.commit()


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f'p50 {statistics.median(samples):7.1f}  p95 {p95:7.1f}  max {samples[-1]:7.1f}'


async def timed(make_call) -> list[float]:
    result = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await make_call()
        result.append((time.perf_counter() - began) * 1000)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--patients', type=int, default=100_000)
    parser.add_argument('--database-url', help='an EMPTY database (default: a fresh SQLite file)')
    args = parser.parse_args()
    url = args.database_url or f'sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / "bench.db"}'
    database = Database(url)
    await upgrade(database)
    today = datetime.now(TZ).date()
    began = time.perf_counter()
    async with database.write() as session:
        await demo.load_demo(session, password='bench-pass-1', today=today, tz=TZ, patients=2000)
    await add_patients(database, args.patients)
    print(f'database: {url.split("://")[0]}, {args.patients:,} patients, filled in {time.perf_counter() - began:.1f} s')

    async with database.read() as session:
        user = (await session.exec(sa.select(User).where(User.username == 'reception'))).scalars().one()
        actor = users.actor_of(user)
        some = (await session.exec(sa.select(Patient).where(Patient.id == args.patients // 2))).scalars().one()
        doctor_ids = list((await session.exec(sa.select(Doctor.id))).scalars().all())
        service = (await session.exec(sa.select(Service).where(Service.kind == 'consultation'))).scalars().first()
        doctors = await booking.doctors_for(session, service_id=service.id)

    async def search(text: str):
        async with database.read() as session:
            return await patients.search(session, actor, text)

    print(f'\n{"patient search (ms)":<44} {"":>4}')
    for label, text in (('name, two words ("nguyen van")', 'nguyen van'),
                        ('name, rare word ("thao tran")', 'thao tran'),
                        ('name, one short word ("an")', 'an'),
                        ('phone, last 4 digits', some.phone[-4:]),
                        ('phone, full number', some.phone),
                        ('patient code', some.code),
                        ('date of birth', some.date_of_birth.strftime('%d/%m/%Y'))):
        hits = len(await search(text))
        print(f'  {label:<42} {summary(await timed(lambda t=text: search(t)))}   ({hits} shown)')

    now = datetime.now(timezone.utc)

    async def slots(ids: list[int], days: int):
        async with database.read() as session:
            return await booking.free_slots(session, service_id=service.id, doctor_ids=ids, start_day=today,
                                            days=days, tz=TZ, now=now)

    print('\nfree-slot search (ms)')
    for label, ids, days in (('one doctor, 7 days', [doctors[0].id], 7), ('any doctor, 7 days', [d.id for d in doctors], 7),
                             ('all 10 doctors, 7 days', doctor_ids, 7), ('one doctor, 30 days', [doctors[0].id], 30)):
        found = sum(len(v) for v in (await slots(ids, days)).values())
        print(f'  {label:<42} {summary(await timed(lambda i=ids, d=days: slots(i, d)))}   ({found} free)')
    await database.dispose()


if __name__ == '__main__':
    asyncio.run(main())
