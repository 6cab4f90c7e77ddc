"""A small, deterministic clinic for service tests: two doctors with rooms and hours, services, staff."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlmodel import delete, select

from models import (
    Doctor,
    DoctorService,
    DoctorSpecialty,
    Patient,
    Role,
    Room,
    RoomKind,
    Service,
    ServiceKind,
    Specialty,
    User,
    WorkingHours,
)
from services import users
from services.access import Actor
from services.security import hash_password
from services.text import search_key

TZ = ZoneInfo('Asia/Ho_Chi_Minh')
# Monday 23 November 2026, 07:00 in the clinic: before opening time.
NOW = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
PASSWORD = 'factory-pass-1'


@dataclass
class Clinic:
    admin: Actor
    reception: Actor
    doctor_actor: Actor
    cashier: Actor
    doctor_ids: list[int]
    room_ids: list[int]
    consultation_id: int      # 15 minutes, both doctors
    long_service_id: int      # 30 minutes, first doctor only
    lab_id: int
    patient_ids: list[int]


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A clinic-local time in November 2026 as an aware datetime."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@lru_cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 costs ~0.1 s: once per test run, not per account


async def make_clinic(db, *, patients: int = 3) -> Clinic:
    actors = {}
    async with db.write() as session:
        for username, role in (('admin', Role.ADMIN), ('reception', Role.RECEPTIONIST), ('doctor', Role.DOCTOR),
                               ('cashier', Role.CASHIER)):
            user = User(username=username, full_name=username.title(), role=role, password_hash=password_hash())
            session.add(user)
            await session.flush()
            actors[username] = users.actor_of(user)
        await session.commit()
    admin = actors['admin']
    async with db.write() as session:
        general = Specialty(name='General medicine', keywords='fever, cough, sore throat, headache')
        skin = Specialty(name='Dermatology', keywords='rash, itching, acne')
        rooms = [Room(code='R1', name='Room 1', kind=RoomKind.CONSULTATION),
                 Room(code='R2', name='Room 2', kind=RoomKind.CONSULTATION)]
        doctors = [Doctor(full_name='Nguyễn Thị Lan', license_number='L-001', user_id=actors['doctor'].user_id),
                   Doctor(full_name='Trần Văn Minh', license_number='L-002')]
        consultation = Service(code='C1', name='General consultation', kind=ServiceKind.CONSULTATION,
                               duration_minutes=15, price=150_000)
        long_service = Service(code='C2', name='Skin procedure', kind=ServiceKind.PROCEDURE, duration_minutes=30,
                               price=400_000)
        lab = Service(code='L1', name='Blood count', kind=ServiceKind.LAB, duration_minutes=10, price=90_000)
        session.add_all([general, skin, *rooms, *doctors, consultation, long_service, lab])
        await session.flush()
        session.add_all([DoctorSpecialty(doctor_id=doctors[0].id, specialty_id=general.id),
                         DoctorSpecialty(doctor_id=doctors[1].id, specialty_id=skin.id),
                         DoctorService(doctor_id=doctors[0].id, service_id=consultation.id),
                         DoctorService(doctor_id=doctors[1].id, service_id=consultation.id),
                         DoctorService(doctor_id=doctors[0].id, service_id=long_service.id)])
        for doctor, room in zip(doctors, rooms):
            for weekday in range(7):
                session.add(WorkingHours(doctor_id=doctor.id, room_id=room.id, weekday=weekday,
                                         start_time=time(8, 0), end_time=time(12, 0)))
                session.add(WorkingHours(doctor_id=doctor.id, room_id=room.id, weekday=weekday,
                                         start_time=time(13, 30), end_time=time(17, 0)))
        people = []
        for i in range(patients):
            name = ['Lê Thị Hồng', 'Phạm Văn Đức', 'Nguyễn Văn An', 'Hoàng Minh Châu'][i % 4] + ('' if i < 4 else f' {i}')
            people.append(Patient(code=f'P{i + 1:07d}', full_name=name, search_name=search_key(name),
                                  phone=f'+849012345{i:02d}', email=f'patient{i}@example.test'))
        session.add_all(people)
        await session.commit()
        return Clinic(admin=admin, reception=actors['reception'], doctor_actor=actors['doctor'],
                      cashier=actors['cashier'], doctor_ids=[d.id for d in doctors], room_ids=[r.id for r in rooms],
                      consultation_id=consultation.id, long_service_id=long_service.id, lab_id=lab.id,
                      patient_ids=[p.id for p in people])


async def on_duty_around_the_clock(db, doctor_ids: list[int]) -> None:
    """The doctors work every day from 00:00 to the last minute, in the room of their first hours: for tests that
    give walk-in tickets at the real time of day (a walk-in needs a doctor on duty), whenever they run."""
    async with db.write() as session:
        for doctor_id in doctor_ids:
            room_id = (await session.exec(select(WorkingHours.room_id).where(WorkingHours.doctor_id == doctor_id)
                                          .order_by(WorkingHours.weekday, WorkingHours.start_time))).first()
            await session.exec(delete(WorkingHours).where(WorkingHours.doctor_id == doctor_id))
            session.add_all([WorkingHours(doctor_id=doctor_id, room_id=room_id, weekday=weekday,
                                          start_time=time.min, end_time=time.max) for weekday in range(7)])
        await session.commit()
