"""How long an event committed by one app process takes to reach another one through PostgreSQL (the fanout).

    .venv/bin/python bench/fanout_latency.py postgresql+asyncpg://postgres@127.0.0.1/clinic [--events 200] [--runs 3]

The sender (this process) commits ``--events`` transactions, each publishing one QueueChanged (its pg_notify goes
with the commit), a few milliseconds apart; a listener in a separate process (``services.core.fanout.Fanout``, as
each app process runs it) stamps each event when it reaches its subscribers (its bus, on its event loop). Both
read the same clock (CLOCK_MONOTONIC, shared by the processes of one machine). Printed per run: the latency to
the delivery in the other process, p50 / p95 / max, from the call to commit (the notification leaves with the
COMMIT) and from the moment the commit returned to the sender (the other process often has it before: then
negative); the events delivered / sent; the machine's load average. The database needs only the app's schema (any migrated clinic database; nothing is
written but NOTIFYs on a channel of its own).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHANNEL = 'clinic_bench_fanout'


def listen(url: str, ready, stamps) -> None:
    """The other process: hears the events, stamps each one's arrival."""
    from services.core.db import Database
    from services.core.events import Bus, QueueChanged
    from services.core.fanout import Fanout

    async def run() -> None:
        database = Database(url)
        target = Bus()
        arrived: dict[int, float] = {}
        target.subscribe(QueueChanged, lambda event: arrived.setdefault(event.ticket_id, time.monotonic()))
        fanout = Fanout(url, database.engine.sync_engine, target=target, channel=CHANNEL, origin='listener')
        await fanout.start()
        ready.set()
        while True:
            await asyncio.sleep(0.2)
            if arrived.get(-1):
                break
        stamps.update(arrived)
        await fanout.stop()
        await database.dispose()
    asyncio.run(run())


async def send(url: str, count: int) -> tuple[dict[int, float], dict[int, float]]:
    import sqlalchemy as sa

    from services.core.db import Database
    from services.core.events import Bus, QueueChanged, publish
    from services.core.fanout import Fanout

    database = Database(url)
    fanout = Fanout(url, database.engine.sync_engine, target=Bus(), channel=CHANNEL, origin='sender')
    await fanout.start()
    started: dict[int, float] = {}
    committed: dict[int, float] = {}
    try:
        for number in [*range(count), -1]:
            async with database.write() as session:
                await session.exec(sa.text('SELECT 1'))
                publish(session, QueueChanged(queue_id=1, ticket_id=number, action='called'))
                started[number] = time.monotonic()
                await session.commit()
                committed[number] = time.monotonic()
            await asyncio.sleep(random.uniform(0.005, 0.02))
    finally:
        await fanout.stop()
        await database.dispose()
    return started, committed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('url')
    parser.add_argument('--events', type=int, default=200)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    context = multiprocessing.get_context('spawn')
    for run in range(1, args.runs + 1):
        with context.Manager() as manager:
            ready, stamps = manager.Event(), manager.dict()
            listener = context.Process(target=listen, args=(args.url, ready, stamps))
            listener.start()
            if not ready.wait(60):
                raise SystemExit('the listener did not start')
            started, committed = asyncio.run(send(args.url, args.events))
            listener.join(60)
            arrived = dict(stamps)
        load = ' '.join(f'{value:.2f}' for value in os.getloadavg())
        for name, base in (('commit called', started), ('commit returned', committed)):
            latencies = [(arrived[n] - base[n]) * 1000 for n in range(args.events) if n in arrived]
            print(f'run {run}: from {name:<15} to the other process  p50 {statistics.median(latencies):6.2f} ms  '
                  f'p95 {percentile(latencies, 0.95):6.2f} ms  max {max(latencies):6.2f} ms  '
                  f'delivered {len(latencies)}/{args.events}  load {load}', flush=True)


if __name__ == '__main__':
    main()
