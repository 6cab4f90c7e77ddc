"""Booking and check-in: free slots, no double booking (also under concurrency), changes, walk-ins, tickets."""
import asyncio
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import Appointment, AppointmentStatus, BookingSource, DoctorLeave, OutboxMessage, QueueTicket, Visit
from services import booking, checkin
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.core.settings import Settings
from tests.factories import NOW, TZ, local, make_clinic

SETTINGS = Settings(clinic_name='Phòng khám Test', timezone='Asia/Ho_Chi_Minh')


async def book(db, clinic, start, *, patient=0, doctor=0, service=None, actor=None, source=BookingSource.PHONE,
               now=NOW):
    async with db.write() as session:
        return await booking.book(session, actor or clinic.reception, patient_id=clinic.patient_ids[patient],
                                  service_id=service or clinic.consultation_id, doctor_id=clinic.doctor_ids[doctor],
                                  start_at=start, source=source, tz=TZ, now=now, settings=SETTINGS)


async def slots(db, clinic, day=23, doctor=0, service=None, days=1, now=NOW):
    async with db.read() as session:
        found = await booking.free_slots(session, service_id=service or clinic.consultation_id,
                                         doctor_ids=[clinic.doctor_ids[doctor]], start_day=date(2026, 11, day),
                                         days=days, tz=TZ, now=now)
    return found


async def test_free_slots_follow_working_hours_duration_and_bookings(db):
    clinic = await make_clinic(db)
    day = (await slots(db, clinic))[date(2026, 11, 23)]
    starts = [s.start_at.astimezone(TZ).strftime('%H:%M') for s in day]
    assert starts[0] == '08:00' and starts[-1] == '16:45' and '12:00' not in starts and '13:30' in starts
    await book(db, clinic, local(23, 8, 0))
    starts = [s.start_at.astimezone(TZ).strftime('%H:%M') for s in (await slots(db, clinic))[date(2026, 11, 23)]]
    assert '08:00' not in starts and '08:15' in starts
    # a 30-minute service does not fit into 11:45-12:00, nor straddle a booking
    await book(db, clinic, local(23, 9, 0))
    long = [s.start_at.astimezone(TZ).strftime('%H:%M')
            for s in (await slots(db, clinic, service=clinic.long_service_id))[date(2026, 11, 23)]]
    assert '11:30' in long and '11:45' not in long and '08:45' not in long and '08:30' in long  # ends 09:00


async def test_past_times_and_leave_give_no_slots(db):
    clinic = await make_clinic(db)
    midday = local(23, 12, 30)
    starts = [s.start_at.astimezone(TZ).strftime('%H:%M')
              for s in (await slots(db, clinic, now=midday))[date(2026, 11, 23)]]
    assert starts[0] == '13:30'
    async with db.write() as session:
        session.add(DoctorLeave(doctor_id=clinic.doctor_ids[0], start_date=date(2026, 11, 24),
                                end_date=date(2026, 11, 25), reason='Conference'))
        await session.commit()
    found = await slots(db, clinic, day=24, days=3)
    assert found[date(2026, 11, 24)] == [] and found[date(2026, 11, 25)] == [] and found[date(2026, 11, 26)]
    with pytest.raises(ValidationError, match='does not work at this time'):
        await book(db, clinic, local(24, 9, 0))


async def test_no_double_booking_of_a_doctor_or_a_room(db):
    clinic = await make_clinic(db)
    await book(db, clinic, local(23, 10, 0))
    with pytest.raises(Conflict, match='just taken'):
        await book(db, clinic, local(23, 10, 0), patient=1)
    with pytest.raises(Conflict, match='just taken'):
        await book(db, clinic, local(23, 9, 50), patient=1)  # overlaps 10:00-10:15


async def test_two_receptionists_booking_the_same_slot_at_once_get_one_booking(db):
    clinic = await make_clinic(db, patients=8)

    async def attempt(patient: int):
        try:
            return await book(db, clinic, local(23, 10, 30), patient=patient)
        except Conflict:
            return None

    results = await asyncio.gather(*(attempt(p) for p in range(8)))
    assert sum(r is not None for r in results) == 1
    async with db.read() as session:
        booked = (await session.exec(select(Appointment).where(Appointment.status == AppointmentStatus.SCHEDULED))).all()
    assert len(booked) == 1


@pytest.mark.parametrize('start, message', [
    (local(22, 10, 0), 'already passed'),
    (local(23, 12, 15), 'does not work at this time'),
    (NOW + timedelta(days=200), 'at most'),
])
async def test_bad_booking_times_are_refused(db, start, message):
    clinic = await make_clinic(db)
    with pytest.raises(ValidationError, match=message):
        await book(db, clinic, start)


async def test_a_doctor_must_provide_the_service_and_roles_are_checked(db):
    clinic = await make_clinic(db)
    with pytest.raises(ValidationError, match='does not provide'):
        await book(db, clinic, local(23, 10, 0), doctor=1, service=clinic.long_service_id)
    with pytest.raises(PermissionDenied):
        await book(db, clinic, local(23, 10, 0), actor=clinic.cashier)


async def test_reschedule_cancel_and_no_show(db):
    clinic = await make_clinic(db)
    first = await book(db, clinic, local(23, 10, 0))
    other = await book(db, clinic, local(23, 11, 0), patient=1)
    async with db.write() as session:
        with pytest.raises(Conflict, match='just taken'):
            await booking.reschedule(session, clinic.reception, first.id, start_at=local(23, 11, 0), tz=TZ, now=NOW,
                                     settings=SETTINGS)
    async with db.write() as session:
        moved = await booking.reschedule(session, clinic.reception, first.id, start_at=local(24, 9, 0), tz=TZ,
                                         now=NOW, settings=SETTINGS)
        assert moved.sequence == 1 and moved.start_at == local(24, 9, 0)
    assert local(23, 10, 0) in [s.start_at for s in (await slots(db, clinic))[date(2026, 11, 23)]]  # freed
    async with db.write() as session:
        with pytest.raises(ValidationError, match='reason'):
            await booking.cancel(session, clinic.reception, first.id, reason=' ', now=NOW, settings=SETTINGS)
        cancelled = await booking.cancel(session, clinic.reception, first.id, reason='Feeling better', now=NOW,
                                         settings=SETTINGS)
        assert cancelled.status == AppointmentStatus.CANCELLED
    async with db.write() as session:
        with pytest.raises(ValidationError, match='time has passed'):
            await booking.mark_no_show(session, clinic.reception, other.id, now=NOW)
        gone = await booking.mark_no_show(session, clinic.reception, other.id, now=local(23, 12, 0))
        assert gone.status == AppointmentStatus.NO_SHOW
    async with db.read() as session:
        kinds = sorted(row.dedupe_key.split(':')[2] for row in (await session.exec(select(OutboxMessage))).all())
    assert kinds == ['booked', 'booked', 'cancelled', 'rescheduled']


async def test_check_in_opens_the_visit_and_issues_a_ticket(db):
    clinic = await make_clinic(db)
    appointment = await book(db, clinic, local(23, 9, 0))
    async with db.write() as session:
        ticket = await checkin.check_in(session, clinic.reception, appointment.id, tz=TZ, now=local(23, 8, 50))
    assert ticket.label == 'A-001' and ticket.patient_name == 'Lê Thị Hồng' and ticket.room.startswith('R1')
    async with db.write() as session:
        with pytest.raises(Conflict, match='already checked in'):
            await checkin.check_in(session, clinic.reception, appointment.id, tz=TZ, now=local(23, 8, 51))
        visit = (await session.exec(select(Visit))).one()
        assert visit.status.value == 'waiting' and visit.visit_date == date(2026, 11, 23)
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.CHECKED_IN


async def test_check_in_only_on_the_day(db):
    clinic = await make_clinic(db)
    tomorrow = await book(db, clinic, local(24, 9, 0))
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not today'):
            await checkin.check_in(session, clinic.reception, tomorrow.id, tz=TZ, now=local(23, 9, 0))


async def test_concurrent_walk_ins_get_unique_numbers_and_do_not_block_booked_slots(db):
    clinic = await make_clinic(db, patients=12)

    async def walk(patient: int):
        async with db.write() as session:
            return await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                         doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(23, 9, 0))

    tickets = await asyncio.gather(*(walk(p) for p in range(12)))
    assert sorted(t.label for t in tickets) == [f'A-{n:03d}' for n in range(1, 13)]
    # walk-ins have no fixed time: the 09:15 slot can still be booked
    await book(db, clinic, local(23, 9, 15), now=local(23, 9, 0))
    async with db.read() as session:
        numbers = (await session.exec(select(QueueTicket.number))).all()
    assert len(set(numbers)) == len(numbers) == 12


async def test_ticket_numbers_restart_each_clinic_day(db):
    clinic = await make_clinic(db, patients=2)
    async with db.write() as session:
        late = await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                                     doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(23, 16, 0))
    async with db.write() as session:
        # 00:30 on the 24th in the clinic is still the 23rd in UTC: a new day all the same
        early = await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[1],
                                      doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(24, 8, 0) - timedelta(hours=7, minutes=30))
    assert late.label == 'A-001' and early.label == 'A-001'


async def test_walk_in_priority_needs_a_reason(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='why this patient goes first'):
            await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                                  doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(23, 9, 0), priority=2)


async def test_complaints_map_to_specialties_and_doctors(db):
    clinic = await make_clinic(db)
    async with db.read() as session:
        found = await booking.specialties_for_complaint(session, 'Itching and a rash on the arm')
        assert [s.name for s in found] == ['Dermatology']
        doctors = await booking.doctors_for(session, specialty_ids=[found[0].id])
        assert [d.name for d in doctors] == ['Dr. Trần Văn Minh']
        by_service = await booking.doctors_for(session, service_id=clinic.long_service_id)
        assert [d.name for d in by_service] == ['Dr. Nguyễn Thị Lan']
