"""What the public sees and can do: the waiting-room board, /book, exports, headers, file modes and uploads."""
from __future__ import annotations

import json

from models import Patient
from services import checkin, queue
from tests.factories import TZ, local, make_clinic

DAY = 23


# ---------------------------------------------------------------- the board masks every name

async def test_the_board_masks_a_one_word_name_too(db):
    clinic = await make_clinic(db, patients=1)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.full_name = 'Hùng'
        session.add(patient)
        await session.commit()
    async with db.write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                              doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(DAY, 8, 0))
    async with db.write() as session:
        queue_id = (await queue.queue_for_doctor(session, clinic.doctor_ids[0])).id
    async with db.read() as session:
        views = await queue.board_views(session, [queue_id], tz=TZ, now=local(DAY, 8, 1))
    shown = json.dumps([t.masked_name for t in views[0].waiting], ensure_ascii=False)
    assert 'Hùng' not in shown and json.loads(shown) == ['H.']
    assert queue.masked_name('  hùng ') == 'H.' and queue.masked_name('Nguyễn Văn An') == 'Nguyễn V. A.'
