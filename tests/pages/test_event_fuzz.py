"""Junk sent over the websocket: every event listener of every staff page gets arguments no browser would send
(wrong types, missing keys, impossible ids, NUL bytes), the way a socket message reaches it. The app must answer
with a message or ignore it: no error may be logged (the simulated user fails a test that logs one)."""
from __future__ import annotations

import asyncio
import json
import logging
import traceback
from pathlib import Path

import pytest
from nicegui.testing import User

from services.core.db import get_db
from tests.conftest import ROOT, TEST_DATABASE_URL, sign_in
from tests.factories import make_clinic

JUNK_ARGS = [None, 'x', 5, -1, 2 ** 70, 2.5, True, [], {}, [None], {'id': 'abc'}, {'id': 2 ** 70}, {'id': None},
             {'row': None}, {'row': {'id': -1}}, [0, {'id': 'x'}], 'a\x00b', {'value': [1, 2]}, ['a', 'b', 'c']]
SKIP_MARKERS = {'sign-out'}  # leaving the page ends the run, it is not a crash


def pages_of(ids: dict[str, int]) -> list[str]:
    return ['/reception', '/reception/appointments', '/reception/queues', '/reception/patients/new',
            f'/reception/patients/{ids["patient"]}', f'/reception/book/{ids["patient"]}', '/outbox', '/consultation',
            '/lab', '/pharmacy', '/pharmacy/inventory', '/cashier', '/cashier/transactions', '/admin',
            '/admin/staff', '/admin/doctors', f'/admin/doctors/{ids["doctor"]}', '/admin/catalog', '/admin/settings',
            '/admin/displays', '/admin/audit', '/admin/dashboard', '/admin/backup', '/account/password']


async def fire_junk(user: User) -> int:
    """Send every junk argument to every listener of the page; returns how many messages were sent."""
    sent = 0
    for element in list(user.client.elements.values()):
        if element.is_deleted or SKIP_MARKERS & set(element._markers):  # noqa: SLF001
            continue
        for listener in list(element._event_listeners.values()):  # noqa: SLF001
            for args in JUNK_ARGS:
                if element.is_deleted or user.client.is_deleted:
                    return sent
                user.client.handle_event({'id': element.id, 'listener_id': listener.id,
                                          'args': [json.dumps(args)]})
                sent += 1
            await asyncio.sleep(0)
    await asyncio.sleep(0.3)  # handlers that read the database finish
    return sent


PROJECT = tuple(str(ROOT / folder) for folder in ('clinic_ui', 'pages', 'services', 'models'))


def project_frames(record: logging.LogRecord) -> list[str]:
    """Where the app's own code was in the traceback of a logged error (empty: NiceGUI's own handler failed)."""
    trace = record.exc_info[2] if record.exc_info else None
    return [f'{Path(frame.f_code.co_filename).relative_to(ROOT)}:{line} {frame.f_code.co_name}'
            for frame, line in traceback.walk_tb(trace) if frame.f_code.co_filename.startswith(PROJECT)]


@pytest.mark.skipif(TEST_DATABASE_URL.startswith('postgresql'), reason='what a page does with socket junk does not '
                    'depend on the database: once, on SQLite')
@pytest.mark.parametrize('page', range(24))
async def test_junk_over_the_websocket_is_refused_quietly(user: User, page: int, caplog):
    await user.open('/login')
    clinic = await make_clinic(get_db(), patients=2)
    await sign_in(user, 'admin')
    path = pages_of({'patient': clinic.patient_ids[0], 'doctor': clinic.doctor_ids[0]})[page]
    await user.open(path)
    await asyncio.sleep(0.2)
    sent = await fire_junk(user)
    errors = [r for r in caplog.get_records('call') if r.levelname == 'ERROR']
    ours = sorted({f'{r.getMessage()} at {project_frames(r)[-1]}' for r in errors if project_frames(r)})
    framework = len([r for r in errors if not project_frames(r)])
    print(f'{path}: {sent} junk messages, {framework} refused by NiceGUI itself')  # -s: figures for the note
    caplog.clear()  # NiceGUI's own handlers may log their refusals; the app's code must not fail
    assert ours == []
