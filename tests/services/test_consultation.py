"""The consultation: chart and history, record drafts, vitals checks, signing, amending, orders, prescriptions,
finishing the visit, the follow-up reminder."""
from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from models import (
    AuditLog,
    EmailOutbox,
    MedicalRecord,
    Prescription,
    PrescriptionStatus,
    RecordAmendment,
    RecordStatus,
    Role,
    Visit,
    VisitStatus,
)
from services import booking, consultation, icd10, orders, prescriptions
from services.consultation import RecordInput
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.prescriptions import LineInput
from tests.clinical import FULL, TODAY, add_user, make_ward
from tests.factories import NOW, TZ


async def visit(db, visit_id: int) -> Visit:
    async with db.read() as session:
        return await session.get(Visit, visit_id)


# --------------------------------------------------------------------------------------------------------------

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
    with pytest.raises(ValidationError, match='not an ICD-10 code'):
        consultation.parse_record(RecordInput(diagnosis_code='Q99.99'))
    values = consultation.parse_record(FULL)
    assert values['temperature_c'] == Decimal('38.4') and values['diagnosis_code'] == 'J06.9'
    assert values['diagnosis'] == 'Acute upper respiratory infection, unspecified'  # filled from the code


async def test_draft_autosave_sign_and_amend_with_trail(db):
    ward = await make_ward(db)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, RecordInput(reason='Fever'), now=NOW)
    async with db.write() as session:  # a wrong vital saves nothing at all
        with pytest.raises(ValidationError):
            await consultation.save_draft(session, ward.doctor, ward.visit_id,
                                          RecordInput(reason='Changed', temperature_c='50'), now=NOW)
    async with db.read() as session:
        record = (await session.exec(select(MedicalRecord))).one()
        assert record.reason == 'Fever' and record.status == RecordStatus.DRAFT
    async with db.write() as session:
        with pytest.raises(ValidationError, match='final diagnosis'):
            await consultation.sign(session, ward.doctor, ward.visit_id, RecordInput(reason='Fever'), now=NOW)
    async with db.write() as session:
        await consultation.sign(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match='amendments'):
            await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
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
        assert (await session.exec(select(MedicalRecord))).one().diagnosis_code == 'J02.9'


async def test_other_doctors_and_other_roles_cannot_write(db):
    ward = await make_ward(db)
    other = await add_user(db, 'doctor2', Role.DOCTOR)
    async with db.write() as session:
        with pytest.raises(PermissionDenied, match='treating doctor'):
            await consultation.save_draft(session, other, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await consultation.chart(session, ward.pharmacist, ward.visit_id, today=TODAY)


async def test_chart_shows_history_and_is_audited(db):
    ward = await make_ward(db)
    async with db.write() as session:  # a past visit with a signed record and a prescription
        past = Visit(patient_id=ward.patient_id, doctor_id=ward.clinic.doctor_ids[0], status=VisitStatus.CLOSED,
                     visit_date=TODAY - timedelta(days=40))
        session.add(past)
        await session.flush()
        record = MedicalRecord(visit_id=past.id, patient_id=ward.patient_id, doctor_id=ward.clinic.doctor_ids[0],
                               status=RecordStatus.SIGNED, reason='Headache', diagnosis_code='R51',
                               diagnosis='Headache', bp_systolic=150, bp_diastolic=95)
        session.add(record)
        await session.flush()
        session.add(Prescription(visit_id=past.id, record_id=record.id, doctor_id=ward.clinic.doctor_ids[0],
                                 status=PrescriptionStatus.DISPENSED))
        await session.commit()
    async with db.write() as session:
        chart = await consultation.chart(session, ward.doctor, ward.visit_id, today=TODAY)
    assert chart.editable and chart.record is None and len(chart.history) == 1
    entry = chart.history[0]
    assert entry.diagnosis_code == 'R51' and 'BP 150/95' in entry.vitals and 'headache' in entry.search_text
    async with db.read() as session:
        logged = (await session.exec(select(AuditLog).where(AuditLog.action == 'chart_viewed'))).one()
    assert logged.entity_id == ward.patient_id and logged.username == 'doctor'


async def test_orders_prescription_and_finish_move_the_visit(db):
    ward = await make_ward(db, allergies='Penicillin, seafood')
    async with db.write() as session:
        created = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW)
    assert created[0].price == 90_000
    async with db.write() as session:
        with pytest.raises(Conflict, match='already ordered'):
            await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not a lab'):
            await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.consultation_id], now=NOW)
    async with db.read() as session:
        assert await orders.next_station_queue_id(session, ward.visit_id) == ward.lab_queue_id
        hits = await prescriptions.search_medicines(session, ward.doctor, 'parac', today=TODAY)
    assert hits[0].on_hand == 100  # the expired batch does not count
    async with db.write() as session:
        added = await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5', instructions='After meals'),
            today=TODAY, now=NOW)
    assert added.item.quantity == 15 and added.warnings == []
    async with db.write() as session:
        added = await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.amoxicillin, dose='1 capsule', times_per_day='2', duration_days='7'), today=TODAY, now=NOW)
    assert added.warnings == ['Allergy recorded: Penicillin']
    async with db.write() as session:
        added = await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.syrup, dose='5 ml', times_per_day='3', duration_days='5'), today=TODAY, now=NOW)
    assert added.item.quantity == 1 and added.warnings == ['Out of stock at the clinic pharmacy']
    async with db.write() as session:
        with pytest.raises(ValidationError, match='times a day'):
            await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
                ward.amoxicillin, dose='1 capsule', times_per_day='', duration_days='7'), today=TODAY, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='reason for the visit'):
            await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)  # nothing written yet
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        status = (await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)).status
    assert status == VisitStatus.IN_SERVICES  # the lab test is still to do
    async with db.read() as session:
        rx = (await session.exec(select(Prescription))).one()
        assert rx.status == PrescriptionStatus.ISSUED and rx.issued_at is not None
        assert (await session.exec(select(MedicalRecord))).one().status == RecordStatus.SIGNED
    async with db.write() as session:
        with pytest.raises(Conflict, match='already gone to the pharmacy'):
            await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
                ward.paracetamol, dose='1', times_per_day='1', duration_days='1'), today=TODAY, now=NOW)
    order_id = created[0].id
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='WBC normal',
                                   values=[orders.ResultValue('WBC', '7.2', '10^9/L', '4-10')], complete=True,
                                   now=NOW)
    assert (await visit(db, ward.visit_id)).status == VisitStatus.AWAITING_PHARMACY


async def test_finish_without_anything_pending_goes_to_the_cashier(db):
    ward = await make_ward(db)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=NOW)
    async with db.write() as session:
        await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(
            ward.paracetamol, dose='1 tablet', times_per_day='2', duration_days='2'), today=TODAY, now=NOW)
    async with db.read() as session:
        item_id = (await session.exec(select(Prescription.id))).one()
    async with db.write() as session:
        from models import PrescriptionItem
        line = (await session.exec(select(PrescriptionItem))).one()
        await prescriptions.remove_item(session, ward.doctor, ward.visit_id, line.id)
    async with db.write() as session:
        assert (await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)).status == \
            VisitStatus.AWAITING_PAYMENT
    async with db.read() as session:  # the empty draft is dropped
        assert await session.get(Prescription, item_id) is None
    async with db.write() as session:
        with pytest.raises(Conflict, match='consultation is over'):
            await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=NOW)


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
        reminder = (await session.exec(select(EmailOutbox).where(EmailOutbox.subject.startswith('Reminder')))).one()
    local = reminder.next_attempt_at.astimezone(TZ)
    assert local.date() == start.date() - timedelta(days=1) and local.hour == 9
    assert reminder.to_address == 'patient0@example.test'
