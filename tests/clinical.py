"""A ward for the clinical tests (consultation, lab, pharmacy): ``make_clinic`` with a technician, a pharmacist, a
lab queue, medicines with stock, and one walk-in visit of the first patient with the first doctor."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select

from models import (
    AllergyStatus,
    Medicine,
    MovementKind,
    Patient,
    PatientAllergy,
    Queue,
    QueueKind,
    Role,
    Room,
    RoomKind,
    Service,
    ServiceKind,
    StockBatch,
    StockMovement,
    User,
    Visit,
    VisitStatus,
)
from services import checkin, consultation, prescriptions, queue, users
from services.access import Actor
from services.consultation import RecordInput
from services.core.clock import local_today
from services.core.db import get_db
from services.prescriptions import LineInput
from tests.factories import NOW, TZ, Clinic, make_clinic, password_hash

TODAY = local_today(TZ, NOW)

FULL = RecordInput(reason='Fever and cough for 3 days', symptoms='Dry cough, sore throat', temperature_c='38,4',
                   pulse_bpm='96', bp_systolic='118', bp_diastolic='76', spo2='97', weight_kg='61.5',
                   height_cm='162', preliminary_diagnosis='Viral URTI', diagnosis_code='j069', advice='Rest')


@dataclass
class Ward:
    clinic: Clinic
    doctor: Actor
    technician: Actor
    pharmacist: Actor
    visit_id: int
    patient_id: int
    lab_queue_id: int
    paracetamol: int   # 100 tablets in two batches (30 expire soon, 70 later) + an expired batch of 50
    amoxicillin: int   # 20 capsules
    syrup: int         # bottles, out of stock
    xray_id: int


async def add_user(db, username: str, role: Role) -> Actor:
    async with db.write() as session:
        user = User(username=username, full_name=username.title(), role=role, password_hash=password_hash())
        session.add(user)
        await session.commit()
        return users.actor_of(user)


async def add_stock(db, medicine_id: int, batch_no: str, expiry: date, quantity: int) -> int:
    async with db.write() as session:
        batch = StockBatch(medicine_id=medicine_id, batch_no=batch_no, expiry_date=expiry, quantity=quantity,
                           unit_cost=300, supplier='Test supplier')
        session.add(batch)
        await session.flush()
        session.add(StockMovement(batch_id=batch.id, medicine_id=medicine_id, kind=MovementKind.RECEIPT,
                                  quantity=quantity, reason='Opening stock'))
        await session.commit()
        return batch.id


async def make_ward(db, *, allergies: str = '') -> Ward:
    """make_clinic + a technician, a pharmacist, a lab queue, medicines with stock, and a walk-in visit of the
    first patient with the first doctor."""
    clinic = await make_clinic(db, patients=2)
    technician = await add_user(db, 'lab', Role.TECHNICIAN)
    pharmacist = await add_user(db, 'pharmacy', Role.PHARMACIST)
    async with db.write() as session:
        room = Room(code='LAB', name='Laboratory', kind=RoomKind.LAB)
        session.add(room)
        await session.flush()
        lab_queue = Queue(name='Laboratory', prefix='L', kind=QueueKind.LAB, room_id=room.id)
        xray = Service(code='X1', name='Chest X-ray', kind=ServiceKind.IMAGING, duration_minutes=15, price=200_000)
        meds = [Medicine(code='M1', name='Paracetamol 500 mg tablet', generic_name='Paracetamol', strength='500 mg',
                         unit='tablet', price=500, reorder_level=50),
                Medicine(code='M2', name='Amoxicillin 500 mg capsule', generic_name='Amoxicillin', strength='500 mg',
                         unit='capsule', price=1_200, reorder_level=30),
                Medicine(code='M3', name='Ambroxol 15 mg/5 ml syrup', generic_name='Ambroxol', form='syrup',
                         strength='15 mg/5 ml', unit='bottle', price=30_000, reorder_level=5)]
        session.add_all([lab_queue, xray, *meds])
        if allergies:  # recorded as structured entries, one per item of the list (substances)
            patient = await session.get(Patient, clinic.patient_ids[0])
            patient.allergy_status = AllergyStatus.RECORDED
            session.add(patient)
            session.add_all([PatientAllergy(patient_id=patient.id, substance=part.strip())
                             for part in allergies.split(',') if part.strip()])
        await session.commit()
        ids = [m.id for m in meds]
    await add_stock(db, ids[0], 'OLD', TODAY - timedelta(days=3), 50)            # expired: never used
    await add_stock(db, ids[0], 'LATE', TODAY + timedelta(days=400), 70)
    await add_stock(db, ids[0], 'SOON', TODAY + timedelta(days=20), 30)
    await add_stock(db, ids[1], 'A1', TODAY + timedelta(days=300), 20)
    async with db.write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                              doctor_id=clinic.doctor_ids[0], tz=TZ, now=NOW, reason='Fever')
    async with db.read() as session:
        visit_id = (await session.exec(select(Visit.id))).one()
    return Ward(clinic, clinic.doctor_actor, technician, pharmacist, visit_id, clinic.patient_ids[0], lab_queue.id,
                ids[0], ids[1], ids[2], xray.id)


async def ward_for(user, *, allergies: str = '') -> Ward:
    """The ward, for a page test: the simulated user's app is started first (and with it the database)."""
    await user.open('/login')
    return await make_ward(get_db(), allergies=allergies)


async def prescribed_and_finished(db, ward: Ward, lines: list[LineInput], *, now=NOW,
                                  override_reason: str = '') -> int:
    """The doctor prescribes ``lines`` (overriding an allergy with ``override_reason``), writes the record and
    finishes: the id of the prescription now waiting at the pharmacy."""
    for line in lines:
        async with db.write() as session:
            await prescriptions.add_item(session, ward.doctor, ward.visit_id, line, today=TODAY, now=now,
                                         allergy_override_reason=override_reason)
    async with db.write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=now)
    async with db.write() as session:
        finished = await consultation.finish(session, ward.doctor, ward.visit_id, tz=TZ, now=now)
    assert finished.status == VisitStatus.AWAITING_PHARMACY
    async with db.read() as session:
        return max(r.prescription_id for r in await prescriptions.pharmacy_queue(session, ward.pharmacist))


async def station(db, kind: QueueKind, prefix: str, rooms: list[tuple[str, str]]) -> tuple[int, list[int]]:
    """A station's queue and its counters (rooms of the station's kind): the queue's id and the counters' ids."""
    async with db.write() as session:
        counters = [Room(code=code, name=name, kind=queue.ROOM_KIND[kind]) for code, name in rooms]
        session.add_all(counters)
        await session.flush()
        line = Queue(name=rooms[0][1].split(',')[0], prefix=prefix, kind=kind, room_id=counters[0].id)
        session.add(line)
        await session.commit()
        return line.id, [room.id for room in counters]
