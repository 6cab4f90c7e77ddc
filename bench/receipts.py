"""Receipts per second, A4 and 80 mm, as the cashier's download builds them.

    .venv/bin/python bench/receipts.py [--seconds 3] [--runs 3] [--threads 2] [--plain] [--profile]

For each layout, with one thread and with ``--threads`` worker threads (the app renders in ``asyncio.to_thread``,
so this is what several cashiers printing at once get; fpdf2 is pure Python, so the GIL limits the gain), prints
``--runs`` runs: receipts per second, p50 / p95 / max milliseconds per receipt and the CPU milliseconds per
receipt (p50), with the machine's load.

``--plain`` loads the fonts the way every document did before ``services.pdf_fonts``: the DejaVu files cut down
once per process (Latin, Vietnamese, Greek, Cyrillic: ~1,800 glyphs) and fpdf2's ``add_font`` on every document.
That is the "before" figure, measurable in the same hour as the "after". ``--profile`` prints where the time of
100 A4 receipts goes (cProfile, cumulative).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fontTools import subset, ttLib  # noqa: E402
from fpdf import FPDF  # noqa: E402

from services import pdf_fonts, receipts  # noqa: E402

CLINIC = receipts.ClinicHeader('Phòng khám Đa khoa Hòa Bình', '12 Lê Lợi, Quận 1, TP. Hồ Chí Minh', '028 3822 1234')
TZ = ZoneInfo('Asia/Ho_Chi_Minh')
# The blocks the fonts were cut down to before (services/documents.py, KEPT_RANGES).
PLAIN_RANGES = ((0x0020, 0x007E), (0x00A0, 0x024F), (0x0300, 0x036F), (0x0370, 0x03FF), (0x0400, 0x04FF),
                (0x1E00, 0x1EFF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF),
                (0x2212, 0x2212), (0x25A0, 0x25FF))


def plain_fonts() -> dict[str, Path]:
    """The fonts as they were prepared before: cut down once, written to files, ``add_font`` per document."""
    folder = Path(tempfile.mkdtemp(prefix='bench-fonts-'))
    paths = {}
    for style, name in pdf_fonts.FONT_FILES.items():
        font = ttLib.TTFont(pdf_fonts.FONT_DIR / name, recalcTimestamp=False)
        options = subset.Options()
        options.layout_features = []
        options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'MATH', 'kern', 'FFTM']
        options.notdef_outline = True
        options.glyph_names = True
        options.name_IDs = ['*']
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[code for first, last in PLAIN_RANGES for code in range(first, last + 1)])
        subsetter.subset(font)
        paths[style] = folder / name
        font.save(paths[style])
    return paths


def use_plain_fonts() -> None:
    paths = plain_fonts()

    def plain_pdf(**kwargs) -> FPDF:
        pdf = FPDF(unit='mm', **kwargs)
        for style, path in paths.items():
            pdf.add_font(pdf_fonts.FONT, style, str(path))
        return pdf

    pdf_fonts.new_pdf = plain_pdf  # the services call pdf_fonts.new_pdf(...) at build time


def run(layout: str, seconds: float, threads: int) -> tuple[float, list[float], list[float]]:
    """(receipts per second, wall-clock ms of each receipt, CPU ms of each receipt) over ``seconds``. The CPU time
    (the thread's own) moves less with the machine's load than the wall clock (on a shared VM it still rises)."""
    data = receipts.sample_receipt(datetime.now(timezone.utc))
    deadline = time.perf_counter() + seconds
    times: list[float] = []
    cpu: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        mine, mine_cpu = [], []
        while time.perf_counter() < deadline:
            started, started_cpu = time.perf_counter(), time.thread_time()
            receipts.receipt_pdf(data, CLINIC, layout=layout, tz=TZ)
            mine.append((time.perf_counter() - started) * 1000)
            mine_cpu.append((time.thread_time() - started_cpu) * 1000)
        with lock:
            times.extend(mine)
            cpu.extend(mine_cpu)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()
    return len(times) / (time.perf_counter() - started), times, cpu


def profile() -> None:
    data = receipts.sample_receipt(datetime.now(timezone.utc))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(100):
        receipts.receipt_pdf(data, CLINIC, layout='a4', tz=TZ)
    profiler.disable()
    pstats.Stats(profiler).sort_stats('cumulative').print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=3)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--plain', action='store_true', help='fonts loaded the old way (add_font per document)')
    parser.add_argument('--profile', action='store_true')
    args = parser.parse_args()
    started = time.perf_counter()
    if args.plain:
        use_plain_fonts()
    else:
        pdf_fonts.prepare()
    gc.collect()
    gc.freeze()  # as the server does after start-up (clinic_ui.startup.tune_garbage_collection)
    print(f'fonts: {"plain (add_font per document)" if args.plain else "prepared once (services.pdf_fonts)"}, '
          f'prepared in {(time.perf_counter() - started) * 1000:.0f} ms; {os.cpu_count()} CPUs')
    for layout in ('a4', 'thermal'):
        receipts.receipt_pdf(receipts.sample_receipt(datetime.now(timezone.utc)), CLINIC, layout=layout, tz=TZ)
        for threads in (1, args.threads):
            for number in range(1, args.runs + 1):
                load = ' '.join(f'{value:.2f}' for value in os.getloadavg())
                per_second, times, cpu = run(layout, args.seconds, threads)
                p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
                print(f'{receipts.LAYOUTS[layout]:>5} {threads} thread(s) run {number}: {per_second:6.1f} receipts/s'
                      f'  p50 {statistics.median(times):5.1f}  p95 {p95:5.1f}  max {max(times):5.1f} ms'
                      f'  CPU p50 {statistics.median(cpu):5.1f} ms  (n={len(times)}, load {load})')
    if args.profile:
        profile()


if __name__ == '__main__':
    main()
