"""Every HTTP route of the app, asked with junk in its path and query, by a stranger and by signed-in staff:
never a server error (500) and no error logged by the app (the simulated user fails a test that logs one)."""
from __future__ import annotations

import itertools
import re

import pytest
from fastapi.routing import APIRoute
from nicegui import app
from nicegui.testing import User
from starlette.routing import Route

from services.core.db import get_db
from tests.conftest import sign_in
from tests.factories import make_clinic

JUNK = ['0', '-1', '999999', '2147483648', '9223372036854775808', '1e5', 'abc', '%00', '%E2%80%AE', '..%2F..%2Fetc',
        'x' * 300, '%27%3B--']
SKIPPED = ('/_nicegui', '/static', '/docs', '/openapi', '/redoc', '/login/complete', '/logout')


def routes() -> list[tuple[str, list[str]]]:
    """Each GET route with the names of its query parameters."""
    found = []
    for route in app.routes:
        if not isinstance(route, (APIRoute, Route)) or route.path.startswith(SKIPPED):
            continue
        if 'GET' not in (route.methods or ()):
            continue
        dependant = getattr(route, 'dependant', None)
        query = [p.name for p in dependant.query_params] if dependant is not None else []
        found.append((route.path, query))
    return sorted(set((path, tuple(query)) for path, query in found))


def urls(path: str, query: tuple[str, ...]) -> list[str]:
    """The route with junk in each path parameter, and with junk in its query parameters."""
    params = re.findall(r'{(\w+)}', path)
    if params:
        targets = [re.sub(r'{\w+}', value, path) for value in JUNK]
    else:
        targets = [path]
    for name, value in itertools.product(query, JUNK[:6]):
        targets.append(re.sub(r'{\w+}', '1', path) + f'?{name}={value}')
    return targets


@pytest.mark.parametrize('who', [None, 'admin', 'reception', 'doctor', 'cashier'])
async def test_no_route_answers_with_a_server_error(user: User, who: str | None):
    await user.open('/login')
    await make_clinic(get_db(), patients=2)
    if who is not None:
        await sign_in(user, who)
    failures, asked = [], 0
    for path, query in routes():
        for url in urls(path, query):
            response = await user.http_client.get(url, follow_redirects=False)
            asked += 1
            if response.status_code >= 500:
                failures.append(f'{url} -> {response.status_code}')
    print(f'{asked} requests as {who or "a stranger"}')  # shown with -s: the figure for the release note
    assert failures == []
