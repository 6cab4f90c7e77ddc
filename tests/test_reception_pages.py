"""Reception as a receptionist uses it: find, register, book, check in, walk in (NiceGUI's simulated user)."""
from datetime import datetime, time, timedelta, timezone

import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from models import Appointment, AppointmentStatus, BookingSource, Patient, QueueTicket
from services import booking, users
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.factories import PASSWORD, make_clinic

RETRIES = 50


@pytest.fixture(autouse=True)
def no_login_delay(monkeypatch):
    monkeypatch.setattr(users, 'FAILED_LOGIN_DELAY_S', 0)


async def signed_in_clinic(user: User):
    await user.open('/login')  # starts the app (and its database)
    clinic = await make_clinic(get_db(), patients=4)
    await user.open('/login')
    user.find(marker='username').type('reception')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', content='Reception', retries=RETRIES)
    return clinic


def element(user: User, marker: str):
    return next(iter(user.find(marker=marker).elements))


async def book_today(clinic, patient=0) -> Appointment:
    """An appointment today for the first doctor, whatever the time of day the test runs: booked as if it were
    just after midnight (the services take the time as an argument), so the day's first free slot is taken."""
    tz = get_settings().tz
    now = datetime.combine(local_today(tz), time(0, 1), tzinfo=tz).astimezone(timezone.utc)
    async with get_db().read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id,
                                         doctor_ids=[clinic.doctor_ids[0]], start_day=local_today(tz), days=2,
                                         tz=tz, now=now)
    slot = next(s for day_slots in slots.values() for s in day_slots)
    if slot.start_at.astimezone(tz).date() != local_today(tz):
        pytest.skip('the first doctor has no free slot today')
    async with get_db().write() as session:
        return await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                  service_id=clinic.consultation_id, doctor_id=slot.doctor_id,
                                  start_at=slot.start_at, source=BookingSource.PHONE, tz=tz, now=now)


async def test_search_as_you_type_opens_the_patient(user: User):
    await signed_in_clinic(user)
    user.find(marker='patient-search').type('hong le')
    await user.should_see('Lê Thị Hồng', retries=RETRIES)
    user.find(marker='patient-hit').click()
    await user.should_see(marker='patient-heading', content='Lê Thị Hồng', retries=RETRIES)
    await user.should_see('None booked.', retries=RETRIES)


async def test_registering_a_patient_validates_and_warns_about_duplicates(user: User):
    await signed_in_clinic(user)
    await user.open('/reception/patients/new')
    await user.should_see(marker='full-name', retries=RETRIES)
    user.find(marker='full-name').type('Ngô Thị Vy')
    user.find(marker='save-patient').click()
    await user.should_see('phone number or a date of birth', retries=RETRIES)
    user.find(marker='date-of-birth').type('31/02/1990')
    user.find(marker='save-patient').click()
    await user.should_see('dd/mm/yyyy', retries=RETRIES)
    user.find(marker='date-of-birth').clear().type('28/02/1990')
    user.find(marker='phone').type('0901234500')  # the phone of Lê Thị Hồng
    user.find(marker='save-patient').click()
    await user.should_see('This patient may already be registered', retries=RETRIES)
    await user.should_see('Lê Thị Hồng · P0000001', retries=RETRIES)
    user.find(marker='register-anyway').click()
    await user.should_see(marker='patient-heading', content='Ngô Thị Vy', retries=RETRIES)
    async with get_db().read() as session:
        created = (await session.exec(select(Patient).where(Patient.full_name == 'Ngô Thị Vy'))).one()
    assert created.code == 'P0000005' and created.date_of_birth.isoformat() == '1990-02-28'


async def test_booking_from_the_patient_page(user: User):
    clinic = await signed_in_clinic(user)
    await user.open(f'/reception/book/{clinic.patient_ids[1]}')
    await user.should_see(marker='service', retries=RETRIES)
    await user.should_see('Choose the service first.', retries=RETRIES)
    element(user, 'service').set_value(clinic.consultation_id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()  # next week, so the test does not depend on the hour
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%d/%m') + ' –', retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    first_slot = min(user.find(marker='slot').elements, key=lambda button: button.id)
    UserInteraction(user, {first_slot}, None).click()
    await user.should_see('Chosen:', retries=RETRIES)
    user.find(marker='reason').type('Ho kéo dài')
    user.find(marker='confirm-booking').click()
    await user.should_see(marker='patient-heading', content='Phạm Văn Đức', retries=RETRIES)
    await user.should_see('Upcoming appointments (1)', retries=RETRIES)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
    assert appointment.reason == 'Ho kéo dài' and appointment.source == BookingSource.PHONE


async def test_check_in_gives_a_ticket_and_the_slip_prints(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await user.open('/reception')
    await user.should_see("Today's appointments (1)", retries=RETRIES)
    user.find(marker='appointments').trigger('check_in', appointment.id)
    await user.should_see(marker='check-in-dialog', retries=RETRIES)
    user.find(marker='check-in-email').clear().type('not-an-email')
    user.find(marker='confirm-check-in').click()
    await user.should_see('valid email', retries=RETRIES)
    user.find(marker='check-in-email').clear().type('hong.le@example.test')
    user.find(marker='confirm-check-in').click()
    await user.should_see(marker='ticket-number', content='A-001', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.CHECKED_IN
        assert (await session.get(Patient, clinic.patient_ids[0])).email == 'hong.le@example.test'
        ticket = (await session.exec(select(QueueTicket))).one()
    response = await user.http_client.get(f'/reception/tickets/{ticket.visit_id}.pdf')
    assert response.status_code == 200 and response.headers['content-type'] == 'application/pdf'
    assert response.content.startswith(b'%PDF')


async def test_walk_in_suggests_a_doctor_from_the_complaint(user: User):
    clinic = await signed_in_clinic(user)
    await user.open(f'/reception/patients/{clinic.patient_ids[2]}')
    await user.should_see(marker='walk-in-now', retries=RETRIES)
    user.find(marker='walk-in-now').click()
    await user.should_see(marker='walk-in-dialog', retries=RETRIES)
    user.find(marker='walk-in-complaint').type('itching rash')
    await user.should_see('Suggested: Dermatology', retries=RETRIES)
    assert element(user, 'walk-in-doctor').value == clinic.doctor_ids[1]
    user.find(marker='confirm-walk-in').click()
    await user.should_see(marker='ticket-number', content='A-001', retries=RETRIES)  # the first queue of the day gets A


async def test_cancel_needs_a_reason(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await user.open('/reception')
    await user.should_see("Today's appointments (1)", retries=RETRIES)
    user.find(marker='appointments').trigger('cancel', appointment.id)
    await user.should_see(marker='cancel-dialog', retries=RETRIES)
    user.find(marker='confirm-cancel').click()
    await user.should_see('Please give the reason for cancelling.', retries=RETRIES)
    user.find(marker='cancel-reason').type('Patient called: feeling better')
    user.find(marker='confirm-cancel').click()
    await user.should_see('cancelled', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.CANCELLED


async def test_appointment_list_filters_and_reports_bad_dates(user: User):
    clinic = await signed_in_clinic(user)
    await book_today(clinic)
    await user.open('/reception/appointments')
    await user.should_see(marker='from', retries=RETRIES)
    today = local_today(get_settings().tz).strftime('%d/%m/%Y')
    await user.should_see(f'Appointments {today}: 1', retries=RETRIES)
    rows = element(user, 'appointment-list').rows
    assert [row['patient'] for row in rows] == ['Lê Thị Hồng · P0000001']
    user.find(marker='from').clear().type('not a date')
    await user.should_see('Please write the start date as dd/mm/yyyy.', retries=RETRIES)
    tomorrow = (local_today(get_settings().tz) + timedelta(days=1)).strftime('%d/%m/%Y')
    user.find(marker='from').clear().type(tomorrow)
    await user.should_see(': 0', retries=RETRIES)


async def test_other_roles_cannot_open_reception_pages(user: User):
    await user.open('/login')
    await make_clinic(get_db())
    await user.open('/login')
    user.find(marker='username').type('cashier')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='station-title', content='Cashier', retries=RETRIES)
    await user.open('/reception/patients/1')
    await user.should_see('cannot open Patient', retries=RETRIES)
    response = await user.http_client.get('/reception/tickets/1.pdf')
    assert response.status_code == 403


async def test_reschedule_from_todays_list(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await user.open('/reception')
    await user.should_see("Today's appointments (1)", retries=RETRIES)
    user.find(marker='appointments').trigger('reschedule', appointment.id)
    await user.should_see(marker='reschedule-dialog', retries=RETRIES)
    user.find(marker='confirm-reschedule').click()
    await user.should_see('Please choose the new time.', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%a %d/%m'), retries=RETRIES)
    UserInteraction(user, {min(user.find(marker='slot').elements, key=lambda b: b.id)}, None).click()
    user.find(marker='confirm-reschedule').click()
    await user.should_see('Appointment moved', retries=RETRIES)
    async with get_db().read() as session:
        moved = await session.get(Appointment, appointment.id)
    assert moved.sequence == 1 and moved.start_at.astimezone(get_settings().tz).date() == next_week
