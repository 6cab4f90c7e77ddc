"""An accelerated clinic week for the waiting-room boards: thousands of TVs connecting and leaving while the doctor
calls, and the server's memory through it.

    .venv/bin/python bench/board_soak.py [--cycles 40] [--boards 50] [--calls 5] [--cycle-seconds 5]

Starts `python main.py` on a fresh SQLite demo database (as bench/board_latency.py does). Each cycle opens
``--boards`` boards over NiceGUI's real socket protocol (in separate processes), makes ``--calls`` calls ("Call
next" on the doctor's worklist, then the consultation finished), leaves them on for the rest of
``--cycle-seconds`` and switches them off: 40 cycles of 50
are 2,000 board connections and 200 calls, a week of a TV being switched on and off every morning and after
every power cut in a clinic with a few dozen screens, in a few minutes.

Printed: the server's resident memory after each cycle (NiceGUI forgets a tab 30 s after it left, main.py's
reconnect_timeout, so about three cycles of boards are still remembered at any time), its growth over the second
half (after warm-up) per 1,000 board connections, and the memory 40 s after the last board left compared with
the start and with the plateau. Flat means no board leaves anything behind.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.board_latency import FORGOTTEN_S, Boards, Server, open_page, prepare, see_patient, signed_in  # noqa: E402
from bench.startup import rss_mb  # noqa: E402


async def soak(server: Server, key: str, cycles: int, boards: int, calls: int, processes: int,
               cycle_s: float) -> list[tuple]:
    base = server.url
    doctor_http = await signed_in(base, 'doctor')
    doctor = await open_page(doctor_http, base, '/consultation', 'worklist')
    call_id, _ = await doctor.wait_for(lambda e: e.get('tag') == 'q-btn' and e.get('props', {}).get('label') == 'Call next')
    await asyncio.sleep(2)
    samples = [(0, 0, rss_mb(server.process.pid), os.getloadavg()[0], 0.0)]
    print(f'{"cycle":>5} {"boards so far":>13} {"RSS MB":>7} {"load":>5} {"cycle s":>7}', flush=True)
    print(f'{0:>5} {0:>13} {samples[0][2]:>7.1f} {samples[0][3]:>5.2f}', flush=True)
    for cycle in range(1, cycles + 1):
        started = time.monotonic()
        tvs = await asyncio.to_thread(Boards, base, key, boards, processes)
        for _ in range(calls):
            await doctor.emit(call_id, 'click', {})
            await see_patient(doctor)
        await asyncio.sleep(max(0.0, started + cycle_s - time.monotonic()))  # the TVs stay on a while
        await asyncio.to_thread(tvs.close)
        samples.append((cycle, cycle * boards, rss_mb(server.process.pid), os.getloadavg()[0],
                        time.monotonic() - started))
        print(f'{cycle:>5} {cycle * boards:>13} {samples[-1][2]:>7.1f} {samples[-1][3]:>5.2f} {samples[-1][4]:>7.1f}',
              flush=True)
    await asyncio.sleep(FORGOTTEN_S)
    samples.append(('left', cycles * boards, rss_mb(server.process.pid), os.getloadavg()[0], FORGOTTEN_S))
    await doctor.close()
    await doctor_http.aclose()
    return samples


def slope_per_thousand(points: list[tuple[int, float]]) -> float:
    """Least-squares growth of the memory, MB per 1,000 board connections."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs) or 1
    return 1000 * sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--cycles', type=int, default=40)
    parser.add_argument('--boards', type=int, default=50, help='boards opened and closed in each cycle')
    parser.add_argument('--calls', type=int, default=5, help='calls made while they are open')
    parser.add_argument('--cycle-seconds', type=float, default=5, help='at least this long per cycle')
    parser.add_argument('--processes', type=int, default=2, help='processes the simulated boards are spread over')
    parser.add_argument('--patients', type=int, default=400, help='demo patients (enough to call every cycle)')
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix='clinic-board-soak-'))
    server = Server(data_dir, args.patients)
    print(f'Loading the demo database in {data_dir} …', flush=True)
    server.start()
    server.stop()
    key, _ = asyncio.run(prepare(server.database_url, args.cycles * args.calls + 5, None))
    server.start()
    try:
        samples = asyncio.run(soak(server, key, args.cycles, args.boards, args.calls, args.processes,
                                  args.cycle_seconds))
    finally:
        server.stop()
    cycles = [sample for sample in samples if sample[0] != 'left']
    start = cycles[0][2]
    second_half = [(connections, rss) for cycle, connections, rss, *_ in cycles if cycle > args.cycles // 2]
    plateau = statistics.median(rss for _, rss in second_half)
    left = samples[-1][2]
    print()
    print(f'{args.cycles * args.boards} board connections, {args.cycles * args.calls} calls, '
          f'{sum(sample[4] for sample in cycles):.0f} s')
    print(f'server RSS: {start:.1f} MB at the start, plateau {plateau:.1f} MB (median of the second half), '
          f'{left:.1f} MB {FORGOTTEN_S} s after the last board left')
    print(f'growth over the second half: {slope_per_thousand(second_half):+.2f} MB per 1,000 board connections')
    print(f'load average at the end: {samples[-1][3]:.2f}')


if __name__ == '__main__':
    main()
