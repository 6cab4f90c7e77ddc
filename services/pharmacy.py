"""Dispensing: the pharmacist hands out an issued prescription from stock.

* Batches first-expiry-first-out; an expired batch (or one expiring today) is never used.
* A line may be dispensed in part (the rest stays owed and the prescription stays in the queue) or replaced by
  an EQUIVALENT medicine (same active ingredient and strength, see ``substitutes``), in any pack: the quantity is
  converted to the substitute's unit and rounded up (20 tablets = 2 blisters of 10), with a note saying why.
* The stock drops in the same transaction as the dispense record: DispenseItem rows (one per batch used, with the
  price of the day), StockMovement rows (the ledger) and the batch quantities.
* A line the doctor prescribed despite an allergy (with a reason) is dispensed only once the pharmacist has
  acknowledged it; the acknowledgement (who, when) is kept on the line and audited with the dispense.
* Stock never goes negative, also when two pharmacists dispense the last units at the same moment: the medicines
  are locked in id order (``serialize``; SQLite writers are serialized anyway), each batch is decremented with an
  UPDATE that re-checks the quantity, and the CHECK (quantity >= 0) constraint is the last guard.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Dispense,
    DispenseItem,
    Medicine,
    MovementKind,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Role,
    StockBatch,
    StockMovement,
    Visit,
)

from . import audit, substitutes, visit_path
from .access import Actor, require
from .allergies import Allergies, active_entries, allergies_of
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import BillingChanged, PrescriptionChanged, StockChanged, VisitChanged, publish
from .core.i18n import _, ngettext
from .prescriptions import OUTSTANDING, ItemView, items_of, status_text, usable, with_parties


@dataclass(frozen=True)
class BatchView:
    id: int
    batch_no: str
    expiry_date: date
    quantity: int


@dataclass
class PlanLine:
    item: ItemView
    remaining: int
    batches: list[BatchView]  # usable, first expiry first
    substitutes: substitutes.Substitutes  # the equivalents the pharmacist may give instead, or why there are none


@dataclass
class DispensePlan:
    prescription_id: int
    visit_id: int
    status: PrescriptionStatus
    patient_name: str
    patient_code: str
    allergies: str  # the summary line: "Allergies: Penicillins (rash, severe)", "No known allergies", ...
    allergy: Allergies
    doctor_name: str
    issued_at: datetime | None
    lines: list[PlanLine] = field(default_factory=list)


async def usable_batches(session: AsyncSession, medicine_ids: list[int], today: date, *,
                         lock: bool = False) -> dict[int, list[StockBatch]]:
    query = (select(StockBatch).where(StockBatch.medicine_id.in_(medicine_ids), StockBatch.quantity > 0,
                                      usable(today))
             .order_by(StockBatch.expiry_date, StockBatch.id).execution_options(populate_existing=True))
    if lock:
        query = query.with_for_update()
    batches: dict[int, list[StockBatch]] = defaultdict(list)
    for batch in (await session.exec(query)).all():
        batches[batch.medicine_id].append(batch)
    return batches


@query
async def plan(session: AsyncSession, actor: Actor, prescription_id: int, *, today: date) -> DispensePlan:
    """What the pharmacist reviews: every line with what is still owed, the usable batches, and the warnings."""
    require(actor, Role.PHARMACIST)
    prescription, visit, patient, doctor = await with_parties(session, prescription_id)
    allergy = await allergies_of(session, patient)
    items = await items_of(session, prescription.id, allergies=await active_entries(session, patient.id), today=today)
    batches = await usable_batches(session, [i.medicine_id for i in items], today)
    medicines = {m.id: m for m in (await session.exec(
        select(Medicine).where(Medicine.id.in_([i.medicine_id for i in items])))).all()}
    catalog = await substitutes.active_medicines(session) if items else []
    result = DispensePlan(prescription.id, visit.id, prescription.status, patient.full_name, patient.code,
                          allergy.summary, allergy, f'{doctor.title} {doctor.full_name}',
                          prescription.issued_at)
    for item in items:
        result.lines.append(PlanLine(item, max(item.quantity - item.dispensed_quantity, 0),
                                     [BatchView(b.id, b.batch_no, b.expiry_date, b.quantity)
                                      for b in batches.get(item.medicine_id, [])],
                                     await substitutes.equivalents(session, medicines[item.medicine_id], today,
                                                                   catalog)))
    return result


@dataclass
class DispenseLine:
    prescription_item_id: int
    quantity: int  # in the prescribed medicine's unit (what the line still owes)
    medicine_id: int | None = None  # another, equivalent medicine than prescribed: a substitution
    substitution_note: str = ''


async def _take(session: AsyncSession, medicine: Medicine, quantity: int,
                batches: list[StockBatch]) -> list[tuple[StockBatch, int]]:
    """Take ``quantity`` from ``batches`` (usable, first expiry first). Raises Conflict if there is not enough."""
    available = sum(b.quantity for b in batches)
    if available == 0:
        raise Conflict(_('{medicine} is out of stock (no batch in date). Nothing was dispensed: leave this line '
                         'at 0 to hand out the others, or substitute.').format(medicine=medicine.name))
    if available < quantity:
        raise Conflict(_('Only {count} {unit} of {medicine} can be dispensed (batches in date). '
                         'Please dispense {count} now and the rest later, or substitute.').format(
            count=available, unit=medicine.unit, medicine=medicine.name))
    taken = []
    for batch in batches:
        if quantity == 0:
            break
        amount = min(batch.quantity, quantity)
        if amount <= 0:
            continue
        result = await session.exec(sa.update(StockBatch)
                                    .where(StockBatch.id == batch.id, StockBatch.quantity >= amount)
                                    .values(quantity=StockBatch.quantity - amount))
        if result.rowcount != 1:  # another dispense took it meanwhile
            raise Conflict(_('The stock of {medicine} changed meanwhile. Nothing was dispensed: please look '
                             'at the stock and try again.').format(medicine=medicine.name))
        quantity -= amount
        taken.append((batch, amount))
    return taken


def _acknowledge(session: AsyncSession, actor: Actor, items: list[PrescriptionItem], medicines: dict[int, Medicine],
                 acknowledged_item_ids: list[int], now: datetime) -> None:
    """Lines prescribed despite an allergy are handed out only once the pharmacist has acknowledged the doctor's
    reason; the acknowledgement is kept on the line (who, when) and audited."""
    for item in items:
        if not item.allergy_override_reason or item.allergy_acknowledged_at is not None:
            continue
        name = medicines[item.medicine_id].name
        if item.id not in acknowledged_item_ids:
            raise ValidationError(_('{medicine} was prescribed despite an allergy (the doctor\'s reason: '
                                    '"{reason}"). Please check it with the patient or the doctor and tick the box '
                                    'before dispensing. Nothing was dispensed.').format(
                medicine=name, reason=item.allergy_override_reason), 'acknowledged')
        item.allergy_acknowledged_by_id, item.allergy_acknowledged_at = actor.user_id, now
        session.add(item)
        audit.record(session, actor, 'allergy_override_acknowledged', entity='prescription',
                     entity_id=item.prescription_id, detail=f'{name}; doctor\'s reason: {item.allergy_override_reason}')


@action
async def dispense(session: AsyncSession, actor: Actor, prescription_id: int, lines: list[DispenseLine], *,
                   notes: str = '', today: date, now: datetime, acknowledged_item_ids: list[int] | None = None
                   ) -> Dispense:
    """Dispense the given quantities (all or nothing). Returns the dispense (for labels). A line prescribed despite
    an allergy needs its id in ``acknowledged_item_ids`` (the pharmacist has checked it) the first time."""
    require(actor, Role.PHARMACIST)
    notes = (notes or '').strip()
    if len(notes) > 1000:
        raise ValidationError(_('The note can have at most 1000 characters.'), 'notes')
    lines = [line for line in lines if line.quantity]
    if not lines:
        raise ValidationError(_('Please give the quantity to hand out for at least one medicine.'), 'quantity')
    if any(line.quantity < 0 for line in lines):
        raise ValidationError(_('Quantities cannot be negative.'), 'quantity')
    await serialize(session, f'prescription:{prescription_id}')
    prescription = await session.get(Prescription, prescription_id)
    if prescription is None:
        raise NotFound(_('This prescription does not exist.'))
    await session.refresh(prescription)
    if prescription.status not in OUTSTANDING:
        raise Conflict(_('This prescription is {status}: there is nothing to dispense. The list has been '
                         'updated.').format(status=status_text(prescription.status)))
    items = {i.id: i for i in (await session.exec(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
        .execution_options(populate_existing=True))).all()}
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        item = items.get(line.prescription_item_id)
        if item is None:
            raise NotFound(_('A line of this prescription no longer exists. Please reopen it.'))
        wanted[item.id] += line.quantity
        remaining = item.quantity - item.dispensed_quantity
        if wanted[item.id] > remaining:
            raise ValidationError(_('Line {line}: only {remaining} still to dispense (prescribed {prescribed}, '
                                    'given {given}).').format(line=list(items).index(item.id) + 1,
                                                              remaining=remaining, prescribed=item.quantity,
                                                              given=item.dispensed_quantity), 'quantity')
        line.medicine_id = line.medicine_id or item.medicine_id
        line.substitution_note = (line.substitution_note or '').strip()
        if line.medicine_id != item.medicine_id and len(line.substitution_note) < 3:
            raise ValidationError(_('A substitution needs a note saying why (e.g. "out of stock, same active '
                                    'ingredient").'), 'substitution_note')
        if len(line.substitution_note) > 300:
            raise ValidationError(_('The substitution note can have at most 300 characters.'),
                                  'substitution_note')
    medicine_ids = sorted({line.medicine_id for line in lines} | {items[line.prescription_item_id].medicine_id
                                                                  for line in lines})
    medicines = {m.id: m for m in (await session.exec(select(Medicine).where(Medicine.id.in_(medicine_ids)))).all()}
    for line in lines:
        medicine, prescribed = medicines.get(line.medicine_id), medicines[items[line.prescription_item_id].medicine_id]
        if medicine is None or not medicine.is_active:
            raise NotFound(_('The substitute medicine is not available.'))
        reason = substitutes.refusal(prescribed, medicine) if medicine.id != prescribed.id else ''
        if reason:
            raise ValidationError(reason + ' ' + _('Nothing was dispensed.'), 'medicine')
    _acknowledge(session, actor, [items[i] for i in dict.fromkeys(line.prescription_item_id for line in lines)],
                 medicines, acknowledged_item_ids or [], now)
    for medicine_id in medicine_ids:  # always in id order: two pharmacists never wait on each other in a circle
        await serialize(session, f'stock:{medicine_id}')
    batches = await usable_batches(session, medicine_ids, today, lock=True)

    visit = await session.get(Visit, prescription.visit_id)
    record = Dispense(prescription_id=prescription.id, visit_id=prescription.visit_id, pharmacist_id=actor.user_id,
                      notes=notes, at=now)
    session.add(record)
    await session.flush()
    for line in lines:
        medicine, prescribed = medicines[line.medicine_id], medicines[items[line.prescription_item_id].medicine_id]
        given = substitutes.sold_quantity(line.quantity, prescribed, medicine) if medicine.id != prescribed.id \
            else line.quantity  # a substitute in its own unit, rounded up to whole units sold
        for batch, amount in await _take(session, medicine, given, batches.get(medicine.id, [])):
            session.add(DispenseItem(dispense_id=record.id, prescription_item_id=line.prescription_item_id,
                                     medicine_id=medicine.id, batch_id=batch.id, quantity=amount,
                                     unit_price=medicine.price, substitution_note=line.substitution_note))
            session.add(StockMovement(batch_id=batch.id, medicine_id=medicine.id, kind=MovementKind.DISPENSE,
                                      quantity=-amount, reason=f'Prescription RX-{prescription.id:06d}',
                                      dispense_id=record.id, user_id=actor.user_id, at=now))
        item = items[line.prescription_item_id]
        item.dispensed_quantity += line.quantity
        session.add(item)
    done = all(i.dispensed_quantity >= i.quantity for i in items.values())
    prescription.status = PrescriptionStatus.DISPENSED if done else PrescriptionStatus.PARTIALLY_DISPENSED
    session.add(prescription)
    await visit_path.advance(session, actor, visit, now=now)  # on to the cashier: the patient pays what was handed out
    substituted = [medicines[line.medicine_id].name for line in lines
                   if line.medicine_id != items[line.prescription_item_id].medicine_id]
    audit.record(session, actor, 'dispensed', entity='prescription', entity_id=prescription.id,
                 detail=f'dispense {record.id}; {"complete" if done else "partial"}'
                        + (f'; substituted: {", ".join(substituted)}' if substituted else ''))
    publish(session, PrescriptionChanged(prescription_id=prescription.id, visit_id=visit.id))
    publish(session, StockChanged(medicine_ids=tuple(medicine_ids)))
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    publish(session, BillingChanged(visit_id=visit.id))
    return record


# --------------------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    patient_name: str
    medicine_name: str
    quantity: int
    unit: str
    dosage: str
    instructions: str
    batch_no: str
    expiry_date: date
    dispensed_at: datetime
    substitution_note: str


@query
async def labels(session: AsyncSession, actor: Actor, dispense_id: int) -> list[Label]:
    """One usage-instruction label per medicine handed out in the dispense."""
    require(actor, Role.PHARMACIST)
    dispense_row = await session.get(Dispense, dispense_id)
    if dispense_row is None:
        raise NotFound(_('This dispense does not exist.'))
    visit = await session.get(Visit, dispense_row.visit_id)
    patient = await session.get(Patient, visit.patient_id)
    rows = (await session.exec(select(DispenseItem, Medicine, PrescriptionItem, StockBatch)
                               .join(Medicine, Medicine.id == DispenseItem.medicine_id)
                               .join(StockBatch, StockBatch.id == DispenseItem.batch_id)
                               .outerjoin(PrescriptionItem, PrescriptionItem.id == DispenseItem.prescription_item_id)
                               .where(DispenseItem.dispense_id == dispense_id).order_by(DispenseItem.id))).all()
    grouped: dict[tuple[int, int | None], list] = {}
    for item, medicine, prescribed, batch in rows:
        grouped.setdefault((medicine.id, item.prescription_item_id), []).append((item, medicine, prescribed, batch))
    result = []
    for parts in grouped.values():
        item, medicine, prescribed, batch = parts[0]
        dosage = ''
        if prescribed is not None:
            dosage = ', '.join(p for p in (prescribed.dose,
                                           ngettext('{count} time a day', '{count} times a day',
                                                    prescribed.times_per_day) if prescribed.times_per_day else '',
                                           ngettext('for {count} day', 'for {count} days',
                                                    prescribed.duration_days) if prescribed.duration_days
                                           else '') if p)
        result.append(Label(patient.full_name, medicine.name, sum(p[0].quantity for p in parts), medicine.unit,
                            dosage, prescribed.instructions if prescribed else '',
                            ', '.join(dict.fromkeys(p[3].batch_no for p in parts)),
                            min(p[3].expiry_date for p in parts), dispense_row.at, item.substitution_note))
    return result

