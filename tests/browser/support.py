"""Headless Chromium for the browser journeys (Debian's chromium and chromedriver)."""
from __future__ import annotations

import shutil
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
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
