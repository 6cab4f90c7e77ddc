"""The consultation: chart and history, record drafts, vitals checks, signing, amending, orders, prescriptions,
finishing the visit, the follow-up reminder."""
from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models import (
    Appointment,
    AuditLog,
    BookingSource,
    MedicalRecord,
    MessageChannel,
    OutboxMessage,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    RecordAmendment,
    RecordStatus,
    Role,
    Service,
    Visit,
    VisitStatus,
)
from services import booking, consultation, icd10, orders, prescriptions
from services.consultation import RecordInput
from services.core.errors import AllergyConflict, Conflict, PermissionDenied, ValidationError
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, Ward, add_user, make_ward
from tests.factories import NOW, TZ


async def visit(db, visit_id: int) -> Visit:
    async with db.read() as session:
        return await session.get(Visit, visit_id)


async def record(db) -> MedicalRecord:
    async with db.read() as session:
        return (await session.exec(select(MedicalRecord))).one()


async def save_draft(db, ward: Ward, data: RecordInput = FULL) -> None:
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, data, now=NOW)


async def sign(db, ward: Ward, data: RecordInput = FULL) -> None:
    async with db.write() as session:
        await consultation.sign(session, ward.doctor, ward.visit_id, data, now=NOW)


async def prescribe(db, ward: Ward, medicine_id: int, dose: str, times: str, days: str, **kwargs):
    async with db.write() as session:
        return await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            medicine_id, dose=dose, times_per_day=times, duration_days=days, **kwargs), today=TODAY, now=NOW)


async def order_blood_count(db, ward: Ward):
    async with db.write() as session:
        return await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW)


async def finish(db, ward: Ward, open_orders: str = 'refuse') -> VisitStatus:
    async with db.write() as session:
        return (await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW,
                                          open_orders=open_orders)).status


def test_clinical_messages_are_written_in_the_readers_language():
    """Every part a person reads goes through the translation (the test language marks each translated text)."""
    from models import AllergyStatus
    from services.allergies import NOT_RECORDED, summary_text
    from services.core import i18n

    with i18n.use(i18n.PSEUDO):
        with pytest.raises(ValidationError) as raised:
            consultation.parse_vital('temperature_c', '3.7')
        assert str(raised.value).startswith('⟦⟦Temperature⟧ 3.7 ⟦°C⟧ is not plausible')
        assert consultation.dosage_text('1 tablet', 3, 5) == '1 tablet, ⟦3×/day⟧, ⟦5 days⟧'
        assert prescriptions.stock_warnings(0, 5, 'tablet') == ['⟦Out of stock at the clinic pharmacy⟧']
        assert summary_text(AllergyStatus.UNKNOWN, []) == f'⟦{NOT_RECORDED}⟧'
    assert consultation.dosage_text('1 tablet', 3, 1) == '1 tablet, 3×/day, 1 day'


# -- the record ------------------------------------------------------------------------------------------------

def test_icd10_search_is_real_and_fast():
    icd10.preload()
    started = time.perf_counter()
    by_code = icd10.search('J06.9')
    by_words = icd10.search('type 2 diabetes')
    elapsed = time.perf_counter() - started
    assert by_code[0].code == 'J06.9' and 'upper respiratory' in by_code[0].description
    assert any(c.code == 'E11.9' for c in by_words)
    assert icd10.lookup('i10').description == 'Essential (primary) hypertension'
    assert icd10.lookup('X99.99') is None and len(icd10._load()) > 12_000
    assert elapsed < 0.2


@pytest.mark.parametrize('field, text, words', [
    ('temperature_c', '3.7', 'between 30 and 45 °C'),
    ('temperature_c', 'abc', 'please write a number'),
    ('pulse_bpm', '72.5', 'whole number'),
    ('spo2', '101', 'SpO2 101 % is not plausible'),
    ('weight_kg', '0', 'Weight 0 kg is not plausible'),
    ('height_cm', '1700', 'between 20 and 260 cm'),
])
def test_vitals_give_clear_messages(field, text, words):
    with pytest.raises(ValidationError) as error:
        consultation.parse_record(RecordInput(**{field: text}))
    assert words in str(error.value) and error.value.field == field


def test_blood_pressure_needs_both_and_in_order():
    with pytest.raises(ValidationError, match='both numbers'):
        consultation.parse_record(RecordInput(bp_systolic='120'))
    with pytest.raises(ValidationError, match='must be higher'):
        consultation.parse_record(RecordInput(bp_systolic='80', bp_diastolic='120'))


def test_an_unknown_icd10_code_is_refused():
    with pytest.raises(ValidationError, match='not an ICD-10 code'):
        consultation.parse_record(RecordInput(diagnosis_code='Q99.99'))


def test_the_code_is_normalised_and_fills_in_the_diagnosis():
    values = consultation.parse_record(FULL)
    assert values['temperature_c'] == Decimal('38.4') and values['diagnosis_code'] == 'J06.9'
    assert values['diagnosis'] == 'Acute upper respiratory infection, unspecified'  # filled from the code


async def test_a_wrong_vital_saves_nothing_of_the_draft(db):
    ward = await make_ward(db)
    await save_draft(db, ward, RecordInput(reason='Fever'))
    with pytest.raises(ValidationError):
        await save_draft(db, ward, RecordInput(reason='Changed', temperature_c='50'))
    saved = await record(db)
    assert saved.reason == 'Fever' and saved.status == RecordStatus.DRAFT


async def test_signing_needs_a_final_diagnosis(db):
    ward = await make_ward(db)
    await save_draft(db, ward, RecordInput(reason='Fever'))
    with pytest.raises(ValidationError, match='final diagnosis'):
        await sign(db, ward, RecordInput(reason='Fever'))
    await sign(db, ward)
    assert (await record(db)).status == RecordStatus.SIGNED


async def test_a_signed_record_is_no_draft_any_more(db):
    ward = await make_ward(db)
    await sign(db, ward)
    with pytest.raises(Conflict, match='amendments'):
        await save_draft(db, ward)


async def test_an_amendment_needs_a_reason_and_keeps_a_trail(db):
    ward = await make_ward(db)
    await sign(db, ward)
    changed = RecordInput(**{**FULL.__dict__, 'diagnosis_code': 'J02.9', 'diagnosis': 'Acute pharyngitis'})
    async with db.write() as session:
        with pytest.raises(ValidationError, match='why'):
            await consultation.amend(session, ward.doctor, ward.visit_id, changed, 'x', now=NOW)
    async with db.write() as session:
        await consultation.amend(session, ward.doctor, ward.visit_id, changed, 'Throat swab result', now=NOW)
    async with db.read() as session:
        trail = (await session.exec(select(RecordAmendment).order_by(RecordAmendment.field_name))).all()
    assert [(a.field_name, a.old_value, a.new_value) for a in trail] == [
        ('diagnosis', 'Acute upper respiratory infection, unspecified', 'Acute pharyngitis'),
        ('diagnosis_code', 'J06.9', 'J02.9')]
    assert (await record(db)).diagnosis_code == 'J02.9'


async def test_other_doctors_and_other_roles_cannot_write(db):
    ward = await make_ward(db)
    other = await add_user(db, 'doctor2', Role.DOCTOR)
    async with db.write() as session:
        with pytest.raises(PermissionDenied, match='treating doctor'):
            await consultation.save_draft(session, other, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await consultation.chart(session, ward.pharmacist, ward.visit_id, today=TODAY)


# -- the chart ---------------------------------------------------------------------------------------------------

async def add_past_visit(db, ward: Ward) -> None:
    """A visit 40 days ago with a signed record (headache, high blood pressure) and a dispensed prescription."""
    doctor_id = ward.clinic.doctor_ids[0]
    async with db.write() as session:
        past = Visit(patient_id=ward.patient_id, doctor_id=doctor_id, status=VisitStatus.CLOSED,
                     visit_date=TODAY - timedelta(days=40))
        session.add(past)
        await session.flush()
        past_record = MedicalRecord(visit_id=past.id, patient_id=ward.patient_id, doctor_id=doctor_id,
                                    status=RecordStatus.SIGNED, reason='Headache', diagnosis_code='R51',
                                    diagnosis='Headache', bp_systolic=150, bp_diastolic=95)
        session.add(past_record)
        await session.flush()
        session.add(Prescription(visit_id=past.id, record_id=past_record.id, doctor_id=doctor_id,
                                 status=PrescriptionStatus.DISPENSED))
        await session.commit()


async def test_chart_shows_history_and_is_audited(db):
    ward = await make_ward(db)
    await add_past_visit(db, ward)
    async with db.write() as session:
        chart = await consultation.chart(session, ward.doctor, ward.visit_id, today=TODAY)
    assert chart.editable and chart.record is None and len(chart.history) == 1
    entry = chart.history[0]
    assert entry.diagnosis_code == 'R51' and 'BP 150/95' in entry.vitals and 'headache' in entry.search_text
    async with db.read() as session:
        logged = (await session.exec(select(AuditLog).where(AuditLog.action == 'chart_viewed'))).one()
    assert logged.entity_id == ward.patient_id and logged.username == 'doctor'


# -- orders and prescriptions --------------------------------------------------------------------------------------

async def test_a_service_is_ordered_once_at_its_price_and_only_from_the_stations(db):
    ward = await make_ward(db)
    created = await order_blood_count(db, ward)
    assert created[0].price == 90_000
    with pytest.raises(Conflict, match='already ordered'):
        await order_blood_count(db, ward)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not a lab'):
            await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.consultation_id], now=NOW)
    async with db.read() as session:
        assert await orders.next_station_queue_id(session, ward.visit_id) == ward.lab_queue_id


async def test_medicine_search_counts_only_usable_stock(db):
    ward = await make_ward(db)
    async with db.read() as session:
        hits = await prescriptions.search_medicines(session, ward.doctor, 'parac', today=TODAY)
    assert hits[0].on_hand == 100  # the expired batch does not count


async def test_a_prescription_line_computes_its_quantity_and_stops_at_allergies_and_warns_of_stock(db):
    ward = await make_ward(db, allergies='Penicillin, seafood')
    added = await prescribe(db, ward, ward.paracetamol, '1 tablet', '3', '5', instructions='After meals')
    assert added.item.quantity == 15 and added.warnings == []
    with pytest.raises(AllergyConflict, match='Penicillin'):
        await prescribe(db, ward, ward.amoxicillin, '1 capsule', '2', '7')
    added = await prescribe(db, ward, ward.syrup, '5 ml', '3', '5')
    assert added.item.quantity == 1 and added.warnings == ['Out of stock at the clinic pharmacy']
    with pytest.raises(ValidationError, match='times a day'):
        await prescribe(db, ward, ward.amoxicillin, '1 capsule', '', '7')


# -- finishing -----------------------------------------------------------------------------------------------------

async def test_finish_needs_a_record_then_signs_it_issues_the_prescription_and_sends_to_the_lab(db):
    ward = await make_ward(db)
    await order_blood_count(db, ward)
    await prescribe(db, ward, ward.paracetamol, '1 tablet', '3', '5')
    with pytest.raises(ValidationError, match='reason for the visit'):
        await finish(db, ward, 'finish')  # nothing written yet
    await save_draft(db, ward)
    assert await finish(db, ward, 'finish') == VisitStatus.IN_SERVICES  # the lab test is still to do
    async with db.read() as session:
        rx = (await session.exec(select(Prescription))).one()
    assert rx.status == PrescriptionStatus.ISSUED and rx.issued_at is not None
    assert (await record(db)).status == RecordStatus.SIGNED
    with pytest.raises(Conflict, match='already gone to the pharmacy'):
        await prescribe(db, ward, ward.paracetamol, '1', '1', '1')


async def test_the_last_result_sends_the_patient_on_to_the_pharmacy(db):
    ward = await make_ward(db)
    created = await order_blood_count(db, ward)
    await prescribe(db, ward, ward.paracetamol, '1 tablet', '3', '5')
    await save_draft(db, ward)
    await finish(db, ward, 'finish')
    async with db.write() as session:
        await orders.record_result(session, ward.technician, created[0].id, text='WBC normal',
                                   values=[orders.ResultValue('WBC', '7.2', '10^9/L', '4-10')], complete=True,
                                   now=NOW)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.AWAITING_PHARMACY


async def test_finish_without_anything_pending_goes_to_the_cashier(db):
    ward = await make_ward(db)
    await save_draft(db, ward)
    await prescribe(db, ward, ward.paracetamol, '1 tablet', '2', '2')
    async with db.read() as session:
        prescription_id = (await session.exec(select(Prescription.id))).one()
        line = (await session.exec(select(PrescriptionItem))).one()
    async with db.write() as session:
        await prescriptions.remove_item(session, ward.doctor, ward.visit_id, line.id)
    assert await finish(db, ward) == VisitStatus.AWAITING_PAYMENT
    async with db.read() as session:  # the empty draft is dropped
        assert await session.get(Prescription, prescription_id) is None
    with pytest.raises(Conflict, match='consultation is over'):
        await finish(db, ward)


# -- the follow-up -------------------------------------------------------------------------------------------------

async def test_follow_up_booking_queues_a_reminder_for_the_day_before(db):
    ward = await make_ward(db)
    from services.core.settings import get_settings
    settings = get_settings()
    start = (NOW + timedelta(days=14)).astimezone(TZ).replace(hour=9, minute=0)
    async with db.write() as session:
        appointment = await booking.book(session, ward.doctor, patient_id=ward.patient_id,
                                         service_id=ward.clinic.consultation_id, doctor_id=ward.clinic.doctor_ids[0],
                                         start_at=start, source=booking.BookingSource.IN_PERSON, tz=TZ, now=NOW,
                                         reason='Follow-up', settings=settings)
    async with db.write() as session:
        await consultation.schedule_follow_up_reminder(session, ward.doctor, appointment.id, settings=settings,
                                                       now=NOW)
    async with db.read() as session:
        reminder = (await session.exec(select(OutboxMessage).where(OutboxMessage.subject.startswith('Reminder')))).one()
    local = reminder.next_attempt_at.astimezone(TZ)
    assert local.date() == start.date() - timedelta(days=1) and local.hour == 9
    assert reminder.to_address == 'patient0@example.test'


async def follow_up_times(db, ward: Ward):
    async with db.read() as session:
        return await consultation.follow_up_times(session, ward.doctor, ward.visit_id,
                                                  start_day=TODAY + timedelta(days=14), days=4, tz=TZ, now=NOW)


async def book_follow_up(db, ward: Ward, start_at) -> consultation.FollowUp:
    from services.core.settings import get_settings
    async with db.write() as session:
        return await consultation.book_follow_up(session, ward.doctor, ward.visit_id,
                                                 service_id=ward.clinic.consultation_id, start_at=start_at,
                                                 settings=get_settings(), now=NOW)


async def follow_ups(db) -> list[Appointment]:
    async with db.read() as session:
        return list((await session.exec(select(Appointment).where(Appointment.source == BookingSource.IN_PERSON)))
                    .all())


async def test_follow_up_times_are_the_free_times_of_the_visits_doctor(db):
    ward = await make_ward(db)
    times = await follow_up_times(db, ward)
    assert times.service_id == ward.clinic.consultation_id and len(times.slots) == 4
    first = times.slots[TODAY + timedelta(days=14)][0]
    assert first.doctor_id == ward.clinic.doctor_ids[0] and f'{first.start_at.astimezone(TZ):%H:%M}' == '08:00'


async def test_no_follow_up_times_when_the_doctor_has_no_consultation_on_the_price_list(db):
    ward = await make_ward(db)
    async with db.write() as session:
        service = await session.get(Service, ward.clinic.consultation_id)
        service.is_active = False
        session.add(service)
        await session.commit()
    assert await follow_up_times(db, ward) == consultation.FollowUpTimes(None, {})


async def test_a_follow_up_is_booked_with_its_reminder_in_one_step(db):
    ward = await make_ward(db)
    times = await follow_up_times(db, ward)
    booked = await book_follow_up(db, ward, times.slots[TODAY + timedelta(days=14)][0].start_at)
    assert booked.reminded and booked.appointment.reason == f'Follow-up of {TODAY:%d/%m/%Y}'
    assert [a.id for a in await follow_ups(db)] == [booked.appointment.id]
    async with db.read() as session:
        reminder = (await session.exec(select(OutboxMessage).where(OutboxMessage.subject.startswith('Reminder')))).one()
    assert reminder.to_address == 'patient0@example.test'


async def test_a_follow_up_of_a_patient_without_email_is_reminded_by_sms(db):
    ward = await make_ward(db)
    async with db.write() as session:
        patient = await session.get(Patient, ward.patient_id)
        patient.email = None
        session.add(patient)
        await session.commit()
    booked = await book_follow_up(db, ward, (NOW + timedelta(days=14)).astimezone(TZ).replace(hour=9, minute=0))
    assert booked.reminded and len(await follow_ups(db)) == 1
    async with db.read() as session:
        reminder = (await session.exec(select(OutboxMessage))).one()
    assert (reminder.channel, reminder.to_address) == (MessageChannel.SMS, patient.phone)


async def test_a_follow_up_of_a_patient_without_email_nor_valid_phone_has_no_reminder(db):
    ward = await make_ward(db)
    async with db.write() as session:
        patient = await session.get(Patient, ward.patient_id)
        patient.email, patient.phone = None, '123456'  # an old number kept as typed before numbers were checked
        session.add(patient)
        await session.commit()
    booked = await book_follow_up(db, ward, (NOW + timedelta(days=14)).astimezone(TZ).replace(hour=9, minute=0))
    assert not booked.reminded and len(await follow_ups(db)) == 1


async def test_a_follow_up_whose_reminder_fails_is_not_booked(db, monkeypatch):
    from services import notifications
    ward = await make_ward(db)

    async def fail(*_args, **_kwargs):
        raise RuntimeError('the outbox failed')
    monkeypatch.setattr(notifications, 'schedule_appointment_reminder', fail)
    with pytest.raises(RuntimeError):
        await book_follow_up(db, ward, (NOW + timedelta(days=14)).astimezone(TZ).replace(hour=9, minute=0))
    assert await follow_ups(db) == []
