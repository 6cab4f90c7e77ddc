#!/usr/bin/env python3
"""Clinic Flow: start the clinic.

    python main.py            # uses CLINIC_* settings (see README)
    python main.py --demo     # fills an empty database with demo data first
"""
import os
import signal
import sys
import time

started = time.perf_counter()


def stop(_signum, _frame) -> None:
    """Ctrl+C or SIGTERM: end quietly with exit code 0. While the server runs, uvicorn handles both signals
    itself (stops the server, then our shutdown handlers run) and raises the signal again afterwards; this
    handler then ends the process, instead of Python's KeyboardInterrupt traceback or a death by SIGTERM."""
    raise SystemExit(0)


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)

from pydantic import ValidationError  # noqa: E402  (after the signal handlers: Ctrl+C while importing is quiet too)

from services.core.settings import describe_errors, get_settings  # noqa: E402

if '--demo' in sys.argv[1:]:
    os.environ['CLINIC_DEMO'] = '1'
    os.environ.setdefault('CLINIC_LANGUAGE', 'vi')  # the demo clinic is Vietnamese (CLINIC_LANGUAGE=en: English)
    get_settings.cache_clear()
try:
    settings = get_settings()
except ValidationError as error:
    sys.exit('\n'.join(f'Clinic Flow cannot start: {line}' for line in describe_errors(error)))

# The tests' simulated user runs this file inside its own event loop, on a database the tests migrated.
serving = __name__ in {'__main__', '__mp_main__'} and os.environ.get('NICEGUI_USER_SIMULATION') != 'true'
if serving:
    from clinic_ui.preflight import CannotStart, preflight
    try:
        preflight(settings)  # before the server listens: data folder, certificate, port, database and migrations
    except CannotStart as problem:
        sys.exit(f'Clinic Flow cannot start: {problem}')
os.environ.setdefault('NICEGUI_STORAGE_PATH', str((settings.data_dir / 'sessions').resolve()))
if settings.redis_url:  # several processes behind a load balancer: a browser's session moves with it
    os.environ.setdefault('NICEGUI_REDIS_URL', settings.redis_url)

from nicegui import ui  # noqa: E402  (after NICEGUI_STORAGE_PATH is set)

import pages  # noqa: E402
from clinic_ui import startup  # noqa: E402

startup.build(settings, started, database_prepared=serving)
pages.register()

if __name__ in {'__main__', '__mp_main__'}:
    from nicegui import app

    app.on_startup(startup.tune_garbage_collection)  # after start-up's own handler
    collector = startup.QuietCollector()
    app.on_connect(collector.on_connect)
    app.on_delete(collector.on_delete)
    tls = {'ssl_certfile': str(settings.ssl_certfile), 'ssl_keyfile': str(settings.ssl_keyfile)} \
        if settings.uses_tls else {}
    ui.run(host=settings.host, port=settings.port, title=settings.clinic_name, favicon='🩺',
           storage_secret=settings.resolved_storage_secret(), reconnect_timeout=30, show=False, reload=False,
           show_welcome_message=False, proxy_headers=False,  # forwarded headers: clinic_ui.ratelimit.client_address
           session_middleware_kwargs={'max_age': 12 * 3600, 'same_site': 'lax', 'https_only': settings.uses_tls},
           **tls)
    if startup.readiness.failure:
        sys.exit(1)
