"""The issue's "done when": a fresh install with no demo data is set up completely through the administration
pages (first admin, settings, rooms, a doctor with hours, services, medicines, staff), and then takes a booking.
Driven as a person would, with NiceGUI's simulated user, one step after the other."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from models import Appointment, Doctor, Medicine, Queue, Service, WorkingHours
from services import clinic_settings
from services.core.clock import local_today
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import restore_settings  # noqa: F401 - an autouse fixture


async def saved(user: User) -> None:
    await user.should_see('Saved.', retries=RETRIES)
    await asyncio.sleep(0.6)  # let the notification go, so the next "Saved." is a new one


async def open_catalog(user: User, tab: str, add: str) -> None:
    await user.open(f'/admin/catalog?tab={tab}')
    await user.should_see(marker=f'{tab}-table', retries=RETRIES)
    user.find(marker=add).click()


async def create_the_administrator(user: User) -> None:
    await user.open('/')
    await user.should_see('Create the administrator account', retries=RETRIES)
    user.find(marker='full-name').type('Đỗ Minh Châu')
    user.find(marker='username').type('chau')
    user.find(marker='password').type('first-admin-1')
    user.find(marker='password-repeat').type('first-admin-1')
    user.find(marker='create-admin').click()
    await user.should_see(marker='setup-checklist', retries=RETRIES)
    await user.should_see('Rooms')


async def enter_the_settings(user: User) -> None:
    await user.open('/admin/settings')
    await user.should_see(marker='clinic-name-input', retries=RETRIES)
    user.find(marker='clinic-name-input').clear().type('Phòng khám Hòa An')
    user.find(marker='clinic-address').type('12 Lê Lợi, Quận 1, TP. Hồ Chí Minh')
    user.find(marker='clinic-phone').type('028 3823 4567')
    user.find(marker='save-clinic').click()
    await saved(user)


async def add_a_specialty_and_a_room(user: User) -> None:
    await open_catalog(user, 'specialties', 'add-Add specialty')
    user.find(marker='specialty-name').type('General medicine')
    user.find(marker='specialty-keywords').type('fever, cough, sore throat')
    user.find(marker='catalog-save').click()
    await saved(user)
    await open_catalog(user, 'rooms', 'add-Add room')
    user.find(marker='room-code').type('P101')
    user.find(marker='room-name').type('Phòng khám 101')
    user.find(marker='catalog-save').click()
    await saved(user)


async def add_a_service_and_a_medicine(user: User) -> None:
    await open_catalog(user, 'services', 'add-service-search')
    await user.should_see(marker='service-code', retries=RETRIES)
    user.find(marker='service-code').type('KHAM')
    user.find(marker='service-name').type('General consultation')
    user.find(marker='service-duration').clear().type('20')
    user.find(marker='service-price').type('150,000')
    user.find(marker='catalog-save').click()
    await saved(user)
    await open_catalog(user, 'medicines', 'add-medicine-search')
    user.find(marker='medicine-code').type('PARA500')
    user.find(marker='medicine-name').type('Paracetamol 500 mg')
    user.find(marker='medicine-price').type('1,500')
    user.find(marker='medicine-reorder').clear().type('200')
    user.find(marker='catalog-save').click()
    await saved(user)


async def create_account(user: User, full_name: str, username: str, role: str, license_number: str = '') -> str:
    await user.open('/admin/staff')
    await user.should_see(marker='new-account', retries=RETRIES)
    user.find(marker='new-account').click()
    await user.should_see('New staff account', retries=RETRIES)
    user.find(marker='account-full-name').type(full_name)
    user.find(marker='account-username').type(username)
    element(user, 'account-role').set_value(role)
    if license_number:
        user.find(marker='account-license').type(license_number)
    user.find(marker='save-account').click()
    await user.should_see(f'Temporary password for {full_name}', retries=RETRIES)
    return element(user, 'temporary-password').text


async def set_up_the_doctor(user: User, doctor: Doctor, service: Service) -> None:
    """Specialty, service, and hours every day (so the test does not depend on the weekday)."""
    await user.open('/admin/doctors')
    await user.should_see(marker='doctors', retries=RETRIES)
    await user.open(f'/admin/doctors/{doctor.id}')
    await user.should_see(marker='doctor-heading', content='Nguyễn Thị Lan', retries=RETRIES)
    element(user, 'doctor-specialties').set_value(list(element(user, 'doctor-specialties').options))
    element(user, 'doctor-services').set_value([service.id])
    user.find(marker='save-offer').click()
    await saved(user)
    element(user, 'hours-days').set_value(list(range(7)))
    element(user, 'hours-start').set_value('08:00')
    element(user, 'hours-end').set_value('17:00')
    user.find(marker='add-hours').click()
    await user.should_see('Hours added.', retries=RETRIES)


async def check_the_clinic_is_set_up(user: User, doctor: Doctor) -> None:
    await user.open('/admin')
    await user.should_not_see(marker='setup-checklist', retries=RETRIES)
    async with get_db().read() as session:
        assert len((await session.exec(select(WorkingHours))).all()) == 7
        assert (await session.exec(select(Queue).where(Queue.doctor_id == doctor.id))).one().room_id is not None
        assert (await session.exec(select(Medicine))).one().price == 1500
    assert clinic_settings.current().clinic_name == 'Phòng khám Hòa An'


async def sign_in_first_time(user: User, username: str, temporary: str, own: str) -> None:
    await user.open('/logout')
    await user.open('/login')
    user.find(marker='username').type(username)
    user.find(marker='password').type(temporary)
    user.find(marker='sign-in').click()
    await user.should_see(marker='new-password', retries=RETRIES)
    user.find(marker='current-password').type(temporary)
    user.find(marker='new-password').type(own)
    user.find(marker='repeat-password').type(own)
    user.find(marker='change-password').click()
    await user.should_see(marker='station-title', content='Reception', retries=RETRIES)


async def register_a_patient(user: User) -> None:
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Lê Thị Hồng')
    user.find(marker='phone').type('0901234567')
    user.find(marker='save-patient').click()
    await user.should_see(marker='patient-heading', content='Lê Thị Hồng', retries=RETRIES)


async def book_her_next_week(user: User, service: Service) -> None:
    user.find(marker='book').click()
    await user.should_see(marker='service', retries=RETRIES)
    element(user, 'service').set_value(service.id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()  # next week, whatever the hour now
    next_week = local_today(clinic_settings.current().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%d/%m') + ' –', retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    first_slot = min(user.find(marker='slot').elements, key=lambda button: button.id)
    UserInteraction(user, {first_slot}, None).click()
    await user.should_see('Chosen:', retries=RETRIES)
    user.find(marker='reason').type('Sốt, ho')
    user.find(marker='confirm-booking').click()
    await user.should_see('Upcoming appointments (1)', retries=RETRIES)


async def choose_vietnamese(user: User) -> None:
    """Last, as the clinic's language: from then on the screens of anyone who chose no language are in it."""
    await user.open('/logout')
    await user.open('/login')
    user.find(marker='username').type('chau')
    user.find(marker='password').type('first-admin-1')
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', retries=RETRIES)
    await user.open('/admin/settings')
    await user.should_see(marker='language', retries=RETRIES)
    element(user, 'language').set_value('vi')
    user.find(marker='save-region').click()
    for _attempt in range(RETRIES):
        if clinic_settings.current().language == 'vi':
            break
        await asyncio.sleep(0.1)
    assert clinic_settings.current().language == 'vi'


async def test_a_fresh_clinic_is_set_up_through_the_pages_and_takes_a_booking(user: User):
    await create_the_administrator(user)
    await enter_the_settings(user)
    await add_a_specialty_and_a_room(user)
    await add_a_service_and_a_medicine(user)
    await create_account(user, 'Nguyễn Thị Lan', 'lan', 'doctor', license_number='CCHN-0001')
    reception_password = await create_account(user, 'Trần Thu Hà', 'thuha', 'receptionist')
    async with get_db().read() as session:
        doctor = (await session.exec(select(Doctor))).one()
        service = (await session.exec(select(Service))).one()
    await set_up_the_doctor(user, doctor, service)
    await check_the_clinic_is_set_up(user, doctor)
    await sign_in_first_time(user, 'thuha', reception_password, 'ha-own-pass-1')
    await register_a_patient(user)
    await book_her_next_week(user, service)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
    assert appointment.doctor_id == doctor.id and appointment.end_at - appointment.start_at == timedelta(minutes=20)
    await choose_vietnamese(user)
