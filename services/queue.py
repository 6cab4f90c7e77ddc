"""Queues and tickets: one queue per doctor or station, numbers unique per queue and clinic-local day.

The rules of the waiting room, free of any UI:

* States: waiting -> called -> in_service -> done; a called patient who does not come is skipped (and can be
  recalled or put back in line later) or marked no-show; a patient can be transferred to another queue (lab and
  back to the same doctor, or to another doctor). Every status change is recorded in the audit log with what it
  changed, so the last changes of a ticket can be undone one by one.
* "Call next" is one atomic step: the queue is serialized (``serialize``) and the chosen ticket is taken with an
  UPDATE that re-checks it is still waiting, so two doctors or two tabs never get the same patient.
* Order: priority first (elderly, pregnant, urgent: higher is sooner), then by due time: a booked patient is due at
  the appointment time (unless they came more than ``LATE_GRACE`` late: then from arrival, like a walk-in), a
  walk-in from arrival. Walk-ins therefore fill the gaps between appointments.
* Estimated wait: from the real durations (started_at -> finished_at) of the queue's recent consultations.
* Every change publishes ``QueueChanged`` after commit; pages subscribe, nobody polls.
"""
from __future__ import annotations

import json
import statistics
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import (
    AuditLog,
    Doctor,
    DoctorSpecialty,
    Patient,
    Queue,
    QueueDayCounter,
    QueueKind,
    QueueTicket,
    Role,
    Room,
    RoomKind,
    TicketStatus,
    Visit,
    VisitStatus,
    WorkingHours,
)

from . import audit, clinic_settings, turn_notices
from .access import Actor, doctor_id_of, require
from .core.boundary import action, query
from .core.clock import local_today
from .core.db import load, serialize
from .core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from .core.events import QueueChanged, publish
from .core.i18n import _, pick

LATE_GRACE = timedelta(minutes=15)    # a booked patient later than this is ordered by arrival, like a walk-in
DEFAULT_MINUTES = 10                   # consultation length assumed until there is history
DURATION_SAMPLES = 20                  # the last N real consultations of the queue
DURATION_DAYS = 30                     # ... within this many days
MIN_SAMPLES = 3
MAX_PRIORITY = 3
ACTIVE = (TicketStatus.CALLED, TicketStatus.IN_SERVICE)
FINISHED = (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.TRANSFERRED)
FINISHED_SHOWN = 10                    # the latest finished tickets a queue's view keeps
_UNDOABLE = 'queue_status'
_UNDONE = 'queue_undo'


def ticket_label(prefix: str, number: int) -> str:
    """What is printed and shown: ``A-012``."""
    return f'{prefix}-{number:03d}'


def spoken_label(prefix: str, number: int) -> str:
    """What is said aloud: ``A 12`` (never "A zero one two")."""
    return f'{prefix} {number}'


def masked_name(full_name: str) -> str:
    """What a public screen may show of a name: ``Nguyễn Văn An`` -> ``Nguyễn V. A.``. The family name stays
    whole only when other words follow; a one-word name is the person's whole name, so it shows as its initial
    (``Hùng`` -> ``H.``)."""
    words = full_name.split()
    initials = [f'{word[0].upper()}.' for word in words]
    return ' '.join([words[0], *initials[1:]] if len(words) > 1 else initials)


async def queue_for_doctor(session: AsyncSession, doctor_id: int) -> Queue:
    """The doctor's queue; created (with the next free letter as prefix) the first time it is needed."""
    queue = (await session.exec(select(Queue).where(Queue.doctor_id == doctor_id))).first()
    if queue is not None:
        return queue
    doctor = await session.get(Doctor, doctor_id)
    if doctor is None:
        raise NotFound(_('This doctor does not exist.'))
    used = set((await session.exec(select(Queue.prefix))).all())
    prefix = next((letter for letter in string.ascii_uppercase if letter not in used), None) \
        or next(f'{a}{b}' for a in string.ascii_uppercase for b in string.ascii_uppercase if f'{a}{b}' not in used)
    room_id = (await session.exec(select(WorkingHours.room_id).where(WorkingHours.doctor_id == doctor_id)
                                  .order_by(WorkingHours.weekday, WorkingHours.start_time))).first()
    queue = Queue(name=f'{doctor.title} {doctor.full_name}'.strip(), prefix=prefix, kind=QueueKind.DOCTOR,
                  doctor_id=doctor_id, room_id=room_id)
    session.add(queue)
    await session.flush()
    return queue


async def next_ticket_number(session: AsyncSession, queue_id: int, day: date) -> int:
    """Atomically take the next number of ``queue_id`` on ``day`` (one statement: safe under concurrent check-ins)."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == 'postgresql' else sqlite.insert
    statement = (insert(QueueDayCounter).values(queue_id=queue_id, service_date=day, last_number=1)
                 .on_conflict_do_update(index_elements=['queue_id', 'service_date'],
                                        set_={'last_number': QueueDayCounter.last_number + 1})
                 .returning(QueueDayCounter.last_number))
    return (await session.exec(statement)).scalar_one()


async def issue_ticket(session: AsyncSession, *, queue: Queue, visit_id: int, patient_id: int, day: date,
                       appointment_at: datetime | None = None, priority: int = 0,
                       priority_reason: str = '') -> QueueTicket:
    number = await next_ticket_number(session, queue.id, day)
    visit = await session.get(Visit, visit_id)  # issued at check-in: the ticket's arrival is the visit's
    ticket = QueueTicket(queue_id=queue.id, service_date=day, number=number, visit_id=visit_id,
                         patient_id=patient_id, appointment_at=appointment_at, room_id=queue.room_id,
                         priority=priority, priority_reason=priority_reason)
    if visit is not None:
        ticket.created_at = visit.checked_in_at
    session.add(ticket)
    await session.flush()
    return ticket


async def ahead_of(session: AsyncSession, ticket: QueueTicket) -> int:
    """How many patients will be called before ``ticket``: the waiting tickets of its queue and day that come
    before it in the calling order (``in_order``: priority, then due time). What the ticket slip and reception
    show as "patients ahead"; 0 once the ticket is no longer waiting."""
    if ticket.status != TicketStatus.WAITING:
        return 0
    waiting = (await session.exec(select(QueueTicket).where(
        QueueTicket.queue_id == ticket.queue_id, QueueTicket.service_date == ticket.service_date,
        QueueTicket.status == TicketStatus.WAITING))).all()
    order = [t.id for t in in_order(list(waiting))]
    return order.index(ticket.id) if ticket.id in order else len(order)


# -- ordering and waiting times -------------------------------------------------------------------------------

def due_at(ticket: QueueTicket) -> datetime:
    """When the patient is due: the appointment time, or the arrival for walk-ins and late arrivals."""
    if ticket.appointment_at is not None and ticket.created_at <= ticket.appointment_at + LATE_GRACE:
        return ticket.appointment_at
    return ticket.created_at


def order_key(ticket: QueueTicket) -> tuple:
    """Back from the lab with results first (they were already seen once), then priority, then due time."""
    return (not ticket.back_with_results, -ticket.priority, due_at(ticket), ticket.number, ticket.id)


def in_order(tickets: list[QueueTicket]) -> list[QueueTicket]:
    """Waiting tickets in the order they will be called."""
    return sorted(tickets, key=order_key)


async def typical_minutes(session: AsyncSession, queue_id: int, now: datetime) -> float:
    """The median length of the queue's recent real consultations (or DEFAULT_MINUTES without enough history)."""
    rows = (await session.exec(
        select(QueueTicket.started_at, QueueTicket.finished_at)
        .where(QueueTicket.queue_id == queue_id, QueueTicket.started_at.is_not(None),
               QueueTicket.finished_at.is_not(None),
               QueueTicket.status.in_([TicketStatus.DONE, TicketStatus.TRANSFERRED]),
               QueueTicket.close_reason == '',  # ended by the day's close: not a real length
               QueueTicket.finished_at >= now - timedelta(days=DURATION_DAYS))
        .order_by(QueueTicket.finished_at.desc()).limit(DURATION_SAMPLES))).all()
    minutes = [(end - start).total_seconds() / 60 for start, end in rows if end > start]
    if len(minutes) < MIN_SAMPLES:
        return DEFAULT_MINUTES
    return min(60.0, max(2.0, statistics.median(minutes)))


def estimated_waits(active: list[QueueTicket], waiting: list[QueueTicket], typical: float,
                    now: datetime) -> list[int]:
    """Minutes each waiting ticket (in order) will probably wait: what is left of the patients being seen, plus
    one typical consultation per patient ahead."""
    left = 0.0
    for ticket in active:
        if ticket.status == TicketStatus.IN_SERVICE and ticket.started_at is not None:
            left += max(typical - (now - ticket.started_at).total_seconds() / 60, 1)
        else:
            left += typical
    return [round(left + position * typical) for position in range(len(waiting))]


# -- reading: views for the worklist, reception and the board --------------------------------------------------

@dataclass(frozen=True)
class TicketView:
    id: int
    queue_id: int
    visit_id: int
    label: str
    spoken: str          # A 12
    status: TicketStatus
    priority: int
    priority_reason: str
    patient_name: str
    patient_code: str
    masked_name: str
    room_name: str
    room_code: str
    is_walk_in: bool
    appointment_at: datetime | None
    arrived_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    call_count: int
    wait_minutes: int | None = None  # waiting tickets only
    back_with_results: bool = False  # back from the lab: every ordered result is in
    room_names: dict[str, str] = field(default_factory=dict)  # the room's name in other languages

    @property
    def room(self) -> str:
        """The room's name in the reader's language (a view is shared by every screen: it holds all of them)."""
        return pick(self.room_name, self.room_names)


@dataclass(frozen=True)
class QueueView:
    id: int
    name: str
    prefix: str
    kind: QueueKind
    doctor_id: int | None
    room_name: str
    room_code: str
    typical_minutes: float
    active: list[TicketView] = field(default_factory=list)    # called / in service, latest call first
    waiting: list[TicketView] = field(default_factory=list)   # in calling order
    skipped: list[TicketView] = field(default_factory=list)
    finished: list[TicketView] = field(default_factory=list)  # done, no-show, transferred: the latest, latest first
    names: dict[str, str] = field(default_factory=dict)  # the queue's name in other languages
    room_names: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The queue's name in the reader's language."""
        return pick(self.name, self.names)

    @property
    def wait_for_newcomer(self) -> int:
        """Minutes someone joining now would probably wait."""
        if not self.waiting:
            return round(self.typical_minutes) if self.active else 0
        last = self.waiting[-1].wait_minutes or 0
        return round(last + self.typical_minutes)

    @property
    def now_serving(self) -> TicketView | None:
        return self.active[0] if self.active else None


async def _rooms(session: AsyncSession, room_ids: set[int]) -> dict[int, Room]:
    if not room_ids:
        return {}
    return {room.id: room for room in (await session.exec(select(Room).where(Room.id.in_(room_ids)))).all()}


_TICKET_COLUMNS = (QueueTicket.id, QueueTicket.queue_id, QueueTicket.visit_id, QueueTicket.number,
                   QueueTicket.status, QueueTicket.priority, QueueTicket.priority_reason, QueueTicket.room_id,
                   QueueTicket.appointment_at, QueueTicket.created_at, QueueTicket.called_at,
                   QueueTicket.started_at, QueueTicket.finished_at, QueueTicket.call_count,
                   Patient.full_name, Patient.code, Visit.is_walk_in, QueueTicket.back_with_results)


def _ticket_rows():
    """A select of _TICKET_COLUMNS, with the patient and the visit joined; the caller adds the conditions."""
    return (select(*_TICKET_COLUMNS).join(Patient, Patient.id == QueueTicket.patient_id)
            .join(Visit, Visit.id == QueueTicket.visit_id))


def _ticket_view(t, queue: Queue, room: Room | None, wait: int | None = None) -> TicketView:
    """``t``: a row of _TICKET_COLUMNS (or anything with those attributes)."""
    return TicketView(id=t.id, queue_id=t.queue_id, visit_id=t.visit_id,
                      label=ticket_label(queue.prefix, t.number), spoken=spoken_label(queue.prefix, t.number),
                      status=t.status, priority=t.priority, priority_reason=t.priority_reason,
                      patient_name=t.full_name, patient_code=t.code, masked_name=masked_name(t.full_name),
                      room_name=room.name if room else '',
                      room_code=room.code if room else '',
                      is_walk_in=t.is_walk_in, appointment_at=t.appointment_at, arrived_at=t.created_at,
                      called_at=t.called_at, started_at=t.started_at, call_count=t.call_count, wait_minutes=wait,
                      back_with_results=t.back_with_results,
                      room_names=room.name_translations if room else {})


async def load_views(session: AsyncSession, queues: list[Queue], *, day: date, now: datetime) -> list[QueueView]:
    """Today's state of ``queues`` (no access check: callers check). Read on every queue change by every live
    screen, so only the columns shown are read, and only the latest FINISHED_SHOWN finished tickets are kept."""
    if not queues:
        return []
    rows = (await session.exec(_ticket_rows().where(QueueTicket.queue_id.in_([q.id for q in queues]),
                                                    QueueTicket.service_date == day))).all()
    rooms = await _rooms(session, {q.room_id for q in queues if q.room_id} | {t.room_id for t in rows if t.room_id})
    by_queue: dict[int, list] = {q.id: [] for q in queues}
    for row in rows:
        by_queue[row.queue_id].append(row)
    views = []
    for q in queues:
        typical = await typical_minutes(session, q.id, now)
        tickets = by_queue[q.id]
        active = sorted((t for t in tickets if t.status in ACTIVE), key=lambda t: t.called_at or t.created_at,
                        reverse=True)
        waiting = in_order([t for t in tickets if t.status == TicketStatus.WAITING])
        skipped = sorted((t for t in tickets if t.status == TicketStatus.SKIPPED),
                         key=lambda t: t.called_at or t.created_at)
        finished = sorted((t for t in tickets if t.status in FINISHED), key=lambda t: t.finished_at or t.created_at,
                          reverse=True)[:FINISHED_SHOWN]

        def view(t, wait: int | None = None) -> TicketView:
            return _ticket_view(t, q, rooms.get(t.room_id or q.room_id or 0), wait)

        room = rooms.get(q.room_id or 0)
        views.append(QueueView(
            id=q.id, name=q.name, prefix=q.prefix, kind=q.kind, doctor_id=q.doctor_id,
            room_name=room.name if room else '',
            room_code=room.code if room else '', typical_minutes=typical,
            active=[view(t) for t in active],
            waiting=[view(t, w) for t, w in zip(waiting, estimated_waits(active, waiting, typical, now))],
            skipped=[view(t) for t in skipped], finished=[view(t) for t in finished],
            names=q.name_translations, room_names=room.name_translations if room else {}))
    return views


async def _check_access(session: AsyncSession, actor: Actor, queue: Queue) -> None:
    """Doctors: their own queue. Nurses / technicians: station queues. Pharmacists and cashiers: their windows'
    queues. Reception and admins: every queue."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR, Role.TECHNICIAN, Role.PHARMACIST, Role.CASHIER)
    if actor.role in (Role.PHARMACIST, Role.CASHIER) and SERVED_BY[queue.kind] != actor.role:
        raise PermissionDenied(_('Pharmacists manage the pharmacy queue only.') if actor.role == Role.PHARMACIST
                               else _('Cashiers manage the cashier queue only.'))
    if actor.role == Role.DOCTOR and (queue.doctor_id is None or queue.doctor_id != await doctor_id_of(session, actor)):
        raise PermissionDenied(_('You can only manage your own queue.'))
    if actor.role == Role.TECHNICIAN and queue.kind == QueueKind.DOCTOR:
        raise PermissionDenied(_("Nurses and technicians manage the station queues, not the doctors' queues."))


async def _queue(session: AsyncSession, actor: Actor, queue_id: int) -> Queue:
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(_('This queue does not exist.'))
    await _check_access(session, actor, queue)
    return queue


# -- service points: who calls and serves the patients of which queue, and to which counter -----------------------

SERVED_BY = {QueueKind.DOCTOR: Role.DOCTOR, QueueKind.LAB: Role.TECHNICIAN, QueueKind.IMAGING: Role.TECHNICIAN,
             QueueKind.PROCEDURE: Role.TECHNICIAN, QueueKind.PHARMACY: Role.PHARMACIST,
             QueueKind.CASHIER: Role.CASHIER}
ROOM_KIND = {QueueKind.DOCTOR: RoomKind.CONSULTATION, QueueKind.LAB: RoomKind.LAB, QueueKind.IMAGING: RoomKind.IMAGING,
             QueueKind.PROCEDURE: RoomKind.PROCEDURE, QueueKind.PHARMACY: RoomKind.PHARMACY,
             QueueKind.CASHIER: RoomKind.CASHIER}
async def _check_serves(session: AsyncSession, actor: Actor, queue: Queue, *, reception_too: bool = False) -> None:
    """Who calls and serves a queue's patients: a doctor their own queue; nurses / technicians the laboratory,
    imaging and procedure queues; the pharmacist the pharmacy's; the cashier the cashier's; an administrator
    every queue. ``reception_too``: reception may also do this step (call a skipped patient again)."""
    if actor.is_admin or (reception_too and actor.role == Role.RECEPTIONIST):
        return
    serving = SERVED_BY[queue.kind]
    if actor.role != serving:
        refusals = {
            QueueKind.DOCTOR: _('The doctor queue ({prefix}) is served by doctor staff: you cannot call or serve its '
                                'patients.'),
            QueueKind.LAB: _('The laboratory queue ({prefix}) is served by nurse / technician staff: you cannot call '
                             'or serve its patients.'),
            QueueKind.IMAGING: _('The imaging queue ({prefix}) is served by nurse / technician staff: you cannot call '
                                 'or serve its patients.'),
            QueueKind.PROCEDURE: _('The procedure queue ({prefix}) is served by nurse / technician staff: you cannot '
                                   'call or serve its patients.'),
            QueueKind.PHARMACY: _('The pharmacy queue ({prefix}) is served by pharmacist staff: you cannot call or '
                                  'serve its patients.'),
            QueueKind.CASHIER: _('The cashier queue ({prefix}) is served by cashier staff: you cannot call or serve '
                                 'its patients.')}
        raise PermissionDenied(refusals[queue.kind].format(prefix=queue.prefix))
    if serving == Role.DOCTOR and queue.doctor_id != await doctor_id_of(session, actor):
        raise PermissionDenied(_('You can only call and serve the patients of your own queue.'))


async def _counter(session: AsyncSession, queue: Queue, room_id: int) -> Room:
    """The counter (room) a station calls a patient to: it must exist, be in use and be of the queue's kind."""
    room = await session.get(Room, room_id)
    if room is None:
        raise NotFound(_('This counter does not exist.'))
    if not room.is_active:
        raise ValidationError(_('{name} is no longer in use: please choose another counter.').format(
            name=pick(room.name, room.name_translations)), 'room')
    if room.kind != ROOM_KIND[queue.kind]:
        refusals = {
            QueueKind.DOCTOR: _('{name} is not a doctor counter: please choose one of the doctor counters.'),
            QueueKind.LAB: _('{name} is not a laboratory counter: please choose one of the laboratory counters.'),
            QueueKind.IMAGING: _('{name} is not an imaging counter: please choose one of the imaging counters.'),
            QueueKind.PROCEDURE: _('{name} is not a procedure counter: please choose one of the procedure '
                                   'counters.'),
            QueueKind.PHARMACY: _('{name} is not a pharmacy counter: please choose one of the pharmacy counters.'),
            QueueKind.CASHIER: _('{name} is not a cashier counter: please choose one of the cashier counters.')}
        raise ValidationError(refusals[queue.kind].format(name=pick(room.name, room.name_translations)), 'room')
    return room


@query
async def counters(session: AsyncSession, actor: Actor, queue_id: int) -> list[Room]:
    """The rooms in use a station can call its patients to (its counters), by code."""
    queue = await _queue(session, actor, queue_id)
    return list((await session.exec(select(Room).where(Room.kind == ROOM_KIND[queue.kind], Room.is_active.is_(True))
                                    .order_by(Room.code))).all())


def board_order(queue: Queue | QueueView) -> tuple:
    """The one order of the queues on a board, on opening and when a queue joins later: doctors first, by prefix."""
    return (queue.kind != QueueKind.DOCTOR, queue.prefix)


@action
async def my_queue(session: AsyncSession, actor: Actor) -> Queue | None:
    """The signed-in doctor's queue (created the first time it is needed)."""
    require(actor, Role.DOCTOR)
    doctor_id = await doctor_id_of(session, actor)
    if doctor_id is None:
        return None
    return await queue_for_doctor(session, doctor_id)


@query
async def queue_view(session: AsyncSession, actor: Actor, queue_id: int, *, tz: ZoneInfo, now: datetime) -> QueueView:
    queue = await _queue(session, actor, queue_id)
    return (await load_views(session, [queue], day=local_today(tz, now), now=now))[0]


@query
async def list_queues(session: AsyncSession, actor: Actor) -> list[Queue]:
    """The active queues this person may manage, doctors' queues first."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR, Role.TECHNICIAN, Role.PHARMACIST, Role.CASHIER)
    query = select(Queue).where(Queue.is_active.is_(True))
    if actor.role == Role.DOCTOR:
        query = query.where(Queue.doctor_id == await doctor_id_of(session, actor))
    elif actor.role == Role.TECHNICIAN:
        query = query.where(Queue.kind != QueueKind.DOCTOR)
    elif actor.role in (Role.PHARMACIST, Role.CASHIER):
        query = query.where(Queue.kind.in_([kind for kind, role in SERVED_BY.items() if role == actor.role]))
    queues = (await session.exec(query)).all()
    return sorted(queues, key=lambda q: (q.kind != QueueKind.DOCTOR, q.prefix))


@query
async def all_queue_views(session: AsyncSession, actor: Actor, *, tz: ZoneInfo, now: datetime) -> list[QueueView]:
    return await load_views(session, await list_queues(session, actor), day=local_today(tz, now), now=now)


@query
async def transfer_targets(session: AsyncSession, actor: Actor) -> list[Queue]:
    """Where a patient can be sent: every active queue."""
    require(actor, Role.RECEPTIONIST, Role.DOCTOR, Role.TECHNICIAN, Role.PHARMACIST, Role.CASHIER)
    queues = (await session.exec(select(Queue).where(Queue.is_active.is_(True)))).all()
    return sorted(queues, key=lambda q: (q.kind != QueueKind.DOCTOR, q.prefix))


# -- the board ---------------------------------------------------------------------------------------------------

@query
async def board_queues(session: AsyncSession, *, queue_ids: tuple[int, ...] = (), department_id: int | None = None,
                       day: date) -> list[Queue]:
    """The queues a board shows: those of its display key (all when empty), optionally one department
    (specialty), limited to station queues and doctors who work that day or already have tickets, and to the
    kinds of queue the clinic calls through the board (the ``board_stations`` setting)."""
    query = select(Queue).where(Queue.is_active.is_(True),
                                Queue.kind.in_([QueueKind(kind) for kind in clinic_settings.current().board_kinds]))
    if queue_ids:
        query = query.where(Queue.id.in_(queue_ids))
    if department_id is not None:
        doctors = select(DoctorSpecialty.doctor_id).where(DoctorSpecialty.specialty_id == department_id)
        query = query.where(Queue.doctor_id.in_(doctors))
    queues = (await session.exec(query)).all()
    working = set((await session.exec(select(WorkingHours.doctor_id)
                                      .where(WorkingHours.weekday == day.weekday()))).all())
    with_tickets = set((await session.exec(select(QueueTicket.queue_id).where(QueueTicket.service_date == day)
                                           .distinct())).all())
    shown = [q for q in queues if q.doctor_id is None or q.doctor_id in working or q.id in with_tickets]
    return sorted(shown, key=board_order)


@query
async def board_views(session: AsyncSession, queue_ids: list[int], *, tz: ZoneInfo, now: datetime) -> list[QueueView]:
    """Today's state of the given queues for a board (a verified display key, not a person, is asking)."""
    if not queue_ids:
        return []
    queues = (await session.exec(select(Queue).where(Queue.id.in_(queue_ids)))).all()
    return await load_views(session, sorted(queues, key=lambda q: queue_ids.index(q.id)),
                            day=local_today(tz, now), now=now)


# -- changing: every step checks the role, serializes the queue and announces itself after commit -----------------

def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _unstamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _snapshot(ticket: QueueTicket, visit: Visit | None) -> dict:
    snapshot = {'status': ticket.status.value, 'called_at': _stamp(ticket.called_at),
                'started_at': _stamp(ticket.started_at), 'finished_at': _stamp(ticket.finished_at),
                'call_count': ticket.call_count}
    if visit is not None:
        snapshot['visit'] = {'status': visit.status.value, 'doctor_id': visit.doctor_id,
                             'consultation_started_at': _stamp(visit.consultation_started_at),
                             'consultation_ended_at': _stamp(visit.consultation_ended_at)}
    return snapshot


async def lock_queues(session: AsyncSession, queue_ids: Iterable[int | None]) -> None:
    """Serialize changes to these queues until the transaction ends. Always in the order of their ids: a doctor
    sending patient A to the lab while the lab sends patient B back to that doctor then wait for each other instead
    of deadlocking (each holding one queue and waiting for the other)."""
    for queue_id in sorted({q for q in queue_ids if q is not None}):
        await serialize(session, f'queue:{queue_id}')


async def _locked_ticket(session: AsyncSession, actor: Actor, ticket_id: int,
                         also: Iterable[int | None] = ()) -> tuple[QueueTicket, Queue]:
    """The ticket with its queue (and the queues in ``also``) locked, re-read after the lock."""
    ticket = await load(session, QueueTicket, ticket_id, _('This ticket does not exist.'))
    queue = await _queue(session, actor, ticket.queue_id)
    await lock_queues(session, [queue.id, *also])
    await session.refresh(ticket)  # re-read after the lock: another step may have changed it meanwhile
    return ticket, queue


def _announce(session: AsyncSession, action: str, ticket: QueueTicket, queue: Queue) -> None:
    publish(session, QueueChanged(queue_id=queue.id, ticket_id=ticket.id, visit_id=ticket.visit_id, action=action,
                                  label=ticket_label(queue.prefix, ticket.number)))


async def _change(session: AsyncSession, actor: Actor, ticket: QueueTicket, queue: Queue, action: str,
                  now: datetime, *, allowed: tuple[TicketStatus, ...], to: TicketStatus,
                  visit_change: dict | None = None, extra_detail: dict | None = None) -> QueueTicket:
    """Move ``ticket`` to ``to``, record how to undo it, announce it."""
    if ticket.status not in allowed:
        label = ticket_label(queue.prefix, ticket.number)
        refusals = {'called': _('{label} cannot be called now. The list has been updated.'),
                    'recalled': _('{label} cannot be recalled now. The list has been updated.'),
                    'skipped': _('{label} cannot be skipped now. The list has been updated.'),
                    'back_in_line': _('{label} cannot be put back in line now. The list has been updated.'),
                    'no_show': _('{label} cannot be marked as not showing up now. The list has been updated.'),
                    'started': _('{label} cannot be started now. The list has been updated.'),
                    'finished': _('{label} cannot be finished now. The list has been updated.'),
                    'transferred': _('{label} cannot be transferred now. The list has been updated.')}
        raise Conflict(refusals.get(action, _('{label} cannot be changed now. The list has been updated.'))
                       .format(label=label))
    visit = await session.get(Visit, ticket.visit_id)
    before = _snapshot(ticket, visit)
    left_the_line = ticket.status == TicketStatus.WAITING and to != TicketStatus.WAITING
    ticket.status = to
    if action in ('called', 'recalled'):
        ticket.called_at = now
        ticket.call_count += 1
    elif action == 'started':
        ticket.started_at = now
    elif to in (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.TRANSFERRED):
        ticket.finished_at = now
    for name, value in (visit_change or {}).items():
        setattr(visit, name, value)
    session.add_all([ticket, visit])
    audit.record(session, actor, _UNDOABLE, entity='queue_ticket', entity_id=ticket.id,
                 detail=json.dumps({'action': action, 'to': to.value, 'before': before, **(extra_detail or {})}))
    _announce(session, action, ticket, queue)
    if left_the_line:  # everyone behind it moved up one place
        await turn_notices.after_call(session, queue, ticket.service_date, settings=clinic_settings.current(),
                                      label=lambda t: ticket_label(queue.prefix, t.number))
    return ticket


@action
async def call_next(session: AsyncSession, actor: Actor, queue_id: int, *, tz: ZoneInfo,
                    now: datetime, room_id: int | None = None) -> TicketView | None:
    """Call the next patient of the queue (None when nobody is waiting). Atomic: never the same patient twice.
    ``room_id``: the counter the patient is called to (a station with several); the ticket's room becomes it."""
    queue = await _queue(session, actor, queue_id)
    await _check_serves(session, actor, queue)
    counter = await _counter(session, queue, room_id) if room_id is not None else None
    await serialize(session, f'queue:{queue.id}')
    day = local_today(tz, now)
    waiting = (await session.exec(select(QueueTicket).where(
        QueueTicket.queue_id == queue.id, QueueTicket.service_date == day,
        QueueTicket.status == TicketStatus.WAITING).execution_options(populate_existing=True))).all()
    for candidate in in_order(list(waiting)):
        taken = await session.exec(sa.update(QueueTicket)  # re-check: still waiting at the moment it is taken
                                   .where(QueueTicket.id == candidate.id, QueueTicket.status == TicketStatus.WAITING)
                                   .values(status=TicketStatus.CALLED))
        if taken.rowcount != 1:
            continue
        candidate.status = TicketStatus.WAITING  # the audit snapshot records where it came from
        if counter is not None:
            candidate.room_id = counter.id
        await _change(session, actor, candidate, queue, 'called', now, allowed=(TicketStatus.WAITING,),
                      to=TicketStatus.CALLED, extra_detail={'room': counter.code} if counter else None)
        return await _view(session, candidate, queue, now)
    await session.rollback()
    return None


@dataclass(frozen=True)
class Called:
    """"Call next" as the screen that pressed it shows it: the ticket called (None: nobody waits) and the queue as
    it stands after the call."""
    ticket: TicketView | None
    queue: QueueView


@action
async def call_next_shown(session: AsyncSession, actor: Actor, queue_id: int, *, tz: ZoneInfo, now: datetime,
                          room_id: int | None = None) -> Called:
    """``call_next``, and the queue as it now stands, read in the same transaction: the screen that acted shows
    the outcome at once, before the news reaches any other screen (no second read after the commit)."""
    ticket = await call_next(session, actor, queue_id, tz=tz, now=now, room_id=room_id)
    return Called(ticket, await queue_view(session, actor, queue_id, tz=tz, now=now))


async def _view(session: AsyncSession, ticket: QueueTicket, queue: Queue, now: datetime) -> TicketView:
    """What a step returns. A waiting ticket's wait depends on the whole queue; any other is read on its own."""
    if ticket.status == TicketStatus.WAITING:
        views = await load_views(session, [queue], day=ticket.service_date, now=now)
        return next(t for t in views[0].waiting if t.id == ticket.id)
    row = (await session.exec(_ticket_rows().where(QueueTicket.id == ticket.id))).one()
    room_id = row.room_id or queue.room_id
    return _ticket_view(row, queue, await session.get(Room, room_id) if room_id else None)


async def _transition(session: AsyncSession, actor: Actor, ticket_id: int, action: str, now: datetime, *,
                      allowed: tuple[TicketStatus, ...], to: TicketStatus, reception_too: bool = False) -> TicketView:
    ticket, queue = await _locked_ticket(session, actor, ticket_id)
    await _check_serves(session, actor, queue, reception_too=reception_too)
    await _change(session, actor, ticket, queue, action, now, allowed=allowed, to=to)
    return await _view(session, ticket, queue, now)


@action
async def recall(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    """Call again: repeat the call on the board, or call back a skipped patient."""
    return await _transition(session, actor, ticket_id, 'recalled', now,
                             allowed=(TicketStatus.CALLED, TicketStatus.SKIPPED), to=TicketStatus.CALLED,
                             reception_too=True)


@action
async def skip(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    """Called but did not come: set aside; can be recalled or put back in line later."""
    return await _transition(session, actor, ticket_id, 'skipped', now, allowed=(TicketStatus.CALLED,),
                             to=TicketStatus.SKIPPED)


@action
async def back_in_line(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    """A skipped patient turned up: back to waiting, in their original place."""
    return await _transition(session, actor, ticket_id, 'back_in_line', now, allowed=(TicketStatus.SKIPPED,),
                             to=TicketStatus.WAITING, reception_too=True)


@action
async def mark_no_show(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    return await _transition(session, actor, ticket_id, 'no_show', now,
                             allowed=(TicketStatus.CALLED, TicketStatus.SKIPPED), to=TicketStatus.NO_SHOW)


@action
async def start(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    """The patient came in: the consultation (or the service at a station) starts."""
    ticket, queue = await _locked_ticket(session, actor, ticket_id)
    await _check_serves(session, actor, queue)
    visit_change = {'status': VisitStatus.IN_CONSULTATION, 'consultation_started_at': now} \
        if queue.kind == QueueKind.DOCTOR else None
    await _change(session, actor, ticket, queue, 'started', now,
                  allowed=(TicketStatus.CALLED, TicketStatus.SKIPPED, TicketStatus.WAITING),
                  to=TicketStatus.IN_SERVICE, visit_change=visit_change)
    return await _view(session, ticket, queue, now)


@action
async def finish(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    ticket, queue = await _locked_ticket(session, actor, ticket_id)
    await _check_serves(session, actor, queue)
    visit_change = {'consultation_ended_at': now} if queue.kind == QueueKind.DOCTOR else None
    await _change(session, actor, ticket, queue, 'finished', now, allowed=(TicketStatus.IN_SERVICE,),
                  to=TicketStatus.DONE, visit_change=visit_change)
    return await _view(session, ticket, queue, now)


@action
async def transfer(session: AsyncSession, actor: Actor, ticket_id: int, to_queue_id: int, *, tz: ZoneInfo,
                   now: datetime) -> TicketView:
    """Send the patient to another queue: a station (lab, imaging: they join its line now) or a doctor (back to the
    same doctor or assigned to another: they keep their place, i.e. their appointment time, arrival and priority)."""
    target = await session.get(Queue, to_queue_id)
    if target is None or not target.is_active:
        raise NotFound(_('This queue does not exist.'))
    ticket, queue = await _locked_ticket(session, actor, ticket_id, also=[target.id])
    if target.id == queue.id:
        raise ValidationError(_('The patient is already in this queue.'), 'queue')
    visit = await session.get(Visit, ticket.visit_id)
    to_doctor = target.kind == QueueKind.DOCTOR
    new = await issue_ticket(session, queue=target, visit_id=ticket.visit_id, patient_id=ticket.patient_id,
                             day=local_today(tz, now),
                             appointment_at=await booked_time(session, ticket) if to_doctor else None,
                             priority=ticket.priority, priority_reason=ticket.priority_reason)
    new.transferred_from_id = ticket.id
    new.created_at = visit.checked_in_at if to_doctor else now
    if to_doctor and target.doctor_id == visit.doctor_id and visit.consultation_started_at is not None:
        room = (await session.exec(select(QueueTicket.room_id).where(
            QueueTicket.visit_id == visit.id, QueueTicket.queue_id == target.id)
            .order_by(QueueTicket.id))).first()
        new.room_id = room or new.room_id  # back to the same doctor: the same room as before
    session.add(new)
    visit_change = _visit_change_for(target)
    if ticket.status == TicketStatus.IN_SERVICE and queue.kind == QueueKind.DOCTOR:
        visit_change['consultation_ended_at'] = now
    await _change(session, actor, ticket, queue, 'transferred', now,
                  allowed=(TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SKIPPED, TicketStatus.IN_SERVICE),
                  to=TicketStatus.TRANSFERRED, visit_change=visit_change,
                  extra_detail={'new_ticket_id': new.id})
    _announce(session, 'joined', new, target)
    return await _view(session, new, target, now)


MOVABLE = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SKIPPED, TicketStatus.IN_SERVICE)


async def active_ticket(session: AsyncSession, visit_id: int) -> QueueTicket | None:
    """The visit's latest ticket that still holds a place in a queue (waiting, called, skipped or in service)."""
    return (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == visit_id,
                                                         QueueTicket.status.in_(list(MOVABLE)))
                               .order_by(QueueTicket.id.desc()))).first()


async def booked_time(session: AsyncSession, ticket: QueueTicket) -> datetime | None:
    """The appointment time the patient keeps their place by in a doctor's queue (None: a walk-in). A station's
    ticket has none (there they join the line when they arrive), so it is the one of the visit's first ticket that
    had one: a booked patient back from the lab is still booked."""
    if ticket.appointment_at is not None:
        return ticket.appointment_at
    return (await session.exec(select(QueueTicket.appointment_at).where(
        QueueTicket.visit_id == ticket.visit_id, QueueTicket.appointment_at.is_not(None))
        .order_by(QueueTicket.id))).first()


async def move_patient(session: AsyncSession, actor: Actor, visit_id: int, to_queue_id: int, *, now: datetime,
                       back_with_results: bool = False) -> QueueTicket:
    """Move the visit's patient to another queue as part of a step already checked by its caller (sent to the lab,
    back with results): like ``transfer`` they keep their place in a doctor's queue (appointment time, arrival,
    priority) and join a station's line now. Without a ticket in hand (the lab already finished it) a new one is
    issued for the visit's day. Returns the new ticket (or the one in hand, when already in that queue)."""
    target = await session.get(Queue, to_queue_id)
    if target is None or not target.is_active:
        raise NotFound(_('This queue does not exist.'))
    current = await active_ticket(session, visit_id)
    await lock_queues(session, [target.id, current.queue_id if current else None])
    if current is not None:
        await session.refresh(current)
    if current is not None and current.queue_id == target.id and current.status in MOVABLE:
        current.back_with_results = current.back_with_results or back_with_results
        session.add(current)
        _announce(session, 'priority', current, target)
        return current
    visit = await load(session, Visit, visit_id, _('This visit does not exist.'))
    latest = current or (await session.exec(select(QueueTicket).where(QueueTicket.visit_id == visit_id)
                                            .order_by(QueueTicket.id.desc()))).first()
    to_doctor = target.kind == QueueKind.DOCTOR
    new = await issue_ticket(session, queue=target, visit_id=visit.id, patient_id=visit.patient_id,
                             day=latest.service_date if latest else visit.visit_date,
                             appointment_at=await booked_time(session, latest) if to_doctor and latest else None,
                             priority=latest.priority if latest else 0,
                             priority_reason=latest.priority_reason if latest else '')
    new.transferred_from_id = current.id if current else None
    new.created_at = visit.checked_in_at if to_doctor else now
    new.back_with_results = back_with_results
    session.add(new)
    visit_change = _visit_change_for(target)
    if current is not None:
        queue = await session.get(Queue, current.queue_id)
        if current.status == TicketStatus.IN_SERVICE and queue.kind == QueueKind.DOCTOR:
            visit_change['consultation_ended_at'] = now
        await _change(session, actor, current, queue, 'transferred', now, allowed=MOVABLE,
                      to=TicketStatus.TRANSFERRED, visit_change=visit_change, extra_detail={'new_ticket_id': new.id})
    else:
        for name, value in visit_change.items():
            setattr(visit, name, value)
        session.add(visit)
    _announce(session, 'joined', new, target)
    return new


def _visit_change_for(target: Queue) -> dict:
    """What joining ``target`` says about the visit: back with a doctor, or at the lab; at the pharmacy or the
    cashier the visit's own path has already set where it is (``services.visit_path``)."""
    if target.kind == QueueKind.DOCTOR:
        return {'status': VisitStatus.WAITING, 'doctor_id': target.doctor_id}
    if target.kind in (QueueKind.PHARMACY, QueueKind.CASHIER):
        return {}
    return {'status': VisitStatus.IN_SERVICES}


async def station_queue(session: AsyncSession, kind: QueueKind) -> int | None:
    """The first active queue of a station (the lab's, the pharmacy's, ...), if the clinic calls through one."""
    return (await session.exec(select(Queue.id).where(Queue.kind == kind, Queue.is_active.is_(True))
                               .order_by(Queue.id))).first()


async def doctor_queue(session: AsyncSession, doctor_id: int | None) -> int | None:
    """The doctor's active queue, if they work with one."""
    if doctor_id is None:
        return None
    return (await session.exec(select(Queue.id).where(Queue.doctor_id == doctor_id,
                                                      Queue.is_active.is_(True)))).first()


async def _end_tickets(session: AsyncSession, *where, reason: str, now: datetime,
                       ended_as: Callable[[QueueTicket], TicketStatus]) -> list[QueueTicket]:
    """End the tickets still in a queue that match ``where``: each takes ``ended_as(ticket)`` and keeps ``reason``.
    They are read again once their queues are locked, so a ticket moved on meanwhile is left as it is."""
    found = (await session.exec(select(QueueTicket).where(*where, QueueTicket.status.in_(list(MOVABLE))))).all()
    await lock_queues(session, [t.queue_id for t in found])
    ended = []
    for ticket in found:
        await session.refresh(ticket)
        if ticket.status not in MOVABLE:
            continue
        ticket.status = ended_as(ticket)
        ticket.finished_at = now
        ticket.close_reason = reason
        session.add(ticket)
        ended.append(ticket)
    return ended


async def end_visit_tickets(session: AsyncSession, visit_id: int, *, now: datetime) -> None:
    """The visit is closed: a ticket it still holds (at the cashier, say) is done, so no board keeps showing it."""
    for ticket in await _end_tickets(session, QueueTicket.visit_id == visit_id, reason='Visit closed', now=now,
                                     ended_as=lambda _ticket: TicketStatus.DONE):
        publish(session, QueueChanged(queue_id=ticket.queue_id, ticket_id=ticket.id, visit_id=visit_id,
                                      action='finished'))


async def close_open_tickets(session: AsyncSession, day: date, *, reason: str, now: datetime) -> list[QueueTicket]:
    """End every ticket of ``day`` still in a queue (the clinic's day is over): one in service is done, the others
    (never called, called or skipped and never came in) are no-shows; each keeps ``reason``."""
    tickets = await _end_tickets(
        session, QueueTicket.service_date == day, reason=reason, now=now,
        ended_as=lambda t: TicketStatus.DONE if t.status == TicketStatus.IN_SERVICE else TicketStatus.NO_SHOW)
    for queue_id in sorted({t.queue_id for t in tickets}):
        publish(session, QueueChanged(queue_id=queue_id, action='day_closed'))
    return tickets


def check_priority(priority: int, reason: str) -> str:
    reason = reason.strip()
    if not 0 <= priority <= MAX_PRIORITY:
        raise ValidationError(_('Priority goes from 0 (normal) to {top} (urgent).').format(
            top=MAX_PRIORITY), 'priority')
    if priority and len(reason) < 3:
        raise ValidationError(_('Please record why this patient goes first (e.g. elderly, pregnant, urgent).'),
                              'priority_reason')
    if len(reason) > 200:
        raise ValidationError(_('The priority reason can have at most 200 characters.'), 'priority_reason')
    return reason if priority else ''


@action
async def set_priority(session: AsyncSession, actor: Actor, ticket_id: int, priority: int, reason: str, *,
                       now: datetime) -> TicketView:
    """Move a waiting patient up (elderly, pregnant, urgent) or back to normal; the reason is recorded."""
    reason = check_priority(priority, reason)
    ticket, queue = await _locked_ticket(session, actor, ticket_id)
    if ticket.status != TicketStatus.WAITING:
        raise Conflict(_('{label} is no longer waiting.').format(label=ticket_label(queue.prefix, ticket.number)))
    before = (ticket.priority, ticket.priority_reason)
    ticket.priority, ticket.priority_reason = priority, reason
    session.add(ticket)
    audit.record(session, actor, 'queue_priority', entity='queue_ticket', entity_id=ticket.id,
                 detail=f'{ticket_label(queue.prefix, ticket.number)}: priority {before[0]} -> {priority}'
                        + (f' ({reason})' if reason else ''))
    _announce(session, 'priority', ticket, queue)
    return await _view(session, ticket, queue, now)


async def _undo_entries(session: AsyncSession, ticket_id: int) -> list[AuditLog]:
    return list((await session.exec(select(AuditLog).where(
        AuditLog.entity == 'queue_ticket', AuditLog.entity_id == ticket_id,
        AuditLog.action.in_([_UNDOABLE, _UNDONE])).order_by(AuditLog.id.desc()))).all())


def _last_undoable(entries: list[AuditLog]) -> AuditLog | None:
    """The latest change that was not undone yet (``entries`` newest first)."""
    undone = {json.loads(e.detail)['undid'] for e in entries if e.action == _UNDONE}
    return next((e for e in entries if e.action == _UNDOABLE and e.id not in undone), None)


async def _transferred_to_queue(session: AsyncSession, ticket_id: int) -> int | None:
    """If the change to undo is a transfer: the queue it sent the patient to (locked with the ticket's own)."""
    last = _last_undoable(await _undo_entries(session, ticket_id))
    new_ticket_id = json.loads(last.detail).get('new_ticket_id') if last is not None else None
    new = await session.get(QueueTicket, new_ticket_id) if new_ticket_id is not None else None
    return new.queue_id if new is not None else None


@action
async def undo(session: AsyncSession, actor: Actor, ticket_id: int, *, now: datetime) -> TicketView:
    """Undo the ticket's last status change not undone yet (e.g. "finished" pressed by mistake). Each undo goes one
    step back; only while nothing else changed the ticket since."""
    ticket, queue = await _locked_ticket(session, actor, ticket_id,
                                         also=[await _transferred_to_queue(session, ticket_id)])
    last = _last_undoable(await _undo_entries(session, ticket.id))
    if last is None:
        raise Conflict(_('There is nothing to undo for this ticket.'))
    change = json.loads(last.detail)
    if change['to'] != ticket.status.value:
        raise Conflict(_('This ticket changed again since: undo is not possible.'))
    if 'new_ticket_id' in change:  # a transfer: take the patient out of the other queue again
        new = await session.get(QueueTicket, change['new_ticket_id'])
        if new is not None:  # its queue is locked with the ticket's
            await session.refresh(new)
            if new.status != TicketStatus.WAITING:
                raise Conflict(_('The patient has already been called in the other queue: undo is not possible.'))
            new.status = TicketStatus.CANCELLED
            session.add(new)
            _announce(session, 'cancelled', new, await session.get(Queue, new.queue_id))
    before = change['before']
    ticket.status = TicketStatus(before['status'])
    ticket.called_at, ticket.started_at, ticket.finished_at = (
        _unstamp(before['called_at']), _unstamp(before['started_at']), _unstamp(before['finished_at']))
    ticket.call_count = before['call_count']
    visit = await session.get(Visit, ticket.visit_id)
    if visit is not None and 'visit' in before:
        visit.status = VisitStatus(before['visit']['status'])
        visit.doctor_id = before['visit']['doctor_id']
        visit.consultation_started_at = _unstamp(before['visit']['consultation_started_at'])
        visit.consultation_ended_at = _unstamp(before['visit']['consultation_ended_at'])
        session.add(visit)
    session.add(ticket)
    audit.record(session, actor, _UNDONE, entity='queue_ticket', entity_id=ticket.id,
                 detail=json.dumps({'undid': last.id, 'action': change['action'], 'back_to': before['status']}))
    _announce(session, 'undone', ticket, queue)
    return await _view(session, ticket, queue, now)
