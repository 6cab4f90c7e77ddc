"""``/healthz`` for a load balancer in front of several app processes (HAProxy's ``option httpchk``): 200 "ok" once
the process is ready and its database answers, else 503 (until ready the starting gate answers 503 itself). It
says nothing else: no version, no counts."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi.responses import PlainTextResponse
from nicegui import app

from services.core.db import get_db

log = logging.getLogger(__name__)
PATH = '/healthz'


async def healthz() -> PlainTextResponse:
    try:
        async with get_db().read() as session:
            await session.exec(sa.text('SELECT 1'))
    except Exception:  # noqa: BLE001 - any failure means "send no one here"
        log.warning('health check: the database does not answer', exc_info=True)
        return PlainTextResponse('database unavailable', status_code=503, headers={'Cache-Control': 'no-store'})
    return PlainTextResponse('ok', headers={'Cache-Control': 'no-store'})


def install() -> None:
    """Register the route once per app (tests build the app many times)."""
    if not any(getattr(route, 'path', None) == PATH for route in app.routes):
        app.add_api_route(PATH, healthz, methods=['GET', 'HEAD'], include_in_schema=False)
