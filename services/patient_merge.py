"""Merging two records of one person: everything the other record has moves to the one kept.

What moves is found in the schema, not in a list kept by hand: every column with a foreign key to ``patients.id``
(visits, appointments, invoices, tickets, records, allergies, addresses, ... and any table added later). Nothing is
deleted: the other record stays, marked as merged into the survivor (when, by whom), hidden from search, duplicate
warnings and booking; its page links the survivor.

The survivor's details: for each detail that differs (name, birth date, sex, phone, email, national ID, address,
notes, language) reception chooses which record's value survives. Allergies are never chosen, they are united: the
structured entries of both records move, the free-text notes are joined, and "no known allergies" on one record
does not hide allergies recorded on the other.

The merged record's national ID (unique among patients) is released: set to empty, its value written in the audit
row. Its other details stay as they were (phone and email are not unique: families share them), as a snapshot of
what was registered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Address,
    AllergyStatus,
    OutboxMessage,
    Patient,
    PatientAllergy,
    Prescription,
    ResultFile,
    Role,
    ServiceOrder,
    Sex,
    Visit,
    VisitStatus,
    metadata,
)

from . import audit, booking, patients, phones
from .access import Actor, require
from .core.boundary import action
from .core.db import load, serialize
from .core.errors import Conflict, ValidationError
from .core.events import PatientChanged, publish
from .core.i18n import N_, _
from .text import search_key

KEEP, OTHER = 'keep', 'other'
# The details reception chooses between, in the order the dialog shows them.
FIELDS = {'full_name': N_('Name'), 'date_of_birth': N_('Date of birth'), 'sex': N_('Sex'), 'phone': N_('Phone'),
          'email': N_('Email'), 'national_id': N_('National ID'), 'address': N_('Address'), 'notes': N_('Notes'),
          'language': N_('Language')}
SEX_LABELS = {Sex.FEMALE: N_('Female'), Sex.MALE: N_('Male'), Sex.OTHER: N_('Other'), Sex.UNKNOWN: N_('Not said')}
LANGUAGE_LABELS = {'vi': N_('Vietnamese'), 'en': N_('English')}
# What each table holding a patient's rows is called on screen; a table added later shows under its own name
# until it is given a label here (it is moved all the same).
COUNT_LABELS = {'visits': N_('Visits'), 'appointments': N_('Appointments'), 'invoices': N_('Invoices'),
                'medical_records': N_('Medical records'), 'queue_tickets': N_('Queue tickets'),
                'patient_allergies': N_('Allergies'), 'addresses': N_('Addresses'),
                'patient_contact_changes': N_('Details typed online'), 'patients': N_('Records merged earlier'),
                'prescriptions': N_('Prescriptions'), 'result_files': N_('Result files'),
                'emails': N_('Emails to their address (they stay in the outbox)')}
# Visits in these states are over; any other is in progress and blocks a merge.
FINISHED_VISITS = (VisitStatus.PAID, VisitStatus.CLOSED, VisitStatus.CANCELLED)
MERGE_LOCK = 'patient_merge'


def patient_references() -> list[sa.Column]:
    """Every column of every table that points at a patient, from the models' metadata."""
    return [fk.parent for table in metadata.sorted_tables for fk in table.foreign_keys
            if fk.column.table.name == Patient.__tablename__ and fk.column.name == 'id']


@dataclass(frozen=True)
class MergeSide:
    id: int
    code: str
    full_name: str
    values: dict[str, str]   # each detail of FIELDS as shown ('' when empty)
    allergies: list[str]     # the allergy note and the structured entries, as shown
    counts: dict[str, int]   # what the record has, by COUNT_LABELS key (moves to the survivor)
    created_at: datetime


@dataclass(frozen=True)
class MergePreview:
    keep: MergeSide
    other: MergeSide
    differing: list[str]     # the fields (keys of FIELDS) whose values differ: one choice each
    refusal: str             # why these two cannot be merged now ('' when they can)

    @staticmethod
    def label(field: str) -> str:
        return _(FIELDS[field])

    @staticmethod
    def count_label(key: str) -> str:
        return _(COUNT_LABELS[key]) if key in COUNT_LABELS else key


def _show(patient: Patient, address: str) -> dict[str, str]:
    born = patient.date_of_birth.strftime('%d/%m/%Y') if patient.date_of_birth else ''
    language = patient.language or ''
    return {'full_name': patient.full_name, 'date_of_birth': born,
            'sex': _(SEX_LABELS[patient.sex]) if patient.sex != Sex.UNKNOWN else '',
            'phone': phones.shown(patient.phone),
            'email': patient.email or '', 'national_id': patient.national_id or '', 'address': address,
            'notes': patient.notes, 'language': _(LANGUAGE_LABELS[language]) if language in LANGUAGE_LABELS
            else language}


def _raw(patient: Patient, address: str) -> dict[str, object]:
    """The values compared (and copied): what is stored, not what is shown."""
    return {'full_name': patient.full_name, 'date_of_birth': patient.date_of_birth, 'sex': patient.sex,
            'phone': patient.phone or '', 'email': patient.email or '', 'national_id': patient.national_id or '',
            'address': address, 'notes': patient.notes, 'language': patient.language or ''}


async def _counts(session: AsyncSession, patient: Patient) -> dict[str, int]:
    counts: dict[str, int] = {}
    for column in patient_references():
        key = column.table.name
        counts[key] = counts.get(key, 0) + (await session.exec(
            select(func.count()).select_from(column.table).where(column == patient.id))).one()
    visits = select(Visit.id).where(Visit.patient_id == patient.id)
    counts['prescriptions'] = (await session.exec(select(func.count()).select_from(Prescription).where(
        Prescription.visit_id.in_(visits)))).one()
    counts['result_files'] = (await session.exec(select(func.count()).select_from(ResultFile).join(
        ServiceOrder, ServiceOrder.id == ResultFile.order_id).where(ServiceOrder.visit_id.in_(visits)))).one()
    counts['emails'] = (await session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.to_address == patient.email))).one() if patient.email else 0
    return counts


async def _allergies(session: AsyncSession, patient: Patient) -> list[str]:
    entries = (await session.exec(select(PatientAllergy).where(
        PatientAllergy.patient_id == patient.id, PatientAllergy.is_active).order_by(PatientAllergy.id))).all()
    shown = [' · '.join(part for part in (e.substance or e.drug_group, e.reaction) if part) for e in entries]
    if patient.allergies:
        shown.append(patient.allergies)
    if not shown and patient.allergy_status == AllergyStatus.NONE:
        shown.append(_('No known allergies'))
    return shown


async def _side(session: AsyncSession, patient: Patient) -> tuple[MergeSide, dict[str, object]]:
    address = await patients.primary_address(session, patient.id)
    side = MergeSide(patient.id, patient.code, patient.full_name, _show(patient, address),
                     await _allergies(session, patient), await _counts(session, patient), patient.created_at)
    return side, _raw(patient, address)


async def _refusal(session: AsyncSession, keep: Patient, other: Patient) -> str:
    """Why these two records cannot be merged now, in a sentence; '' when they can."""
    if keep.id == other.id:
        return _('A record cannot be merged with itself: please choose the other record of this person.')
    for patient in (keep, other):
        if patient.merged_into_id is not None:
            survivor = await session.get(Patient, patient.merged_into_id)
            return _('Patient {code} was already merged into {survivor}.').format(
                code=patient.code, survivor=survivor.code if survivor else '?')
    for patient in (keep, other):
        open_visit = (await session.exec(select(Visit.id).where(
            Visit.patient_id == patient.id, Visit.status.not_in(FINISHED_VISITS)))).first()
        if open_visit is not None:
            return _('Patient {code} has a visit in progress. Please merge once it is finished (paid, closed '
                     'or cancelled).').format(code=patient.code)
    return ''


async def _both(session: AsyncSession, keep_id: int, other_id: int) -> tuple[Patient, Patient]:
    keep = await load(session, Patient, keep_id, _('This patient does not exist.'))
    other = await load(session, Patient, other_id, _('This patient does not exist.'))
    return keep, other


@action
async def merge_preview(session: AsyncSession, actor: Actor, keep_id: int, other_id: int) -> MergePreview:
    """Both records side by side, what each has, the details that differ, and whether the merge may go ahead.
    Audited (it shows what medical records each holds)."""
    require(actor, Role.RECEPTIONIST)
    keep, other = await _both(session, keep_id, other_id)
    keep_side, keep_raw = await _side(session, keep)
    other_side, other_raw = await _side(session, other)
    differing = [field for field in FIELDS if keep_raw[field] != other_raw[field]]
    audit.record(session, actor, 'patient_merge_previewed', entity='patient', entity_id=keep.id,
                 detail=f'{other.code} into {keep.code}')
    return MergePreview(keep_side, other_side, differing, await _refusal(session, keep, other))


async def _check_unique(session: AsyncSession, column: sa.Column, keep_id: int, other_id: int) -> None:
    """A table may allow one row per patient (or per patient and something else): refuse when both records have
    one, rather than break the constraint or silently drop a row."""
    table = column.table
    groups = [list(c.columns) for c in table.constraints
              if isinstance(c, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)) and column in c.columns.values()]
    groups += [list(index.columns) for index in table.indexes if index.unique and column in index.columns.values()]
    if column.unique:
        groups.append([column])
    for group in groups:
        mine, theirs = table.alias('mine'), table.alias('theirs')
        same = [mine.c[c.name] == theirs.c[c.name] for c in group if c is not column]
        clash = (await session.exec(select(func.count()).select_from(mine).join(
            theirs, sa.and_(sa.true(), *same)).where(mine.c[column.name] == keep_id,
                                                     theirs.c[column.name] == other_id))).one()
        if clash:
            label = COUNT_LABELS.get(table.name)
            raise Conflict(_('Both records have {what} that a patient may have only once, so they cannot be '
                             'merged as they are. Please correct one of them first.').format(
                what=_(label) if label else table.name))


def _united_allergy_note(keep: Patient, other: Patient) -> str:
    parts = [note for note in (keep.allergies.strip(), other.allergies.strip()) if note]
    if len(parts) == 2 and search_key(parts[0]) == search_key(parts[1]):
        parts = parts[:1]
    note = '; '.join(parts)
    if len(note) > 1000:
        raise Conflict(_('Together, the two allergy notes are longer than 1000 characters. Please shorten one of '
                         'them first.'))
    return note


def _united_allergy_status(keep: Patient, other: Patient, note: str, moved_entries: int) -> AllergyStatus:
    statuses = {keep.allergy_status, other.allergy_status}
    if AllergyStatus.RECORDED in statuses or note or moved_entries:
        return AllergyStatus.RECORDED
    return AllergyStatus.NONE if AllergyStatus.NONE in statuses else AllergyStatus.UNKNOWN


@action
async def merge_patients(session: AsyncSession, actor: Actor, keep_id: int, other_id: int,
                         choices: dict[str, str], *, now: datetime) -> Patient:
    """Merge record ``other_id`` into ``keep_id`` (the survivor), in one transaction. ``choices``: for each detail
    that differs (a key of FIELDS), ``'keep'`` or ``'other'``: whose value the survivor has. Every row pointing
    at the other record then points at the survivor; the other record is kept, marked merged. Audited."""
    require(actor, Role.RECEPTIONIST)
    await serialize(session, booking.BOOKING_LOCK)  # no check-in or booking of either meanwhile
    await serialize(session, MERGE_LOCK)
    keep, other = await _both(session, keep_id, other_id)
    if refusal := await _refusal(session, keep, other):
        raise Conflict(refusal)
    keep_address = await patients.primary_address(session, keep.id)
    other_address = await patients.primary_address(session, other.id)
    keep_raw, other_raw = _raw(keep, keep_address), _raw(other, other_address)
    for field, choice in choices.items():
        if field not in FIELDS or choice not in (KEEP, OTHER):
            raise ValidationError(_('A choice for the merge is not one of the details of a patient.'), field)
    differing = [field for field in FIELDS if keep_raw[field] != other_raw[field]]
    for field in differing:
        if field not in choices:
            raise ValidationError(_('Please choose which {detail} to keep.').format(detail=_(FIELDS[field]).lower()),
                                  field)
    chosen = {field: (other_raw if choices[field] == OTHER else keep_raw)[field] for field in differing}
    values = {**keep_raw, **chosen}
    if not values['phone'] and values['date_of_birth'] is None:
        raise ValidationError(_('The record kept needs a phone number or a date of birth: please choose one that '
                                'has a value.'), 'phone')
    references = patient_references()
    for column in references:
        await _check_unique(session, column, keep.id, other.id)

    note = _united_allergy_note(keep, other)
    moved_allergies = (await session.exec(select(func.count()).select_from(PatientAllergy).where(
        PatientAllergy.patient_id == other.id, PatientAllergy.is_active))).one()
    released_id = other.national_id
    other.national_id = None  # unique among patients: released before the survivor may take it
    other.merged_into_id, other.merged_at, other.merged_by_id, other.updated_at = keep.id, now, actor.user_id, now
    session.add(other)
    await session.flush()

    # the one primary address is the chosen one; the other record's addresses move as secondary ones
    if choices.get('address') == OTHER:
        await session.exec(sa.update(Address).where(Address.patient_id == keep.id).values(is_primary=False))
    else:
        await session.exec(sa.update(Address).where(Address.patient_id == other.id).values(is_primary=False))
    moved: dict[str, int] = {}
    for column in references:
        result = await session.exec(sa.update(column.table).where(column == other.id).values({column.name: keep.id}))
        if result.rowcount:
            moved[column.table.name] = moved.get(column.table.name, 0) + result.rowcount

    keep.full_name = values['full_name']
    keep.search_name = search_key(keep.full_name)
    keep.date_of_birth = values['date_of_birth']
    keep.sex = values['sex']
    keep.phone = values['phone'] or None
    keep.email = values['email'] or None
    keep.national_id = values['national_id'] or None
    keep.notes = values['notes']
    keep.language = values['language'] or None
    keep.allergy_status = _united_allergy_status(keep, other, note, moved_allergies)
    keep.allergies = note
    keep.updated_at = now
    session.add(keep)
    await session.flush()

    chose = ', '.join(f'{field}={choices[field]}' for field in differing) or 'nothing differed'
    counts = ', '.join(f'{table} {count}' for table, count in sorted(moved.items())) or 'nothing'
    released = f'; national ID {released_id} released' if released_id else ''
    audit.record(session, actor, 'patients_merged', entity='patient', entity_id=keep.id,
                 detail=f'{other.code} merged into {keep.code}; chosen: {chose}; moved: {counts}{released}')
    audit.record(session, actor, 'patient_merged_into', entity='patient', entity_id=other.id,
                 detail=f'{other.code} merged into {keep.code}')
    publish(session, PatientChanged(patient_id=keep.id))
    publish(session, PatientChanged(patient_id=other.id))
    return keep
