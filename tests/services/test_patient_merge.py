"""Merging two records of one person at reception: nothing is lost, the chosen details survive, the merged record
is kept but hidden, and a merge is refused while it would be wrong."""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from models import (
    Address,
    AllergySeverity,
    AllergyStatus,
    AuditLog,
    ChangeStatus,
    Patient,
    PatientAllergy,
    PatientContactChange,
    Role,
    Sex,
    User,
    Visit,
    VisitStatus,
)
from services import booking, checkin, patient_merge, patients, users
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.demo import load_demo
from services.patients import PatientInput
from tests.factories import NOW, make_clinic

TODAY = date(2026, 11, 23)
TZ = ZoneInfo('Asia/Ho_Chi_Minh')


async def create(db, actor, **fields) -> Patient:
    data = PatientInput(**{'full_name': 'Nguyễn Văn Bình', 'phone': '0912 345 678', **fields})
    async with db.write() as session:
        return await patients.create(session, actor, data, today=TODAY)


async def merge(db, actor, keep_id, other_id, choices=None) -> Patient:
    async with db.write() as session:
        return await patient_merge.merge_patients(session, actor, keep_id, other_id, choices or {}, now=NOW)


async def preview(db, actor, keep_id, other_id) -> patient_merge.MergePreview:
    async with db.write() as session:
        return await patient_merge.merge_preview(session, actor, keep_id, other_id)


# ---------------------------------------------------------------- nothing is lost

async def live_patient_references(db) -> list[tuple[str, str]]:
    """Every (table, column) with a foreign key to patients.id, read from the database itself (not the models):
    a table a migration adds later is found here too."""
    def read(connection):
        inspector = sa.inspect(connection)
        return [(table, fk['constrained_columns'][0]) for table in inspector.get_table_names()
                for fk in inspector.get_foreign_keys(table) if fk['referred_table'] == 'patients']
    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def rows_per_table(db) -> dict[str, int]:
    def read(connection):
        names = [name for name in sa.inspect(connection).get_table_names() if name != 'alembic_version']
        return {name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def pointing_at(db, references, patient_id: int) -> dict[str, int]:
    async with db.read() as session:
        return {f'{table}.{column}': (await session.exec(
            sa.text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :id').bindparams(id=patient_id))).one()[0]
            for table, column in references}


async def demo_pair(db) -> tuple[int, int, int]:
    """From a demo clinic: two patients with many finished visits (and a third, merged into the second earlier),
    each with an address, an allergy and a detail typed online, so every table that points at patients has rows
    of the record that goes."""
    async with db.write() as session:
        await load_demo(session, password='demo-pass-2026', today=date(2026, 11, 25), tz=TZ, patients=60, seed=3)
    async with db.write() as session:
        unfinished = select(Visit.patient_id).where(Visit.status.not_in(patient_merge.FINISHED_VISITS))
        ranked = (await session.exec(select(Visit.patient_id).where(Visit.patient_id.not_in(unfinished))
                                     .group_by(Visit.patient_id)
                                     .order_by(func.count(Visit.id).desc(), Visit.patient_id).limit(3))).all()
        keep_id, other_id, older_id = ranked
        for patient_id in (keep_id, other_id):
            if not (await session.exec(select(Address.id).where(Address.patient_id == patient_id))).first():
                session.add(Address(patient_id=patient_id, line1=f'{patient_id} Lê Lợi', is_primary=True))
            session.add(PatientAllergy(patient_id=patient_id, substance=f'substance {patient_id}',
                                       severity=AllergySeverity.MILD))
            session.add(PatientContactChange(patient_id=patient_id, field='email', old_value='',
                                             new_value=f'p{patient_id}@example.test', source='online booking',
                                             status=ChangeStatus.PENDING))
        await session.flush()
        older = await session.get(Patient, older_id)
        older.merged_into_id, older.merged_at = other_id, NOW - timedelta(days=30)
        session.add(older)
        await session.commit()
    return keep_id, other_id, older_id


async def a_receptionist(db):
    async with db.read() as session:
        user = (await session.exec(select(User).where(User.role == Role.RECEPTIONIST))).first()
    return users.actor_of(user)


async def test_a_merge_loses_no_row_and_moves_everything_of_the_other_record(db):
    keep_id, other_id, _older = await demo_pair(db)
    reception = await a_receptionist(db)
    references = await live_patient_references(db)
    assert {(c.table.name, c.name) for c in patient_merge.patient_references()} == set(references)
    before_keep = await pointing_at(db, references, keep_id)
    before_other = await pointing_at(db, references, other_id)
    # the test covers every table that points at patients: a new one needs a row of the other record here
    assert [where for where, count in before_other.items() if count == 0] == []
    async with db.read() as session:
        keep_address = await patients.primary_address(session, keep_id)
    shown = await preview(db, reception, keep_id, other_id)
    assert shown.refusal == '' and 'address' in shown.differing
    assert shown.other.counts['visits'] == before_other['visits.patient_id'] > 0
    totals = await rows_per_table(db)

    await merge(db, reception, keep_id, other_id, {field: 'keep' for field in shown.differing})

    after = await rows_per_table(db)
    assert after == {**totals, 'audit_log': totals['audit_log'] + 2}  # nothing deleted nor added but the audit
    assert await pointing_at(db, references, other_id) == {where: 0 for where in before_other}
    assert await pointing_at(db, references, keep_id) == {
        where: before_keep[where] + before_other[where] + (1 if where == 'patients.merged_into_id' else 0)
        for where in before_keep}  # the other record itself now points at the survivor too
    async with db.read() as session:
        merged = await session.get(Patient, other_id)
        assert (merged.merged_into_id, merged.merged_by_id) == (keep_id, reception.user_id)
        primaries = (await session.exec(select(Address.id).where(Address.patient_id == keep_id,
                                                                 Address.is_primary))).all()
        assert len(primaries) == 1  # one primary address: the chosen one
        assert await patients.primary_address(session, keep_id) == keep_address


# ---------------------------------------------------------------- the survivor's details

async def test_chosen_details_survive_and_allergies_are_united(db):
    clinic = await make_clinic(db, patients=0)
    keep = await create(db, clinic.reception, full_name='Nguyen Van Binh', phone='0912345678',
                        date_of_birth=date(1980, 5, 1), email='old@example.test', address='12 Lê Lợi',
                        allergies='penicillin rash', notes='prefers mornings')
    other = await create(db, clinic.reception, full_name='Nguyễn Văn Bình', phone='0987654321',
                         date_of_birth=date(1980, 5, 1), sex=Sex.MALE, national_id='079080001234',
                         address='34 Hai Bà Trưng', allergies='peanuts')
    async with db.write() as session:
        session.add(PatientAllergy(patient_id=other.id, substance='Aspirin', severity=AllergySeverity.SEVERE))
        await session.commit()

    shown = await preview(db, clinic.reception, keep.id, other.id)
    assert shown.differing == ['full_name', 'sex', 'phone', 'email', 'national_id', 'address', 'notes']
    assert shown.refusal == ''
    assert (shown.keep.values['phone'], shown.other.values['phone']) == ('0912 345 678', '0987 654 321')
    assert shown.other.allergies == ['Aspirin', 'peanuts']
    assert shown.other.counts['addresses'] == 1 and shown.other.counts['patient_allergies'] == 1

    choices = {'full_name': 'other', 'sex': 'other', 'phone': 'keep', 'email': 'keep', 'national_id': 'other',
               'address': 'other', 'notes': 'keep'}
    survivor = await merge(db, clinic.reception, keep.id, other.id, choices)
    assert (survivor.id, survivor.code) == (keep.id, keep.code)
    assert (survivor.full_name, survivor.sex, survivor.phone, survivor.email, survivor.national_id,
            survivor.notes) == ('Nguyễn Văn Bình', Sex.MALE, '+84912345678', 'old@example.test', '079080001234',
                                'prefers mornings')
    assert survivor.allergies == 'penicillin rash; peanuts'
    assert survivor.allergy_status == AllergyStatus.RECORDED
    async with db.read() as session:
        assert await patients.primary_address(session, keep.id) == '34 Hai Bà Trưng'
        merged = await session.get(Patient, other.id)
        assert merged.national_id is None  # released: unique among patients
        assert merged.full_name == 'Nguyễn Văn Bình' and merged.phone == '+84987654321'  # kept as registered
        entries = (await session.exec(select(PatientAllergy.substance).where(
            PatientAllergy.patient_id == keep.id))).all()
        assert entries == ['Aspirin']


async def test_every_differing_detail_needs_a_choice(db):
    clinic = await make_clinic(db, patients=0)
    keep = await create(db, clinic.reception, full_name='Trần Thị Mai', phone='0911111111')
    other = await create(db, clinic.reception, full_name='Tran Thi Mai', phone='0911111111')
    with pytest.raises(ValidationError, match='Please choose which name to keep') as refused:
        await merge(db, clinic.reception, keep.id, other.id, {})
    assert refused.value.field == 'full_name'
    with pytest.raises(ValidationError):
        await merge(db, clinic.reception, keep.id, other.id, {'full_name': 'both'})
    async with db.read() as session:
        assert (await session.get(Patient, other.id)).merged_into_id is None  # nothing happened


# ---------------------------------------------------------------- refused

async def test_refused_while_either_has_a_visit_in_progress(db):
    clinic = await make_clinic(db, patients=2)
    first, second = clinic.patient_ids
    async with db.write() as session:
        session.add(Visit(patient_id=second, doctor_id=clinic.doctor_ids[0], visit_date=TODAY,
                          status=VisitStatus.AWAITING_PAYMENT))
        await session.commit()
    shown = await preview(db, clinic.reception, first, second)
    assert 'P0000002 has a visit in progress' in shown.refusal
    with pytest.raises(Conflict, match='P0000002 has a visit in progress'):
        await merge(db, clinic.reception, first, second, {'full_name': 'keep', 'phone': 'keep', 'email': 'keep'})
    with pytest.raises(Conflict, match='visit in progress'):
        await merge(db, clinic.reception, second, first, {'full_name': 'keep', 'phone': 'keep', 'email': 'keep'})


async def test_refused_twice_with_itself_and_for_other_roles(db):
    clinic = await make_clinic(db, patients=3)
    first, second, third = clinic.patient_ids
    choices = {'full_name': 'keep', 'phone': 'keep', 'email': 'keep'}
    with pytest.raises(PermissionDenied):
        await merge(db, clinic.cashier, first, second, choices)
    with pytest.raises(Conflict, match='cannot be merged with itself'):
        await merge(db, clinic.reception, first, first, choices)
    await merge(db, clinic.admin, first, second, choices)
    with pytest.raises(Conflict, match='P0000002 was already merged into P0000001'):
        await merge(db, clinic.reception, first, second, choices)
    with pytest.raises(Conflict, match='P0000002 was already merged into P0000001'):
        await merge(db, clinic.reception, second, third, choices)


# ---------------------------------------------------------------- hidden, audited

async def test_the_merged_record_is_hidden_from_search_duplicates_and_booking(db):
    clinic = await make_clinic(db, patients=0)
    keep = await create(db, clinic.reception, full_name='Lê Văn Tám', phone='0933333333')
    other = await create(db, clinic.reception, full_name='Lê Văn Tám', phone='0933333333')
    async with db.read() as session:
        assert [h.id for h in await patients.search(session, clinic.reception, 'le van tam')] == [keep.id, other.id]
    await merge(db, clinic.reception, keep.id, other.id)
    async with db.read() as session:
        for text in ('le van tam', '0933333333', other.code):
            assert [h.id for h in await patients.search(session, clinic.reception, text)] in ([keep.id], [])
        twins = await patients.likely_duplicates(session, clinic.reception,
                                                 PatientInput(full_name='Lê Văn Tám', phone='0933333333'))
        assert [t.id for t in twins] == [keep.id]
    async with db.write() as session:
        with pytest.raises(Conflict, match=f'{other.code} was merged into another record'):
            await booking.check_bookable(session, patient_id=other.id, service_id=clinic.consultation_id,
                                         doctor_id=clinic.doctor_ids[0])
    async with db.write() as session:
        with pytest.raises(Conflict, match=f'{other.code} was merged into another record'):
            await checkin.walk_in(session, clinic.reception, patient_id=other.id, doctor_id=clinic.doctor_ids[0],
                                  tz=TZ, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match='merged into another record'):
            await patients.update(session, clinic.reception, other.id, PatientInput(full_name='X', phone='0912345678'),
                                  today=TODAY)


async def test_the_merge_and_its_preview_are_audited(db):
    clinic = await make_clinic(db, patients=0)
    keep = await create(db, clinic.reception, full_name='Phan Thị Cúc', phone='0944444444')
    other = await create(db, clinic.reception, full_name='Phan Thi Cuc', phone='0944444444',
                         national_id='001190000001')
    await preview(db, clinic.reception, keep.id, other.id)
    await merge(db, clinic.reception, keep.id, other.id, {'full_name': 'keep', 'national_id': 'keep'})
    async with db.read() as session:
        rows = (await session.exec(select(AuditLog).where(AuditLog.action.in_(
            ('patient_merge_previewed', 'patients_merged', 'patient_merged_into'))).order_by(AuditLog.id))).all()
    assert [(r.action, r.entity_id, r.user_id) for r in rows] == [
        ('patient_merge_previewed', keep.id, clinic.reception.user_id),
        ('patients_merged', keep.id, clinic.reception.user_id),
        ('patient_merged_into', other.id, clinic.reception.user_id)]
    detail = rows[1].detail
    assert f'{other.code} merged into {keep.code}' in detail
    assert 'full_name=keep' in detail and 'national_id=keep' in detail
    assert 'national ID 001190000001 released' in detail


async def test_a_row_allowed_once_per_patient_is_refused_not_broken(db):
    """A table that allows one row per patient (here: a unique index added for the test) makes the merge stop with
    a clear message when both records have such a row."""
    clinic = await make_clinic(db, patients=2)
    first, second = clinic.patient_ids
    for patient_id in (first, second):
        async with db.write() as session:
            session.add(Address(patient_id=patient_id, line1='home', kind='home'))
            await session.commit()
    index = sa.Index('uq_test_one_home', Address.__table__.c.patient_id, Address.__table__.c.kind, unique=True)
    try:
        with pytest.raises(Conflict, match='Both records have Addresses that a patient may have only once'):
            await merge(db, clinic.reception, first, second, {'full_name': 'keep', 'phone': 'keep', 'email': 'keep'})
    finally:
        Address.__table__.indexes.discard(index)  # only the model knew it: the database never had it
