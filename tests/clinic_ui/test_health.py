"""The load balancer's health check: 200 while the process can serve, 503 as soon as its database does not answer."""
import httpx
from nicegui import core
from nicegui.testing import User

from clinic_ui import health


async def test_the_health_check_says_ok_only_while_the_database_answers(db, user: User, monkeypatch):
    await user.open('/login')  # starts the app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url='http://test') as http:
        answer = await http.get('/healthz')
        assert (answer.status_code, answer.text) == (200, 'ok')
        assert answer.headers['cache-control'] == 'no-store'

        class Gone:
            def read(self):
                raise ConnectionRefusedError('the database went away')

        monkeypatch.setattr(health, 'get_db', lambda: Gone())
        answer = await http.get('/healthz')
        assert (answer.status_code, answer.text) == (503, 'database unavailable')
