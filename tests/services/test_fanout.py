"""Several app processes on one PostgreSQL database: an event committed by one reaches every other one, once, and
only if its transaction committed; a listener whose connection was cut connects again and says that events may
have been lost; a clinic setting changed by one is in force on the others before their screens hear of it.

Each "process" here is a fanout with its own engine, its own listening connection and its own origin, as a second
``python main.py`` would have."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from clinic_ui import startup
from services import clinic_settings
from services.core.db import Database
from services.core.events import Bus, EventsMissed, OrdersChanged, QueueChanged, SettingsChanged, bus, publish
from services.core.fanout import Fanout, decode, encode, registry
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_clinic

on_postgresql = pytest.mark.skipif(not TEST_DATABASE_URL.startswith('postgresql'),
                                reason='events cross processes through PostgreSQL LISTEN/NOTIFY; SQLite is one '
                                       'process (set CLINIC_TEST_DATABASE_URL=postgresql+asyncpg://...)')

WAIT_S = 5.0


class Process:
    """One app process as far as events go: a database (engine), a fanout, and what its subscribers heard."""

    def __init__(self, name: str) -> None:
        self.db = Database(TEST_DATABASE_URL)
        self.bus = Bus()
        self.fanout = Fanout(TEST_DATABASE_URL, self.db.engine.sync_engine, target=self.bus, origin=name)
        self.heard: list = []
        self.arrived = asyncio.Event()
        for kind in (QueueChanged, EventsMissed):
            self.bus.subscribe(kind, self.hear)

    def hear(self, event) -> None:
        self.heard.append(event)
        self.arrived.set()

    async def wait(self, count: int = 1) -> list:
        async with asyncio.timeout(WAIT_S):
            while len(self.heard) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.heard

    async def commit(self, *events, rollback: bool = False) -> None:
        async with self.db.write() as session:
            await session.exec(sa.text('SELECT 1'))
            for event in events:
                publish(session, event)
            if rollback:
                await session.rollback()
            else:
                await session.commit()


@pytest.fixture
async def two_processes():
    a, b = Process('process-a'), Process('process-b')
    await a.fanout.start()
    await b.fanout.start()
    yield a, b
    for process in (a, b):
        await process.fanout.stop()
        await process.db.dispose()


def test_every_event_class_goes_through_the_wire_and_back_alike():
    kinds = registry()
    assert 'QueueChanged' in kinds and 'SettingsChanged' in kinds and 'EventsMissed' not in kinds
    sent = SettingsChanged(keys=('clinic_name', 'language'))
    origin, received = decode(encode('me', sent), kinds)
    assert origin == 'me' and type(received) is SettingsChanged and received.keys == ('clinic_name', 'language')
    assert decode('{"origin": "x", "kind": "NoSuchEvent", "fields": {}}', kinds) is None


def test_an_event_too_large_for_a_notification_makes_the_others_read_afresh_instead():
    origin, received = decode(encode('me', OrdersChanged(visit_id=1, order_ids=tuple(range(100_000, 102_000)))),
                              registry())
    assert isinstance(received, EventsMissed)


@on_postgresql
async def test_an_event_committed_by_one_process_reaches_the_other_once_and_not_its_own_sender_again(
        two_processes):
    a, b = two_processes
    local = []
    unsubscribe = bus.subscribe(QueueChanged, local.append)  # this process's own subscribers (the app's bus)
    try:
        await a.commit(QueueChanged(queue_id=7, ticket_id=70, action='called', label='A-001'),
                       QueueChanged(queue_id=8, action='issued'))
        heard = await b.wait(2)
        await asyncio.sleep(0.3)  # nothing more comes
    finally:
        unsubscribe()
    assert [(e.queue_id, e.ticket_id, e.action, e.label) for e in heard] == \
        [(7, 70, 'called', 'A-001'), (8, None, 'issued', '')]
    assert len(local) == 2  # delivered here once, after the commit, by the local bus
    assert a.heard == []  # its own notification is not delivered to it a second time


@on_postgresql
async def test_a_transaction_that_rolls_back_sends_nothing(two_processes):
    a, b = two_processes
    await a.commit(QueueChanged(queue_id=1, action='called'), rollback=True)
    await a.commit(QueueChanged(queue_id=2, action='called'))
    heard = await b.wait(1)
    await asyncio.sleep(0.3)
    assert [e.queue_id for e in heard] == [2]


@on_postgresql
async def test_a_cut_listening_connection_comes_back_and_says_that_events_may_be_lost(two_processes):
    a, b = two_processes
    cut = b.fanout.listener_pid
    async with a.db.write() as session:
        assert (await session.exec(sa.text('SELECT pg_terminate_backend(:pid)').bindparams(pid=cut))).scalar()
        await session.commit()
    heard = await b.wait(1)
    assert isinstance(heard[0], EventsMissed) and b.fanout.reconnects == 1
    assert b.fanout.listener_pid not in (None, cut)
    await a.commit(QueueChanged(queue_id=3, action='called'))  # and it hears again
    heard = await b.wait(2)
    assert heard[1].queue_id == 3


@on_postgresql
async def test_a_setting_changed_on_one_process_is_in_force_on_the_other_before_its_screens_hear_of_it(db):
    clinic = await make_clinic(db)
    clinic_settings.put_in_force(None)
    other = Database(TEST_DATABASE_URL)
    sender = Fanout(TEST_DATABASE_URL, db.engine.sync_engine, target=Bus(), origin='process-a')
    fanouts: list[Fanout] = []
    seen = []  # (event number, the clinic name in force when a screen heard of it)
    unsubscribe = bus.subscribe(SettingsChanged, lambda e: seen.append((e.number, clinic_settings.current().clinic_name)))
    try:
        await sender.start()
        await startup.start_fanout(other, fanouts)  # process B, wired as the app wires it
        async with db.write() as session:
            await clinic_settings.save_clinic.__wrapped__(session, clinic.admin, name='Phòng khám Hòa Bình',
                                                          address='', phone='')
            session.sync_session.info.pop('clinic_after_commit')  # process A puts it in force in A, not here
            await session.commit()
        async with asyncio.timeout(WAIT_S):
            while len(seen) < 2:
                await asyncio.sleep(0.01)
    finally:
        unsubscribe()
        for fanout in [sender, *fanouts]:
            await fanout.stop()
        await other.dispose()
        clinic_settings.put_in_force(None)
    local, remote = seen  # this process's own subscribers first (nothing put it in force here), then B's
    assert local[1] != 'Phòng khám Hòa Bình'
    assert remote[1] == 'Phòng khám Hòa Bình' and remote[0] != local[0]
