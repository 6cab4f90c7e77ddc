"""The walk-in dialog: the doctors on duty first with their queue, those who take no walk-in greyed out with their
hours; the ticket tells how many patients will really be called first."""
import asyncio
import shutil
import subprocess

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import DoctorLeave, QueueTicket
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.factories import on_duty_around_the_clock
from tests.pages.reception.helpers import signed_in_clinic
from tests.pages.test_board import arrivals


async def open_walk_in(user: User, patient_id: int) -> None:
    await user.open(f'/reception/patients/{patient_id}')
    await user.should_see(marker='walk-in-now', retries=RETRIES)
    user.find(marker='walk-in-now').click()
    await user.should_see(marker='walk-in-dialog', retries=RETRIES)


async def test_doctors_on_duty_come_first_and_one_on_leave_cannot_be_chosen(user: User):
    clinic = await signed_in_clinic(user)
    lan, minh = clinic.doctor_ids
    await on_duty_around_the_clock(get_db(), [lan, minh])
    await arrivals(get_db(), clinic, 2, doctor=1)  # two patients already wait for Dr. Minh
    async with get_db().write() as session:
        today = local_today(get_settings().tz)
        session.add(DoctorLeave(doctor_id=lan, start_date=today, end_date=today, reason='Conference'))
        await session.commit()
    await open_walk_in(user, clinic.patient_ids[2])
    await user.should_see(marker=f'walk-in-duty-{minh}', content='On duty until 23:59', retries=RETRIES)
    await user.should_see(marker=f'walk-in-detail-{minh}', content='2 waiting · about 20 min', retries=RETRIES)
    await user.should_see(marker=f'walk-in-duty-{lan}', content='On leave today', retries=RETRIES)
    await user.should_see(marker=f'walk-in-detail-{lan}', content='Hours today: 00:00–23:59', retries=RETRIES)
    on_duty, on_leave = element(user, f'walk-in-doctor-{minh}'), element(user, f'walk-in-doctor-{lan}')
    assert on_duty.id < on_leave.id and on_duty.enabled and not on_leave.enabled  # Dr. Minh listed first
    user.find(marker=f'walk-in-doctor-{lan}').click()
    user.find(marker='confirm-walk-in').click()
    await user.should_see('Please choose the doctor.', retries=RETRIES)
    user.find(marker=f'walk-in-doctor-{minh}').click()
    await user.should_see(marker='walk-in-chosen', content='Dr. Trần Văn Minh', retries=RETRIES)
    user.find(marker='confirm-walk-in').click()
    await user.should_see(marker='ticket-ahead', content='Patients ahead: 2', retries=RETRIES)


async def test_a_priority_walk_in_is_told_nobody_is_ahead_on_screen_and_on_the_slip(user: User):
    clinic = await signed_in_clinic(user)
    await arrivals(get_db(), clinic, 2)  # two normal walk-ins for Dr. Lan (working around the clock)
    await open_walk_in(user, clinic.patient_ids[2])
    user.find(marker=f'walk-in-doctor-{clinic.doctor_ids[0]}').click()
    element(user, 'ticket-priority').set_value(3)
    user.find(marker='ticket-priority-reason').type('Chest pain')
    user.find(marker='confirm-walk-in').click()
    await user.should_see(marker='ticket-number', content='A-003', retries=RETRIES)
    await user.should_see(marker='ticket-ahead', content='Patients ahead: 0', retries=RETRIES)
    if shutil.which('pdftotext') is None:
        pytest.skip('poppler-utils not installed: the slip is not read back')
    async with get_db().read() as session:
        visit_id = (await session.exec(select(QueueTicket.visit_id).where(QueueTicket.number == 3))).one()
    response = await user.http_client.get(f'/reception/tickets/{visit_id}.pdf')
    read = await asyncio.to_thread(subprocess.run, ['pdftotext', '-', '-'], input=response.content, check=True,
                                   capture_output=True)
    assert b'Patients ahead of you: 0' in read.stdout
