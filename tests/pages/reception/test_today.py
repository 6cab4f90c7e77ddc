"""Reception's desk as a receptionist uses it: find a patient, then check in, cancel, reschedule from today's
list (NiceGUI's simulated user)."""
import asyncio
from datetime import timedelta

from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from models import AllergyStatus, Appointment, AppointmentStatus, Patient, PatientAllergy, QueueTicket, Visit
from models.types import utcnow
from services import checkin, consultation, orders, queue
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.clinical import FULL
from tests.conftest import RETRIES, element, sign_in
from tests.factories import make_clinic, on_duty_around_the_clock
from tests.pages.reception.helpers import book_today, first_slot, signed_in_clinic


async def test_search_as_you_type_opens_the_patient(user: User):
    await signed_in_clinic(user)
    user.find(marker='patient-search').type('hong le')
    await user.should_see('Lê Thị Hồng', retries=RETRIES)
    user.find(marker='patient-hit').click()
    await user.should_see(marker='patient-heading', content='Lê Thị Hồng', retries=RETRIES)
    await user.should_see('None booked.', retries=RETRIES)


async def open_todays_dialog(user: User, action: str, appointment_id: int, dialog: str) -> None:
    """On the reception page, the row's button ``action`` of today's appointment opens ``dialog``."""
    await user.open('/reception')
    await user.should_see("Today's appointments (1)", retries=RETRIES)
    user.find(marker='appointments').trigger(action, appointment_id)
    await user.should_see(marker=dialog, retries=RETRIES)


async def test_check_in_refuses_a_bad_email_then_gives_a_ticket(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await open_todays_dialog(user, 'check_in', appointment.id, 'check-in-dialog')
    user.find(marker='check-in-email').clear().type('not-an-email')
    user.find(marker='confirm-check-in').click()
    await user.should_see('valid email', retries=RETRIES)
    user.find(marker='check-in-email').clear().type('hong.le@example.test')
    user.find(marker='confirm-check-in').click()
    await user.should_see(marker='ticket-number', content='A-001', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.CHECKED_IN
        assert (await session.get(Patient, clinic.patient_ids[0])).email == 'hong.le@example.test'


async def test_check_in_shows_the_allergies_and_reception_records_them(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await open_todays_dialog(user, 'check_in', appointment.id, 'check-in-dialog')
    await user.should_see(marker='allergy-summary', content='Allergies not recorded')
    user.find(marker='edit-allergies').click()
    await user.should_see(marker='allergy-dialog', retries=RETRIES)
    element(user, 'allergy-group').set_value('Penicillins')
    user.find(marker='allergy-reaction').type('hives')
    user.find(marker='add-allergy').click()
    await user.should_see(marker='allergy-summary', content='Allergies: Penicillins (hives, moderate)',
                          retries=RETRIES)
    async with get_db().read() as session:
        entry = (await session.exec(select(PatientAllergy))).one()
        patient = await session.get(Patient, clinic.patient_ids[0])
    assert entry.drug_group == 'penicillins' and patient.allergy_status == AllergyStatus.RECORDED


async def test_the_ticket_slip_of_a_checked_in_patient_prints(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await open_todays_dialog(user, 'check_in', appointment.id, 'check-in-dialog')
    user.find(marker='confirm-check-in').click()
    await user.should_see(marker='ticket-number', content='A-001', retries=RETRIES)
    async with get_db().read() as session:
        ticket = (await session.exec(select(QueueTicket))).one()
    response = await user.http_client.get(f'/reception/tickets/{ticket.visit_id}.pdf')
    assert response.status_code == 200 and response.headers['content-type'] == 'application/pdf'
    assert response.content.startswith(b'%PDF')


async def test_cancel_needs_a_reason(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await open_todays_dialog(user, 'cancel', appointment.id, 'cancel-dialog')
    user.find(marker='confirm-cancel').click()
    await user.should_see('Please give the reason for cancelling.', retries=RETRIES)
    user.find(marker='cancel-reason').type('Patient called: feeling better')
    user.find(marker='confirm-cancel').click()
    await user.should_see('cancelled', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.CANCELLED


async def test_reschedule_from_todays_list_needs_a_new_time_and_moves_it(user: User):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    await open_todays_dialog(user, 'reschedule', appointment.id, 'reschedule-dialog')
    user.find(marker='confirm-reschedule').click()
    await user.should_see('Please choose the new time.', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%a %d/%m'), retries=RETRIES)
    UserInteraction(user, {first_slot(user)}, None).click()
    user.find(marker='confirm-reschedule').click()
    await user.should_see('Appointment moved', retries=RETRIES)
    async with get_db().read() as session:
        moved = await session.get(Appointment, appointment.id)
    assert moved.sequence == 1 and moved.start_at.astimezone(get_settings().tz).date() == next_week


async def test_other_roles_cannot_open_reception_pages(user: User):
    await user.open('/login')
    await make_clinic(get_db())
    await sign_in(user, 'cashier', station='Cashier')
    await user.open('/reception/patients/1')
    await user.should_see('cannot open Patient', retries=RETRIES)
    response = await user.http_client.get('/reception/tickets/1.pdf')
    assert response.status_code == 403


async def test_reception_sees_where_everyone_is_live(user: User):
    clinic = await signed_in_clinic(user)
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids[:1])  # a walk-in at the real time of day
    async with get_db().write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                              doctor_id=clinic.doctor_ids[0], tz=get_settings().tz, now=utcnow())
    await user.open('/reception')
    await user.should_see('Where is everyone (1 in the clinic, 0 done)', retries=RETRIES)
    await place_is(user, ('Lê Thị Hồng · P0000001', 'Waiting for Dr. Lan', ''))
    async with get_db().read() as session:
        visit = (await session.exec(select(Visit))).one()
        ticket = (await session.exec(select(QueueTicket))).one()
    async with get_db().write() as session:
        await queue.start(session, clinic.doctor_actor, ticket.id, now=utcnow())
    await place_is(user, ('Lê Thị Hồng · P0000001', 'With Dr. Lan', ''))
    async with get_db().write() as session:
        await orders.place(session, clinic.doctor_actor, visit.id, [clinic.lab_id], now=utcnow())
    await place_is(user, ('Lê Thị Hồng · P0000001', 'With Dr. Lan', '1 result pending'))
    async with get_db().write() as session:
        await consultation.save_draft(session, clinic.doctor_actor, visit.id, FULL, now=utcnow())
    async with get_db().write() as session:
        await consultation.finish(session, clinic.doctor_actor, visit.id, tz=get_settings().tz, now=utcnow(),
                                  open_orders='finish')
    await place_is(user, ('Lê Thị Hồng · P0000001', 'At the lab', '1 result pending'))  # no lab queue: in person


async def place_is(user: User, expected: tuple[str, str, str]) -> None:
    """The first row of the places list becomes ``expected`` (patient, where, still open) without reloading."""
    seen = None
    for _ in range(RETRIES):
        rows = element(user, 'places').rows
        seen = (rows[0]['patient'], rows[0]['where'], rows[0]['open']) if rows else None
        if seen == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f'the places list shows {seen}, not {expected}')
