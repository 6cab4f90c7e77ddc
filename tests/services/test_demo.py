"""Demo data: what a user of a freshly loaded demo clinic would notice, on SQLite and on PostgreSQL."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from models import (
    Address,
    AllergyStatus,
    Appointment,
    AppointmentService,
    AppointmentStatus,
    Dispense,
    DispenseItem,
    Doctor,
    DoctorSpecialty,
    Invoice,
    InvoiceItem,
    InvoiceStatus,
    Medicine,
    NumberSequence,
    Patient,
    PatientAllergy,
    Payment,
    PrescriptionItem,
    Queue,
    QueueDayCounter,
    QueueKind,
    QueueTicket,
    ResultFlag,
    ResultValue,
    Role,
    Room,
    RoomKind,
    Service,
    ServiceOrder,
    Sex,
    Specialty,
    StockBatch,
    StockMovement,
    TicketStatus,
    User,
    Visit,
    WorkingHours,
)
from services import lab_results, phones
from services.core.errors import Conflict
from services.demo import DemoSummary, is_empty, load_demo
from services.text import search_key
from services.users import authenticate
from tests.conftest import truncate_all

TZ = ZoneInfo('Asia/Ho_Chi_Minh')
WEDNESDAY = date(2026, 11, 25)
SUNDAY = date(2026, 11, 29)
PASSWORD = 'demo-clinic-2026'


async def load(db, *, today: date = WEDNESDAY, seed: int = 7) -> DemoSummary:
    async with db.write() as session:
        return await load_demo(session, password=PASSWORD, today=today, tz=TZ, patients=150, seed=seed)


async def count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


def local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


async def test_loads_the_clinic_set_up(db):
    async with db.read() as session:
        assert await is_empty(session)
    summary = await load(db)
    async with db.read() as session:
        assert not await is_empty(session)
        assert await count(session, Doctor) == 10
        assert await count(session, Specialty) == 5
        assert await count(session, Room) == 13
        windows = {q.kind: q for q in (await session.exec(select(Queue))).all() if q.doctor_id is None}
        assert set(windows) == {QueueKind.LAB, QueueKind.IMAGING, QueueKind.PROCEDURE, QueueKind.PHARMACY,
                                QueueKind.CASHIER}
        for kind in (QueueKind.LAB, QueueKind.PHARMACY, QueueKind.CASHIER):  # each calls to one of two counters
            counters = (await session.exec(select(Room).where(Room.kind == RoomKind(kind.value)))).all()
            assert len(counters) == 2 and windows[kind].room_id in {room.id for room in counters}
        assert await count(session, Service) == 31
        assert await count(session, Medicine) == 200
        assert await count(session, Patient) == 150
        assert await count(session, Address) == 150
        batches = Counter((await session.exec(select(StockBatch.medicine_id))).all())
        assert len(batches) == 200 and all(1 <= n <= 3 for n in batches.values())
        roles = (await session.exec(select(User.role))).all()
        assert sorted(roles) == sorted(Role)
        doctor_user = (await session.exec(select(User).where(User.username == 'doctor'))).one()
        first_doctor = (await session.exec(select(Doctor).order_by(Doctor.id))).first()
        assert first_doctor.user_id == doctor_user.id and first_doctor.full_name == doctor_user.full_name
        two_specialties = Counter((await session.exec(select(DoctorSpecialty.doctor_id))).all())
        assert sum(1 for n in two_specialties.values() if n == 2) >= 2
        keywords = (await session.exec(select(Specialty.keywords))).all()
        assert all(',' in text for text in keywords)
        prices = (await session.exec(select(Service.price))).all()
        assert all(isinstance(price, int) and 50_000 <= price <= 1_500_000 for price in prices)
        assert (await session.get(NumberSequence, 'patient_code')).last_value == 150
        assert summary.counts['patients'] == 150 and summary.counts['doctors'] == 10
        assert summary.counts['visits'] == await count(session, Visit)
    assert {a.username for a in summary.accounts} == {'admin', 'reception', 'doctor', 'lab', 'pharmacy', 'cashier'}
    assert {a.username: a.role for a in summary.accounts}['lab'] == Role.TECHNICIAN


async def test_vietnamese_names_survive_a_round_trip(db):
    summary = await load(db)
    async with db.read() as session:
        users = {u.username: u.full_name for u in (await session.exec(select(User))).all()}
        assert users == {a.username: a.full_name for a in summary.accounts}
        doctors = (await session.exec(select(Doctor.full_name))).all()
        assert 'Nguyễn Thị Lan' in doctors and 'Trần Văn Minh' in doctors
        patients = (await session.exec(select(Patient))).all()
    assert any(ch in name for name in [*doctors, *users.values()] for ch in 'ễư')
    non_ascii = [p for p in patients if not p.full_name.isascii()]
    assert len(non_ascii) > len(patients) // 2
    for patient in patients:
        assert patient.search_name == search_key(patient.full_name)
        assert patient.code.startswith("P") and len(patient.code) == 8  # P0000001, as services.patients numbers them
        assert patient.phone is not None or patient.date_of_birth is not None
        if patient.phone:
            assert phones.is_stored_valid(patient.phone) and patient.phone.startswith('+84')
    assert len({p.code for p in patients}) == len(patients)


@pytest.mark.parametrize('today', [WEDNESDAY, SUNDAY])
async def test_todays_appointments_fit_working_hours_without_overlaps(db, today):
    await load(db, today=today)
    start = datetime.combine(today, time(), tzinfo=TZ)
    async with db.read() as session:
        appointments = (await session.exec(select(Appointment).where(
            Appointment.start_at >= start, Appointment.start_at < start + timedelta(days=1)))).all()
        hours = (await session.exec(select(WorkingHours).where(WorkingHours.weekday == today.weekday()))).all()
        with_services = set((await session.exec(select(AppointmentService.appointment_id))).all())
        visits_today = (await session.exec(select(func.count()).select_from(Visit)
                                           .where(Visit.visit_date >= today))).one()
    assert 30 <= len(appointments) <= 40
    assert visits_today == 0
    assert {a.status for a in appointments} <= {AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED}
    blocks = defaultdict(list)
    for block in hours:
        blocks[block.doctor_id].append(block)
    for appointment in appointments:
        assert appointment.id in with_services
        begin, end = local(appointment.start_at), local(appointment.end_at)
        assert begin.date() == today and begin < end
        assert any(b.start_time <= begin.time() and end.time() <= b.end_time and b.room_id == appointment.room_id
                   for b in blocks[appointment.doctor_id])
    for key in ('doctor_id', 'room_id'):
        by_owner = defaultdict(list)
        for appointment in appointments:
            by_owner[getattr(appointment, key)].append(appointment)
        for booked in by_owner.values():
            booked.sort(key=lambda a: a.start_at)
            assert all(a.end_at <= b.start_at for a, b in zip(booked, booked[1:])), f'overlap by {key}'
    starts = [local(a.start_at).time() for a in appointments]
    assert min(starts) < time(10) and max(starts) >= time(10, 30)  # spread over the day
    if today == SUNDAY:
        assert max(starts) < time(12)


async def test_working_hours_never_share_a_room(db):
    await load(db)
    async with db.read() as session:
        hours = (await session.exec(select(WorkingHours))).all()
    assert {h.doctor_id for h in hours} == set(range(1, 11))
    for a in hours:
        for b in hours:
            if a.id < b.id and a.room_id == b.room_id and a.weekday == b.weekday:
                assert a.end_time <= b.start_time or b.end_time <= a.start_time


async def test_stock_ledger_adds_up(db):
    await load(db)
    async with db.read() as session:
        batches = (await session.exec(select(StockBatch))).all()
        ledger = dict((await session.exec(select(StockMovement.batch_id, func.sum(StockMovement.quantity))
                                          .group_by(StockMovement.batch_id))).all())
        dispensed = (await session.exec(select(DispenseItem, Dispense.at).join(Dispense))).all()
        items = (await session.exec(select(PrescriptionItem))).all()
        per_item = Counter()
        for item, _ in dispensed:
            per_item[item.prescription_item_id] += item.quantity
        medicines = {m.id: m for m in (await session.exec(select(Medicine))).all()}
    by_id = {b.id: b for b in batches}
    for batch in batches:
        assert batch.quantity >= 0
        assert ledger[batch.id] == batch.quantity
    for item, at in dispensed:
        batch = by_id[item.batch_id]
        assert batch.expiry_date > local(at).date(), 'dispensed from an expired batch'
        assert batch.received_at < at
        assert item.unit_price == medicines[item.medicine_id].price
    assert items and all(per_item[i.id] == i.quantity == i.dispensed_quantity for i in items)
    on_hand = Counter()
    for batch in batches:
        if batch.expiry_date > WEDNESDAY:
            on_hand[batch.medicine_id] += batch.quantity
    assert any(on_hand[m.id] < m.reorder_level for m in medicines.values())
    assert any(b.expiry_date <= WEDNESDAY for b in batches)  # a few expired batches to deal with
    assert any(WEDNESDAY < b.expiry_date <= WEDNESDAY + timedelta(days=60) for b in batches)


async def test_invoices_and_payments_add_up(db):
    await load(db)
    async with db.read() as session:
        invoices = (await session.exec(select(Invoice))).all()
        lines = defaultdict(int)
        for item in (await session.exec(select(InvoiceItem))).all():
            assert item.line_total == item.quantity * item.unit_price
            lines[item.invoice_id] += item.line_total
        paid = defaultdict(int)
        payments = (await session.exec(select(Payment))).all()
        for payment in payments:
            paid[payment.invoice_id] += payment.amount
            if payment.tendered is not None:
                assert payment.change_due == payment.tendered - payment.amount >= 0
        sequences = {s.name: s.last_value for s in (await session.exec(select(NumberSequence))).all()}
    assert invoices
    assert {i.status for i in invoices} <= {InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID}
    for invoice in invoices:
        assert invoice.subtotal == lines[invoice.id]
        assert invoice.total == invoice.subtotal - invoice.discount_amount - invoice.insurance_amount
        assert paid[invoice.id] == invoice.amount_paid
        if invoice.status == InvoiceStatus.PAID:
            assert invoice.amount_paid == invoice.total
        else:
            assert 0 < invoice.amount_paid < invoice.total
    assert any(i.discount_amount for i in invoices) and any(i.insurance_amount for i in invoices)
    assert len({i.number for i in invoices}) == len(invoices)
    assert all(i.number.startswith('INV-') for i in invoices)
    assert len({p.receipt_number for p in payments}) == len(payments)
    assert sequences == {'patient_code': 150, 'invoice': len(invoices), 'receipt': len(payments)}


async def test_past_visits_are_consistent(db):
    await load(db)
    async with db.read() as session:
        rows = (await session.exec(select(Visit, Patient.date_of_birth).join(Patient))).all()
        tickets = {t.visit_id: t for t in (await session.exec(select(QueueTicket))).all()}
        counters = (await session.exec(select(QueueDayCounter))).all()
    assert len(rows) > 150 * 2
    first_day = WEDNESDAY - timedelta(days=365)
    walk_ins = 0
    for visit, dob in rows:
        assert first_day <= visit.visit_date < WEDNESDAY and visit.visit_date >= dob
        assert local(visit.checked_in_at).date() == visit.visit_date
        assert visit.checked_in_at < visit.consultation_started_at < visit.consultation_ended_at
        minutes = (visit.consultation_ended_at - visit.consultation_started_at).total_seconds() / 60
        assert 10 <= minutes <= 25
        assert (visit.appointment_id is None) == visit.is_walk_in
        walk_ins += visit.is_walk_in
        ticket = tickets[visit.id]
        assert ticket.status == TicketStatus.DONE and ticket.service_date == visit.visit_date
    assert 0.15 < walk_ins / len(rows) < 0.45
    last_numbers = defaultdict(int)
    for ticket in tickets.values():
        key = (ticket.queue_id, ticket.service_date)
        last_numbers[key] = max(last_numbers[key], ticket.number)
    assert {(c.queue_id, c.service_date): c.last_number for c in counters} == last_numbers


async def test_patients_have_structured_allergies_none_known_or_not_recorded(db):
    await load(db)
    async with db.read() as session:
        statuses = Counter((await session.exec(select(Patient.allergy_status))).all())
        first = (await session.exec(select(Patient).where(Patient.code == 'P0000001'))).one()
        first_allergies = (await session.exec(select(PatientAllergy).where(
            PatientAllergy.patient_id == first.id))).all()
        amoxicillin = (await session.exec(select(Medicine).where(Medicine.generic_name == 'Amoxicillin'))).first()
        with_entries = set((await session.exec(select(PatientAllergy.patient_id))).all())
        recorded = set((await session.exec(select(Patient.id).where(
            Patient.allergy_status == AllergyStatus.RECORDED))).all())
    assert all(statuses[s] > 0 for s in AllergyStatus)  # some allergic, some "no known allergies", some not asked
    assert [a.drug_group for a in first_allergies] == ['penicillins'] and first_allergies[0].reaction
    assert amoxicillin.drug_group == 'penicillins'
    assert with_entries == recorded  # "recorded" exactly when there is an entry


async def test_loading_twice_is_refused(db):
    await load(db)
    with pytest.raises(Conflict, match='empty'):
        await load(db)
    async with db.read() as session:
        assert await count(session, Patient) == 150


async def test_every_demo_account_can_sign_in(db):
    summary = await load(db)
    for account in summary.accounts:
        async with db.write() as session:
            actor = await authenticate(session, account.username, PASSWORD)
        assert actor.role == account.role and actor.username == account.username


async def test_the_app_can_add_rows_after_loading(db):
    """On PostgreSQL the id sequences were moved past the demo rows."""
    await load(db)
    async with db.write() as session:
        patient = Patient(code='P999999', full_name='Đỗ Thị Hồng', search_name=search_key('Đỗ Thị Hồng'),
                          date_of_birth=date(1990, 5, 17), sex=Sex.FEMALE, phone='0912345678')
        session.add(patient)
        await session.commit()
        assert patient.id == 151
        user = User(username='newdoc', full_name='Phan Văn Đức', role=Role.DOCTOR, password_hash='x')
        session.add(user)
        await session.commit()
        assert user.id == 7
        fetched = await session.get(Patient, patient.id)
        assert fetched.full_name == 'Đỗ Thị Hồng'


async def test_same_seed_same_data(db):
    async def snapshot() -> tuple:
        async with db.read() as session:
            names = (await session.exec(select(Patient.full_name).order_by(Patient.id))).all()
            totals = (await session.exec(select(Invoice.number, Invoice.total).order_by(Invoice.id))).all()
            batches = (await session.exec(select(StockBatch.batch_no, StockBatch.quantity)
                                          .order_by(StockBatch.id))).all()
        return list(names), list(totals), list(batches)

    await load(db, seed=11)
    first = await snapshot()
    await truncate_all(db)
    await load(db, seed=11)
    assert await snapshot() == first
    await truncate_all(db)
    await load(db, seed=12)
    assert (await snapshot())[0] != first[0]


async def test_demo_lab_tests_have_panels_and_their_results_are_flagged(db):
    await load(db)
    async with db.read() as session:
        cbc = (await session.exec(select(Service).where(Service.code == 'XN-CBC'))).one()
        bmp = (await session.exec(select(Service).where(Service.code == 'XN-BMP'))).one()
        cbc_order = (await session.exec(select(ServiceOrder).where(ServiceOrder.service_id == cbc.id)
                                        .order_by(ServiceOrder.id))).first()
        bmp_panel = await lab_results.panel_for(session, bmp.id, sex=Sex.FEMALE, age=40)
        women = await lab_results.panel_for(session, cbc.id, sex=Sex.FEMALE, age=40)
        men = await lab_results.panel_for(session, cbc.id, sex=Sex.MALE, age=40)
        first = (await session.exec(select(ResultValue).where(ResultValue.order_id == cbc_order.id)
                                    .order_by(ResultValue.position))).all()
        flags = set((await session.exec(select(ResultValue.flag))).all())
    assert len(women) == 18 and women[0].name == 'WBC' and women[0].reference == '4.0–10.0'
    hb = {row.name: (w.reference, row.reference) for w, row in zip(women, men)}['Hb']
    assert hb == ('12.0–15.5', '13.0–17.0')  # by sex
    potassium = next(row for row in bmp_panel if row.name == 'K')
    assert lab_results.judge('6.9', potassium.limits) == ResultFlag.CRITICAL_HIGH
    assert (first[0].name, first[0].value, first[0].flag) == ('WBC', '11.8', ResultFlag.HIGH) and len(first) == 18
    assert {ResultFlag.NORMAL, ResultFlag.HIGH, ResultFlag.LOW} <= flags


@pytest.mark.parametrize('complaint, specialty', [
    ('đau ngực', 'Cardiology'), ('dau nguc', 'Cardiology'), ('chest pain', 'Cardiology'),
    ('Đau ngực khi leo cầu thang', 'Cardiology'), ('nhiễm trùng tiểu', 'General medicine'),
    ('nhiem trung tieu', 'General medicine'), ('bé bị sổ mũi', 'Pediatrics'), ('ngứa và nổi mề đay', 'Dermatology'),
    ('viêm họng', 'Ear-Nose-Throat'), ('sore throat', 'Ear-Nose-Throat')])
async def test_complaints_in_vietnamese_or_english_with_or_without_accents_lead_to_the_specialty(db, complaint,
                                                                                                specialty):
    from services import booking
    from services.core import i18n
    await load(db)
    async with db.read() as session:
        found = await booking.specialties_for_complaint(session, complaint)
    assert found and found[0].name == specialty
    with i18n.use('vi'):
        names = {s.name: i18n.pick(s.name, s.name_translations) for s in found}
    assert names['Cardiology' if specialty == 'Cardiology' else specialty] != specialty  # named in Vietnamese too
