"""Patient search as you type at 100,000 patients: each query, and the last keystroke → results shown.

    .venv/bin/python bench/search.py [--patients 100000] [--database-url postgresql+asyncpg://.../db] [--runs 3]
    .venv/bin/python bench/search.py --handler old     # how the field behaved before: 300 ms, every text on its own
    .venv/bin/python bench/search.py --browser         # also in headless Chromium, on the real app

Fills a fresh SQLite file (or the given PostgreSQL database: empty, or filled by an earlier run of this script) with
the demo clinic and patients up to --patients, then, three runs each:

- times ``services.patients.search`` for typical inputs (p50 / p95 / max in ms);
- types patients' names, phone endings and codes at ~8 characters a second into a model of the browser's
  debounce (the field's ``debounce`` prop: the value is sent when no key was pressed for SEARCH_DEBOUNCE_S) that
  feeds the field's real handler (``clinic_ui.pickers.LatestOnly``) with the real query, and times the last
  keystroke → results of the last text handed to the page. Not included: the socket round trip and the browser
  drawing the list (a few ms on loopback).
- with --browser: starts the app (main.py) on the same database, signs reception in in headless Chromium and types
  the same kind of texts into the search field at ~8 characters a second (Selenium), timing in the page the last
  key press → the next frame after the list shows exactly the hits the service returns for the whole text.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chart import browser, free_port  # noqa: E402
from bench.reception import TZ, add_patients  # noqa: E402
from clinic_ui import pickers  # noqa: E402
from models import Patient, User  # noqa: E402
from services import demo, patients, users  # noqa: E402
from services.core.db import Database  # noqa: E402
from services.core.migrate import upgrade  # noqa: E402

PASSWORD = 'bench-pass-1'
SAMPLES = 30            # per input and run
KEY_INTERVAL_S = 0.125  # ~8 characters a second
TYPED_PER_RUN = 16


def figures(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, round(len(samples) * 0.95) - 1)]
    return f'{statistics.median(samples):6.1f} {p95:6.1f} {samples[-1]:6.1f}'


def load() -> str:
    return 'load ' + ' '.join(f'{x:.2f}' for x in os.getloadavg())


async def fill(database: Database, target: int) -> None:
    await upgrade(database)
    async with database.read() as session:
        ready = (await session.exec(sa.select(sa.func.count()).select_from(User))).one()[0]
    if not ready:
        async with database.write() as session:
            await demo.load_demo(session, password=PASSWORD, today=datetime.now(TZ).date(), tz=TZ,
                                 patients=2000)
    await add_patients(database, target)
    if database.is_sqlite:
        async with database.write() as session:
            await session.exec(sa.text('ANALYZE'))
            await session.commit()
    else:
        async with database.engine.connect() as connection:
            await connection.execution_options(isolation_level='AUTOCOMMIT')
            await connection.exec_driver_sql('VACUUM ANALYZE patients')


class Typist:
    """Types texts into a model of the browser's debounce, which hands each quiet value to the field's handler."""

    def __init__(self, search, debounce_s: float, handler: str) -> None:
        self.search, self.debounce_s, self.handler = search, debounce_s, handler
        self.shown: list[tuple[str, float]] = []
        self.in_flight = self.most_in_flight = self.queries = 0
        self.tasks: set[asyncio.Task] = set()
        if handler == 'new':
            self.field = pickers.LatestOnly(self.fetch, self.show)

    async def fetch(self, text: str):
        if len(text) < 2:
            return None
        self.queries += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self.search(text)
        finally:
            self.in_flight -= 1

    def show(self, text: str, _hits) -> None:
        self.shown.append((text, time.perf_counter()))

    async def old_handler(self, text: str) -> None:  # before: every debounced text queried and shown on its own
        hits = await self.fetch(text)
        self.show(text, hits)

    def send(self, text: str) -> None:
        handle = self.field.ask(text) if self.handler == 'new' else self.old_handler(text)
        task = asyncio.ensure_future(handle)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def type(self, text: str, rng: random.Random) -> tuple[float, bool]:
        """Last keystroke → results of ``text`` shown (ms), and whether an older text's results came after."""
        self.shown.clear()
        timer: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        for end in range(1, len(text) + 1):
            if timer:
                timer.cancel()
            last_key = time.perf_counter()
            timer = loop.call_later(self.debounce_s, self.send, text[:end])
            if end < len(text):
                await asyncio.sleep(KEY_INTERVAL_S * rng.uniform(0.7, 1.3))
        while not self.shown or self.shown[-1][0] != text or self.tasks:
            await asyncio.sleep(0.001)
        final = next(at for shown, at in self.shown if shown == text)
        stale_after = any(shown != text for shown, _at in self.shown[self.shown.index((text, final)):])
        return (final - last_key) * 1000, stale_after


WATCH = """
const [codes, text] = arguments;
const input = document.querySelector('input[name=patient-search]');
const column = input.closest('.q-field').parentElement;
window.searchTiming = {key: 0, shown: 0};
input.addEventListener('keydown', () => { window.searchTiming = {key: performance.now(), shown: 0}; });
const check = () => {
  const items = [...column.querySelectorAll('.q-item')].filter(item => item.offsetParent !== null)
    .map(item => item.innerText);  // the rows shown (unused rows are kept, hidden)
  if (input.value === text && !window.searchTiming.shown && items.length === codes.length
      && codes.every((code, k) => items[k].includes(code))) {
    requestAnimationFrame(() => { window.searchTiming.shown = performance.now(); });
  }
};
new MutationObserver(check).observe(column, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def start_app(url: str) -> tuple[subprocess.Popen, str, Path]:
    data_dir = Path(tempfile.mkdtemp(prefix='clinic-search-'))
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(('PYTEST', 'NICEGUI', 'CLINIC_'))},
           'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_PORT': str(port), 'CLINIC_HOST': '127.0.0.1',
           'CLINIC_DATABASE_URL': url}
    log_path = data_dir / 'server.log'
    process = subprocess.Popen([sys.executable, 'main.py'], cwd=Path(__file__).resolve().parent.parent, env=env,
                               stdout=log_path.open('w'), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while 'is ready' not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError('the app did not start:\n' + log_path.read_text())
        time.sleep(0.2)
    return process, f'http://127.0.0.1:{port}', data_dir


def in_chromium(url: str, typed: list[list[tuple[str, list[str]]]]) -> None:
    """Type each text (its expected hits' codes known) into reception's search field; print the figures per run."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    process, base, data_dir = start_app(url)
    driver = browser()
    rng = random.Random(9)
    try:
        driver.get(base + '/login')
        field = WebDriverWait(driver, 30).until(EC.element_to_be_clickable((By.NAME, 'username')))
        field.send_keys('reception')
        driver.find_element(By.NAME, 'password').send_keys(PASSWORD + Keys.ENTER)
        WebDriverWait(driver, 30).until(lambda d: '/login' not in d.current_url)
        driver.get(base + '/reception')
        search = WebDriverWait(driver, 30).until(EC.element_to_be_clickable((By.NAME, 'patient-search')))
        for run, texts in enumerate(typed):
            samples = []
            for text, codes in texts:
                search.send_keys(Keys.CONTROL + 'a', Keys.BACKSPACE)
                WebDriverWait(driver, 10).until(lambda d: not d.execute_script(
                    "return [...document.querySelector('input[name=patient-search]').closest('.q-field')"
                    ".parentElement.querySelectorAll('.q-item')].filter(item => item.offsetParent !== null).length"))
                time.sleep(0.3)
                driver.execute_script(WATCH, codes, text)
                for letter in text:
                    search.send_keys(letter)
                    time.sleep(KEY_INTERVAL_S * rng.uniform(0.7, 1.3))
                timing = WebDriverWait(driver, 10, poll_frequency=0.05).until(
                    lambda d: (t := d.execute_script('return window.searchTiming')) and t['shown'] and t)
                samples.append(timing['shown'] - timing['key'])
            print(f'  run {run + 1}: p50 p95 max {figures(samples)}   {len(samples)} texts   {load()}')
    finally:
        driver.quit()
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--patients', type=int, default=100_000)
    parser.add_argument('--database-url', help='PostgreSQL: empty, or filled by this script (default: fresh SQLite)')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--handler', choices=('new', 'old'), default='new')
    parser.add_argument('--browser', action='store_true', help='also type in headless Chromium on the real app')
    args = parser.parse_args()
    url = args.database_url or f'sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / "bench.db"}'
    database = Database(url)
    began = time.perf_counter()
    await fill(database, args.patients)
    print(f'database: {database.dialect}, {args.patients:,} patients, ready in {time.perf_counter() - began:.1f} s; '
          f'{load()}')

    rng = random.Random(5)
    async with database.read() as session:
        user = (await session.exec(sa.select(User).where(User.username == 'reception'))).scalars().one()
        actor = users.actor_of(user)
        some = (await session.exec(sa.select(Patient).where(Patient.id.in_(
            [rng.randrange(3000, args.patients) for _ in range(200)])))).scalars().all()

    async def search(text: str):
        async with database.read() as session:
            return await patients.search(session, actor, text)

    one = some[0]
    inputs = (('name prefix "ng"', 'ng'), ('name prefix "nguy"', 'nguy'), ('name prefix "tran t"', 'tran t'),
              ('full name', one.search_name), ('full name, accents', one.full_name),
              ('given name only ("duc")', 'duc'), ('rare: words out of order', 'thao tran'),
              ('rare: nobody ("xyzw")', 'xyzw'), ('phone, last 4 digits', one.phone[-4:]),
              ('phone, last 6 digits', one.phone[-6:]), ('phone, full number', one.phone),
              ('code, full', one.code), ('code, prefix', one.code[:6]),
              ('date of birth', one.date_of_birth.strftime('%d/%m/%Y')), ('with % and _', '%_n'))
    print(f'\nquery time (ms), {SAMPLES} samples a run{"":<6}' +
          ''.join(f'   run {run + 1}: p50    p95    max' for run in range(args.runs)) + '   hits')
    for label, text in inputs:
        cells = []
        for _run in range(args.runs):
            samples = []
            for _ in range(SAMPLES):
                start = time.perf_counter()
                await search(text)
                samples.append((time.perf_counter() - start) * 1000)
            cells.append(figures(samples))
        print(f'  {label:<44}' + ''.join(f'   {cell}' for cell in cells) + f'   {len(await search(text)):4}')
    print(load())

    debounce = pickers.SEARCH_DEBOUNCE_S if args.handler == 'new' else 0.3
    print(f'\nlast keystroke → results shown (ms), typing ~{1 / KEY_INTERVAL_S:.0f} chars/s, debounce '
          f'{debounce * 1000:.0f} ms, handler {args.handler}, {TYPED_PER_RUN} texts a run')
    for run in range(args.runs):
        typist = Typist(search, debounce, args.handler)
        samples, stale, keys = [], 0, 0
        for number in range(TYPED_PER_RUN):
            patient = some[(run * TYPED_PER_RUN + number) % len(some)]
            text = (patient.search_name if number % 4 < 2 else patient.full_name.lower() if number % 4 == 2
                    else patient.phone[-4:] if number % 8 == 3 else patient.code)
            took, stale_after = await typist.type(text, rng)
            samples.append(took)
            stale += stale_after
            keys += len(text)
        print(f'  run {run + 1}: p50 p95 max {figures(samples)}   queries {typist.queries} for {keys} keystrokes, '
              f'at most {typist.most_in_flight} in flight, older results shown after newer: {stale}   {load()}')
    typed = []
    for run in range(args.runs):
        texts = []
        for number in range(TYPED_PER_RUN // 2):
            patient = some[100 + run * TYPED_PER_RUN + number]
            text = patient.search_name if number % 4 < 2 else patient.phone[-4:] if number % 4 == 2 else patient.code
            texts.append((text, [hit.code for hit in await search(text)]))
        typed.append(texts)
    await database.dispose()
    if args.browser:
        print(f'\nin Chromium: last key press → results drawn (ms), typing ~{1 / KEY_INTERVAL_S:.0f} chars/s, '
              f'debounce {pickers.SEARCH_DEBOUNCE_S * 1000:.0f} ms, the app on this database')
        await asyncio.to_thread(in_chromium, url, typed)


if __name__ == '__main__':
    asyncio.run(main())
