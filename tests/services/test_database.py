"""The database keeps the clinic's data safe by itself: constraints, time zones and concurrent writers."""
import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from models import Appointment, BookingSource, Doctor, Invoice, Medicine, Patient, Service, ServiceKind, StockBatch
from services.sequences import next_value
from services.text import search_key

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)


async def add_patient(session, code='P1', name='Nguyễn Văn An') -> Patient:
    patient = Patient(code=code, full_name=name, search_name=search_key(name), phone='0901234567')
    session.add(patient)
    await session.commit()
    return patient


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(db):
    if not db.is_sqlite:
        pytest.skip('SQLite settings')
    async with db.read() as session:
        assert (await session.exec(sa.text('PRAGMA journal_mode'))).one()[0] == 'wal'
        assert (await session.exec(sa.text('PRAGMA foreign_keys'))).one()[0] == 1
        assert (await session.exec(sa.text('PRAGMA busy_timeout'))).one()[0] >= 5000


async def test_concurrent_writers_never_lose_an_update_or_reuse_a_number(db):
    async def take() -> int:
        async with db.write() as session:
            value = await next_value(session, 'receipt')
            await asyncio.sleep(0)  # give the other writers a chance to interleave
            await session.commit()
            return value

    values = await asyncio.gather(*(take() for _ in range(200)))
    assert sorted(values) == list(range(1, 201))


async def test_a_rolled_back_transaction_leaves_no_gap(db):
    async with db.write() as session:
        assert await next_value(session, 'invoice') == 1
        await session.rollback()
    async with db.write() as session:
        assert await next_value(session, 'invoice') == 1
        await session.commit()


@pytest.mark.parametrize('make', [
    lambda: Service(code='X', name='Bad', kind=ServiceKind.LAB, duration_minutes=10, price=-1),
    lambda: Service(code='X', name='Bad', kind=ServiceKind.LAB, duration_minutes=0, price=100),
    lambda: Medicine(code='M', name='Bad', price=-5),
], ids=['negative price', 'zero duration', 'negative medicine price'])
async def test_price_list_rules_hold_in_the_database(db, make):
    async with db.write() as session:
        session.add(make())
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_appointment_must_end_after_it_starts_and_point_to_real_rows(db):
    async with db.write() as session:
        patient = await add_patient(session)
        doctor = Doctor(full_name='Trần Thị Lan', license_number='L-1')
        session.add(doctor)
        await session.commit()
        patient_id, doctor_id = patient.id, doctor.id
        session.add(Appointment(uuid='u1', patient_id=patient_id, doctor_id=doctor_id, start_at=NOW, end_at=NOW,
                                source=BookingSource.PHONE))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        session.add(Appointment(uuid='u2', patient_id=999_999, doctor_id=doctor_id, start_at=NOW,
                                end_at=NOW + timedelta(minutes=15), source=BookingSource.PHONE))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_an_invoice_can_never_be_overpaid_or_mis_added(db):
    async with db.write() as session:
        patient_id = (await add_patient(session)).id
        session.add(Invoice(number='INV-1', patient_id=patient_id, subtotal=100, total=100, amount_paid=101))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        session.add(Invoice(number='INV-2', patient_id=patient_id, subtotal=100, discount_amount=10, total=100))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_stock_can_never_go_negative(db):
    async with db.write() as session:
        medicine = Medicine(code='M1', name='Paracetamol 500 mg', price=1000)
        session.add(medicine)
        await session.commit()
        batch = StockBatch(medicine_id=medicine.id, batch_no='B1', expiry_date=date(2027, 1, 1), quantity=5)
        session.add(batch)
        await session.commit()
        with pytest.raises(IntegrityError):
            await session.exec(sa.update(StockBatch).where(StockBatch.id == batch.id)
                               .values(quantity=StockBatch.quantity - 6))


async def test_unique_license_numbers(db):
    async with db.write() as session:
        session.add(Doctor(full_name='A', license_number='L-9'))
        session.add(Doctor(full_name='B', license_number='L-9'))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_times_come_back_timezone_aware_and_naive_times_are_refused(db):
    async with db.write() as session:
        patient = await add_patient(session, name='Lê Thị Hồng')
        local = datetime(2026, 11, 23, 8, 30, tzinfo=timezone(timedelta(hours=7)))
        patient.created_at = local
        session.add(patient)
        await session.commit()
    async with db.read() as session:
        loaded = await session.get(Patient, patient.id)
        assert loaded.created_at == local and loaded.created_at.tzinfo is not None
        assert loaded.full_name == 'Lê Thị Hồng'
    async with db.write() as session:
        loaded = await session.get(Patient, patient.id)
        loaded.updated_at = datetime(2026, 1, 1, 8, 0)
        session.add(loaded)
        with pytest.raises(StatementError, match='naive datetime'):
            await session.commit()
