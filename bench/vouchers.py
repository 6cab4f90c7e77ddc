"""How fast the vouchers page reads with 100,000 vouchers, and how fast the cashier's code look-up is.

    .venv/bin/python bench/vouchers.py [--vouchers 100000] [--database-url postgresql+asyncpg://...]

Makes a fresh database (a temporary SQLite file unless ``--database-url`` names an empty PostgreSQL one), inserts
the vouchers in bulk (a tenth limited to a service, a third with a campaign name), then times, through the
services: the first page, a page deep in the list (offset 99,950), a search by part of a code, the usage of one
voucher, and a voucher applied on a bill (the code looked up among all of them). Prints the median of 5 runs each.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(count: int, url: str) -> None:
    import sqlalchemy as sa

    from models import Invoice, InvoiceItem, InvoiceItemKind, Patient, Role, Service, ServiceKind, User, Voucher
    from models.billing import VoucherService
    from services import billing, users, vouchers
    from services.core.db import Database
    from services.core.migrate import upgrade

    database = Database(url)
    await upgrade(database)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    async with database.write() as session:
        admin = User(username='admin', full_name='Admin', role=Role.ADMIN, password_hash='x')
        cashier = User(username='cashier', full_name='Cashier', role=Role.CASHIER, password_hash='x')
        service = Service(code='L1', name='Blood count', kind=ServiceKind.LAB, duration_minutes=10, price=90_000)
        patient = Patient(code='P1', full_name='An', search_name='an', phone='0901')
        session.add_all([admin, cashier, service, patient])
        await session.flush()
        invoice = Invoice(number='INV-1', patient_id=patient.id, subtotal=90_000, total=90_000)
        session.add(invoice)
        await session.flush()
        session.add(InvoiceItem(invoice_id=invoice.id, kind=InvoiceItemKind.SERVICE, description='Blood count',
                                service_id=service.id, unit_price=90_000, line_total=90_000))
        await session.commit()
        ids = (admin.id, cashier.id, service.id, invoice.id)
    admin_actor, cashier_actor = [users.actor_of(u) for u in (admin, cashier)]
    started = time.perf_counter()
    codes = [vouchers.generate_code() for __ in range(count)]
    for start in range(0, count, 5_000):
        async with database.write() as session:
            await session.exec(sa.insert(Voucher), params=[
                {'code': codes[n], 'percent_off': 10 if n % 2 else None, 'amount_off': None if n % 2 else 20_000,
                 'max_uses': 1 + n % 5, 'uses': 0, 'is_active': True, 'created_by_id': ids[0], 'created_at': now,
                 'description': 'Tết 2027' if n % 3 == 0 else ''} for n in range(start, min(count, start + 5_000))])
            await session.flush()
            first = (await session.exec(sa.select(sa.func.min(Voucher.id)).where(Voucher.code == codes[start]))) \
                .one()[0]
            await session.exec(sa.insert(VoucherService), params=[
                {'voucher_id': first + n, 'service_id': ids[2]} for n in range(0, min(5_000, count - start), 10)])
            await session.commit()
    print(f'{count:,} vouchers inserted in {time.perf_counter() - started:.1f} s ({url.split(":")[0]})')

    async def timed(label: str, work) -> None:
        runs = []
        for __ in range(5):
            async with database.read() as session:
                began = time.perf_counter()
                await work(session)
                runs.append(time.perf_counter() - began)
        print(f'{label:<42} {statistics.median(runs) * 1000:8.1f} ms')

    await timed('first page (50, newest first, with count)',
                lambda s: vouchers.list_vouchers(s, admin_actor, offset=0, limit=50))
    await timed(f'last page (offset {count - 50:,})',
                lambda s: vouchers.list_vouchers(s, admin_actor, offset=count - 50, limit=50))
    await timed('search by part of a code', lambda s: vouchers.list_vouchers(s, admin_actor, search=codes[777][5:9]))
    await timed('one voucher\'s usage', lambda s: vouchers.voucher_usage(s, admin_actor, 4242))
    cashier_actor = users.actor_of(cashier)
    runs = []
    for n in range(5):
        async with database.write() as session:
            began = time.perf_counter()
            await billing.apply_voucher(session, cashier_actor, ids[3], codes[1000 + n * 2 + 1].lower(),
                                        today=now.date(), now=now)
            runs.append(time.perf_counter() - began)
    print(f'{"cashier applies a code (look-up + use)":<42} {statistics.median(runs) * 1000:8.1f} ms')
    await database.dispose()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--vouchers', type=int, default=100_000)
    parser.add_argument('--database-url', default='')
    args = parser.parse_args()
    url = args.database_url or f'sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / "vouchers.db"}'
    asyncio.run(main(args.vouchers, url))
