"""Ordered services (lab, imaging, procedures): ordering from the price list, and the technicians' worklist.

An order is a task in its station's worklist: pending -> in progress -> completed (or cancelled while pending).
The price is copied from the price list when ordered (later price changes do not alter it). Results are text and
a small table of values (name, value, unit, reference range); files are attached through ``services.files``.
Every change publishes ``OrdersChanged`` with the visit id, so the worklists and the ordering doctor's chart update at
once.

When the last open order of a visit is done the visit moves on by itself (``visit_path``): a doctor who waits for
the results gets the patient back in their queue; a consultation already finished goes on to the pharmacy if a
prescription waits, else to the cashier.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    Doctor,
    OrderStatus,
    Patient,
    QueueKind,
    ResultFile,
    ResultFlag,
    Role,
    Service,
    ServiceKind,
    ServiceOrder,
    User,
    Visit,
)
from models import (
    ResultValue as ResultValueRow,
)

from . import audit, lab_results, queue, visit_path
from .access import Actor, require
from .core.boundary import action, query
from .core.db import serialize
from .core.errors import Conflict, NotFound, ValidationError
from .core.events import CriticalResult, OrdersChanged, publish
from .core.i18n import N_, _

OPEN = (OrderStatus.PENDING, OrderStatus.IN_PROGRESS)
ORDERABLE_KINDS = (ServiceKind.LAB, ServiceKind.IMAGING, ServiceKind.PROCEDURE)
MAX_VALUES = 40


@dataclass(frozen=True)
class OrderRow:
    id: int
    ordered_at: datetime
    patient_code: str
    patient_name: str
    service_name: str
    kind: ServiceKind
    ordered_by: str
    status: OrderStatus


@query
async def open_orders(session: AsyncSession, actor: Actor, *, limit: int = 200) -> list[OrderRow]:
    """Orders still to do (pending or in progress), oldest first."""
    require(actor, Role.TECHNICIAN, Role.DOCTOR)
    query = (select(ServiceOrder.id, ServiceOrder.ordered_at, Patient.code, Patient.full_name, Service.name,
                    Service.kind, Doctor.full_name, ServiceOrder.status)
             .join(Visit, Visit.id == ServiceOrder.visit_id)
             .join(Patient, Patient.id == Visit.patient_id)
             .join(Service, Service.id == ServiceOrder.service_id)
             .join(Doctor, Doctor.id == ServiceOrder.ordered_by_id)
             .where(ServiceOrder.status.in_([OrderStatus.PENDING, OrderStatus.IN_PROGRESS]))
             .order_by(ServiceOrder.ordered_at).limit(limit))
    return [OrderRow(*row) for row in (await session.exec(query)).all()]


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultValue:
    """One row of a result. From the lab dialog only the name, value (and, for a row that is not on the panel, its
    unit and range) count, and ``flag`` only as the technician's "abnormal" mark on a text value: the panel's unit,
    range and the flag are filled in by ``record_result``. ``analyte_id`` says which panel row it was typed in."""
    name: str
    value: str
    unit: str = ''
    range: str = ''
    flag: ResultFlag = ResultFlag.NONE
    analyte_id: int | None = None

    @property
    def mark(self) -> str:
        """H, L, HH, LL or A beside the value ('' when normal or not judged)."""
        return lab_results.flag_mark(self.flag)


async def _values_of(session: AsyncSession, order_ids: list[int]) -> dict[int, list[ResultValue]]:
    found: dict[int, list[ResultValue]] = {}
    if order_ids:
        rows = (await session.exec(select(ResultValueRow).where(ResultValueRow.order_id.in_(order_ids))
                                   .order_by(ResultValueRow.order_id, ResultValueRow.position))).all()
        for row in rows:
            found.setdefault(row.order_id, []).append(ResultValue(row.name, row.value, row.unit, row.reference,
                                                                  row.flag, row.analyte_id))
    return found


async def _replace_values(session: AsyncSession, order_id: int, values: list[ResultValue]) -> None:
    await session.exec(sa.delete(ResultValueRow).where(ResultValueRow.order_id == order_id))
    for position, value in enumerate(values):
        session.add(ResultValueRow(order_id=order_id, position=position, name=value.name, value=value.value,
                                   unit=value.unit, reference=value.range, flag=value.flag,
                                   analyte_id=value.analyte_id, numeric_value=lab_results.stored_number(value.value)))


CELL_LIMITS = (  # (limit, message when a cell is longer)
    (80, N_('Result row {number}: the name can have at most {limit} characters.')),
    (60, N_('Result row {number}: the value can have at most {limit} characters.')),
    (30, N_('Result row {number}: the unit can have at most {limit} characters.')),
    (60, N_('Result row {number}: the reference range can have at most {limit} characters.')))
_STATUS_TEXTS = {OrderStatus.PENDING: N_('pending'), OrderStatus.IN_PROGRESS: N_('in progress'),
                 OrderStatus.COMPLETED: N_('completed'), OrderStatus.CANCELLED: N_('cancelled')}


def status_text(status: OrderStatus) -> str:
    """The order's status in words, in the reader's language."""
    text = _STATUS_TEXTS.get(status)
    return _(text) if text else status.value.replace('_', ' ')


def check_values(values: list[ResultValue]) -> list[ResultValue]:
    """Drop empty rows (and panel rows left without a value); every other row needs a name and a value."""
    kept = []
    for number, row in enumerate(values, start=1):
        row = ResultValue(*(part.strip() for part in (row.name, row.value, row.unit, row.range)), flag=row.flag,
                          analyte_id=row.analyte_id)
        if not any((row.name, row.value, row.unit, row.range)) or (row.analyte_id is not None and not row.value):
            continue
        if not row.name or not row.value:
            raise ValidationError(_('Result row {number}: please give both the name and the value '
                                    '(or clear the row).').format(number=number), 'values')
        for (limit, message), cell in zip(CELL_LIMITS, (row.name, row.value, row.unit, row.range)):
            if len(cell) > limit:
                raise ValidationError(_(message).format(number=number, limit=limit), 'values')
        kept.append(row)
    if len(kept) > MAX_VALUES:
        raise ValidationError(_('At most {count} result rows.').format(count=MAX_VALUES), 'values')
    return kept


JUDGED_OUT = (ResultFlag.NONE, ResultFlag.NORMAL)


async def flagged_results(session: AsyncSession,
                          visit_ids: list[int]) -> dict[int, list[tuple[str, list[ResultValue]]]]:
    """Per visit, each result with values outside their range (or marked abnormal): the service's name and those
    values, for the patient's history."""
    found: dict[int, dict[int, tuple[str, list[ResultValue]]]] = {}
    if visit_ids:
        rows = (await session.exec(
            select(ServiceOrder.visit_id, ServiceOrder.id, Service.name, ResultValueRow)
            .join(Service, Service.id == ServiceOrder.service_id)
            .join(ResultValueRow, ResultValueRow.order_id == ServiceOrder.id)
            .where(ServiceOrder.visit_id.in_(visit_ids), ServiceOrder.status != OrderStatus.CANCELLED,
                   ResultValueRow.flag.not_in(list(JUDGED_OUT)))
            .order_by(ServiceOrder.id, ResultValueRow.position))).all()
        for visit_id, order_id, name, row in rows:
            entry = found.setdefault(visit_id, {}).setdefault(order_id, (name, []))
            entry[1].append(ResultValue(row.name, row.value, row.unit, row.reference, row.flag, row.analyte_id))
    return {visit_id: list(by_order.values()) for visit_id, by_order in found.items()}


def judged(panel: list[lab_results.PanelRow], values: list[ResultValue]) -> list[ResultValue]:
    """Each value with its unit, printed range and flag worked out here, never taken from the screen: a row typed
    in a panel row (or named like one) gets the analyte's name, unit and the range for this patient; any other row
    keeps what was typed, and is judged against its typed range when that reads "low–high"."""
    by_id = {row.analyte_id: row for row in panel}
    by_name = {row.name.lower(): row for row in panel}
    used: set[int] = set()
    result = []
    for value in values:
        marked = value.flag == ResultFlag.ABNORMAL
        row = by_id.get(value.analyte_id) or by_name.get(value.name.lower())
        if row is not None and row.analyte_id not in used:
            used.add(row.analyte_id)
            result.append(ResultValue(row.name, value.value, row.unit, row.reference,
                                      lab_results.judge(value.value, row.limits, marked_abnormal=marked),
                                      row.analyte_id))
        else:
            flag = lab_results.judge(value.value, lab_results.parse_reference(value.range), marked_abnormal=marked)
            result.append(ResultValue(value.name, value.value, value.unit, value.range, flag))
    return result


@dataclass(frozen=True)
class FileView:
    id: int
    filename: str
    content_type: str
    size_bytes: int


@dataclass
class OrderView:
    id: int
    visit_id: int
    service_name: str
    service_code: str
    kind: ServiceKind
    status: OrderStatus
    price: int
    notes: str
    result_text: str
    values: list[ResultValue]
    ordered_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    ordered_by: str
    performed_by: str
    files: list[FileView] = field(default_factory=list)
    patient_id: int = 0
    patient_code: str = ''
    patient_name: str = ''
    date_of_birth: date | None = None
    panel: list[lab_results.PanelRow] = field(default_factory=list)  # what the lab dialog offers (``order``)


async def _order_views(session: AsyncSession, where, *, order_by=None, limit: int | None = None) -> list[OrderView]:
    performer = aliased(User)
    query = (select(ServiceOrder, Service.name, Service.code, Service.kind, Doctor.full_name, performer.full_name,
                    Patient.id, Patient.code, Patient.full_name, Patient.date_of_birth)
             .join(Service, Service.id == ServiceOrder.service_id)
             .join(Doctor, Doctor.id == ServiceOrder.ordered_by_id)
             .join(Visit, Visit.id == ServiceOrder.visit_id)
             .join(Patient, Patient.id == Visit.patient_id)
             .outerjoin(performer, performer.id == ServiceOrder.performed_by_id)
             .where(*where).order_by(*(order_by or (ServiceOrder.ordered_at, ServiceOrder.id))))
    if limit:
        query = query.limit(limit)
    views = []
    for order, name, code, kind, doctor, performed, patient_id, patient_code, patient_name, born in \
            (await session.exec(query)).all():
        views.append(OrderView(order.id, order.visit_id, name, code, kind, order.status, order.price, order.notes,
                               order.result_text, [], order.ordered_at,
                               order.started_at, order.completed_at, doctor, performed or '', [], patient_id,
                               patient_code, patient_name, born))
    if views:
        by_id = {view.id: view for view in views}
        for order_id, values in (await _values_of(session, list(by_id))).items():
            by_id[order_id].values = values
        for row in (await session.exec(select(ResultFile).where(ResultFile.order_id.in_(list(by_id)))
                                       .order_by(ResultFile.id))).all():
            by_id[row.order_id].files.append(FileView(row.id, row.filename, row.content_type, row.size_bytes))
    return views


async def visit_orders(session: AsyncSession, visit_id: int) -> list[OrderView]:
    """A visit's orders with results and files (for the chart)."""
    return await _order_views(session, [ServiceOrder.visit_id == visit_id])


async def open_count(session: AsyncSession, visit_id: int) -> int:
    return (await session.exec(select(sa.func.count()).select_from(ServiceOrder).where(
        ServiceOrder.visit_id == visit_id, ServiceOrder.status.in_(list(OPEN))))).one()


# --------------------------------------------------------------------------------------------------------------
# Ordering (doctor)
# --------------------------------------------------------------------------------------------------------------

@query
async def orderable_services(session: AsyncSession, actor: Actor) -> list[Service]:
    require(actor, Role.DOCTOR)
    return list((await session.exec(select(Service).where(Service.is_active.is_(True),
                                                           Service.kind.in_(list(ORDERABLE_KINDS)))
                                    .order_by(Service.kind, Service.name))).all())


@action
async def place(session: AsyncSession, actor: Actor, visit_id: int, service_ids: list[int], *, notes: str = '',
                now: datetime) -> list[ServiceOrder]:
    """Order lab tests, imaging or procedures for the visit: each becomes a task in its station's worklist."""
    from .consultation import editable_visit
    notes = (notes or '').strip()
    if not service_ids:
        raise ValidationError(_('Please choose at least one service to order.'), 'services')
    if len(notes) > 1000:
        raise ValidationError(_('The note to the technician can have at most 1000 characters.'), 'notes')
    visit = await editable_visit(session, actor, visit_id)
    services = {s.id: s for s in (await session.exec(select(Service).where(Service.id.in_(service_ids)))).all()}
    already = set((await session.exec(select(ServiceOrder.service_id).where(
        ServiceOrder.visit_id == visit.id, ServiceOrder.status.in_(list(OPEN))))).all())
    created = []
    for service_id in dict.fromkeys(service_ids):
        service = services.get(service_id)
        if service is None or not service.is_active:
            raise NotFound(_('This service is no longer on the price list.'))
        if service.kind not in ORDERABLE_KINDS:
            raise ValidationError(_('{service} is not a lab, imaging or procedure service.').format(
                service=service.name), 'services')
        if service_id in already:
            raise Conflict(_('{service} is already ordered for this visit and not done yet.').format(
                service=service.name))
        order = ServiceOrder(visit_id=visit.id, service_id=service.id, ordered_by_id=visit.doctor_id,
                             price=service.price, notes=notes, ordered_at=now)
        session.add(order)
        created.append(order)
    await session.flush()
    audit.record(session, actor, 'services_ordered', entity='visit', entity_id=visit.id,
                 detail=', '.join(services[s].code for s in dict.fromkeys(service_ids)))
    publish(session, OrdersChanged(visit_id=visit.id, order_ids=tuple([o.id for o in created])))
    return created


async def _locked_order(session: AsyncSession, order_id: int) -> ServiceOrder:
    await serialize(session, f'order:{order_id}')
    order = await session.get(ServiceOrder, order_id)
    if order is None:
        raise NotFound(_('This order does not exist.'))
    await session.refresh(order)
    return order


@action
async def cancel(session: AsyncSession, actor: Actor, order_id: int, *, reason: str, now: datetime) -> ServiceOrder:
    """Cancel an order that has not started (the doctor changed their mind, or the patient declined)."""
    require(actor, Role.DOCTOR, Role.TECHNICIAN)
    reason = (reason or '').strip()
    if len(reason) < 3:
        raise ValidationError(_('Please give a short reason for cancelling.'), 'reason')
    order = await _locked_order(session, order_id)
    if actor.role == Role.DOCTOR:
        from .consultation import editable_visit
        await editable_visit(session, actor, order.visit_id)
    if order.status != OrderStatus.PENDING:
        raise Conflict(_('This order is {status}: only a pending order can be cancelled.').format(
            status=status_text(order.status)))
    order.status = OrderStatus.CANCELLED
    order.notes = (f'{order.notes}\n' if order.notes else '') + f'Cancelled: {reason}'[:300]  # stored: not translated
    order.notes = order.notes[:1000]
    session.add(order)
    audit.record(session, actor, 'order_cancelled', entity='service_order', entity_id=order.id, detail=reason)
    await settle_visit(session, actor, order.visit_id, now=now)
    publish(session, OrdersChanged(visit_id=order.visit_id, order_ids=tuple([order.id])))
    return order


# --------------------------------------------------------------------------------------------------------------
# The worklist (technician)
# --------------------------------------------------------------------------------------------------------------

KIND_OF_QUEUE = {ServiceKind.LAB: QueueKind.LAB, ServiceKind.IMAGING: QueueKind.IMAGING,
                 ServiceKind.PROCEDURE: QueueKind.PROCEDURE}


@query
async def worklist(session: AsyncSession, actor: Actor, kinds: list[ServiceKind], *, since: datetime,
                   limit: int = 300) -> list[OrderView]:
    """Orders of the given kinds: every open one, and those finished or cancelled since ``since``."""
    require(actor, Role.TECHNICIAN, Role.DOCTOR)
    recent = sa.or_(ServiceOrder.status.in_(list(OPEN)), ServiceOrder.completed_at >= since,
                    sa.and_(ServiceOrder.status == OrderStatus.CANCELLED, ServiceOrder.ordered_at >= since))
    return await _order_views(session, [Service.kind.in_(list(kinds)), recent], limit=limit)


@query
async def order(session: AsyncSession, actor: Actor, order_id: int) -> OrderView:
    require(actor, Role.TECHNICIAN, Role.DOCTOR)
    views = await _order_views(session, [ServiceOrder.id == order_id])
    if not views:
        raise NotFound(_('This order does not exist.'))
    views[0].panel = await lab_results.order_panel(session, order_id)
    return views[0]


@action
async def printable_result(session: AsyncSession, actor: Actor, order_id: int) -> OrderView:
    """An order's result to print (values with their ranges and marks); the printing is audited."""
    require(actor, Role.TECHNICIAN, Role.DOCTOR)
    views = await _order_views(session, [ServiceOrder.id == order_id])
    if not views:
        raise NotFound(_('This order does not exist.'))
    if views[0].status == OrderStatus.CANCELLED or not (views[0].values or views[0].result_text):
        raise Conflict(_('This order has no result to print yet.'))
    audit.record(session, actor, 'result_printed', entity='service_order', entity_id=order_id)
    return views[0]


@action
async def start(session: AsyncSession, actor: Actor, order_id: int, *, now: datetime) -> ServiceOrder:
    """The technician takes the order: pending -> in progress (only one technician gets it)."""
    require(actor, Role.TECHNICIAN)
    order = await _locked_order(session, order_id)
    if order.status != OrderStatus.PENDING:
        raise Conflict(_('This order is already {status}. The list has been updated.').format(
            status=status_text(order.status)))
    order.status = OrderStatus.IN_PROGRESS
    order.started_at = now
    order.performed_by_id = actor.user_id
    session.add(order)
    audit.record(session, actor, 'order_started', entity='service_order', entity_id=order.id)
    publish(session, OrdersChanged(visit_id=order.visit_id, order_ids=tuple([order.id])))
    return order


@action
async def record_result(session: AsyncSession, actor: Actor, order_id: int, *, text: str,
                        values: list[ResultValue], complete: bool, now: datetime) -> ServiceOrder:
    """Save the result (text and values); with ``complete`` the order is done and the doctor sees it as final.
    A completed result can be corrected by the technician; the correction is in the audit log. Values are judged
    against the order's panel (``judged``); a critical one alerts the ordering doctor once this is committed."""
    require(actor, Role.TECHNICIAN)
    text = (text or '').strip()
    values = check_values(values)
    if len(text) > 8000:
        raise ValidationError(_('The result text can have at most 8000 characters.'), 'result')
    if complete and not text and not values:
        raise ValidationError(_('Please write the result (text or values) before completing.'), 'result')
    order = await _locked_order(session, order_id)
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_('This order was cancelled: no result can be recorded.'))
    corrected = order.status == OrderStatus.COMPLETED
    before = order.result_text
    order.result_text = text
    values = judged(await lab_results.order_panel(session, order.id), values)
    await _replace_values(session, order.id, values)
    if order.status == OrderStatus.PENDING:
        order.status = OrderStatus.IN_PROGRESS
        order.started_at = now
    order.performed_by_id = order.performed_by_id or actor.user_id
    if complete and not corrected:
        order.status = OrderStatus.COMPLETED
        order.completed_at = now
    session.add(order)
    action = 'result_corrected' if corrected else ('order_completed' if complete else 'result_saved')
    audit.record(session, actor, action, entity='service_order', entity_id=order.id,
                 detail=f'before: {before[:500]}' if corrected else '')
    if complete:
        await settle_visit(session, actor, order.visit_id, now=now)
    publish(session, OrdersChanged(visit_id=order.visit_id, order_ids=tuple([order.id])))
    if any(lab_results.is_critical(v.flag) for v in values):
        publish(session, CriticalResult(order_id=order.id, visit_id=order.visit_id, doctor_id=order.ordered_by_id))
    return order


async def settle_visit(session: AsyncSession, actor: Actor, visit_id: int, *, now: datetime) -> None:
    """An order was completed or cancelled: the visit takes its next step (``visit_path.advance``): back to the
    doctor who waits for the results, or on to the pharmacy or the cashier once every order is done."""
    visit = await session.get(Visit, visit_id)
    if visit is not None:
        await session.refresh(visit)
        await visit_path.advance(session, actor, visit, now=now)


async def station_queue_id(session: AsyncSession, kind: ServiceKind) -> int | None:
    """The active queue of the station that performs ``kind`` (lab, imaging, procedures), if there is one."""
    return await queue.station_queue(session, KIND_OF_QUEUE[kind])


async def next_station_queue_id(session: AsyncSession, visit_id: int) -> int | None:
    """Where the patient goes next: the queue of the station of the visit's oldest open order."""
    kind = (await session.exec(select(Service.kind).join(ServiceOrder, ServiceOrder.service_id == Service.id)
                               .where(ServiceOrder.visit_id == visit_id, ServiceOrder.status.in_(list(OPEN)))
                               .order_by(ServiceOrder.ordered_at, ServiceOrder.id))).first()
    return await station_queue_id(session, kind) if kind else None


async def doctor_queue_id(session: AsyncSession, visit_id: int) -> int | None:
    """The queue of the visit's doctor (to send the patient back after the lab)."""
    visit = await session.get(Visit, visit_id)
    return await queue.doctor_queue(session, visit.doctor_id) if visit is not None else None


@action
async def send_back_to_doctor(session: AsyncSession, actor: Actor, visit_id: int, *, tz: ZoneInfo,
                              now: datetime) -> str:
    """The technician sends the patient back to the visit's doctor: their ticket moves to the doctor's queue, where
    they keep their place (``queue.transfer``). Returns the new ticket's label; '' when the patient holds no active
    ticket or the doctor has no queue (they go back in person)."""
    from .consultation import current_ticket  # consultation builds on this module
    require(actor, Role.TECHNICIAN)
    ticket = await current_ticket(session, visit_id)
    doctor_queue = await doctor_queue_id(session, visit_id)
    if ticket is None or doctor_queue is None:
        return ''
    return (await queue.transfer(session, actor, ticket.id, doctor_queue, tz=tz, now=now)).label
