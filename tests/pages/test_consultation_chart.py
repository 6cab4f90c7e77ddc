"""The doctor's consultation page and the lab worklist as people use them (NiceGUI's simulated user)."""
from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import MedicalRecord, OrderStatus, Prescription, PrescriptionStatus, RecordStatus, ServiceOrder, Visit
from models.types import utcnow
from services import orders, users
from services.core.db import get_db
from services.orders import ResultValue
from tests.clinical import ward_for
from tests.factories import PASSWORD

RETRIES = 50


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


async def sign_in(user: User, username: str, station: str) -> None:
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', content=station, retries=RETRIES)


async def test_consultation_end_to_end_with_lab_result_seen_live(user: User):
    ward = await ward_for(user, allergies='Penicillin')
    await sign_in(user, 'doctor', 'Consultation')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see(marker='chart-patient', content='Lê Thị Hồng', retries=RETRIES)
    await user.should_see('Allergies: Penicillin', retries=RETRIES)
    user.find(marker='reason').type('Fever and cough')
    user.find(marker='temperature_c').type('50')
    await user.should_see('Temperature 50 °C is not plausible', retries=RETRIES)
    user.find(marker='temperature_c').clear().type('38.5')
    await user.should_see('Draft saved', retries=RETRIES)
    user.find(marker='icd-search').type('upper respiratory infection, unsp')
    await user.should_see(marker='icd-hit', retries=RETRIES)
    user.find(marker='icd-hit').click()
    await user.should_see(marker='diagnosis-code', retries=RETRIES)
    code = next(iter(user.find(marker='diagnosis-code').elements))
    assert code.value == 'J06.9'
    # order a lab test
    next(iter(user.find(marker='order-services').elements)).set_value([ward.clinic.lab_id])
    user.find(marker='place-order').click()
    await user.should_see('ordered', retries=RETRIES)
    # prescribe: amoxicillin warns about the allergy
    user.find(marker='medicine-search').type('amoxi')
    await user.should_see(marker='medicine-hit', retries=RETRIES)
    user.find(marker='medicine-hit').click()
    user.find(marker='dose').type('1 capsule')
    user.find(marker='times').type('2')
    user.find(marker='days').type('5')
    user.find(marker='add-medicine').click()
    await user.should_see('Allergy recorded: Penicillin', retries=RETRIES)
    await user.should_see('Amoxicillin 500 mg capsule × 10 capsule', retries=RETRIES)
    async with get_db().read() as session:
        order = (await session.exec(select(ServiceOrder))).one()
    # the technician completes the result in another session: the doctor's page shows it without reloading
    async with get_db().write() as session:
        await orders.record_result(session, ward.technician, order.id, text='WBC 12.5, raised',
                                   values=[ResultValue('WBC', '12.5', '10^9/L', '4-10')], complete=True,
                                   now=utcnow())
    await user.should_see('WBC 12.5, raised', retries=RETRIES)
    await user.should_see('WBC: 12.5 10^9/L (ref. 4-10)', retries=RETRIES)
    user.find(marker='finish-consultation').click()
    await user.should_see('Consultation finished', retries=RETRIES)
    async with get_db().read() as session:
        visit = await session.get(Visit, ward.visit_id)
        record = (await session.exec(select(MedicalRecord))).one()
        rx = (await session.exec(select(Prescription))).one()
    assert record.status == RecordStatus.SIGNED and rx.status == PrescriptionStatus.ISSUED
    assert float(record.temperature_c) == 38.5 and record.diagnosis_code == 'J06.9' and record.reason == 'Fever and cough'
    assert visit.status.value == 'awaiting_pharmacy'


async def test_signing_needs_a_diagnosis_and_amending_keeps_a_trail(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'doctor', 'Consultation')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see(marker='reason', retries=RETRIES)
    user.find(marker='reason').type('Headache')
    user.find(marker='sign-record').click()
    await user.should_see('final diagnosis', retries=RETRIES)
    user.find(marker='diagnosis-code').type('R51')
    user.find(marker='sign-record').click()
    await user.should_see('Record signed.', retries=RETRIES)
    await user.should_see(marker='amend', retries=RETRIES)
    user.find(marker='amend').click()
    await user.should_see(marker='amend-dialog', retries=RETRIES)
    user.find(marker='advice').type('Drink water')
    user.find(marker='amend-reason').type('Advice given at the end')
    user.find(marker='confirm-amend').click()
    await user.should_see('Amendment saved.', retries=RETRIES)
    await user.should_see(marker='amendment', retries=RETRIES)


async def test_lab_worklist_records_a_result(user: User):
    ward = await ward_for(user)
    async with get_db().write() as session:
        created = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=utcnow())
    await sign_in(user, 'lab', 'Lab & imaging')
    await user.should_see('1 pending', retries=RETRIES)
    user.find(marker='worklist').trigger('open', created[0].id)
    await user.should_see(marker='result-dialog', retries=RETRIES)
    user.find(marker='complete-result').click()
    await user.should_see('Please write the result', retries=RETRIES)
    user.find(marker='result-text').type('Normal blood count')
    user.find(marker='complete-result').click()
    await user.should_see('Result completed', retries=RETRIES)
    await user.should_see('1 completed', retries=RETRIES)
    async with get_db().read() as session:
        order = await session.get(ServiceOrder, created[0].id)
    assert order.status == OrderStatus.COMPLETED and order.result_text == 'Normal blood count'


async def test_pharmacist_cannot_open_a_chart(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', 'Pharmacy')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see('cannot open', retries=RETRIES)
