"""Receipts per second, A4 and 80 mm, as the cashier's download builds them (fonts prepared once per process).

    .venv/bin/python bench/receipts.py [--seconds 5] [--threads 2]

Prints receipts per second for one thread per layout, then with ``--threads`` worker threads (the app renders
in ``asyncio.to_thread``, so this is what several cashiers printing at once get; fpdf2 is pure Python, so the
GIL limits the gain).
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services import receipts  # noqa: E402
from services.documents import prepare_fonts  # noqa: E402

CLINIC = receipts.ClinicHeader('Phòng khám Đa khoa Hòa Bình', '12 Lê Lợi, Quận 1, TP. Hồ Chí Minh', '028 3822 1234')
TZ = ZoneInfo('Asia/Ho_Chi_Minh')


def rate(layout: str, seconds: float, threads: int) -> tuple[float, float]:
    """(receipts per second, mean ms per receipt) over ``seconds``."""
    data = receipts.sample_receipt(datetime.now(timezone.utc))
    deadline = time.perf_counter() + seconds

    def work() -> int:
        count = 0
        while time.perf_counter() < deadline:
            receipts.receipt_pdf(data, CLINIC, layout=layout, tz=TZ)
            count += 1
        return count

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(lambda _: work(), range(threads)))
    elapsed = time.perf_counter() - start
    return done / elapsed, elapsed * 1000 * threads / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=5)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    prepare_fonts()
    print(f'fonts prepared once per process: {(time.perf_counter() - started) * 1000:.0f} ms')
    for layout in ('a4', 'thermal'):
        receipts.receipt_pdf(receipts.sample_receipt(datetime.now(timezone.utc)), CLINIC, layout=layout, tz=TZ)
        for threads in (1, args.threads):
            per_second, ms = rate(layout, args.seconds, threads)
            print(f'{receipts.LAYOUTS[layout]:>6} receipt, {threads} thread(s): {per_second:6.1f} receipts/s '
                  f'({ms:.1f} ms each)')


if __name__ == '__main__':
    main()
