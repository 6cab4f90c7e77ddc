"""The Zalo access token renews by itself (a fake Zalo on loopback: its template endpoint refuses a token it did not
issue; its OAuth endpoint issues a new pair once per refresh token): before it expires, or when Zalo refuses it; the
new pair is stored for every process; a refresh token is never spent twice, even by two senders at once; a failed
renewal leaves the message waiting with Zalo's reason."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web
from sqlmodel import select

from models import AuditLog, MessageChannel, OutboxStatus
from models.types import utcnow
from services import clinic_settings, outbox, zalo_tokens
from tests.services.test_messaging import DUE, FakeGateway, make_appointment, remind, rows, zalo_settings

APP_ID, SECRET = '4291763606161179100', 'app-secret-key'


class FakeZalo(FakeGateway):
    """Template messages need a token this fake issued; ``/oauth`` trades a refresh token for a new pair, once."""

    def __init__(self) -> None:
        super().__init__()
        self.valid = {'access-1'}
        self.refresh_tokens = {'refresh-1'}
        self.renewals: list[dict] = []  # (form of) every renewal asked for
        self.issued = 1
        self.oauth_down = False

    @property
    def oauth_url(self) -> str:
        return f'http://127.0.0.1:{self.port}/oauth'

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get('access_token') not in self.valid:
            self.requests.append((dict(request.headers), await request.json()))
            return web.json_response({'error': -124, 'message': 'Access token is invalid'})
        return await super().handle(request)

    async def oauth(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.renewals.append(form)
        await asyncio.sleep(0.05)  # as slow as a real answer: two callers at once would both be in here
        if self.oauth_down:
            return web.Response(status=502, text='Bad Gateway')
        if request.headers.get('secret_key') != SECRET or form.get('app_id') != APP_ID \
                or form.get('grant_type') != 'refresh_token':
            return web.json_response({'error': -14002, 'error_name': 'Invalid app', 'error_description': 'bad app'})
        if form.get('refresh_token') not in self.refresh_tokens:
            return web.json_response({'error': -14014, 'error_name': 'Invalid refresh token',
                                      'error_description': 'Refresh token is invalid or has been used'})
        self.refresh_tokens.discard(form['refresh_token'])  # a refresh token works once
        self.issued += 1
        access, refresh = f'access-{self.issued}', f'refresh-{self.issued}'
        self.valid, self.refresh_tokens = {access}, self.refresh_tokens | {refresh}
        return web.json_response({'access_token': access, 'refresh_token': refresh, 'expires_in': '90000'})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post('/send', self.handle)
        app.router.add_post('/oauth', self.oauth)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, '127.0.0.1', self.port).start()


@pytest.fixture(autouse=True)
def settings_in_force_reset():
    """A renewal puts the new pair in force in this process: the next test starts from the defaults again."""
    yield
    clinic_settings.put_in_force(None)


@pytest.fixture
async def zalo():
    fake = FakeZalo()
    await fake.start()
    yield fake
    await fake.stop()


def renewable(zalo: FakeZalo, **overrides):
    values = dict(zalo_access_token='access-1', zalo_app_id=APP_ID, zalo_secret_key=SECRET,
                  zalo_refresh_token='refresh-1', zalo_oauth_url=zalo.oauth_url)
    return zalo_settings(zalo, **{**values, **overrides})


async def stored(db) -> dict[str, str]:
    async with db.read() as session:
        return await clinic_settings.stored(session)


async def a_zalo_reminder(db, settings) -> None:
    appointment_id = await make_appointment(db, email='anh@example.test', channel=MessageChannel.ZALO)
    await remind(db, appointment_id, settings)


async def test_a_token_about_to_expire_is_renewed_before_sending_and_the_new_pair_is_stored(db, zalo):
    settings = renewable(zalo, zalo_token_expires_at=(utcnow() + timedelta(minutes=10)).isoformat())
    await a_zalo_reminder(db, settings)
    assert await outbox.send_due(db, settings, now=DUE) == 1
    assert [headers['access_token'] for headers, _ in zalo.requests] == ['access-2']  # renewed first, sent once
    assert zalo.renewals == [{'app_id': APP_ID, 'grant_type': 'refresh_token', 'refresh_token': 'refresh-1'}]
    saved = await stored(db)
    assert (saved['zalo_access_token'], saved['zalo_refresh_token']) == ('access-2', 'refresh-2')
    lasts = zalo_tokens.expires_at(clinic_settings.effective(saved)) - utcnow()
    assert timedelta(hours=24, minutes=55) < lasts <= timedelta(hours=25)
    async with db.read() as session:  # audited as the system's change, the tokens themselves never written
        details = (await session.exec(select(AuditLog.detail).where(AuditLog.username == 'system'))).all()
    assert sorted(details) == ['zalo_access_token: changed', 'zalo_refresh_token: changed',
                               f'zalo_token_expires_at: "" -> "{saved["zalo_token_expires_at"]}"']
    # The next batch (another process, or after a restart) reads the stored pair: it holds, no renewal.
    assert await zalo_tokens.ZaloTokens(db, clinic_settings.effective(saved)).token(utcnow()) == 'access-2'
    assert len(zalo.renewals) == 1


async def test_a_token_zalo_refuses_is_renewed_once_and_the_message_sent_once(db, zalo):
    zalo.valid = {'someone-elses'}  # the stored token was revoked (or expired early)
    settings = renewable(zalo)
    await a_zalo_reminder(db, settings)
    assert await outbox.send_due(db, settings, now=DUE) == 1
    assert [headers['access_token'] for headers, _ in zalo.requests] == ['access-1', 'access-2']
    assert len(zalo.accepted) == 1 and len(zalo.renewals) == 1
    assert (await rows(db))[0].status == OutboxStatus.SENT


async def test_two_senders_renewing_at_once_spend_the_refresh_token_once(db, zalo):
    """Two processes' senders find the token expired at the same moment: one renews, the other takes its pair."""
    settings = renewable(zalo, zalo_token_expires_at=(utcnow() - timedelta(minutes=1)).isoformat())
    first, second = zalo_tokens.ZaloTokens(db, settings), zalo_tokens.ZaloTokens(db, settings)
    tokens = await asyncio.gather(first.token(utcnow()), second.token(utcnow()))
    assert tokens == ['access-2', 'access-2']
    assert len(zalo.renewals) == 1


async def test_two_processes_renewing_at_once_spend_the_refresh_token_once(db, zalo, monkeypatch):
    """As two server processes on PostgreSQL: each its own database connection and no lock shared in memory; the
    database's lock alone makes the second take the first one's pair."""
    if db.is_sqlite:
        pytest.skip('several processes share a clinic on PostgreSQL only')
    from services.core.db import Database
    from tests.conftest import TEST_DATABASE_URL
    monkeypatch.setattr(zalo_tokens, '_process_lock', lambda: asyncio.Lock())  # nothing shared in this process
    settings = renewable(zalo, zalo_token_expires_at=(utcnow() - timedelta(minutes=1)).isoformat())
    other = Database(TEST_DATABASE_URL)
    try:
        first, second = zalo_tokens.ZaloTokens(db, settings), zalo_tokens.ZaloTokens(other, settings)
        assert await asyncio.gather(first.token(utcnow()), second.token(utcnow())) == ['access-2', 'access-2']
    finally:
        await other.dispose()
    assert len(zalo.renewals) == 1


async def test_a_failed_renewal_leaves_the_message_waiting_with_zalos_reason(db, zalo):
    zalo.valid = set()
    settings = renewable(zalo, zalo_refresh_token='refresh-expired')
    await a_zalo_reminder(db, settings)
    assert await outbox.send_due(db, settings, now=DUE) == 0
    row = (await rows(db))[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert 'Refresh token is invalid or has been used' in row.last_error and 'Settings' in row.last_error
    saved = await stored(db)
    assert 'zalo_access_token' not in saved and 'zalo_refresh_token' not in saved  # nothing half-stored
    zalo.oauth_down = True
    assert await outbox.send_due(db, settings, now=DUE + timedelta(hours=1)) == 0
    assert 'HTTP 502' in (await rows(db))[0].last_error or 'JSONDecodeError' in (await rows(db))[0].last_error


async def test_while_zalo_cannot_renew_a_token_that_still_holds_is_used(db, zalo):
    zalo.oauth_down = True
    settings = renewable(zalo, zalo_token_expires_at=(utcnow() + timedelta(minutes=10)).isoformat())
    await a_zalo_reminder(db, settings)
    assert await outbox.send_due(db, settings, now=DUE) == 1  # sent with the token that holds 10 more minutes
    assert len(zalo.renewals) == 1 and zalo.requests[-1][0]['access_token'] == 'access-1'


async def test_without_the_apps_keys_a_refused_token_is_not_renewed_and_says_what_to_do(db, zalo):
    zalo.valid = set()
    settings = zalo_settings(zalo, zalo_access_token='access-1')
    await a_zalo_reminder(db, settings)
    assert await outbox.send_due(db, settings, now=DUE) == 0
    assert zalo.renewals == []
    assert 'Access token is invalid' in (await rows(db))[0].last_error


async def test_the_apps_keys_are_checked_saved_secret_and_a_typed_token_has_no_known_end(db):
    from tests.factories import make_clinic
    clinic = await make_clinic(db)
    base = dict(sms_url='', sms_api_key=None, sms_sender='', zalo_url='https://business.openapi.zalo.me/message/template',
                zalo_access_token='typed-token', zalo_template_reminder='301234', zalo_template_turn='301235',
                turn_near_count='3')
    async with db.write() as session:
        with pytest.raises(Exception, match='app ID'):
            await clinic_settings.save_messaging(session, clinic.admin, **base, zalo_app_id='my-app')
    async with db.write() as session:
        await clinic_settings.store_zalo_tokens(session, access_token='a', refresh_token='r',
                                                expires_at=utcnow() + timedelta(hours=25))
        await session.commit()
    async with db.write() as session:
        await clinic_settings.save_messaging(session, clinic.admin, **base, zalo_app_id=APP_ID,
                                             zalo_secret_key=SECRET, zalo_refresh_token='refresh-from-zalo')
        await session.commit()
    saved = await stored(db)
    assert (saved['zalo_app_id'], saved['zalo_secret_key'], saved['zalo_refresh_token']) == \
        (APP_ID, SECRET, 'refresh-from-zalo')
    assert saved['zalo_token_expires_at'] == ''  # typed by a person: renewed when Zalo refuses it
    async with db.read() as session:
        details = ' '.join((await session.exec(select(AuditLog.detail))).all())
    assert SECRET not in details and 'refresh-from-zalo' not in details and 'typed-token' not in details
    assert zalo_tokens.renews_by_itself(clinic_settings.effective(saved))
