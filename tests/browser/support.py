"""Headless Chromium for the browser journeys (Debian's chromium and chromedriver), and the real app they drive."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import ROOT, TEST_DATABASE_URL, free_port, postgres_admin

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
PASSWORD = 'demo-browser-1'  # every demo account's, in the journeys
FLAGS = ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync')


def chromium(size: tuple[int, int], *extra: str, console: bool = False) -> webdriver.Chrome:
    """A fresh headless Chromium of ``size`` (``console``: keep the console log, e.g. to see CSP violations)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f'--user-data-dir={tempfile.mkdtemp(prefix="chromium-")}', *extra):
        options.add_argument(flag)
    if console:
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(*size)
    return driver


def morning_timezone(hour: float = 9.5) -> str:
    """A fixed-offset time zone where the clock now reads about ``hour`` in the morning, so that a journey through
    the demo clinic (doctors' hours, today's slots, walk-ins) works whenever the suite runs."""
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    offset = round(hour - (now.hour + now.minute / 60))
    offset = (offset + 12) % 24 - 12 if offset not in range(-12, 15) else offset
    return 'Etc/GMT' + ('+' if offset <= 0 else '-') + str(abs(offset))  # POSIX signs: Etc/GMT-7 is UTC+7


class DemoApp:
    """The real app on a fixed port and data folder, so it can be killed and started again."""

    def __init__(self, *, patients: int = 60, **env: str) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix='clinic-demo-'))
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.database = None
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(('PYTEST', 'NICEGUI'))}
        self.env = {**inherited, 'CLINIC_DATA_DIR': str(self.data_dir), 'CLINIC_PORT': str(self.port),
                    'CLINIC_HOST': '127.0.0.1', 'CLINIC_DEMO': '1', 'CLINIC_DEMO_PATIENTS': str(patients),
                    'CLINIC_DEMO_PASSWORD': PASSWORD}
        self.env.pop('CLINIC_STORAGE_SECRET', None)  # the app must create its own
        self.env.update(env)
        if TEST_DATABASE_URL.startswith('postgresql'):
            self.database = f'clinic_demo_{os.getpid()}_{self.port}'
            asyncio.run(postgres_admin(f'CREATE DATABASE {self.database}'))
            self.env['CLINIC_DATABASE_URL'] = TEST_DATABASE_URL.rsplit('/', 1)[0] + '/' + self.database
        else:
            self.env['CLINIC_DATABASE_URL'] = f'sqlite+aiosqlite:///{self.data_dir / "clinic.db"}'
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log_path = self.data_dir / 'server.log'
        with open(log_path, 'a') as log:
            offset = log_path.stat().st_size
            self.process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while 'is ready' not in log_path.read_text()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('the app did not start:\n' + log_path.read_text())
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        if self.database:
            asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS {self.database} WITH (FORCE)'))

    def speaks(self, username: str, language: str) -> None:
        """The account's own language (its screens are written in it from the next sign-in)."""
        from sqlmodel import update

        from models import User
        from services.core.db import Database

        async def change() -> None:
            database = Database(self.env['CLINIC_DATABASE_URL'])
            try:
                async with database.write() as session:
                    await session.exec(update(User).where(User.username == username).values(language=language))
                    await session.commit()
            finally:
                await database.dispose()
        asyncio.run(change())
