"""Prescriptions: the doctor picks medicines (seeing the stock on hand), dose, frequency, duration and instructions;
the quantity is computed for counted units (tablets, capsules, sachets). A medicine that matches a recorded allergy
is not added unless the doctor gives a reason (kept on the line, shown to the pharmacist, who acknowledges it
before dispensing); a medicine out of stock gives a warning.

A prescription is a draft while the consultation goes on and is issued to the pharmacy when the doctor finishes.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AllergyStatus,
    Doctor,
    MedicalRecord,
    Medicine,
    Patient,
    PatientAllergy,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Role,
    StockBatch,
    Visit,
)

from . import audit
from .access import Actor, require
from .allergies import active_entries, conflicts, entry_text, matching
from .core.boundary import action, query
from .core.errors import AllergyConflict, Conflict, NotFound, ValidationError
from .core.i18n import N_, _, ngettext
from .text import search_key

COUNTED_UNITS = {'tablet', 'capsule', 'sachet', 'nebule', 'ampoule', 'suppository', 'vial', 'patch'}
OUTSTANDING = (PrescriptionStatus.ISSUED, PrescriptionStatus.PARTIALLY_DISPENSED)
MAX_OVERRIDE_REASON = 500
_SEX_TEXTS = {'male': N_('male'), 'female': N_('female'), 'other': N_('other')}
_STATUS_TEXTS = {PrescriptionStatus.DRAFT: N_('draft'), PrescriptionStatus.ISSUED: N_('issued'),
                 PrescriptionStatus.PARTIALLY_DISPENSED: N_('partially dispensed'),
                 PrescriptionStatus.DISPENSED: N_('dispensed'), PrescriptionStatus.CANCELLED: N_('cancelled')}


def status_text(status: PrescriptionStatus) -> str:
    """The prescription's status in words, in the reader's language."""
    text = _STATUS_TEXTS.get(status)
    return _(text) if text else status.value.replace('_', ' ')


def allergy_warnings(entries: Sequence[PatientAllergy], medicine: Medicine) -> list[str]:
    """The patient's allergies that ``medicine`` matches: ``['Allergy: Penicillins (rash, severe)']``."""
    return [_('Allergy: {allergy}').format(allergy=entry_text(entry)) for entry in matching(entries, medicine)]


def usable(today: date):
    """Batches that may be dispensed on ``today``: not expired (a batch expiring today is not handed out)."""
    return StockBatch.expiry_date > today


async def stock_on_hand(session: AsyncSession, medicine_ids: list[int], today: date) -> dict[int, int]:
    if not medicine_ids:
        return {}
    rows = (await session.exec(select(StockBatch.medicine_id, sa.func.sum(StockBatch.quantity))
                               .where(StockBatch.medicine_id.in_(medicine_ids), usable(today))
                               .group_by(StockBatch.medicine_id))).all()
    found = {medicine_id: int(total or 0) for medicine_id, total in rows}
    return {medicine_id: found.get(medicine_id, 0) for medicine_id in medicine_ids}


# --------------------------------------------------------------------------------------------------------------
# Medicine search
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MedicineHit:
    id: int
    code: str
    name: str
    unit: str
    price: int
    on_hand: int

    @property
    def label(self) -> str:
        stock = _('{count} {unit} in stock').format(count=self.on_hand, unit=self.unit) if self.on_hand else \
            _('OUT OF STOCK')
        return f'{self.name} · {stock}'


@query
async def search_medicines(session: AsyncSession, actor: Actor, text: str, *, today: date,
                           limit: int = 20) -> list[MedicineHit]:
    """Active medicines whose name, generic name or code contains every word typed, with usable stock."""
    require(actor, Role.DOCTOR, Role.PHARMACIST)
    words = search_key(text).split()
    if not words:
        return []
    haystack = sa.func.lower(Medicine.name + ' ' + Medicine.generic_name + ' ' + Medicine.code)
    query = select(Medicine).where(Medicine.is_active.is_(True), *(haystack.contains(word) for word in words)) \
        .order_by(Medicine.name).limit(limit)
    medicines = (await session.exec(query)).all()
    stock = await stock_on_hand(session, [m.id for m in medicines], today)
    return [MedicineHit(m.id, m.code, m.name, m.unit, m.price, stock[m.id]) for m in medicines]


# --------------------------------------------------------------------------------------------------------------
# Quantity
# --------------------------------------------------------------------------------------------------------------

_DOSE = re.compile(r'^\s*(\d+(?:[.,]\d+)?(?:\s*/\s*\d+)?|½|¼)')


def dose_amount(dose: str) -> Fraction | None:
    """The number a dose starts with: ``'1 tablet'`` -> 1, ``'1/2'`` -> 1/2, ``'1.5'`` -> 3/2, ``'½'`` -> 1/2."""
    match = _DOSE.match(dose or '')
    if not match:
        return None
    text = match.group(1).replace(' ', '').replace(',', '.')
    text = {'½': '1/2', '¼': '1/4'}.get(text, text)
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def compute_quantity(dose: str, times_per_day: int | None, duration_days: int | None, unit: str) -> int | None:
    """Units to hand out for counted units (dose × times a day × days, rounded up); None when it cannot be
    computed (a bottle, a tube: the doctor gives the number of packs)."""
    amount = dose_amount(dose)
    if unit not in COUNTED_UNITS or amount is None or not times_per_day or not duration_days:
        return None
    return math.ceil(amount * times_per_day * duration_days)


@dataclass
class LineInput:
    """One prescription line as typed."""
    medicine_id: int | None
    dose: str = ''
    times_per_day: str = ''
    duration_days: str = ''
    quantity: str = ''  # empty: computed
    instructions: str = ''


def _whole(text: str, label: str, low: int, high: int, name: str) -> int | None:
    """``label`` is marked with N_() where it is written."""
    text = (text or '').strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(_('{label}: please write a whole number from {low} to {high}.').format(
            label=_(label), low=low, high=high), name)
    return int(text)


@dataclass(frozen=True)
class CheckedLine:
    medicine: Medicine
    dose: str
    times_per_day: int | None
    duration_days: int | None
    quantity: int
    instructions: str


async def check_line(session: AsyncSession, line: LineInput) -> CheckedLine:
    if line.medicine_id is None:
        raise ValidationError(_('Please pick a medicine from the search first.'), 'medicine')
    medicine = await session.get(Medicine, line.medicine_id)
    if medicine is None or not medicine.is_active:
        raise NotFound(_('This medicine is no longer available.'))
    dose = (line.dose or '').strip()
    if not dose:
        raise ValidationError(_('Please write the dose, e.g. "1 tablet" or "5 ml".'), 'dose')
    if len(dose) > 60:
        raise ValidationError(_('The dose can have at most 60 characters.'), 'dose')
    times = _whole(line.times_per_day, N_('Times a day'), 1, 24, 'times_per_day')
    days = _whole(line.duration_days, N_('Days'), 1, 365, 'duration_days')
    instructions = (line.instructions or '').strip()
    if len(instructions) > 500:
        raise ValidationError(_('The instructions can have at most 500 characters.'), 'instructions')
    quantity = _whole(line.quantity, N_('Quantity'), 1, 10_000, 'quantity')
    if quantity is None:
        quantity = compute_quantity(dose, times, days, medicine.unit)
        if quantity is None:
            if medicine.unit in COUNTED_UNITS:
                raise ValidationError(_('Please give the times a day and the number of days (the quantity in '
                                        '{unit} is computed from them), or the quantity itself.').format(
                                          unit=medicine.unit),
                                      'times_per_day' if not times else 'duration_days')
            quantity = 1  # one bottle / tube / inhaler
    return CheckedLine(medicine, dose, times, days, quantity, instructions)


# --------------------------------------------------------------------------------------------------------------
# The visit's prescription
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemView:
    id: int
    medicine_id: int
    medicine_name: str
    unit: str
    dose: str
    times_per_day: int | None
    duration_days: int | None
    quantity: int
    instructions: str
    dispensed_quantity: int
    on_hand: int
    warnings: list[str]
    allergy_override_reason: str = ''  # prescribed despite an allergy: the doctor's reason
    allergy_acknowledged: bool = False  # ... and the pharmacist has acknowledged it

    @property
    def dosage(self) -> str:
        parts = [self.dose]
        if self.times_per_day:
            parts.append(_('{times}×/day').format(times=self.times_per_day))
        if self.duration_days:
            parts.append(ngettext('{count} day', '{count} days', self.duration_days))
        return ', '.join(parts)


@dataclass
class PrescriptionView:
    id: int
    visit_id: int
    status: PrescriptionStatus
    created_at: datetime
    issued_at: datetime | None
    notes: str
    items: list[ItemView] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f'{item.medicine_name}: {w}' for item in self.items for w in item.warnings]


def stock_warnings(on_hand: int, quantity: int, unit: str) -> list[str]:
    if on_hand <= 0:
        return [_('Out of stock at the clinic pharmacy')]
    if on_hand < quantity:
        return [_('Only {count} {unit} in stock').format(count=on_hand, unit=unit)]
    return []


async def items_of(session: AsyncSession, prescription_id: int, *, allergies: Sequence[PatientAllergy],
                   today: date, with_stock: bool = True) -> list[ItemView]:
    rows = (await session.exec(select(PrescriptionItem, Medicine)
                               .join(Medicine, Medicine.id == PrescriptionItem.medicine_id)
                               .where(PrescriptionItem.prescription_id == prescription_id)
                               .order_by(PrescriptionItem.id))).all()
    stock = await stock_on_hand(session, [m.id for __, m in rows], today) if with_stock else {}
    views = []
    for item, medicine in rows:
        on_hand = stock.get(medicine.id, 0)
        remaining = item.quantity - item.dispensed_quantity
        warnings = allergy_warnings(allergies, medicine)
        if with_stock and remaining > 0:
            warnings += stock_warnings(on_hand, remaining, medicine.unit)
        views.append(ItemView(item.id, medicine.id, medicine.name, medicine.unit, item.dose, item.times_per_day,
                              item.duration_days, item.quantity, item.instructions, item.dispensed_quantity, on_hand,
                              warnings, item.allergy_override_reason, item.allergy_acknowledged_at is not None))
    return views


async def visit_prescription(session: AsyncSession, visit_id: int, *, patient: Patient,
                             today: date) -> PrescriptionView | None:
    """The visit's current prescription (the latest one not cancelled), with stock and warnings."""
    prescription = (await session.exec(select(Prescription).where(
        Prescription.visit_id == visit_id, Prescription.status != PrescriptionStatus.CANCELLED)
        .order_by(Prescription.id.desc()))).first()
    if prescription is None:
        return None
    view = PrescriptionView(prescription.id, visit_id, prescription.status, prescription.created_at,
                            prescription.issued_at, prescription.notes)
    view.items = await items_of(session, prescription.id,
                                allergies=await active_entries(session, patient.id), today=today)
    return view


async def _draft(session: AsyncSession, visit: Visit, *, create: bool) -> Prescription | None:
    prescriptions = (await session.exec(select(Prescription).where(
        Prescription.visit_id == visit.id, Prescription.status != PrescriptionStatus.CANCELLED)
        .order_by(Prescription.id.desc()))).all()
    draft = next((p for p in prescriptions if p.status == PrescriptionStatus.DRAFT), None)
    if draft is None and prescriptions:
        raise Conflict(_('The prescription has already gone to the pharmacy: it can no longer be changed here.'))
    if draft is None and create:
        from .consultation import ensure_record
        record = await ensure_record(session, visit)
        draft = Prescription(visit_id=visit.id, record_id=record.id, doctor_id=visit.doctor_id)
        session.add(draft)
        await session.flush()
    return draft


@dataclass(frozen=True)
class Added:
    item: PrescriptionItem
    warnings: list[str]


def _override_reason(text: str) -> str:
    reason = ' '.join((text or '').split())
    if len(reason) > MAX_OVERRIDE_REASON:
        raise ValidationError(_('The reason can have at most {limit} characters.').format(limit=MAX_OVERRIDE_REASON),
                              'allergy_override_reason')
    return reason


@action
async def add_item(session: AsyncSession, actor: Actor, visit_id: int, line: LineInput, *, today: date,
                   now: datetime, allergy_override_reason: str = '') -> Added:
    """Add a medicine to the visit's draft prescription. Returns the line and its warnings (allergy, stock).

    A medicine that matches one of the patient's allergies raises AllergyConflict before anything is added, unless
    ``allergy_override_reason`` says why it is prescribed anyway (kept on the line and audited)."""
    from .consultation import editable_visit
    require(actor, Role.DOCTOR)
    checked = await check_line(session, line)
    reason = _override_reason(allergy_override_reason)
    visit = await editable_visit(session, actor, visit_id)
    patient = await session.get(Patient, visit.patient_id)
    conflicting = await conflicts(session, patient, checked.medicine)
    if conflicting and not reason:
        raise AllergyConflict(checked.medicine.name, [entry_text(entry) for entry in conflicting])
    draft = await _draft(session, visit, create=True)
    existing = (await session.exec(select(PrescriptionItem.id).where(
        PrescriptionItem.prescription_id == draft.id, PrescriptionItem.medicine_id == checked.medicine.id))).first()
    if existing is not None:
        raise Conflict(_('{medicine} is already on this prescription: remove it first to change it.').format(
            medicine=checked.medicine.name))
    item = PrescriptionItem(prescription_id=draft.id, medicine_id=checked.medicine.id, dose=checked.dose,
                            times_per_day=checked.times_per_day, duration_days=checked.duration_days,
                            quantity=checked.quantity, instructions=checked.instructions,
                            allergy_override_reason=reason if conflicting else '')
    session.add(item)
    on_hand = (await stock_on_hand(session, [checked.medicine.id], today))[checked.medicine.id]
    warnings = allergy_warnings(conflicting, checked.medicine) + \
        stock_warnings(on_hand, checked.quantity, checked.medicine.unit)
    await session.flush()
    if conflicting:
        audit.record(session, actor, 'allergy_override', entity='prescription', entity_id=draft.id,
                     detail=f'{checked.medicine.name} despite {"; ".join(entry_text(e) for e in conflicting)}; '
                            f'reason: {reason}')
    if warnings:
        audit.record(session, actor, 'prescribed_with_warning', entity='prescription', entity_id=draft.id,
                     detail=f'{checked.medicine.name}: {"; ".join(warnings)}')
    return Added(item, warnings)


@action
async def remove_item(session: AsyncSession, actor: Actor, visit_id: int, item_id: int) -> None:
    from .consultation import editable_visit
    visit = await editable_visit(session, actor, visit_id)
    draft = await _draft(session, visit, create=False)
    item = await session.get(PrescriptionItem, item_id)
    if draft is None or item is None or item.prescription_id != draft.id:
        raise NotFound(_('This line is no longer on the prescription.'))
    await session.delete(item)


@action
async def issue_draft(session: AsyncSession, actor: Actor, visit_id: int, *, now: datetime) -> Prescription | None:
    """Issue the visit's draft prescription to the pharmacy (an empty draft is dropped). The caller commits."""
    draft = (await session.exec(select(Prescription).where(Prescription.visit_id == visit_id,
                                                           Prescription.status == PrescriptionStatus.DRAFT))).first()
    if draft is None:
        return None
    count = (await session.exec(select(sa.func.count()).select_from(PrescriptionItem)
                                .where(PrescriptionItem.prescription_id == draft.id))).one()
    if not count:
        await session.delete(draft)
        return None
    draft.status = PrescriptionStatus.ISSUED
    draft.issued_at = now
    session.add(draft)
    audit.record(session, actor, 'prescription_issued', entity='prescription', entity_id=draft.id,
                 detail=f'visit {visit_id}, {count} item(s)')
    return draft


# --------------------------------------------------------------------------------------------------------------
# The pharmacy's queue and the printed prescription
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    prescription_id: int
    visit_id: int
    patient_code: str
    patient_name: str
    allergy_status: AllergyStatus
    doctor_name: str
    issued_at: datetime
    status: PrescriptionStatus
    items: int
    overrides: int  # lines prescribed despite an allergy, not yet acknowledged by a pharmacist


@query
async def pharmacy_queue(session: AsyncSession, actor: Actor, *, limit: int = 200) -> list[QueueRow]:
    """Issued prescriptions still to dispense (also those dispensed in part), oldest first."""
    require(actor, Role.PHARMACIST)
    items = (select(sa.func.count()).select_from(PrescriptionItem)
             .where(PrescriptionItem.prescription_id == Prescription.id).scalar_subquery())
    overrides = (select(sa.func.count()).select_from(PrescriptionItem)
                 .where(PrescriptionItem.prescription_id == Prescription.id,
                        PrescriptionItem.allergy_override_reason != '',
                        PrescriptionItem.allergy_acknowledged_at.is_(None)).scalar_subquery())
    query = (select(Prescription.id, Prescription.visit_id, Patient.code, Patient.full_name, Patient.allergy_status,
                    Doctor.full_name, Prescription.issued_at, Prescription.status, items, overrides)
             .join(Visit, Visit.id == Prescription.visit_id)
             .join(Patient, Patient.id == Visit.patient_id)
             .join(Doctor, Doctor.id == Prescription.doctor_id)
             .where(Prescription.status.in_(list(OUTSTANDING)))
             .order_by(Prescription.issued_at, Prescription.id).limit(limit))
    return [QueueRow(*row) for row in (await session.exec(query)).all()]


@dataclass
class PrintedPrescription:
    number: str
    issued_at: datetime
    patient_name: str
    patient_code: str
    age: str
    sex: str
    diagnosis: str
    doctor_name: str
    advice: str
    items: list[ItemView]
    status: PrescriptionStatus


async def with_parties(session: AsyncSession, prescription_id: int
                       ) -> tuple[Prescription, Visit, Patient, Doctor]:
    """A prescription with its visit, patient and prescribing doctor (NotFound when it does not exist)."""
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None:
        raise NotFound(_('This prescription does not exist.'))
    visit = await session.get(Visit, prescription.visit_id)
    patient = await session.get(Patient, visit.patient_id)
    doctor = await session.get(Doctor, prescription.doctor_id)
    return prescription, visit, patient, doctor


@action
async def printable(session: AsyncSession, actor: Actor, prescription_id: int, *, today: date) -> PrintedPrescription:
    require(actor, Role.DOCTOR, Role.PHARMACIST)
    prescription, visit, patient, doctor = await with_parties(session, prescription_id)
    record = await session.get(MedicalRecord, prescription.record_id)
    age = ''
    if patient.date_of_birth:
        born = patient.date_of_birth
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        age = ngettext('{count} year', '{count} years', years) if years >= 2 else \
            ngettext('{count} month', '{count} months', (today - born).days // 30)
    diagnosis = ''
    if record is not None:
        diagnosis = ' '.join(p for p in (record.diagnosis_code, record.diagnosis or record.preliminary_diagnosis) if p)
    printed = PrintedPrescription(
        number=f'RX-{prescription.id:06d}', issued_at=prescription.issued_at or prescription.created_at,
        patient_name=patient.full_name, patient_code=patient.code, age=age,
        sex=_(_SEX_TEXTS[patient.sex.value]) if patient.sex.value in _SEX_TEXTS else '', diagnosis=diagnosis,
        doctor_name=f'{doctor.title} {doctor.full_name}', advice=record.advice if record else '',
        items=await items_of(session, prescription.id, allergies=(), today=today, with_stock=False),
        status=prescription.status)
    audit.record(session, actor, 'prescription_printed', entity='prescription', entity_id=prescription.id)
    return printed

