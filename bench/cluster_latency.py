"""Boards spread over several app processes behind HAProxy: how fast a call reaches every one, and what each costs.

    .venv/bin/python bench/cluster_latency.py [--layouts 1x300 3x300 4x1000] [--calls 20] [--runs 1]

For each layout (processes x boards) starts the trial layout of bench/cluster.py (N app processes on PostgreSQL,
sessions in Redis, HAProxy in front), opens the boards through HAProxy (each new board lands on the next process,
round robin) from 4 load-generating processes apart from the servers, and has the demo doctor press "Call next"
on process 1 (NiceGUI's real socket protocol, as bench/board_latency.py). The call reaches the boards on the other
processes through PostgreSQL's notifications.

Printed per layout: from the commit of the call (the event log of process 1) and from the click to the new number
at every board, p50 / p95 / max; updates delivered / expected; the servers' resident memory per board (all
processes together); the machine's load. Then the ratio of the p95s of the first two layouts (e.g. 300 boards on
1 process versus 3). Needs PostgreSQL, Redis and HAProxy, like the trial.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.board_latency import (  # noqa: E402
    PASSWORD,
    Boards,
    open_page,
    percentile,
    prepare,
    see_patient,
    signed_in,
    summary,
)
from bench.cluster import Cluster  # noqa: E402
from bench.startup import free_port, rss_mb  # noqa: E402


def committed(event_log: Path, label: str) -> float:
    for line in reversed(event_log.read_text(encoding='utf-8').splitlines()):
        moment, topic, payload = line.split(' ', 2)
        event = json.loads(payload)
        if topic == 'queue' and event.get('label') == label and event.get('action') == 'called':
            return float(moment)
    raise RuntimeError(f'no commit of the call of {label}')


def servers_rss(cluster: Cluster) -> float:
    return sum(rss_mb(process.pid) for process in cluster.apps if process is not None)


async def measure(cluster: Cluster, key: str, boards: int, calls: int, first_number: int, generators: int) -> dict:
    doctor_base = cluster.app_url(0)
    doctor_http = await signed_in(doctor_base, 'doctor')
    doctor = await open_page(doctor_http, doctor_base, '/consultation', 'worklist')
    call_id, _ = await doctor.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Call next')
    await asyncio.sleep(1)
    before = servers_rss(cluster)
    tvs = await asyncio.to_thread(Boards, cluster.url, key, boards, generators)
    await asyncio.sleep(5)
    after = servers_rss(cluster)
    await doctor.emit(call_id, 'click', {})  # warm-up
    await see_patient(doctor)
    await asyncio.sleep(1.5)
    from_commit: list[float] = []
    from_click: list[float] = []
    for index in range(calls):
        label = f'A-{first_number + 1 + index:03d}'
        await asyncio.to_thread(tvs.watch, label)
        clicked = time.monotonic()
        await doctor.emit(call_id, 'click', {})
        arrivals = await asyncio.to_thread(tvs.collect, label)
        commit = committed(cluster.data_dir / 'events.log', label)
        from_commit += [(moment - commit) * 1000 for moment in arrivals]
        from_click += [(moment - clicked) * 1000 for moment in arrivals]
        if os.environ.get('BENCH_VERBOSE'):
            print(f'  {label}: {len(arrivals)}/{boards}, from the commit p95 '
                  f'{percentile([(m - commit) * 1000 for m in arrivals], 0.95):.0f} ms', flush=True)
        await see_patient(doctor)
        await asyncio.sleep(0.5)
    await asyncio.to_thread(tvs.close)
    await doctor.close()
    await doctor_http.aclose()
    return {'commit': summary(from_commit), 'click': summary(from_click), 'delivered': len(from_commit),
            'expected': calls * boards, 'mb_per_board': (after - before) / boards, 'load': os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--layouts', nargs='+', default=['1x300', '3x300', '4x1000'], help='processes x boards')
    parser.add_argument('--calls', type=int, default=20)
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--generators', type=int, default=4, help='processes the simulated boards are spread over')
    parser.add_argument('--database-url', default='postgresql+asyncpg://postgres@127.0.0.1/clinic_cluster_bench')
    parser.add_argument('--redis-url', default='redis://127.0.0.1:6379/0')
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix='clinic-cluster-bench-'))
    results = []
    key = None
    for layout in args.layouts:
        processes, boards = (int(part) for part in layout.split('x'))
        for run in range(1, args.runs + 1):
            cluster = Cluster(processes, args.database_url, args.redis_url, data_dir, port=free_port(),
                              extra_env={'CLINIC_DEMO_PATIENTS': '400', 'CLINIC_DEMO_PASSWORD': PASSWORD,
                                         'CLINIC_EVENT_LOG': str(data_dir / 'events.log'),
                                         'NICEGUI_REDIS_KEY_PREFIX': 'clinic-bench:'})
            try:
                cluster.start()
                if key is None:
                    key = cluster.log(0).read_text().split('/board?key=')[1].split()[0]
                key, first = asyncio.run(prepare(args.database_url, args.calls + 10, key))
                row = asyncio.run(measure(cluster, key, boards, args.calls, first, args.generators))
            finally:
                cluster.stop()
            row.update(layout=layout, run=run)
            results.append(row)
            print(f'{layout} run {run}: p95 {row["commit"][1]:.0f} ms from the commit, '
                  f'{row["delivered"]}/{row["expected"]} delivered, load {row["load"]:.2f}', flush=True)
    print()
    print('"Call next" on process 1 → the new number on every board (boards spread over the processes by HAProxy)')
    print(f'{"layout":>8} {"run":>4} {"commit p50/p95/max ms":>22} {"click p50/p95/max ms":>21} {"delivered":>13} '
          f'{"MB/board":>9} {"load":>5}')
    for row in results:
        commit = '/'.join(f'{v:.0f}' for v in row['commit'])
        click = '/'.join(f'{v:.0f}' for v in row['click'])
        print(f'{row["layout"]:>8} {row["run"]:>4} {commit:>22} {click:>21} {row["delivered"]:>6}/{row["expected"]:<6} '
              f'{row["mb_per_board"]:>9.2f} {row["load"]:>5.2f}')
    if len(args.layouts) >= 2:
        first, second = (statistics.median(r['commit'][1] for r in results if r['layout'] == layout)
                         for layout in args.layouts[:2])
        print(f'\np95 from the commit, {args.layouts[0]} / {args.layouts[1]}: {first / second:.2f}')


if __name__ == '__main__':
    main()
