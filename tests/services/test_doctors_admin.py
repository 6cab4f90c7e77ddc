"""Doctors and their schedules: weekly hours per room without clashes, leave, doctors without an account."""
from __future__ import annotations

from datetime import date, time

import pytest

from models import BookingSource
from services import booking, catalog, doctors_admin
from services.core.errors import Conflict, ValidationError
from tests.factories import NOW, TZ, local, make_clinic


async def new_room(db, clinic):
    async with db.write() as session:
        return await catalog.save_room(session, clinic.admin, None, code='R3', name='Room 3', kind='consultation')


async def test_weekly_hours_never_clash_for_a_doctor_or_a_room(db):
    clinic = await make_clinic(db)
    room = await new_room(db, clinic)
    async with db.write() as session:
        with pytest.raises(Conflict, match='already works Monday 08:00–12:00 in R1'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='11:00',
                                          end='13:00', room_id=room.id)
    async with db.write() as session:
        visiting = await doctors_admin.create_doctor(session, clinic.admin, full_name='Mai Anh', license_number='V-1')
    async with db.write() as session:
        with pytest.raises(Conflict, match='Room R2 is taken Tuesday 13:30–17:00 by Dr. Trần Văn Minh'):
            await doctors_admin.add_hours(session, clinic.admin, visiting.id, weekdays=[1], start='12:00',
                                          end='14:00', room_id=clinic.room_ids[1])


async def test_weekly_hours_are_times_in_order(db):
    clinic = await make_clinic(db)
    room = await new_room(db, clinic)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='end time must be after'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='18:00',
                                          end='17:00', room_id=room.id)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='look like 08:30'):
            await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0], start='8h',
                                          end='17:00', room_id=room.id)


async def test_added_hours_are_booked_in_their_room(db):
    clinic = await make_clinic(db)
    room = await new_room(db, clinic)
    async with db.write() as session:
        added = await doctors_admin.add_hours(session, clinic.admin, clinic.doctor_ids[0], weekdays=[0, 2],
                                              start='17:00', end='19:00', room_id=room.id)
    assert [b.weekday for b in added] == [0, 2]
    async with db.read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id,
                                         doctor_ids=[clinic.doctor_ids[0]], start_day=date(2026, 11, 23), days=1,
                                         tz=TZ, now=NOW)
    evening = [s for s in slots[date(2026, 11, 23)] if s.start_at >= local(23, 17)]
    assert evening and all(s.room_id == room.id for s in evening)


async def test_leave_is_respected_by_booking_and_never_overlaps(db):
    clinic = await make_clinic(db)
    doctor_id = clinic.doctor_ids[1]
    async with db.write() as session:
        await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 24),
                                      end_date=date(2026, 11, 25), reason='Conference', tz=TZ, now=NOW)
    async with db.read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id, doctor_ids=[doctor_id],
                                         start_day=date(2026, 11, 23), days=4, tz=TZ, now=NOW)
    assert slots[date(2026, 11, 23)] and slots[date(2026, 11, 26)]
    assert slots[date(2026, 11, 24)] == [] and slots[date(2026, 11, 25)] == []
    async with db.write() as session:
        with pytest.raises(Conflict, match='already on leave 24/11/2026–25/11/2026'):
            await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 25),
                                          end_date=date(2026, 11, 27), reason='', tz=TZ, now=NOW)


async def test_leave_and_removed_hours_never_strand_booked_patients(db):
    clinic = await make_clinic(db)
    doctor_id = clinic.doctor_ids[1]
    async with db.write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0],
                           service_id=clinic.consultation_id, doctor_id=doctor_id, start_at=local(27, 9),
                           source=BookingSource.PHONE, tz=TZ, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match=r'1 booked appointment would be left .* Fri 27/11 at 09:00'):
            await doctors_admin.add_leave(session, clinic.admin, doctor_id, start_date=date(2026, 11, 27),
                                          end_date=date(2026, 11, 27), reason='', tz=TZ, now=NOW)
    async with db.read() as session:
        friday_morning = next(h for h in (await doctors_admin.detail(session, clinic.admin, doctor_id)).hours
                              if h.weekday == 4 and h.start_time == time(8))
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 booked appointment'):
            await doctors_admin.remove_hours(session, clinic.admin, friday_morning.id, tz=TZ, now=NOW)


async def test_leave_ends_after_it_starts(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not be before'):
            await doctors_admin.add_leave(session, clinic.admin, clinic.doctor_ids[1], start_date=date(2026, 12, 2),
                                          end_date=date(2026, 12, 1), reason='', tz=TZ, now=NOW)


async def test_a_doctor_without_an_account_gets_a_queue_and_offers_services(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        doctor = await doctors_admin.create_doctor(session, clinic.admin, full_name='Đặng Văn Khoa',
                                                   license_number='L-900')
    async with db.write() as session:
        await doctors_admin.set_offer(session, clinic.admin, doctor.id, specialty_ids=[],
                                      service_ids=[clinic.consultation_id, clinic.lab_id])
    async with db.read() as session:
        info = await doctors_admin.detail(session, clinic.admin, doctor.id)
        rows = await doctors_admin.list_doctors(session, clinic.admin)
    assert info.queue_prefix and sorted(info.service_ids) == sorted([clinic.consultation_id, clinic.lab_id])
    assert next(r for r in rows if r.id == doctor.id).hours == 'no hours yet'
