"""The outbox at reception: what was sent and what failed (by email, SMS or Zalo), and "Send again"."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from nicegui import ui
from nicegui.testing import User

from models import OutboxMessage, OutboxStatus, Role
from services import notifications, users
from services.core.db import get_db
from tests.conftest import RETRIES, element, sign_in

PASSWORD = 'clinic-pass-1'
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)  # a fixed past moment, for display only


async def staff_accounts(database) -> None:
    """The first administrator, and a receptionist who needs no new password."""
    async with database.write() as session:
        admin = await users.create_first_admin(session, username='admin', full_name='Phạm Quốc Bảo',
                                               password=PASSWORD, password_repeat=PASSWORD)
    async with database.write() as session:
        await users.create_user(session, admin, username='receptionist', full_name='Lê Thu Hà',
                                role=Role.RECEPTIONIST, password=PASSWORD, must_change_password=False)


async def a_sent_and_a_failed_email(database) -> tuple[OutboxMessage, OutboxMessage]:
    async with database.write() as session:
        sent = await notifications.queue_email(session, dedupe_key='t:sent', to='a@example.test',
                                               subject='Appointment confirmed: Tue 24 Nov 09:30', body='.')
        failed = await notifications.queue_email(session, dedupe_key='t:failed', to='b@example.test',
                                                 subject='Appointment moved to Wed 25 Nov 10:30', body='.')
        sent.status, sent.sent_at, sent.attempts = OutboxStatus.SENT, T0, 1
        failed.status, failed.attempts, failed.last_error = OutboxStatus.FAILED, 10, 'SMTPConnectError: refused'
        await session.commit()
    return sent, failed


async def open_the_outbox(user: User) -> tuple[OutboxMessage, OutboxMessage]:
    await user.open('/login')  # starts the app, so the database is ready
    await staff_accounts(get_db())
    sent, failed = await a_sent_and_a_failed_email(get_db())
    await sign_in(user, 'receptionist', PASSWORD, station='Reception')
    await user.open('/outbox')
    await user.should_see(marker='station-title', content='Outbox')
    await user.should_see('Messages to patients (2)')
    return sent, failed


async def test_reception_sees_what_was_sent_and_what_failed(user: User):
    sent, failed = await open_the_outbox(user)
    table = element(user, 'outbox-table')
    assert isinstance(table, ui.table)
    by_id = {row['id']: row for row in table.rows}
    assert by_id[failed.id]['status'] == 'failed' and 'refused' in by_id[failed.id]['error']
    assert by_id[sent.id]['status'] == 'sent' and by_id[sent.id]['to'] == 'a@example.test'
    assert 'Send again' in table.slots['body-cell-actions'].template  # only rendered for failed rows


async def test_a_failed_email_is_sent_again_and_the_list_follows(user: User):
    _, failed = await open_the_outbox(user)
    table = element(user, 'outbox-table')
    user.find(marker='outbox-table').trigger('requeue', failed.id)  # the row's "Send again" button
    await user.should_see('The message will be sent again shortly.')
    async with get_db().read() as session:
        assert (await session.get(OutboxMessage, failed.id)).status == OutboxStatus.PENDING
    for _ in range(RETRIES):  # the page refreshes in place
        if {row['id']: row for row in table.rows}[failed.id]['status'] == 'pending':
            break
        await asyncio.sleep(0.1)
    assert {row['id']: row for row in table.rows}[failed.id]['status'] == 'pending'


async def test_an_sms_the_gateway_refused_shows_its_reason_and_the_channel_filter_finds_it(user: User):
    """A reminder SMS the gateway answers with 400: FAILED at once, the gateway's reason on the page, and only the
    SMS when staff filter by that channel; "Send again" still works."""
    from aiohttp import web

    from models import MessageChannel
    from services import outbox
    from services.core.settings import Settings
    from tests.conftest import free_port

    async def refuse(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({'message': 'Phone number is not a mobile number'}, status=400)

    app = web.Application()
    app.router.add_post('/send', refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, '127.0.0.1', port).start()
    try:
        await user.open('/login')
        await staff_accounts(get_db())
        await a_sent_and_a_failed_email(get_db())
        async with get_db().write() as session:
            sms = await notifications.queue_message(session, channel=MessageChannel.SMS, dedupe_key='t:sms',
                                                    to='+84901234567', subject='Reminder: appointment Tue 24 Nov',
                                                    body='Phòng khám: nhắc lịch hẹn.')
            await session.commit()
        settings = Settings(sms_url=f'http://127.0.0.1:{port}/send', smtp_host='')
        assert await outbox.send_due(get_db(), settings) == 0
    finally:
        await runner.cleanup()
    await sign_in(user, 'receptionist', PASSWORD, station='Reception')
    await user.open('/outbox')
    await user.should_see('Messages to patients (3)')
    table = element(user, 'outbox-table')
    row = {r['id']: r for r in table.rows}[sms.id]
    assert (row['channel'], row['to'], row['status']) == ('SMS', '0901 234 567', 'failed')
    assert row['error'] == 'HTTP 400: Phone number is not a mobile number' and row['attempts'] == 1
    element(user, 'outbox-channel').set_value('sms')
    await user.should_see('Messages to patients (1)')
    assert [r['id'] for r in table.rows] == [sms.id]
    user.find(marker='outbox-table').trigger('requeue', sms.id)
    await user.should_see('The message will be sent again shortly.')
    async with get_db().read() as session:
        assert (await session.get(OutboxMessage, sms.id)).status == OutboxStatus.PENDING
