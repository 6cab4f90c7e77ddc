"""The doctor's chart of a visit as people use it (NiceGUI's simulated user): the record with its autosave, ICD-10
search, signing and amending; orders and their results as they arrive; the prescription; the follow-up; finishing."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

from models import (
    Appointment,
    BookingSource,
    MedicalRecord,
    OrderStatus,
    OutboxMessage,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    QueueKind,
    QueueTicket,
    RecordStatus,
    Role,
    ServiceOrder,
    TicketStatus,
    Visit,
)
from models.types import utcnow
from services import consultation, orders, prescriptions, queue
from services.core.db import get_db
from services.orders import ResultValue
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, Ward, add_user, station, ward_for
from tests.conftest import RETRIES, element, sign_in
from tests.factories import NOW, TZ
from tests.lab_panels import make_full_blood_count


async def open_chart(user: User, ward: Ward, username: str = 'doctor') -> None:
    await sign_in(user, username, station='Consultation')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see(marker='chart-patient', content='Lê Thị Hồng', retries=RETRIES)
    await user.should_see(marker='chart-panels', retries=RETRIES)  # the actions are built after the header


async def in_consultation(ward: Ward) -> QueueTicket:
    """The doctor called the ward's patient in and started: their ticket is in service."""
    async with get_db().write() as session:
        ticket = await queue.call_next(session, ward.doctor, (await session.exec(select(QueueTicket.queue_id))).one(),
                                       tz=TZ, now=NOW)  # the day the ward's patient arrived
    async with get_db().write() as session:
        return await queue.start(session, ward.doctor, ticket.id, now=NOW)


async def place_blood_count(ward: Ward) -> ServiceOrder:
    async with get_db().write() as session:
        return (await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=utcnow()))[0]


async def pick_medicine(user: User, search: str, dose: str, times: str, days: str) -> None:
    await user.should_see(marker='medicine-search', retries=RETRIES)  # the panel is built after the header
    user.find(marker='medicine-search').type(search)
    await user.should_see(marker='medicine-hit', retries=RETRIES)
    user.find(marker='medicine-hit').click()
    user.find(marker='dose').type(dose)
    user.find(marker='times').type(times)
    user.find(marker='days').type(days)


# -- the whole consultation, step by step ---------------------------------------------------------------------------

async def write_the_record(user: User) -> None:
    user.find(marker='reason').type('Fever and cough')
    user.find(marker='temperature_c').type('50')
    await user.should_see('Temperature 50 °C is not plausible', retries=RETRIES)
    user.find(marker='temperature_c').clear().type('38.5')
    await user.should_see('Draft saved', retries=RETRIES)


async def code_the_diagnosis(user: User) -> None:
    user.find(marker='icd-search').type('upper respiratory infection, unsp')
    await user.should_see(marker='icd-hit', retries=RETRIES)
    user.find(marker='icd-hit').click()
    await user.should_see(marker='diagnosis-code', retries=RETRIES)
    assert element(user, 'diagnosis-code').value == 'J06.9'


async def order_a_blood_count(user: User, ward: Ward) -> None:
    element(user, 'order-services').set_value([ward.clinic.lab_id])
    user.find(marker='place-order').click()
    await user.should_see('ordered', retries=RETRIES)


async def prescribe_amoxicillin_despite_the_allergy(user: User) -> None:
    """Stopped before it is added; the doctor gives the reason and prescribes it anyway."""
    await pick_medicine(user, 'amoxi', '1 capsule', '2', '5')
    user.find(marker='add-medicine').click()
    await user.should_see(marker='override-allergy', content='Penicillin (moderate)', retries=RETRIES)
    await user.should_not_see(marker='rx-item')
    user.find(marker='confirm-override').click()  # no reason yet: still nothing added
    await user.should_see('To prescribe it anyway, give the reason.', retries=RETRIES)
    await user.should_not_see(marker='rx-item')
    user.find(marker='override-reason').type('Tolerated it last year')
    user.find(marker='confirm-override').click()
    await user.should_see('Amoxicillin 500 mg capsule × 10 capsule', retries=RETRIES)
    await user.should_see(marker='rx-override', content='Tolerated it last year', retries=RETRIES)
    await user.should_not_see(marker='override-dialog', retries=RETRIES)


async def the_result_arrives_without_reloading(user: User, ward: Ward) -> None:
    """The technician completes the result in another session: the doctor's page shows it at once."""
    async with get_db().read() as session:
        order = (await session.exec(select(ServiceOrder))).one()
    async with get_db().write() as session:
        await orders.record_result(session, ward.technician, order.id, text='WBC 12.5, raised',
                                   values=[ResultValue('WBC', '12.5', '10^9/L', '4-10')], complete=True,
                                   now=utcnow())
    await user.should_see('WBC 12.5, raised', retries=RETRIES)
    await user.should_see('WBC: 12.5 10^9/L H (ref. 4-10)', retries=RETRIES)


async def the_visit_went_to_the_pharmacy_signed(ward: Ward) -> None:
    async with get_db().read() as session:
        visit = await session.get(Visit, ward.visit_id)
        record = (await session.exec(select(MedicalRecord))).one()
        rx = (await session.exec(select(Prescription))).one()
    assert record.status == RecordStatus.SIGNED and rx.status == PrescriptionStatus.ISSUED
    assert float(record.temperature_c) == 38.5 and record.diagnosis_code == 'J06.9'
    assert record.reason == 'Fever and cough'
    assert visit.status.value == 'awaiting_pharmacy'


async def test_consultation_end_to_end_with_lab_result_seen_live(user: User):
    ward = await ward_for(user, allergies='Penicillin')
    await open_chart(user, ward)
    await user.should_see(marker='allergies', content='Allergies: Penicillin', retries=RETRIES)
    await write_the_record(user)
    await code_the_diagnosis(user)
    await order_a_blood_count(user, ward)
    await prescribe_amoxicillin_despite_the_allergy(user)
    await the_result_arrives_without_reloading(user, ward)
    user.find(marker='finish-consultation').click()
    await user.should_see('Consultation finished', retries=RETRIES)
    await the_visit_went_to_the_pharmacy_signed(ward)


# -- the record ------------------------------------------------------------------------------------------------------

async def test_signing_needs_a_diagnosis_and_amending_keeps_a_trail(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
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


async def test_the_icd10_search_says_when_nothing_matches(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
    user.find(marker='icd-search').type('qqzzx')
    await user.should_see('No ICD-10 code matches.', retries=RETRIES)


async def test_a_live_update_keeps_what_the_doctor_is_typing(user: User, monkeypatch):
    from pages.consultation.chart import record
    monkeypatch.setattr(record, 'AUTOSAVE_DELAY_S', 60)  # nothing saved meanwhile: only the screen holds the text
    ward = await ward_for(user)
    await open_chart(user, ward)
    user.find(marker='symptoms').type('Dry cough')
    await place_blood_count(ward)  # elsewhere: the orders change live on this page
    await user.should_see('Blood count', retries=RETRIES)
    assert element(user, 'symptoms').value == 'Dry cough'
    await user.should_see(marker='save-state', content='Saving…')


# -- orders, prescription, follow-up ------------------------------------------------------------------------------

async def test_a_pending_order_can_be_cancelled(user: User):
    ward = await ward_for(user)
    order = await place_blood_count(ward)
    await open_chart(user, ward)
    await user.should_see(marker=f'order-{order.id}', retries=RETRIES)
    user.find(kind=ui.button, content='Cancel').click()
    await user.should_see('Order cancelled.', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(ServiceOrder, order.id)).status == OrderStatus.CANCELLED


async def test_the_quantity_is_computed_and_a_line_can_be_removed(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
    await pick_medicine(user, 'parac', '1 tablet', '3', '5')
    await user.should_see(marker='picked-medicine', content='Paracetamol 500 mg tablet · 100 tablet in stock')
    await user.should_see('= 15 tablet', retries=RETRIES)
    user.find(marker='add-medicine').click()
    await user.should_see('Paracetamol 500 mg tablet × 15 added.', retries=RETRIES)
    await user.should_see(marker='rx-item', retries=RETRIES)
    user.find(kind=ui.button, content='delete').click()
    await user.should_see('No medicines prescribed.', retries=RETRIES)


async def test_a_follow_up_is_booked_in_the_doctors_free_time_with_a_reminder(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
    user.find(marker='find-slots').click()
    await user.should_see(marker='follow-slot', retries=RETRIES)
    first = min(user.find(marker='follow-slot').elements, key=lambda slot: slot.id)
    user.find(marker='follow-slot', content=first.text).click()
    await user.should_see('A reminder email goes out the day before.', retries=RETRIES)
    async with get_db().read() as session:
        booked = (await session.exec(select(Appointment).where(Appointment.source == BookingSource.IN_PERSON))).one()
        reminder = (await session.exec(select(OutboxMessage).where(OutboxMessage.subject.startswith('Reminder')))).one()
    assert booked.reason == f'Follow-up of {TODAY:%d/%m/%Y}' and reminder.to_address == 'patient0@example.test'
    when = booked.start_at.astimezone(TZ)
    await user.should_see(marker='follow-up-booked', content=f'Follow-up booked for {when:%A %d/%m/%Y %H:%M}.')
    await user.should_not_see(marker='follow-slot')


async def test_a_medicine_stopped_at_an_allergy_is_not_added_when_the_doctor_cancels(user: User):
    ward = await ward_for(user, allergies='Penicillin')
    await open_chart(user, ward)
    await pick_medicine(user, 'amoxi', '1 capsule', '2', '5')
    user.find(marker='add-medicine').click()
    await user.should_see(marker='override-dialog', retries=RETRIES)
    user.find(marker='cancel-override').click()
    await user.should_not_see(marker='override-dialog', retries=RETRIES)
    await user.should_see('No medicines prescribed.')
    async with get_db().read() as session:
        assert (await session.exec(select(PrescriptionItem))).all() == []


# -- allergies -----------------------------------------------------------------------------------------------------

async def test_the_header_says_not_recorded_until_someone_asks(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
    await user.should_see(marker='allergies', content='Allergies not recorded', retries=RETRIES)
    await user.should_not_see('No known allergies')
    user.find(marker='edit-allergies').click()
    await user.should_see(marker='allergy-dialog', retries=RETRIES)
    user.find(marker='no-known-allergies').click()
    await user.should_see(marker='allergies', content='No known allergies', retries=RETRIES)
    user.find(marker='allergy-substance').type('Amoxicillin')
    user.find(marker='allergy-reaction').type('rash')
    element(user, 'allergy-severity').set_value('severe')
    user.find(marker='add-allergy').click()
    await user.should_see(marker='allergies', content='Allergies: Amoxicillin (rash, severe)', retries=RETRIES)
    await user.should_not_see(marker='allergies', content='No known allergies')
    user.find(marker='remove-allergy').click()
    await user.should_see(marker='allergies', content='Allergies not recorded', retries=RETRIES)


async def test_a_free_text_allergy_note_is_shown_beside_the_status(user: User):
    ward = await ward_for(user)
    async with get_db().write() as session:
        patient = await session.get(Patient, ward.patient_id)
        patient.allergies = 'Latex gloves'  # typed at reception, not on the list
        session.add(patient)
        await session.commit()
    await open_chart(user, ward)
    await user.should_see(marker='allergies', content='Allergies not recorded · note: Latex gloves', retries=RETRIES)


async def test_no_known_allergies_is_refused_while_allergies_are_listed(user: User):
    ward = await ward_for(user, allergies='Latex')
    await open_chart(user, ward)
    await user.should_see(marker='allergies', content='Allergies: Latex (moderate)', retries=RETRIES)
    user.find(marker='edit-allergies').click()
    user.find(marker='no-known-allergies').click()
    await user.should_see('remove them first', retries=RETRIES)
    await user.should_see(marker='allergies', content='Allergies: Latex (moderate)')


# -- finishing and sending on -------------------------------------------------------------------------------------

async def test_sending_to_the_lab_gives_the_patient_a_lab_ticket(user: User):
    ward = await ward_for(user)
    await in_consultation(ward)
    await place_blood_count(ward)
    await open_chart(user, ward)
    user.find(marker='send-to-services').click()
    await user.should_see('The record stays a draft until the patient comes back. Ticket L-001: the patient can go '
                          'there now.', retries=RETRIES)
    async with get_db().read() as session:
        at_lab = (await session.exec(select(QueueTicket).where(QueueTicket.queue_id == ward.lab_queue_id))).one()
        assert (await session.get(Visit, ward.visit_id)).awaiting_results  # back when the results are in
    assert at_lab.status == TicketStatus.WAITING
    await slip_printed_and_back_to_the_queue(user, ward)


async def slip_printed_and_back_to_the_queue(user: User, ward: Ward) -> None:
    """The slip dialog offers the lab ticket's slip (a PDF for the doctor too), then goes back to the worklist."""
    await user.should_see(marker='slip-dialog', retries=RETRIES)
    slip = element(user, 'print-slip').props['href']
    assert slip == f'/consultation/tickets/{ward.visit_id}.pdf'
    response = await user.http_client.get(slip)
    assert response.status_code == 200 and response.content.startswith(b'%PDF')
    user.find(marker='back-to-queue').click()
    await user.should_see(marker='call-next', retries=RETRIES)  # back on the worklist


async def finishing_with_a_result_pending(user: User) -> Ward:
    """The doctor wrote the record, ordered a blood count and clicks "Finish consultation" before its result."""
    ward = await ward_for(user)
    await in_consultation(ward)
    await place_blood_count(ward)
    async with get_db().write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=utcnow())
    await open_chart(user, ward)
    await user.should_see(marker='finish-consultation', retries=RETRIES)
    user.find(marker='finish-consultation').click()
    return ward


async def test_finishing_with_a_result_pending_asks_whether_to_wait_for_it(user: User):
    ward = await finishing_with_a_result_pending(user)
    await user.should_see('1 ordered test has no result yet.', retries=RETRIES)
    user.find(marker='finish-wait').click()
    await user.should_see('Ticket L-001: the patient can go there now.', retries=RETRIES)
    async with get_db().read() as session:
        visit = await session.get(Visit, ward.visit_id)
        record = (await session.exec(select(MedicalRecord))).one()
    assert (visit.awaiting_results, record.status) == (True, RecordStatus.DRAFT)  # finished when results are in
    await slip_printed_and_back_to_the_queue(user, ward)


async def test_finishing_now_without_waiting_signs_and_sends_the_results_to_the_chart(user: User):
    ward = await finishing_with_a_result_pending(user)
    await user.should_see(marker='results-pending-dialog', retries=RETRIES)
    user.find(marker='finish-now').click()
    await user.should_see('Consultation finished: the patient is now at lab / imaging. Ticket L-001: the patient can '
                          'go there now.', retries=RETRIES)
    await user.should_see(marker='print-slip')
    async with get_db().read() as session:
        visit = await session.get(Visit, ward.visit_id)
        record = (await session.exec(select(MedicalRecord))).one()
    assert (visit.awaiting_results, record.status) == (False, RecordStatus.SIGNED)


async def test_finishing_with_medicines_gives_the_pharmacy_ticket_and_its_slip(user: User):
    ward = await ward_for(user)
    await station(get_db(), QueueKind.PHARMACY, 'R', [('PH1', 'Pharmacy, counter 1')])
    async with get_db().write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=utcnow())
        await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5'), today=TODAY, now=utcnow())
    await open_chart(user, ward)
    user.find(marker='finish-consultation').click()
    await user.should_see('Ticket R-001: the patient can go there now.', retries=RETRIES)
    await slip_printed_and_back_to_the_queue(user, ward)


async def test_a_visit_finished_elsewhere_shows_at_once(user: User):
    ward = await ward_for(user)
    await open_chart(user, ward)
    await user.should_see(marker='finish-consultation')
    async with get_db().write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=utcnow())
    async with get_db().write() as session:
        await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=utcnow())
    await user.should_see(marker='visit-status', content='waiting for payment', retries=RETRIES)
    await user.should_not_see(marker='finish-consultation', retries=RETRIES)


# -- who may see what ---------------------------------------------------------------------------------------------

async def test_another_doctors_patient_is_read_only(user: User):
    ward = await ward_for(user)
    await add_user(get_db(), 'doctor2', Role.DOCTOR)
    await open_chart(user, ward, 'doctor2')
    await user.should_see('read only (this opening is logged)', retries=RETRIES)
    await user.should_not_see(marker='finish-consultation')
    await user.should_not_see(marker='sign-record')
    await user.should_not_see(marker='follow-in')


async def test_an_unknown_visit_says_so_with_the_way_back(user: User):
    await ward_for(user)
    await sign_in(user, 'doctor', station='Consultation')
    await user.open('/consultation/visits/999999')
    await user.should_see('This visit does not exist.', retries=RETRIES)
    await user.should_see('← Back to my queue')


async def test_pharmacist_cannot_open_a_chart(user: User):
    ward = await ward_for(user)
    await sign_in(user, 'pharmacy', station='Pharmacy')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see('cannot open', retries=RETRIES)


async def completed_blood_count(ward: Ward, order_id: int, wbc: str, potassium: str) -> None:
    """The technician completes the blood count (in another session) with these two values."""
    async with get_db().write() as session:
        await orders.record_result(session, ward.technician, order_id, text='',
                                   values=[ResultValue('WBC', wbc), ResultValue('K', potassium)], complete=True,
                                   now=utcnow())


async def test_the_chart_flags_a_high_value_and_alerts_the_doctor_of_a_critical_one(user: User):
    ward = await ward_for(user)
    await make_full_blood_count(get_db(), ward)
    order = await place_blood_count(ward)
    await open_chart(user, ward)
    await completed_blood_count(ward, order.id, '11.8', '6.9')
    await user.should_see('Critical result for Lê Thị Hồng: K 6.9 mmol/L', retries=RETRIES)
    await user.should_see(marker='order-value', content='WBC: 11.8 10^9/L H (ref. 4.0–10.0)', retries=RETRIES)
    await user.should_see(marker='order-value', content='K: 6.9 mmol/L HH (ref. 3.5–5.1)')
    await user.should_see(marker='print-result')
    response = await user.http_client.get(f'/consultation/results/{order.id}.pdf')
    assert response.status_code == 200 and response.content.startswith(b'%PDF')


async def test_a_critical_result_of_another_doctors_order_does_not_alert_this_doctor(user: User):
    ward = await ward_for(user)
    await make_full_blood_count(get_db(), ward)
    order = await place_blood_count(ward)
    async with get_db().write() as session:  # the visit (and so the order) belongs to the other doctor
        await session.exec(sa.update(ServiceOrder).values(ordered_by_id=ward.clinic.doctor_ids[1]))
        await session.commit()
    await open_chart(user, ward)
    await completed_blood_count(ward, order.id, '5.0', '6.9')
    await user.should_see(marker='order-value', content='K: 6.9 mmol/L HH', retries=RETRIES)
    await asyncio.sleep(0.5)  # time enough for an alert to arrive, were it to
    await user.should_not_see('Critical result for')
