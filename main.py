#!/usr/bin/env python3
"""Clinic Flow: start the clinic.

    python main.py            # uses CLINIC_* settings (see README)
    python main.py --demo     # fills an empty database with demo data first
"""
import os
import sys
import time

from pydantic import ValidationError

from services.core.settings import get_settings

started = time.perf_counter()
if '--demo' in sys.argv[1:]:
    os.environ['CLINIC_DEMO'] = '1'
    get_settings.cache_clear()
try:
    settings = get_settings()
except ValidationError as error:
    sys.exit(f'Clinic Flow cannot start, a setting is wrong:\n{error}')
os.environ.setdefault('NICEGUI_STORAGE_PATH', str((settings.data_dir / 'sessions').resolve()))

from nicegui import ui  # noqa: E402  (after NICEGUI_STORAGE_PATH is set)

import pages  # noqa: E402
from clinic_ui import startup  # noqa: E402

startup.build(settings, started)
pages.register()

if __name__ in {'__main__', '__mp_main__'}:
    from nicegui import app

    app.on_startup(startup.tune_garbage_collection)  # after start-up's own handler
    app.on_connect(startup.QuietCollector().on_connect)
    ui.run(host=settings.host, port=settings.port, title=settings.clinic_name, favicon='🩺',
           storage_secret=settings.resolved_storage_secret(), reconnect_timeout=30, show=False, reload=False,
           show_welcome_message=False, proxy_headers=False,  # forwarded headers: clinic_ui.ratelimit.client_address
           session_middleware_kwargs={'max_age': 12 * 3600, 'same_site': 'lax'})
