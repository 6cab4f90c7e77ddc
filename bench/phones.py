"""How fast a call reaches the patients' phones (their live ticket pages, ``/t/<token>``), and what they cost.

    .venv/bin/python bench/phones.py [--phones 0 100 300] [--calls 15] [--runs 2] [--patients 600]
    .venv/bin/python bench/phones.py --app-dir ../other-checkout   # the same measure of another version
    BENCH_PROFILE=/tmp/profiles ...   # also where the server's time goes (py-spy)

Starts `python main.py` (127.0.0.1 only) on a fresh SQLite demo database and checks in walk-ins for the first
doctor (as bench/board_latency.py, whose simulated browsers it uses: NiceGUI's real socket protocol, frames
time-stamped on arrival, in processes apart from this one). Each phone is the ticket page of a different patient
still waiting in that queue after the last call, so every call changes what every phone shows ("Now serving:
A-012", one patient fewer ahead). The simulated doctor presses "Call next" once to warm up, then ``--calls`` times.

Printed per N and run: from the commit of each call to its arrival on every phone, p50 / p95 / max; updates
delivered / expected; the server's CPU time per call (its user + system time over the calls, divided by them:
includes the doctor's own page and finishing each consultation); its resident memory per open phone.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_latency import (  # noqa: E402
    Boards,
    Server,
    demo_server,
    in_fresh_process,
    open_page,
    prepare,
    print_profile,
    profile,
    see_patient,
    signed_in,
    summary,
)
from bench.startup import rss_mb  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime + stime


async def phone_paths(database_url: str, count: int) -> list[str]:
    """The ticket pages of the last ``count`` patients waiting in the first doctor's queue."""
    from sqlmodel import select

    from models import Doctor, QueueTicket, TicketStatus, User
    from services import queue, ticket_links
    from services.core.clock import local_today
    from services.core.db import Database
    from services.core.settings import get_settings

    settings = get_settings()
    today = local_today(settings.tz)
    database = Database(database_url)
    try:
        async with database.read() as session:
            doctor = (await session.exec(select(Doctor).join(User, User.id == Doctor.user_id)
                                         .where(User.username == 'doctor'))).one()
            queue_id = (await queue.queue_for_doctor(session, doctor.id)).id
            visits = (await session.exec(select(QueueTicket.visit_id).where(
                QueueTicket.queue_id == queue_id, QueueTicket.service_date == today,
                QueueTicket.status == TicketStatus.WAITING).order_by(QueueTicket.number.desc()).limit(count))).all()
    finally:
        await database.dispose()
    return [ticket_links.ticket_path(ticket_links.make_token(visit_id, today, settings)) for visit_id in visits]


async def measure(server: Server, phones: int, calls: int, first_number: int, processes: int) -> dict:
    base = server.url
    doctor_http = await signed_in(base, 'doctor')
    doctor = await open_page(doctor_http, base, '/consultation', 'worklist')
    call_id, _ = await doctor.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Call next')
    paths = await phone_paths(server.database_url, phones) if phones else []
    await asyncio.sleep(1)
    before = rss_mb(server.process.pid)
    watchers = await asyncio.to_thread(Boards, base, '', 0, processes, paths=paths)
    await asyncio.sleep(3)
    after = rss_mb(server.process.pid)
    await doctor.emit(call_id, 'click', {})  # warm-up: the first call of a fresh process is not measured
    await see_patient(doctor)
    await asyncio.sleep(1.5)
    profiler = profile(server.process.pid, phones) if os.environ.get('BENCH_PROFILE') else None
    gc.collect()
    gc.disable()  # this process's own collections would delay reading the frames: measure the server only
    from_commit: list[float] = []
    delivered = 0
    cpu_before = cpu_seconds(server.process.pid)
    for index in range(calls):
        label = f'A-{first_number + 1 + index:03d}'
        await asyncio.to_thread(watchers.watch, label)
        await doctor.emit(call_id, 'click', {})
        arrivals = await asyncio.to_thread(watchers.collect, label) if phones else []
        committed = server.committed(label)
        delivered += len(arrivals)
        from_commit += [(arrived - committed) * 1000 for arrived in arrivals]
        await see_patient(doctor)
        await asyncio.sleep(0.5)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    gc.enable()
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(timeout=60)
        print_profile(Path(os.environ['BENCH_PROFILE']) / f'server-{phones}.txt', shown=40)
    await asyncio.to_thread(watchers.close)
    await doctor.close()
    await doctor_http.aclose()
    return {'phones': phones, 'expected': calls * phones, 'delivered': delivered, 'commit': summary(from_commit),
            'cpu_ms_per_call': cpu * 1000 / calls, 'mb_per_phone': (after - before) / phones if phones else float('nan'),
            'load': os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--phones', type=int, nargs='+', default=[0, 100, 300])
    parser.add_argument('--calls', type=int, default=15)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--patients', type=int, default=600, help='demo patients (more than phones + calls)')
    parser.add_argument('--processes', type=int, default=4, help='processes the simulated phones are spread over')
    parser.add_argument('--app-dir', type=Path, default=ROOT, help='the checkout whose main.py is measured')
    args = parser.parse_args()
    server = demo_server('clinic-phone-bench-', args.patients, args.app_dir)
    results = []
    key = None
    try:
        for phones in args.phones:
            for run in range(1, args.runs + 1):
                key, number = asyncio.run(prepare(server.database_url, args.calls + 1 + max(args.phones), key))
                row = in_fresh_process(server, lambda: measure(server, phones, args.calls, number, args.processes))
                row['run'] = run
                results.append(row)
                print(f'N={phones} run {run}: p95 {row["commit"][1]:.1f} ms from the commit, '
                      f'{row["delivered"]}/{row["expected"]} delivered, {row["cpu_ms_per_call"]:.0f} ms CPU per call, '
                      f'load {row["load"]:.2f}', flush=True)
    finally:
        server.stop()
    print()
    print('"Call next": to every open ticket page of the patients still waiting in that queue, from the commit; the')
    print('server\'s CPU time per call; its memory per open phone; the 1-minute load average when the run ended')
    print(f'{"phones":>7} {"run":>4} {"commit p50/p95/max":>19} {"delivered":>12} {"CPU ms/call":>12} '
          f'{"MB/phone":>9} {"load":>5}')
    for row in results:
        figures = '/'.join(f'{v:.0f}' for v in row['commit'])
        print(f'{row["phones"]:>7} {row["run"]:>4} {figures:>19} {row["delivered"]:>5}/{row["expected"]:<6} '
              f'{row["cpu_ms_per_call"]:>12.0f} {row["mb_per_phone"]:>9.2f} {row["load"]:>5.2f}')


if __name__ == '__main__':
    main()
