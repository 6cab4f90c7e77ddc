"""Allergies: structured entries (a substance or a drug group, the reaction, the severity) and whether anyone asked.

* "No known allergies" only when someone recorded it as such; a patient nobody asked is "Allergies not recorded".
* Adding an entry makes the status "recorded"; removing (deactivating) the last active entry makes it "not
  recorded" again: nobody has said the patient has none.
* A medicine matches an allergy when it contains the substance (name or generic name), or belongs to the allergy's
  drug group: by the medicine's own drug group, or by its generic name or name (a small built-in map of groups).
  An allergy written as a group's name ("Penicillin", "Sulfa") counts as the group. Case and accents are ignored.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AllergySeverity, AllergyStatus, Medicine, Patient, PatientAllergy, Role

from . import audit
from .access import Actor, require
from .core.boundary import action, query
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import PatientChanged, publish
from .core.i18n import N_, _
from .text import search_key

# The drug groups the clinic knows, with the generic names that belong to them (lower case, no accents).
DRUG_GROUPS: dict[str, tuple[str, ...]] = {
    'penicillins': ('amoxicillin', 'ampicillin', 'penicillin', 'cloxacillin', 'flucloxacillin', 'dicloxacillin',
                    'oxacillin', 'piperacillin', 'benzylpenicillin', 'phenoxymethylpenicillin'),
    'cephalosporins': ('cefalexin', 'cephalexin', 'cefadroxil', 'cefaclor', 'cefuroxime', 'cefixime', 'cefdinir',
                       'cefpodoxime', 'ceftriaxone', 'cefotaxime', 'cefazolin', 'ceftazidime', 'cefepime'),
    'sulfonamides': ('sulfamethoxazole', 'co-trimoxazole', 'cotrimoxazole', 'sulfasalazine', 'sulfadiazine'),
    'nsaids': ('aspirin', 'acetylsalicylic acid', 'ibuprofen', 'diclofenac', 'meloxicam', 'naproxen', 'ketoprofen',
               'piroxicam', 'indomethacin', 'celecoxib', 'etoricoxib', 'ketorolac'),
    'macrolides': ('azithromycin', 'clarithromycin', 'erythromycin', 'roxithromycin', 'spiramycin'),
    'fluoroquinolones': ('ciprofloxacin', 'levofloxacin', 'ofloxacin', 'moxifloxacin', 'norfloxacin'),
    'tetracyclines': ('doxycycline', 'tetracycline', 'minocycline'),
}
# How a group reads (English, also what a medicine's drug group is saved as); marked with N_(): show it as _(label).
GROUP_LABELS = {'penicillins': N_('Penicillins'), 'cephalosporins': N_('Cephalosporins'),
                'sulfonamides': N_('Sulfonamides'), 'nsaids': N_('NSAIDs'), 'macrolides': N_('Macrolides'),
                'fluoroquinolones': N_('Fluoroquinolones'), 'tetracyclines': N_('Tetracyclines')}
# Other ways people write a group's name (a substance written like this means the whole group).
_ALIASES = {'sulfa': 'sulfonamides', 'sulpha': 'sulfonamides', 'sulphonamides': 'sulfonamides',
            'sulfa drugs': 'sulfonamides', 'nsaid': 'nsaids', 'quinolones': 'fluoroquinolones',
            'non-steroidal anti-inflammatory drugs': 'nsaids', 'cefalosporins': 'cephalosporins'}
# marked with N_(): show them as _(text)
SEVERITY_TEXT = {AllergySeverity.MILD: N_('mild'), AllergySeverity.MODERATE: N_('moderate'),
                 AllergySeverity.SEVERE: N_('severe'), AllergySeverity.LIFE_THREATENING: N_('life-threatening')}
NOT_RECORDED = N_('Allergies not recorded')
NONE_KNOWN = N_('No known allergies')


def group_key(text: str) -> str:
    """``'Penicillin'``, ``'PENICILLINS'`` -> ``'penicillins'``; a group the clinic does not know: its search key
    without a plural s (so "antihistamine" and "Antihistamines" are the same group)."""
    key = search_key(text)
    if not key:
        return ''
    for candidate in (key, key + 's'):
        if candidate in DRUG_GROUPS:
            return candidate
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    return key.removesuffix('s')


def group_label(text: str) -> str:
    """How a group reads on screen: ``'nsaids'`` -> ``'NSAIDs'``; a group the clinic does not know, as typed."""
    return GROUP_LABELS.get(group_key(text), text.strip())


def groups_of_name(name: str) -> list[str]:
    """The known groups a medicine's name belongs to: ``'Amoxicillin/Clavulanate'`` -> ``['penicillins']``."""
    key = search_key(name)
    return [group for group, members in DRUG_GROUPS.items() if any(member in key for member in members)]


def medicine_groups(medicine: Medicine) -> set[str]:
    """The groups of a medicine: its own drug group, and those its generic name or name belongs to."""
    groups = {group_key(medicine.drug_group)} if medicine.drug_group.strip() else set()
    groups.update(groups_of_name(f'{medicine.generic_name} {medicine.name}'))
    return groups


def _entry_groups(entry: PatientAllergy) -> set[str]:
    groups = {group_key(entry.drug_group)} if entry.drug_group.strip() else set()
    substance = group_key(entry.substance)
    if substance in DRUG_GROUPS:  # "Penicillin" written as a substance: the group
        groups.add(substance)
    return groups


def matches(entry: PatientAllergy, medicine: Medicine) -> bool:
    """Whether prescribing ``medicine`` goes against this allergy (substance in its names, or the same group)."""
    substance = search_key(entry.substance)
    if len(substance) >= 3 and substance in search_key(f'{medicine.generic_name} {medicine.name}'):
        return True
    return bool(_entry_groups(entry) & medicine_groups(medicine))


def matching(entries: Iterable[PatientAllergy], medicine: Medicine) -> list[PatientAllergy]:
    return [entry for entry in entries if entry.is_active and matches(entry, medicine)]


def entry_text(entry: PatientAllergy) -> str:
    """``'Penicillins (rash, severe)'``, ``'Amoxicillin · Penicillins (moderate)'``, in the reader's language."""
    group = _(group_label(entry.drug_group)) if entry.drug_group else ''
    name = ' · '.join(p for p in (entry.substance.strip(), group) if p)
    details = ', '.join(p for p in (entry.reaction.strip(), _(SEVERITY_TEXT[entry.severity])) if p)
    return f'{name} ({details})'


def summary_text(status: AllergyStatus, entries: list[PatientAllergy]) -> str:
    """What every screen shows: the allergies, "No known allergies" only when recorded so, else "not recorded"."""
    active = [e for e in entries if e.is_active]
    if active:
        return _('Allergies: {allergies}').format(allergies=', '.join(entry_text(e) for e in active))
    return _(NONE_KNOWN) if status == AllergyStatus.NONE else _(NOT_RECORDED)


@dataclass(frozen=True)
class AllergyEntry:
    id: int
    substance: str
    drug_group: str
    reaction: str
    severity: AllergySeverity
    text: str


@dataclass(frozen=True)
class Allergies:
    """A patient's allergy status, active entries, the summary line, and the free-text note kept beside them (when
    it says more than the list)."""
    patient_id: int
    status: AllergyStatus
    entries: list[AllergyEntry]
    summary: str
    note: str


async def active_entries(session: AsyncSession, patient_id: int) -> list[PatientAllergy]:
    return list((await session.exec(select(PatientAllergy).where(
        PatientAllergy.patient_id == patient_id, PatientAllergy.is_active.is_(True))
        .order_by(PatientAllergy.id))).all())


def unlisted_note(note: str, entries: list[PatientAllergy]) -> str:
    """The free-text allergy note, unless each of its items is on the list already (the notes written before the
    list existed were copied into it)."""
    listed = {search_key(e.substance) for e in entries} | {group_key(e.drug_group) for e in entries if e.drug_group}
    parts = [search_key(part) for part in re.split(r'[,;\n]', note or '') if part.strip()]
    return '' if all(part in listed or group_key(part) in listed for part in parts) else note.strip()


async def allergies_of(session: AsyncSession, patient: Patient) -> Allergies:
    """The patient's allergies as every screen shows them (no role check: the caller's service made it)."""
    entries = await active_entries(session, patient.id)
    return Allergies(patient.id, patient.allergy_status,
                     [AllergyEntry(e.id, e.substance, e.drug_group, e.reaction, e.severity, entry_text(e))
                      for e in entries], summary_text(patient.allergy_status, entries),
                     unlisted_note(patient.allergies, entries))


async def conflicts(session: AsyncSession, patient: Patient, medicine: Medicine) -> list[PatientAllergy]:
    """The patient's active allergies that ``medicine`` matches."""
    return matching(await active_entries(session, patient.id), medicine)


@query
async def patient_allergies(session: AsyncSession, actor: Actor, patient_id: int) -> Allergies:
    require(actor, Role.DOCTOR, Role.RECEPTIONIST, Role.PHARMACIST)
    return await allergies_of(session, await _patient(session, patient_id))


@dataclass(frozen=True)
class AllergyInput:
    """One allergy as typed: a substance or a drug group (or both), the reaction, the severity."""
    substance: str = ''
    drug_group: str = ''
    reaction: str = ''
    severity: AllergySeverity = AllergySeverity.MODERATE


def _checked(data: AllergyInput) -> AllergyInput:
    substance, group, reaction = (' '.join(t.split()) for t in (data.substance, data.drug_group, data.reaction))
    if not substance and not group:
        raise ValidationError(_('Please write the substance (e.g. amoxicillin) or choose the drug group.'),
                              'substance')
    for text, limit, name, message in (
            (substance, 120, 'substance', N_('The substance can have at most {limit} characters.')),
            (group, 60, 'drug_group', N_('The drug group can have at most {limit} characters.')),
            (reaction, 200, 'reaction', N_('The reaction can have at most {limit} characters.'))):
        if len(text) > limit:
            raise ValidationError(_(message).format(limit=limit), name)
    known = group_key(group)
    return AllergyInput(substance, known if known in DRUG_GROUPS else group, reaction, data.severity)


async def _patient(session: AsyncSession, patient_id: int) -> Patient:
    patient = await session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(_('This patient does not exist.'))
    return patient


async def _entry(session: AsyncSession, allergy_id: int) -> tuple[PatientAllergy, Patient]:
    entry = await session.get(PatientAllergy, allergy_id)
    if entry is None or not entry.is_active:
        raise NotFound(_('This allergy is no longer on the list.'))
    return entry, await _patient(session, entry.patient_id)


def _touch(session: AsyncSession, patient: Patient, status: AllergyStatus, now: datetime) -> None:
    patient.allergy_status = status
    patient.updated_at = now
    session.add(patient)
    publish(session, PatientChanged(patient_id=patient.id))


@action
async def add_allergy(session: AsyncSession, actor: Actor, patient_id: int, data: AllergyInput, *,
                      now: datetime) -> PatientAllergy:
    """Record one allergy; the patient's status becomes "recorded"."""
    require(actor, Role.DOCTOR, Role.RECEPTIONIST)
    data = _checked(data)
    patient = await _patient(session, patient_id)
    entry = PatientAllergy(patient_id=patient.id, substance=data.substance, drug_group=data.drug_group,
                           reaction=data.reaction, severity=data.severity, recorded_by_id=actor.user_id,
                           recorded_at=now)
    session.add(entry)
    _touch(session, patient, AllergyStatus.RECORDED, now)
    await session.flush()
    audit.record(session, actor, 'allergy_added', entity='patient', entity_id=patient.id, detail=entry_text(entry))
    return entry


@action
async def update_allergy(session: AsyncSession, actor: Actor, allergy_id: int, data: AllergyInput, *,
                         now: datetime) -> PatientAllergy:
    """Correct one allergy (the substance, group, reaction or severity)."""
    require(actor, Role.DOCTOR, Role.RECEPTIONIST)
    data = _checked(data)
    entry, patient = await _entry(session, allergy_id)
    before = entry_text(entry)
    entry.substance, entry.drug_group, entry.reaction, entry.severity = \
        data.substance, data.drug_group, data.reaction, data.severity
    entry.recorded_by_id, entry.recorded_at = actor.user_id, now
    session.add(entry)
    _touch(session, patient, AllergyStatus.RECORDED, now)
    audit.record(session, actor, 'allergy_changed', entity='patient', entity_id=patient.id,
                 detail=f'{before} -> {entry_text(entry)}')
    return entry


@action
async def remove_allergy(session: AsyncSession, actor: Actor, allergy_id: int, *, now: datetime) -> Allergies:
    """Take an allergy off the list (kept, inactive). Without any left the status is "not recorded" again."""
    require(actor, Role.DOCTOR, Role.RECEPTIONIST)
    entry, patient = await _entry(session, allergy_id)
    entry.is_active = False
    session.add(entry)
    await session.flush()
    left = await active_entries(session, patient.id)
    _touch(session, patient, AllergyStatus.RECORDED if left else AllergyStatus.UNKNOWN, now)
    audit.record(session, actor, 'allergy_removed', entity='patient', entity_id=patient.id,
                 detail=entry_text(entry) + ('' if left else '; no allergy left: status not recorded'))
    return await allergies_of(session, patient)


@action
async def record_no_known_allergies(session: AsyncSession, actor: Actor, patient_id: int, *,
                                    now: datetime) -> Allergies:
    """The patient was asked and has no known allergy. Refused while allergies are on the list."""
    require(actor, Role.DOCTOR, Role.RECEPTIONIST)
    patient = await _patient(session, patient_id)
    if await active_entries(session, patient.id):
        raise Conflict(_('This patient has allergies on the list: remove them first if they were recorded by '
                         'mistake.'))
    _touch(session, patient, AllergyStatus.NONE, now)
    audit.record(session, actor, 'allergy_none_known', entity='patient', entity_id=patient.id)
    return await allergies_of(session, patient)
