"""Allergy safety: structured allergies and their status, matching a medicine to an allergy or its group, a matching
medicine stopped before it is added unless the doctor gives a reason, and the pharmacist's acknowledgement."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import (
    AllergySeverity,
    AllergyStatus,
    AuditLog,
    Medicine,
    Patient,
    PatientAllergy,
    Prescription,
    PrescriptionItem,
)
from services import allergies, consultation, pharmacy, prescriptions
from services.allergies import AllergyInput
from services.core.errors import AllergyConflict, Conflict, PermissionDenied, ValidationError
from services.pharmacy import DispenseLine
from services.prescriptions import LineInput
from tests.clinical import TODAY, make_ward, prescribed_and_finished
from tests.factories import NOW


def medicine(name: str, generic: str = '', group: str = '') -> Medicine:
    return Medicine(code='X', name=name, generic_name=generic, drug_group=group, unit='tablet', price=1)


def entry(substance: str = '', group: str = '') -> PatientAllergy:
    return PatientAllergy(patient_id=1, substance=substance, drug_group=group)


# -- matching ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('allergy, drug', [
    (entry(group='penicillins'), medicine('Amoxicillin 500 mg capsule', 'Amoxicillin')),  # by the built-in map
    (entry(group='Penicillins'), medicine('Moxilen 500', '', group='PENICILLINS')),  # by the medicine's group
    (entry(substance='Penicillin'), medicine('Amoxicillin/Clavulanate 625 mg tablet', 'Amoxicillin/Clavulanate')),
    (entry(substance='AMOXICILLIN'), medicine('Amoxicillin 250 mg sachet')),
    (entry(substance='Ibuprofén'), medicine('IBUPROFEN 400 mg tablet', 'Ibuprofen')),  # accents and case
    (entry(group='nsaid'), medicine('Diclofenac 50 mg tablet', 'Diclofenac')),
    (entry(substance='sulfa'), medicine('Co-trimoxazole 480 mg', 'Sulfamethoxazole/Trimethoprim')),
    (entry(group='Cephalosporins'), medicine('Cefuroxime 500 mg tablet', 'Cefuroxime')),
    (entry(group='antihistamine'), medicine('Loratadine', group='Antihistamines')),  # a group typed by the admin
])
def test_a_medicine_matches_the_allergy_or_its_group(allergy, drug):
    assert allergies.matching([allergy], drug) == [allergy]


@pytest.mark.parametrize('allergy, drug', [
    (entry(group='penicillins'), medicine('Cefuroxime 500 mg tablet', 'Cefuroxime')),
    (entry(substance='Seafood'), medicine('Amoxicillin 500 mg capsule', 'Amoxicillin')),
    (entry(substance='Aspirin'), medicine('Paracetamol 500 mg tablet', 'Paracetamol')),
    (entry(group='macrolides'), medicine('Ciprofloxacin 500 mg', 'Ciprofloxacin')),
])
def test_other_medicines_do_not_match(allergy, drug):
    assert allergies.matching([allergy], drug) == []


def test_an_inactive_allergy_matches_nothing():
    allergy = entry(group='penicillins')
    allergy.is_active = False
    assert allergies.matching([allergy], medicine('Amoxicillin')) == []


def test_the_summary_says_not_recorded_unless_recorded_as_none():
    rash = PatientAllergy(patient_id=1, drug_group='penicillins', reaction='rash', severity=AllergySeverity.SEVERE)
    assert allergies.summary_text(AllergyStatus.UNKNOWN, []) == 'Allergies not recorded'
    assert allergies.summary_text(AllergyStatus.NONE, []) == 'No known allergies'
    assert allergies.summary_text(AllergyStatus.RECORDED, [rash]) == 'Allergies: Penicillins (rash, severe)'


# -- recording -----------------------------------------------------------------------------------------------------

async def status_of(db, patient_id: int) -> AllergyStatus:
    async with db.read() as session:
        return (await session.get(Patient, patient_id)).allergy_status


async def audited(db, action: str) -> list[str]:
    async with db.read() as session:
        return [a.detail for a in (await session.exec(select(AuditLog).where(AuditLog.action == action))).all()]


async def test_recording_allergies_sets_the_status_and_no_known_allergies_only_without_entries(db):
    ward = await make_ward(db)
    patient = ward.patient_id
    assert await status_of(db, patient) == AllergyStatus.UNKNOWN
    async with db.write() as session:
        added = await allergies.add_allergy(session, ward.clinic.reception, patient, AllergyInput(
            drug_group='Penicillin', reaction='rash', severity=AllergySeverity.SEVERE), now=NOW)
    assert await status_of(db, patient) == AllergyStatus.RECORDED
    with pytest.raises(Conflict, match='remove them first'):
        async with db.write() as session:
            await allergies.record_no_known_allergies(session, ward.doctor, patient, now=NOW)
    async with db.write() as session:
        shown = await allergies.remove_allergy(session, ward.doctor, added.id, now=NOW)
    assert shown.summary == 'Allergies not recorded'  # removing the last one: nobody said "none"
    assert await status_of(db, patient) == AllergyStatus.UNKNOWN
    async with db.write() as session:
        shown = await allergies.record_no_known_allergies(session, ward.doctor, patient, now=NOW)
    assert shown.summary == 'No known allergies' and await status_of(db, patient) == AllergyStatus.NONE
    assert await audited(db, 'allergy_added') == ['Penicillins (rash, severe)']
    assert len(await audited(db, 'allergy_removed')) == 1 and len(await audited(db, 'allergy_none_known')) == 1


async def test_an_allergy_needs_a_substance_or_group_and_only_some_roles_record_it(db):
    ward = await make_ward(db)
    with pytest.raises(ValidationError, match='substance'):
        async with db.write() as session:
            await allergies.add_allergy(session, ward.doctor, ward.patient_id, AllergyInput(reaction='rash'),
                                        now=NOW)
    with pytest.raises(PermissionDenied):
        async with db.write() as session:
            await allergies.add_allergy(session, ward.pharmacist, ward.patient_id,
                                        AllergyInput(substance='Latex'), now=NOW)
    async with db.write() as session:
        entry_ = await allergies.add_allergy(session, ward.doctor, ward.patient_id, AllergyInput(substance='Latex'),
                                             now=NOW)
    async with db.write() as session:
        await allergies.update_allergy(session, ward.doctor, entry_.id, AllergyInput(
            substance='Latex', reaction='hives', severity=AllergySeverity.MILD), now=NOW)
    async with db.read() as session:
        shown = await allergies.patient_allergies(session, ward.pharmacist, ward.patient_id)
    assert shown.summary == 'Allergies: Latex (hives, mild)'
    assert await audited(db, 'allergy_changed') == ['Latex (moderate) -> Latex (hives, mild)']


# -- prescribing -----------------------------------------------------------------------------------------------------

AMOXICILLIN = {'dose': '1 capsule', 'times_per_day': '2', 'duration_days': '5'}


async def penicillin_allergic_ward(db):
    ward = await make_ward(db)
    async with db.write() as session:
        await allergies.add_allergy(session, ward.doctor, ward.patient_id, AllergyInput(
            drug_group='penicillins', reaction='rash', severity=AllergySeverity.SEVERE), now=NOW)
    return ward


async def add(db, ward, medicine_id: int, reason: str = '') -> prescriptions.Added:
    async with db.write() as session:
        return await prescriptions.add_item(session, ward.doctor, ward.visit_id, LineInput(medicine_id, **AMOXICILLIN),
                                            today=TODAY, now=NOW, allergy_override_reason=reason)


async def items(db) -> list[PrescriptionItem]:
    async with db.read() as session:
        return list((await session.exec(select(PrescriptionItem))).all())


async def test_a_matching_medicine_is_stopped_before_anything_is_added(db):
    ward = await penicillin_allergic_ward(db)
    with pytest.raises(AllergyConflict) as refused:
        await add(db, ward, ward.amoxicillin)
    assert refused.value.allergies == ['Penicillins (rash, severe)']
    assert 'Amoxicillin 500 mg capsule' in str(refused.value)
    assert await items(db) == []
    async with db.read() as session:
        assert (await session.exec(select(Prescription))).all() == []  # not even an empty draft
    with pytest.raises(AllergyConflict):
        await add(db, ward, ward.amoxicillin, reason='   ')  # blank is no reason
    with pytest.raises(ValidationError, match='500 characters'):
        await add(db, ward, ward.amoxicillin, reason='x' * 501)
    assert (await add(db, ward, ward.paracetamol)).warnings == []  # other medicines go on as before


async def test_an_override_keeps_the_reason_on_the_line_and_in_the_audit(db):
    ward = await penicillin_allergic_ward(db)
    added = await add(db, ward, ward.amoxicillin, reason='Tolerated amoxicillin last year, skin test negative')
    assert added.warnings == ['Allergy: Penicillins (rash, severe)']
    [item] = await items(db)
    assert item.allergy_override_reason == 'Tolerated amoxicillin last year, skin test negative'
    assert item.allergy_acknowledged_at is None
    [detail] = await audited(db, 'allergy_override')
    assert 'Amoxicillin 500 mg capsule' in detail and 'skin test negative' in detail
    async with db.read() as session:
        chart = await consultation.chart(session, ward.doctor, ward.visit_id, today=TODAY, record_view=False)
    assert chart.prescription.items[0].allergy_override_reason.startswith('Tolerated')
    assert chart.patient.allergy.summary == 'Allergies: Penicillins (rash, severe)'


async def test_unknown_allergies_do_not_block(db):
    ward = await make_ward(db)
    assert (await add(db, ward, ward.amoxicillin)).warnings == []
    async with db.read() as session:
        chart = await consultation.chart(session, ward.doctor, ward.visit_id, today=TODAY, record_view=False)
    assert chart.patient.allergy.summary == 'Allergies not recorded'


# -- dispensing ------------------------------------------------------------------------------------------------------

async def issued_with_override(db) -> tuple:
    ward = await penicillin_allergic_ward(db)
    await prescribed_and_finished(db, ward, [LineInput(ward.amoxicillin, **AMOXICILLIN)],
                                  override_reason='Skin test negative')
    async with db.read() as session:
        [row] = await prescriptions.pharmacy_queue(session, ward.pharmacist)
    return ward, row


async def dispense(db, ward, rx_id: int, item_id: int, acknowledged: list[int] | None = None):
    async with db.write() as session:
        return await pharmacy.dispense(session, ward.pharmacist, rx_id, [DispenseLine(item_id, 10)], today=TODAY,
                                       now=NOW, acknowledged_item_ids=acknowledged)


async def test_the_pharmacist_must_acknowledge_an_override_before_dispensing(db):
    ward, row = await issued_with_override(db)
    assert row.overrides == 1 and row.allergy_status == AllergyStatus.RECORDED
    async with db.read() as session:
        plan = await pharmacy.plan(session, ward.pharmacist, row.prescription_id, today=TODAY)
    line = plan.lines[0]
    assert line.item.allergy_override_reason == 'Skin test negative' and not line.item.allergy_acknowledged
    assert plan.allergies == 'Allergies: Penicillins (rash, severe)'
    with pytest.raises(ValidationError, match='Skin test negative'):
        await dispense(db, ward, row.prescription_id, line.item.id)
    [item] = await items(db)
    assert item.dispensed_quantity == 0 and item.allergy_acknowledged_at is None  # nothing dispensed
    await dispense(db, ward, row.prescription_id, line.item.id, acknowledged=[line.item.id])
    [item] = await items(db)
    assert item.dispensed_quantity == 10
    assert item.allergy_acknowledged_by_id == ward.pharmacist.user_id and item.allergy_acknowledged_at is not None
    [detail] = await audited(db, 'allergy_override_acknowledged')
    assert 'Amoxicillin' in detail and 'Skin test negative' in detail


def test_the_free_text_note_shows_only_when_it_says_more_than_the_list():
    listed = [entry(substance='Penicillin'), entry(substance='Seafood')]
    assert allergies.unlisted_note('Penicillin, seafood', listed) == ''  # copied into the list
    assert allergies.unlisted_note('Penicillin, latex gloves', listed) == 'Penicillin, latex gloves'
    assert allergies.unlisted_note('Penicillins', [entry(group='penicillins')]) == ''
    assert allergies.unlisted_note('', []) == ''
