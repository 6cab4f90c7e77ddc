"""A patient's page and registering one: validation, the duplicate warning, a walk-in from the patient's page."""
from nicegui.testing import User
from sqlmodel import select

from models import MessageChannel, Patient
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.factories import on_duty_around_the_clock
from tests.pages.reception.helpers import signed_in_clinic


async def test_registering_refuses_a_patient_without_phone_or_birth_date(user: User):
    await signed_in_clinic(user)
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='save-patient').click()
    await user.should_see('phone number or a date of birth', retries=RETRIES)
    user.find(marker='date-of-birth').type('31/02/1990')
    user.find(marker='save-patient').click()
    await user.should_see('dd/mm/yyyy', retries=RETRIES)


async def test_registering_warns_about_a_likely_duplicate_and_registers_anyway(user: User):
    await signed_in_clinic(user)
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='date-of-birth').type('28/02/1990')
    user.find(marker='phone').type('0901234500')  # the phone of Lê Thị Hồng
    user.find(marker='save-patient').click()
    await user.should_see('This patient may already be registered', retries=RETRIES)
    await user.should_see('Lê Thị Hồng · P0000001', retries=RETRIES)
    user.find(marker='register-anyway').click()
    await user.should_see(marker='patient-heading', content='Ngô Thị Vy', retries=RETRIES)
    async with get_db().read() as session:
        created = (await session.exec(select(Patient).where(Patient.full_name == 'Ngô Thị Vy'))).one()
    assert created.code == 'P0000005' and created.date_of_birth.isoformat() == '1990-02-28'


async def test_walk_in_suggests_a_doctor_from_the_complaint(user: User):
    clinic = await signed_in_clinic(user)
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids)
    await user.open(f'/reception/patients/{clinic.patient_ids[2]}')
    await user.should_see(marker='walk-in-now', retries=RETRIES)
    user.find(marker='walk-in-now').click()
    await user.should_see(marker='walk-in-dialog', retries=RETRIES)
    user.find(marker='walk-in-complaint').type('itching rash')
    await user.should_see('Suggested: Dermatology', retries=RETRIES)
    await user.should_see(marker='walk-in-chosen', content='Dr. Trần Văn Minh', retries=RETRIES)
    user.find(marker='confirm-walk-in').click()
    await user.should_see(marker='ticket-number', content='A-001', retries=RETRIES)  # the first queue of the day gets A


async def test_registering_checks_the_phone_stores_it_in_e164_with_the_chosen_channel(user: User):
    await signed_in_clinic(user)
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='phone').type('123456')
    user.find(marker='save-patient').click()
    await user.should_see('"123456" is not a valid phone number', retries=RETRIES)
    user.find(marker='phone').clear().type('0977 123 456')
    element(user, 'preferred-channel').set_value('email')
    user.find(marker='save-patient').click()
    await user.should_see('need an email address', retries=RETRIES)
    element(user, 'preferred-channel').set_value('sms')
    user.find(marker='save-patient').click()
    await user.should_see(marker='patient-heading', content='Ngô Thị Vy', retries=RETRIES)
    async with get_db().read() as session:
        created = (await session.exec(select(Patient).where(Patient.full_name == 'Ngô Thị Vy'))).one()
    assert (created.phone, created.preferred_channel) == ('+84977123456', MessageChannel.SMS)
    assert element(user, 'phone').value == '0977 123 456'  # shown as dialled
    assert element(user, 'preferred-channel').value == 'sms'
