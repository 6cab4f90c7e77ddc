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
)
from services import allergies
from services.allergies import AllergyInput
from services.core.errors import Conflict, PermissionDenied, ValidationError
from tests.clinical import make_ward
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
