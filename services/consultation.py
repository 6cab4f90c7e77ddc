"""The consultation: the patient's chart (history at a glance), the record of this visit, signing and amending.

* Opening a chart is written to the audit log (``chart_viewed``), in the same transaction that reads it.
* The record is a draft while the doctor types (``save_draft``, called by the page a moment after each change);
  ``sign`` checks it is complete and freezes it; after that it changes only through ``amend``, which keeps a
  trail (field, old value, new value, reason, who, when) in ``record_amendments``.
* Vitals are checked against plausible ranges with a message that names the field, its unit and the range
  (the database has the same ranges as CHECK constraints: nothing implausible is ever stored).
* ``finish`` ends the consultation: the record is signed, a drafted prescription is issued, and the visit moves on
  (``visit_path``) to ``in_services`` (orders still to do), ``awaiting_pharmacy`` (a prescription to dispense) or
  ``awaiting_payment``. With orders still open it is refused (``ResultsPending``) unless the doctor chooses: wait
  for the results (the patient goes to the lab and comes back to the doctor's queue when they are in; the record
  stays a draft) or finish now without waiting (the results go to the chart).
* The chart of a patient with 200 past visits is built from six queries, whatever the number of visits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Appointment,
    BookingSource,
    Doctor,
    Invoice,
    InvoiceStatus,
    MedicalRecord,
    Medicine,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionStatus,
    Queue,
    QueueKind,
    QueueTicket,
    RecordAmendment,
    RecordStatus,
    Role,
    Service,
    ServiceOrder,
    TicketStatus,
    User,
    Visit,
    VisitStatus,
)

from . import audit, booking, icd10, orders, prescriptions, queue, visit_path
from .access import Actor, doctor_id_of, require
from .allergies import Allergies, allergies_of
from .core import i18n
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, PermissionDenied, ResultsPending, ValidationError
from .core.events import PrescriptionChanged, VisitChanged, publish
from .core.i18n import N_, _, ngettext
from .core.settings import Settings

# Visits whose record, orders and prescription the doctor may still change (afterwards: amendments only).
EDITABLE = (VisitStatus.WAITING, VisitStatus.IN_CONSULTATION, VisitStatus.IN_SERVICES)
FINISHABLE = EDITABLE

TEXT_FIELDS = {  # field -> (label, max length)
    'reason': (N_('Reason for visit'), 1000),
    'symptoms': (N_('Symptoms'), 2000),
    'preliminary_diagnosis': (N_('Preliminary diagnosis'), 1000),
    'diagnosis': (N_('Final diagnosis'), 1000),
    'advice': (N_('Advice'), 2000),
    'notes': (N_('Notes'), 4000),
}


@dataclass(frozen=True)
class Vital:
    label: str  # marked with N_(): show it as _(vital.label)
    unit: str   # marked with N_(): show it as _(vital.unit)
    low: Decimal
    high: Decimal
    decimals: int  # 0: whole numbers
    low_inclusive: bool = True


VITALS = {  # the same ranges as the CHECK constraints of medical_records
    'temperature_c': Vital(N_('Temperature'), N_('°C'), Decimal(30), Decimal(45), 1),
    'pulse_bpm': Vital(N_('Pulse'), N_('beats/min'), Decimal(20), Decimal(250), 0),
    'bp_systolic': Vital(N_('Blood pressure (systolic)'), N_('mmHg'), Decimal(50), Decimal(260), 0),
    'bp_diastolic': Vital(N_('Blood pressure (diastolic)'), N_('mmHg'), Decimal(30), Decimal(160), 0),
    'spo2': Vital(N_('SpO2'), N_('%'), Decimal(50), Decimal(100), 0),
    'weight_kg': Vital(N_('Weight'), N_('kg'), Decimal(0), Decimal(400), 1, low_inclusive=False),
    'height_cm': Vital(N_('Height'), N_('cm'), Decimal(20), Decimal(260), 1),
}
# marked with N_(): show a label as _(FIELD_LABELS[name])
FIELD_LABELS = {**{name: label for name, (label, __) in TEXT_FIELDS.items()},
                **{name: vital.label for name, vital in VITALS.items()}, 'diagnosis_code': N_('ICD-10 code')}


@dataclass
class RecordInput:
    """The record form as typed: every value a string (empty: not given)."""
    reason: str = ''
    symptoms: str = ''
    temperature_c: str = ''
    pulse_bpm: str = ''
    bp_systolic: str = ''
    bp_diastolic: str = ''
    spo2: str = ''
    weight_kg: str = ''
    height_cm: str = ''
    preliminary_diagnosis: str = ''
    diagnosis_code: str = ''
    diagnosis: str = ''
    advice: str = ''
    notes: str = ''

    @classmethod
    def of(cls, record: MedicalRecord | None) -> RecordInput:
        if record is None:
            return cls()
        return cls(**{f.name: value_text(getattr(record, f.name)) for f in fields(cls)})


def value_text(value) -> str:
    if value is None:
        return ''
    if isinstance(value, Decimal):
        return format(value.normalize(), 'f') if value == value.to_integral() else str(value)
    return str(value)


_NUMBER = re.compile(r'^-?\d+([.,]\d+)?$')


def parse_vital(name: str, text: str) -> int | Decimal | None:
    """``'37,8'`` -> ``Decimal('37.8')``; empty -> None; implausible or not a number -> ValidationError."""
    vital = VITALS[name]
    text = (text or '').strip()
    if not text:
        return None
    values = dict(label=_(vital.label), unit=_(vital.unit), low=vital.low, high=vital.high, text=text)
    if not _NUMBER.match(text):
        message = _('{label}: please write a number between {low} and {high} {unit} (you wrote "{text}").') \
            if vital.low_inclusive else \
            _('{label}: please write a number above {low} and at most {high} {unit} (you wrote "{text}").')
        raise ValidationError(message.format(**values), name)
    number = Decimal(text.replace(',', '.'))
    too_low = number < vital.low or (number == vital.low and not vital.low_inclusive)
    if too_low or number > vital.high:
        message = _('{label} {text} {unit} is not plausible: it must be between {low} and {high} {unit}. '
                    'Please check the measurement.') if vital.low_inclusive else \
            _('{label} {text} {unit} is not plausible: it must be above {low} and at most {high} {unit}. '
              'Please check the measurement.')
        raise ValidationError(message.format(**values), name)
    if vital.decimals == 0:
        if number != number.to_integral():
            raise ValidationError(_('{label}: please write a whole number of {unit}.').format(**values), name)
        return int(number)
    try:
        return number.quantize(Decimal(1).scaleb(-vital.decimals))
    except InvalidOperation as e:  # pragma: no cover - ranges above keep this from happening
        raise ValidationError(_('{label}: please write a number.').format(**values), name) from e


def parse_record(data: RecordInput) -> dict:
    """Check the form and return the column values. Raises ValidationError naming the first wrong field."""
    values: dict = {}
    for name, (label, limit) in TEXT_FIELDS.items():
        text = (getattr(data, name) or '').strip()
        if len(text) > limit:
            raise ValidationError(_('{label} can have at most {limit} characters (now {count}).').format(
                label=_(label), limit=limit, count=len(text)), name)
        values[name] = text
    for name in VITALS:
        values[name] = parse_vital(name, getattr(data, name))
    systolic, diastolic = values['bp_systolic'], values['bp_diastolic']
    if (systolic is None) != (diastolic is None):
        raise ValidationError(_('Blood pressure: please write both numbers (e.g. 120 and 80), or neither.'),
                              'bp_diastolic' if diastolic is None else 'bp_systolic')
    if systolic is not None and systolic <= diastolic:
        raise ValidationError(_('Blood pressure {systolic}/{diastolic}: the systolic (upper) value must be higher '
                                'than the diastolic (lower) one.').format(systolic=systolic, diastolic=diastolic),
                              'bp_systolic')
    code_text = (data.diagnosis_code or '').strip()
    if code_text:
        code = icd10.lookup(code_text)
        if code is None:
            raise ValidationError(_('"{code}" is not an ICD-10 code. Search by code or by words and pick one '
                                    'from the list.').format(code=code_text), 'diagnosis_code')
        values['diagnosis_code'] = code.code
        if not values['diagnosis']:
            values['diagnosis'] = code.description
    else:
        values['diagnosis_code'] = ''
    return values


# --------------------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------------------

async def _visit(session: AsyncSession, visit_id: int) -> Visit:
    visit = await session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(_('This visit does not exist.'))
    return visit


@query
async def may_edit(session: AsyncSession, actor: Actor, visit: Visit) -> bool:
    """The visit's own doctor (or an administrator) changes its record, orders and prescription."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.DOCTOR and visit.doctor_id is not None \
        and visit.doctor_id == await doctor_id_of(session, actor)


@query
async def editable_visit(session: AsyncSession, actor: Actor, visit_id: int, *,
                         statuses: tuple[VisitStatus, ...] = EDITABLE) -> Visit:
    """The visit, locked for this change, after checking who may change it and that it is still open."""
    require(actor, Role.DOCTOR)
    await serialize(session, f'visit:{visit_id}')
    visit = await _visit(session, visit_id)
    await session.refresh(visit)
    if not await may_edit(session, actor, visit):
        raise PermissionDenied(_("This is another doctor's patient: only the treating doctor can change this visit."))
    if visit.status not in statuses:
        raise Conflict(_('This visit is {status}: the consultation is over. Signed records can '
                         'still be amended.').format(status=status_text(visit.status)))
    return visit


_VISIT_STATUS_TEXTS = {
    VisitStatus.WAITING: N_('waiting'), VisitStatus.IN_CONSULTATION: N_('in consultation'),
    VisitStatus.IN_SERVICES: N_('at lab / imaging'), VisitStatus.AWAITING_PHARMACY: N_('waiting for the pharmacy'),
    VisitStatus.AWAITING_PAYMENT: N_('waiting for payment'), VisitStatus.PAID: N_('paid'),
    VisitStatus.CLOSED: N_('closed'), VisitStatus.CANCELLED: N_('cancelled')}


def status_text(status: VisitStatus) -> str:
    """The visit's status in words, in the reader's language."""
    text = _VISIT_STATUS_TEXTS.get(status)
    return _(text) if text else status.value.replace('_', ' ')



async def record_of(session: AsyncSession, visit_id: int) -> MedicalRecord | None:
    return (await session.exec(select(MedicalRecord).where(MedicalRecord.visit_id == visit_id))).first()


async def ensure_record(session: AsyncSession, visit: Visit) -> MedicalRecord:
    """The visit's record, created as an empty draft the first time (the caller commits)."""
    record = await record_of(session, visit.id)
    if record is None:
        if visit.doctor_id is None:
            raise ValidationError(_('This visit has no doctor: please assign one at reception first.'))
        record = MedicalRecord(visit_id=visit.id, patient_id=visit.patient_id, doctor_id=visit.doctor_id)
        session.add(record)
        await session.flush()
    return record


# --------------------------------------------------------------------------------------------------------------
# The record: draft, sign, amend
# --------------------------------------------------------------------------------------------------------------

@action
async def save_draft(session: AsyncSession, actor: Actor, visit_id: int, data: RecordInput, *,
                     now: datetime) -> MedicalRecord:
    """Save the form as the draft (all or nothing: a wrong vital saves nothing and says which)."""
    values = parse_record(data)
    visit = await editable_visit(session, actor, visit_id)
    record = await ensure_record(session, visit)
    if record.status == RecordStatus.SIGNED:
        raise Conflict(_('This record is signed: changes are made as amendments, with a reason.'))
    for name, value in values.items():
        setattr(record, name, value)
    record.updated_at = now
    session.add(record)
    return record


def _check_signable(record: MedicalRecord) -> None:
    if not record.reason.strip():
        raise ValidationError(_('Please write the reason for the visit before signing.'), 'reason')
    if not (record.diagnosis.strip() or record.diagnosis_code):
        raise ValidationError(_('Please give the final diagnosis (an ICD-10 code or words) before signing.'),
                              'diagnosis_code')


def _sign(session: AsyncSession, actor: Actor, record: MedicalRecord, now: datetime) -> None:
    _check_signable(record)
    record.status = RecordStatus.SIGNED
    record.signed_at = now
    record.signed_by_id = actor.user_id
    record.updated_at = now
    session.add(record)
    audit.record(session, actor, 'record_signed', entity='medical_record', entity_id=record.id,
                 detail=f'visit {record.visit_id}')


@action
async def sign(session: AsyncSession, actor: Actor, visit_id: int, data: RecordInput, *,
               now: datetime) -> MedicalRecord:
    """Save the form and sign it: from now on it changes only through amendments."""
    values = parse_record(data)
    visit = await editable_visit(session, actor, visit_id)
    record = await ensure_record(session, visit)
    if record.status == RecordStatus.SIGNED:
        raise Conflict(_('This record is already signed.'))
    for name, value in values.items():
        setattr(record, name, value)
    _sign(session, actor, record, now)
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id))
    return record


@action
async def amend(session: AsyncSession, actor: Actor, visit_id: int, data: RecordInput, reason: str, *,
                now: datetime) -> list[RecordAmendment]:
    """Change a signed record: every changed field is kept with its old value, who, when and why."""
    require(actor, Role.DOCTOR)
    reason = (reason or '').strip()
    if len(reason) < 5:
        raise ValidationError(_('Please say why the signed record is changed (at least a few words).'), 'reason')
    if len(reason) > 500:
        raise ValidationError(_('The reason can have at most 500 characters.'), 'reason')
    values = parse_record(data)
    await serialize(session, f'visit:{visit_id}')
    visit = await _visit(session, visit_id)
    if not await may_edit(session, actor, visit):
        raise PermissionDenied(_('Only the treating doctor can amend this record.'))
    record = await record_of(session, visit_id)
    if record is None or record.status != RecordStatus.SIGNED:
        raise Conflict(_('Only a signed record is amended; a draft is simply edited.'))
    await session.refresh(record)
    changes = []
    for name, value in values.items():
        old = getattr(record, name)
        if value_text(old) != value_text(value):
            changes.append(RecordAmendment(record_id=record.id, user_id=actor.user_id, field_name=name,
                                           old_value=value_text(old), new_value=value_text(value), reason=reason,
                                           at=now))
            setattr(record, name, value)
    if not changes:
        raise ValidationError(_('Nothing was changed.'))
    _check_signable(record)
    record.updated_at = now
    session.add(record)
    session.add_all(changes)
    audit.record(session, actor, 'record_amended', entity='medical_record', entity_id=record.id,
                 detail=f'{", ".join(c.field_name for c in changes)}: {reason}')
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id))
    return changes


@dataclass(frozen=True)
class Finished:
    status: VisitStatus
    ticket_label: str = ''  # the patient's new ticket, when sent to a station's queue
    awaiting_results: bool = False  # the consultation goes on when the results are in


OpenOrders = Literal['refuse', 'wait', 'finish']


@action
async def finish(session: AsyncSession, actor: Actor, visit_id: int, *, tz: ZoneInfo, now: datetime,
                 open_orders: OpenOrders = 'refuse') -> Finished:
    """End the consultation: sign the record (if still a draft), issue the drafted prescription, move the visit
    on and the patient with it (to the station of an open order, else out of the doctor's queue). One step: if
    any part fails, the record stays a draft and the patient stays where they are.

    Ordered tests without a result: ``open_orders='refuse'`` raises ``ResultsPending``; ``'wait'`` sends the
    patient to the lab and the consultation goes on when the results are in; ``'finish'`` finishes now."""
    visit = await editable_visit(session, actor, visit_id, statuses=FINISHABLE)
    pending = await orders.open_count(session, visit.id)
    if pending and open_orders == 'refuse':
        raise ResultsPending(ngettext(
            'One ordered test has no result yet. Send the patient to the lab and finish when the results are in, '
            'or finish now without waiting (the results go to the chart).',
            '{count} ordered tests have no result yet. Send the patient to the lab and finish when the results are '
            'in, or finish now without waiting (the results go to the chart).', pending))
    if pending and open_orders == 'wait':
        label = await _send_for_results(session, actor, visit, now=now)
        return Finished(visit.status, label, awaiting_results=True)
    record = await record_of(session, visit.id)
    if record is None:
        raise ValidationError(_('Please write the consultation record first (at least the reason and the '
                                'diagnosis).'),
                              'reason')
    if record.status == RecordStatus.DRAFT:
        _sign(session, actor, record, now)
    issued = await prescriptions.issue_draft(session, actor, visit.id, now=now)
    await visit_path.consultation_over(session, actor, visit, now=now)
    audit.record(session, actor, 'consultation_finished', entity='visit', entity_id=visit.id,
                 detail=f'status={visit.status.value}' + (f', prescription {issued.id} issued' if issued else ''))
    if issued is not None:
        publish(session, PrescriptionChanged(prescription_id=issued.id, visit_id=visit.id))
    return Finished(visit.status, await _route(session, actor, visit, tz=tz, now=now))


async def _route(session: AsyncSession, actor: Actor, visit: Visit, *, tz: ZoneInfo, now: datetime) -> str:
    """Move the visit's queue ticket along after the consultation; the new ticket's label when there is one."""
    ticket = await current_ticket(session, visit.id)
    if ticket is None:
        return ''
    station = await orders.next_station_queue_id(session, visit.id) \
        if visit.status == VisitStatus.IN_SERVICES else None
    if station is not None:
        return (await queue.transfer(session, actor, ticket.id, station, tz=tz, now=now)).label
    held = await session.get(Queue, ticket.queue_id)
    if held.kind != QueueKind.DOCTOR:  # the visit's path moved the patient on (to the pharmacy or the cashier)
        return queue.ticket_label(held.prefix, ticket.number)
    if ticket.status == TicketStatus.IN_SERVICE:
        await queue.finish(session, actor, ticket.id, now=now)
    return ''


@action
async def send_to_services(session: AsyncSession, actor: Actor, visit_id: int, *, tz: ZoneInfo,
                           now: datetime) -> str:
    """Send the patient to the station of their oldest open order before the consultation is finished (the
    record stays a draft until they come back). Returns their new ticket's label."""
    visit = await editable_visit(session, actor, visit_id, statuses=FINISHABLE)
    ticket = await current_ticket(session, visit.id)
    station = await orders.next_station_queue_id(session, visit.id)
    if ticket is None or station is None:
        raise ValidationError(_('The orders are in the worklist; there is no station queue to send the patient '
                                'to.'))
    return await _send_for_results(session, actor, visit, now=now)


async def _send_for_results(session: AsyncSession, actor: Actor, visit: Visit, *, now: datetime) -> str:
    """The doctor waits for the results: the patient goes to the station of the oldest open order (the label of the
    ticket issued there; '' without a station queue: they go in person) and comes back when the results are in."""
    visit.awaiting_results = True
    station = await orders.next_station_queue_id(session, visit.id)
    label = ''
    if station is not None:
        ticket = await queue.move_patient(session, actor, visit.id, station, now=now)
        label = queue.ticket_label((await session.get(Queue, station)).prefix, ticket.number)
    visit.status = VisitStatus.IN_SERVICES
    session.add(visit)
    audit.record(session, actor, 'sent_for_results', entity='visit', entity_id=visit.id,
                 detail=f'ticket {label}' if label else 'no station queue')
    publish(session, VisitChanged(visit_id=visit.id, patient_id=visit.patient_id, status=visit.status.value))
    return label


# --------------------------------------------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PatientSummary:
    id: int
    code: str
    full_name: str
    date_of_birth: date | None
    sex: str
    phone: str
    allergies: str
    notes: str
    allergy: Allergies | None = None  # the structured allergies, their status and summary line

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class HistoryEntry:
    visit_id: int
    visit_date: date
    doctor_name: str
    status: VisitStatus
    reason: str
    diagnosis_code: str
    diagnosis: str
    advice: str
    vitals: str
    services: list[str]     # "Chest X-ray: No abnormality detected."
    medicines: list[str]    # "Paracetamol 500 mg tablet × 15 (1 tablet 3×/day, 5 days)"
    payment: str            # "450,000 paid" / "unpaid" / ""
    search_text: str        # lower case, no accents: for the chart's search box
    results: list[tuple[str, list[orders.ResultValue]]] = field(default_factory=list)  # values out of range


@dataclass(frozen=True)
class AmendmentView:
    field: str
    old_value: str
    new_value: str
    reason: str
    at: datetime
    by: str


@dataclass
class Chart:
    patient: PatientSummary
    visit: Visit
    doctor_name: str
    record: MedicalRecord | None
    amendments: list[AmendmentView]
    orders: list[orders.OrderView]
    prescription: prescriptions.PrescriptionView | None
    history: list[HistoryEntry] = field(default_factory=list)
    can_edit: bool = False  # this person may change the visit
    editable: bool = False  # ... and it is still open


def vitals_text(record) -> str:
    parts = []
    if record.temperature_c is not None:
        parts.append(_('T {value} °C').format(value=value_text(record.temperature_c)))
    if record.pulse_bpm is not None:
        parts.append(_('P {value}').format(value=record.pulse_bpm))
    if record.bp_systolic is not None:
        parts.append(_('BP {systolic}/{diastolic}').format(systolic=record.bp_systolic,
                                                            diastolic=record.bp_diastolic))
    if record.spo2 is not None:
        parts.append(f'SpO2 {record.spo2}%')
    if record.weight_kg is not None:
        parts.append(f'{value_text(record.weight_kg)} kg')
    if record.height_cm is not None:
        parts.append(f'{value_text(record.height_cm)} cm')
    return ' · '.join(parts)


def dosage_text(dose: str, times: int | None, days: int | None) -> str:
    parts = [dose]
    if times:
        parts.append(_('{times}×/day').format(times=times))
    if days:
        parts.append(ngettext('{count} day', '{count} days', days))
    return ', '.join(p for p in parts if p)


async def history(session: AsyncSession, patient_id: int, *, exclude_visit_id: int | None = None,
                  currency_format=None) -> list[HistoryEntry]:
    """Every visit of the patient, newest first, with record, services, medicines and payment (six queries)."""
    from .text import search_key
    fmt = currency_format or i18n.number
    visit_rows = (await session.exec(
        select(Visit.id, Visit.visit_date, Visit.status, Doctor.full_name, MedicalRecord)
        .outerjoin(Doctor, Doctor.id == Visit.doctor_id)
        .outerjoin(MedicalRecord, MedicalRecord.visit_id == Visit.id)
        .where(Visit.patient_id == patient_id, Visit.id != (exclude_visit_id or -1))
        .order_by(Visit.visit_date.desc(), Visit.id.desc()))).all()
    visit_ids = [row[0] for row in visit_rows]
    services: dict[int, list[str]] = {}
    medicines: dict[int, list[str]] = {}
    payments: dict[int, str] = {}
    if visit_ids:
        for chunk in _chunks(visit_ids):
            for visit_id, name, status, result in (await session.exec(
                    select(ServiceOrder.visit_id, Service.name, ServiceOrder.status, ServiceOrder.result_text)
                    .join(Service, Service.id == ServiceOrder.service_id)
                    .where(ServiceOrder.visit_id.in_(chunk)).order_by(ServiceOrder.id))).all():
                text = f'{name}: {result}' if result else f'{name} ({orders.status_text(status)})'
                services.setdefault(visit_id, []).append(text)
            for visit_id, name, item in (await session.exec(
                    select(Prescription.visit_id, Medicine.name, PrescriptionItem)
                    .join(PrescriptionItem, PrescriptionItem.prescription_id == Prescription.id)
                    .join(Medicine, Medicine.id == PrescriptionItem.medicine_id)
                    .where(Prescription.visit_id.in_(chunk), Prescription.status != PrescriptionStatus.CANCELLED)
                    .order_by(PrescriptionItem.id))).all():
                medicines.setdefault(visit_id, []).append(
                    f'{name} × {item.quantity} ({dosage_text(item.dose, item.times_per_day, item.duration_days)})')
            for visit_id, total, paid, status in (await session.exec(
                    select(Invoice.visit_id, Invoice.total, Invoice.amount_paid, Invoice.status)
                    .where(Invoice.visit_id.in_(chunk), Invoice.status != InvoiceStatus.VOID))).all():
                if status == InvoiceStatus.PAID:
                    payments[visit_id] = _('{total} paid').format(total=fmt(total))
                elif paid:
                    payments[visit_id] = _('{paid} of {total} paid').format(paid=fmt(paid), total=fmt(total))
                else:
                    payments[visit_id] = _('{total} unpaid').format(total=fmt(total))
    flagged = {}
    for chunk in _chunks(visit_ids):
        flagged.update(await orders.flagged_results(session, chunk))
    entries = []
    for visit_id, visit_date, status, doctor, record in visit_rows:
        record_values = dict(reason=record.reason, diagnosis_code=record.diagnosis_code, diagnosis=record.diagnosis,
                             advice=record.advice, vitals=vitals_text(record)) if record else \
            dict(reason='', diagnosis_code='', diagnosis='', advice='', vitals='')
        entry_services, entry_medicines = services.get(visit_id, []), medicines.get(visit_id, [])
        text = ' '.join([visit_date.strftime('%d/%m/%Y'), doctor or '', record_values['reason'],
                         record_values['diagnosis_code'], record_values['diagnosis'], record_values['advice'],
                         *entry_services, *entry_medicines])
        entries.append(HistoryEntry(visit_id, visit_date, doctor or '', status, services=entry_services,
                                    medicines=entry_medicines, payment=payments.get(visit_id, ''),
                                    search_text=search_key(text), results=flagged.get(visit_id, []),
                                    **record_values))
    return entries


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


async def amendments_of(session: AsyncSession, record_id: int) -> list[AmendmentView]:
    rows = (await session.exec(select(RecordAmendment, User.full_name)
                               .join(User, User.id == RecordAmendment.user_id)
                               .where(RecordAmendment.record_id == record_id)
                               .order_by(RecordAmendment.at.desc(), RecordAmendment.id.desc()))).all()
    return [AmendmentView(_(FIELD_LABELS[a.field_name]) if a.field_name in FIELD_LABELS else a.field_name,
                          a.old_value, a.new_value, a.reason, a.at, name) for a, name in rows]


@action
async def chart(session: AsyncSession, actor: Actor, visit_id: int, *, today: date, record_view: bool = True,
                currency_format=None) -> Chart:
    """Everything the doctor sees for this visit. With ``record_view`` the opening is audited and committed (use a
    write session); refreshes of an open chart pass False."""
    require(actor, Role.DOCTOR)
    visit = await _visit(session, visit_id)
    patient = await session.get(Patient, visit.patient_id)
    doctor = await session.get(Doctor, visit.doctor_id) if visit.doctor_id else None
    record = await record_of(session, visit.id)
    summary = PatientSummary(patient.id, patient.code, patient.full_name, patient.date_of_birth, patient.sex.value,
                             patient.phone or '', patient.allergies, patient.notes,
                             allergy=await allergies_of(session, patient))
    result = Chart(
        patient=summary, visit=visit, doctor_name=f'{doctor.title} {doctor.full_name}' if doctor else '',
        record=record, amendments=await amendments_of(session, record.id) if record else [],
        orders=await orders.visit_orders(session, visit.id),
        prescription=await prescriptions.visit_prescription(session, visit.id, patient=patient, today=today),
        history=await history(session, patient.id, exclude_visit_id=visit.id, currency_format=currency_format),
        can_edit=await may_edit(session, actor, visit))
    result.editable = result.can_edit and visit.status in EDITABLE
    if record_view:
        audit.record(session, actor, 'chart_viewed', entity='patient', entity_id=patient.id,
                     detail=f'visit {visit.id}')
    return result


async def current_ticket(session: AsyncSession, visit_id: int):
    """The visit's latest queue ticket that is still active (waiting, called or in service), or None."""
    return (await session.exec(select(QueueTicket).where(
        QueueTicket.visit_id == visit_id,
        QueueTicket.status.in_([TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE]))
        .order_by(QueueTicket.id.desc()))).first()



@action
async def schedule_follow_up_reminder(session: AsyncSession, actor: Actor, appointment_id: int, *, settings: Settings,
                                      now: datetime):
    """After booking the follow-up (``booking.book``): its reminder (by the patient's channel), sent the day before
    via the outbox."""
    from . import notifications
    require(actor, Role.DOCTOR, Role.RECEPTIONIST)
    row = await notifications.schedule_appointment_reminder(session, appointment_id, settings=settings, now=now)
    audit.record(session, actor, 'follow_up_reminder', entity='appointment', entity_id=appointment_id,
                 detail=f'queued ({row.channel.value})' if row is not None else 'no email address nor valid phone')
    return row


@dataclass(frozen=True)
class FollowUpTimes:
    service_id: int | None  # the doctor's consultation, which the follow-up books (None: no doctor, or none offered)
    slots: dict[date, list[booking.Slot]] = field(default_factory=dict)


@query
async def follow_up_times(session: AsyncSession, actor: Actor, visit_id: int, *, start_day: date, days: int,
                          tz: ZoneInfo, now: datetime) -> FollowUpTimes:
    """The free times of the visit's doctor for a follow-up (their consultation), ``days`` days from
    ``start_day``. No service and no times when the visit has no doctor or the doctor has no consultation on the
    price list."""
    require(actor, Role.DOCTOR)
    visit = await _visit(session, visit_id)
    if visit.doctor_id is None:
        return FollowUpTimes(None)
    service = await booking.consultation_service_for(session, visit.doctor_id)
    if service is None:
        return FollowUpTimes(None)
    slots = await booking.free_slots(session, service_id=service.id, doctor_ids=[visit.doctor_id],
                                     start_day=start_day, days=days, tz=tz, now=now)
    return FollowUpTimes(service.id, slots)


@dataclass(frozen=True)
class FollowUp:
    appointment: Appointment
    reminded: bool  # its reminder goes out the day before (False: the patient has no email address nor valid phone)
    channel: str = ''  # how: 'email', 'sms' or 'zalo' (the patient's channel, see notifications.choose_channel)


@action
async def book_follow_up(session: AsyncSession, actor: Actor, visit_id: int, *, service_id: int, start_at: datetime,
                         settings: Settings, now: datetime) -> FollowUp:
    """Book the patient's follow-up with the visit's doctor and queue its reminder, in one step: a booking
    whose reminder could not be queued does not stay."""
    require(actor, Role.DOCTOR)
    visit = await _visit(session, visit_id)
    if visit.doctor_id is None:
        raise ValidationError(_('This visit has no doctor: please assign one at reception first.'))
    reason = f'Follow-up of {visit.visit_date:%d/%m/%Y}'  # stored with the appointment: not translated
    appointment = await booking.book(session, actor, patient_id=visit.patient_id, service_id=service_id,
                                     doctor_id=visit.doctor_id, start_at=start_at, source=BookingSource.IN_PERSON,
                                     tz=settings.tz, now=now, reason=reason, settings=settings)
    reminder = await schedule_follow_up_reminder(session, actor, appointment.id, settings=settings, now=now)
    return FollowUp(appointment, reminder is not None, reminder.channel.value if reminder is not None else '')
