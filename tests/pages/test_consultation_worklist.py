"""The doctor's worklist as people use it (NiceGUI's simulated user): calling, undoing, the skipped and finished
patients, an administrator's choice of queue, today's appointments. (The call seen on the board, recall, start,
finish and sending on are tested with the board, in tests/test_board.py.)"""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import BookingSource, Queue, QueueTicket, Role, TicketStatus, Visit
from models.types import utcnow
from services import booking, checkin, consultation, orders
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from services.orders import ResultValue
from tests.clinical import FULL, add_user, ward_for
from tests.conftest import RETRIES, element, sign_in
from tests.factories import Clinic, make_clinic, on_duty_around_the_clock
from tests.lab_panels import make_full_blood_count
from tests.pages.test_board import arrivals
from tests.services.test_queue import lab_queue_id


async def clinic_for(user: User) -> Clinic:
    await user.open('/login')  # starts the app (and its database)
    return await make_clinic(get_db(), patients=3)


async def arrive(clinic: Clinic, *patients: int, doctor: int = 0) -> None:
    """Walk-ins for the doctor, now (the doctor is made to work around the clock first)."""
    await on_duty_around_the_clock(get_db(), [clinic.doctor_ids[doctor]])
    for patient in patients:
        async with get_db().write() as session:
            await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                  doctor_id=clinic.doctor_ids[doctor], tz=get_settings().tz, now=utcnow())


async def book_for_today(clinic: Clinic) -> None:
    """An appointment with the first doctor today, whatever the hour: booked as if just after midnight."""
    tz = get_settings().tz
    now = datetime.combine(local_today(tz), time(0, 1), tzinfo=tz).astimezone(timezone.utc)
    async with get_db().read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id, doctor_ids=[clinic.doctor_ids[0]],
                                         start_day=local_today(tz), days=1, tz=tz, now=now)
    slot = next((s for day_slots in slots.values() for s in day_slots), None)
    if slot is None:
        pytest.skip('the first doctor has no free slot today')
    async with get_db().write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[1],
                           service_id=clinic.consultation_id, doctor_id=slot.doctor_id, start_at=slot.start_at,
                           source=BookingSource.PHONE, tz=tz, now=now)


async def call_next(user: User, waiting: int) -> None:
    await user.should_see(marker='queue-summary', content=f'{waiting} waiting', retries=RETRIES)
    user.find(marker='call-next').click()
    await user.should_see(marker='queue-summary', content=f'{waiting - 1} waiting', retries=RETRIES)


async def test_a_doctor_not_linked_to_a_doctor_is_told_to_ask_an_administrator(user: User):
    await clinic_for(user)
    await add_user(get_db(), 'doctor2', Role.DOCTOR)
    await sign_in(user, 'doctor2', station='Consultation')
    await user.should_see('Your account is not linked to a doctor yet: please ask an administrator.', retries=RETRIES)


async def test_the_called_patient_shows_now_and_the_others_wait(user: User):
    clinic = await clinic_for(user)
    await arrive(clinic, 0, 1, 2)
    await sign_in(user, 'doctor', station='Consultation')
    await user.should_see(marker='nobody-called', retries=RETRIES)
    await call_next(user, 3)
    await user.should_see('A-001 called: Lê Thị Hồng', retries=RETRIES)
    await user.should_see(marker='active-ticket', content='A-001')
    await user.should_see('Waiting (2)')
    assert [row['patient'] for row in element(user, 'waiting').rows] == ['Phạm Văn Đức · P0000002',
                                                                        'Nguyễn Văn An · P0000003']


async def test_undo_puts_a_called_patient_back_in_line(user: User):
    clinic = await clinic_for(user)
    await arrive(clinic, 0, 1)
    await sign_in(user, 'doctor', station='Consultation')
    await call_next(user, 2)
    user.find(marker='undo').click()
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    await user.should_see(marker='nobody-called')


async def first_of_two_skipped(user: User) -> None:
    """Two patients wait; the doctor calls the first, who does not come, and skips them."""
    clinic = await clinic_for(user)
    await arrive(clinic, 0, 1)
    await sign_in(user, 'doctor', station='Consultation')
    await call_next(user, 2)
    user.find(marker='skip').click()
    await user.should_see(marker='skipped-A-001', retries=RETRIES)


async def test_a_skipped_patient_goes_back_in_line(user: User):
    await first_of_two_skipped(user)
    await user.should_see('Skipped: called, did not come (1)')
    user.find('Back in line').click()
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    await user.should_not_see(marker='skipped-A-001')


async def test_a_skipped_patient_who_never_comes_is_a_no_show(user: User):
    await first_of_two_skipped(user)
    user.find('No-show').click()
    await user.should_see(marker='finished-A-001', retries=RETRIES)
    await user.should_see('no show')
    await user.should_not_see(marker='skipped-A-001')


async def test_an_administrator_chooses_whose_queue_to_see(user: User):
    clinic = await clinic_for(user)
    await arrive(clinic, 0, 1)
    await arrive(clinic, 2, doctor=1)
    async with get_db().read() as session:
        second = (await session.exec(select(Queue).where(Queue.doctor_id == clinic.doctor_ids[1]))).one()
    await sign_in(user, 'admin')
    await user.open('/consultation')
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    element(user, 'queue-select').set_value(second.id)
    await user.should_see(marker='queue-summary', content='1 waiting', retries=RETRIES)
    await user.should_see(f'{second.name} · B')


async def test_todays_appointments_follow_live(user: User):
    clinic = await clinic_for(user)
    await sign_in(user, 'doctor', station='Consultation')
    await user.should_see('My appointments today (0)', retries=RETRIES)
    await book_for_today(clinic)
    await user.should_see('My appointments today (1)', retries=RETRIES)
    assert [row['patient'] for row in element(user, 'my-appointments').rows] == ['Phạm Văn Đức · P0000002']


async def test_skip_and_call_again_from_the_worklist(db, user: User):
    clinic = await make_clinic(db, patients=2)
    await arrivals(db, clinic, 2)
    await sign_in(user, 'doctor')
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    user.find(marker='call-next').click()
    await user.should_see(marker='skip', retries=RETRIES)
    user.find(marker='skip').click()
    await user.should_see(marker='skipped-A-001', retries=RETRIES)
    await user.should_see(marker='nobody-called')
    user.find(marker='call-next').click()
    await user.should_see(marker='active-ticket', content='A-002', retries=RETRIES)
    user.find('Call again').click()
    await user.should_see(marker='active-A-001', retries=RETRIES)


async def test_send_a_called_patient_to_the_lab_from_the_worklist(db, user: User):
    clinic = await make_clinic(db, patients=2)
    await arrivals(db, clinic, 2)
    lab_id = await lab_queue_id(db, clinic)
    await sign_in(user, 'doctor')
    await user.should_see(marker='queue-summary', content='2 waiting', retries=RETRIES)
    user.find(marker='call-next').click()
    await user.should_see(marker='active-A-001', retries=RETRIES)
    user.find(marker='send-to').click()
    await user.should_see('Send A-001 (Lê Thị Hồng) to…')
    await user.should_not_see(marker='send-to-A')  # not back into the queue it is in
    user.find(marker='send-to-L').click()
    await user.should_see('A-001 sent to L · Laboratory', retries=RETRIES)
    await user.should_see(marker='nobody-called', retries=RETRIES)
    async with db.read() as session:
        at_lab = (await session.exec(select(QueueTicket).where(QueueTicket.queue_id == lab_id))).one()
    assert at_lab.status == TicketStatus.WAITING


async def test_a_critical_result_reaches_the_ordering_doctor_on_their_worklist(user: User):
    ward = await ward_for(user)
    await make_full_blood_count(get_db(), ward)
    async with get_db().write() as session:
        order, = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=utcnow())
    await sign_in(user, 'doctor', station='Consultation')
    async with get_db().write() as session:
        await orders.record_result(session, ward.technician, order.id, text='', complete=False, now=utcnow(),
                                   values=[ResultValue('K', '2,1')])
    await user.should_see('Critical result for Lê Thị Hồng: K 2,1 mmol/L', retries=RETRIES)


async def test_a_patient_back_with_every_result_shows_results_ready_live_ahead_of_the_others(user: User):
    ward = await ward_for(user)
    clinic = ward.clinic
    await arrive(clinic, 1)  # today: the patient the doctor sends to the lab
    async with get_db().read() as session:
        visit_id = (await session.exec(select(Visit.id).where(Visit.patient_id == clinic.patient_ids[1]))).one()
    async with get_db().write() as session:
        await consultation.save_draft(session, ward.doctor, visit_id, FULL, now=utcnow())
    async with get_db().write() as session:
        order = (await orders.place(session, ward.doctor, visit_id, [clinic.lab_id], now=utcnow()))[0]
    async with get_db().write() as session:
        await consultation.finish(session, ward.doctor, visit_id, tz=get_settings().tz, now=utcnow(),
                                  open_orders='wait')
    await arrive(clinic, 0)  # a new arrival meanwhile (came on an earlier day too)
    await sign_in(user, 'doctor', station='Consultation')
    await user.should_see('Waiting (1)', retries=RETRIES)
    async with get_db().write() as session:
        await orders.record_result(session, ward.technician, order.id, text='Normal', values=[], complete=True,
                                   now=utcnow())
    await user.should_see('Results ready: Phạm Văn Đức (A-003) is back in your queue.', retries=RETRIES)
    await user.should_see('Waiting (2)', retries=RETRIES)
    assert [(row['patient'], row['results']) for row in element(user, 'waiting').rows] == [
        ('Phạm Văn Đức · P0000002', 'results ready'), ('Lê Thị Hồng · P0000001', '')]
    await call_next(user, 2)  # the patient back with the results comes in first
    await user.should_see(marker='active-results-ready', retries=RETRIES)
    await user.should_see(marker='active-ticket', content='A-003')
