"""Merging two records of one person from the patient's page: choose the likely duplicate, choose the details in
the side-by-side dialog, confirm; the survivor's page shows, and the merged record's page links it."""
from datetime import date

from nicegui import ui
from nicegui.testing import User
from sqlmodel import func, select

from models import Patient, Visit, VisitStatus
from services.core.db import get_db
from services.text import search_key
from tests.conftest import RETRIES
from tests.pages.reception.helpers import signed_in_clinic


async def test_merging_a_duplicate_through_the_dialog(user: User):
    clinic = await signed_in_clinic(user)
    keep_id = clinic.patient_ids[0]  # Lê Thị Hồng, P0000001, phone +84901234500
    async with get_db().write() as session:
        twin = Patient(code='P0000009', full_name='Le Thi Hong B', search_name=search_key('Le Thi Hong B'),
                       phone='+84901234500', date_of_birth=date(1975, 3, 8), notes='registered twice')
        session.add(twin)
        await session.flush()
        session.add(Visit(patient_id=twin.id, doctor_id=clinic.doctor_ids[0], visit_date=date(2026, 10, 2),
                          status=VisitStatus.CLOSED))
        await session.commit()
        other_id = twin.id

    await user.open(f'/reception/patients/{keep_id}')
    await user.should_see(marker='merge-with', retries=RETRIES)
    user.find(marker='merge-with').click()
    await user.should_see(marker='merge-choose', retries=RETRIES)
    await user.should_see('Le Thi Hong B', retries=RETRIES)  # the likely duplicate (same phone) is offered
    user.find(marker='merge-twin').click()
    await user.should_see(marker='merge-preview', retries=RETRIES)
    await user.should_see('Merge P0000009 into P0000001', retries=RETRIES)
    await user.should_see(marker='merge-counts', retries=RETRIES)
    choice = user.find(marker='merge-choice-full_name').elements.pop()
    assert isinstance(choice, ui.radio) and choice.value == 'keep'
    assert user.find(marker='merge-choice-date_of_birth').elements.pop().value == 'other'  # only the other has one
    choice.value = 'other'
    user.find(marker='merge-confirm').click()
    await user.should_see(marker='patient-heading', content='Le Thi Hong B · P0000001', retries=RETRIES)

    async with get_db().read() as session:
        merged = await session.get(Patient, other_id)
        kept = await session.get(Patient, keep_id)
        visits = (await session.exec(select(func.count()).select_from(Visit).where(Visit.patient_id == keep_id))).one()
    assert merged.merged_into_id == keep_id
    assert (kept.full_name, kept.date_of_birth, kept.notes) == ('Le Thi Hong B', date(1975, 3, 8), 'registered twice')
    assert visits == 1

    await user.open(f'/reception/patients/{other_id}')
    await user.should_see(marker='merged-notice', retries=RETRIES)
    await user.should_see('This record was merged into P0000001', retries=RETRIES)
    await user.should_see(marker='merged-into-link', retries=RETRIES)
    await user.should_not_see(marker='save-patient')


async def test_a_merge_is_refused_in_the_dialog_while_a_visit_is_in_progress(user: User):
    clinic = await signed_in_clinic(user)
    async with get_db().write() as session:
        session.add(Visit(patient_id=clinic.patient_ids[1], doctor_id=clinic.doctor_ids[0],
                          visit_date=date(2026, 11, 30), status=VisitStatus.WAITING))
        await session.commit()
    await user.open(f'/reception/patients/{clinic.patient_ids[0]}')
    await user.should_see(marker='merge-with', retries=RETRIES)
    user.find(marker='merge-with').click()
    await user.should_see(marker='merge-choose', retries=RETRIES)
    user.find(marker='patient-search').type('P0000002')
    await user.should_see(marker='patient-hit', retries=RETRIES)
    user.find(marker='patient-hit').click()
    await user.should_see(marker='merge-refusal', content='P0000002 has a visit in progress', retries=RETRIES)
    assert not user.find(marker='merge-confirm').elements.pop().enabled
    user.find(marker='merge-swap').click()  # keep the other record instead: the same refusal, the other way round
    await user.should_see('Merge P0000001 into P0000002', retries=RETRIES)
    await user.should_see(marker='merge-refusal', content='P0000002 has a visit in progress', retries=RETRIES)
