"""Reception: every queue of the day, live. Prioritise a patient (with the reason), move them to another doctor or
send them to a station (lab, imaging) and back, call a skipped patient again, undo a wrong step."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from nicegui import ui

from clinic_ui import live
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import on_row, section_title, staff_action, staff_read, translated_columns
from models import TicketStatus
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.events import QueueChanged
from services.core.i18n import N_, _, pick

from .dialogs import MoveDialog, PriorityDialog

COLUMNS = [
    {'name': 'ticket', 'label': N_('Ticket'), 'field': 'ticket', 'align': 'left'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient', 'align': 'left'},
    {'name': 'state', 'label': N_('State'), 'field': 'state', 'align': 'left'},
    {'name': 'wait', 'label': N_('Est. wait'), 'field': 'wait', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
# Buttons in a Quasar slot: a click reaches Python as the table's "ticket_action" event with [action, ticket id].
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn v-if="props.row.waiting" label="{priority}" icon="priority_high" size="sm" flat no-caps color="accent"
         @click="() => $parent.$emit('ticket_action', ['priority', props.row.id])" />
  <q-btn v-if="props.row.skipped" label="{call_again}" icon="replay" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['recall', props.row.id])" />
  <q-btn v-if="props.row.skipped" label="{back_in_line}" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['back', props.row.id])" />
  <q-btn label="{move}" icon="forward" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['move', props.row.id])" />
  <q-btn label="{undo}" icon="undo" size="sm" flat no-caps
         @click="() => $parent.$emit('ticket_action', ['undo', props.row.id])" />
</q-td>
'''
TICKET_ACTIONS = ('priority', 'recall', 'back', 'move', 'undo')
STATES = {TicketStatus.WAITING: N_('waiting'), TicketStatus.CALLED: N_('called'),
          TicketStatus.IN_SERVICE: N_('in service'), TicketStatus.DONE: N_('done'), TicketStatus.SKIPPED: N_('skipped'),
          TicketStatus.NO_SHOW: N_('no show'), TicketStatus.TRANSFERRED: N_('transferred'),
          TicketStatus.CANCELLED: N_('cancelled')}


def actions_slot() -> str:
    """A ticket's buttons, in the reader's language."""
    texts = {'priority': _('Priority'), 'call_again': _('Call again'), 'back_in_line': _('Back in line'),
             'move': _('Move'), 'undo': _('Undo')}
    return ACTIONS_SLOT.format(**{key: escape(text) for key, text in texts.items()})


def tickets_of(view: queue.QueueView) -> list[queue.TicketView]:
    return [*view.active, *view.waiting, *view.skipped]


def rows_of(view: queue.QueueView) -> list[dict]:
    rows = []
    for ticket in tickets_of(view):
        state = _(STATES[ticket.status])
        if ticket.priority:
            state = _('{state} · priority: {reason}').format(state=state, reason=ticket.priority_reason)
        rows.append({'id': ticket.id, 'ticket': ticket.label, 'patient': f'{ticket.patient_name} · {ticket.patient_code}',
                     'state': state, 'wait': _('{minutes} min').format(minutes=ticket.wait_minutes)
                     if ticket.wait_minutes is not None else '',
                     'waiting': ticket.status == TicketStatus.WAITING, 'skipped': ticket.status == TicketStatus.SKIPPED})
    return rows


def headline(view: queue.QueueView) -> str:
    serving = view.now_serving
    now = _('now {ticket}').format(ticket=serving.label) if serving else _('nobody called')
    return _('{now} · {waiting} waiting · new arrivals wait ≈ {minutes} min').format(
        now=now, waiting=len(view.waiting), minutes=view.wait_for_newcomer)


@dataclass(frozen=True)
class QueuesToday:
    views: list[queue.QueueView]
    targets: dict[int, str]


async def _queues_today(session, actor: Actor) -> QueuesToday:
    views = await queue.all_queue_views(session, actor, tz=clinic_settings.current().tz, now=utcnow())
    targets = {q.id: f'{q.prefix} · {pick(q.name, q.name_translations)}' for q in await queue.transfer_targets(session, actor)}
    return QueuesToday(views, targets)


@staff_page(RECEPTION, '/reception/queues', title=N_('Queues'))
async def queues_page(actor: Actor):
    today = await staff_read(lambda s: _queues_today(s, actor))
    if today is None:
        return
    section_title(_("Today's queues"))
    ui.label(_('Live: changes made by doctors, the lab and other receptionists appear at once.')) \
        .classes('text-slate-600 -mt-3')
    cards = QueueCards(actor, PriorityDialog(actor), MoveDialog(actor, today.targets), today.views)
    subscribe(QueueChanged, cards.update)
    live.on_missed(cards.reread)


class QueueCard:
    """One queue: who is served, how many wait, and its tickets."""

    def __init__(self, view: queue.QueueView) -> None:
        with ui.card().classes('w-full gap-2').mark(f'queue-{view.prefix}'):
            with ui.row().classes('w-full items-baseline justify-between'):
                ui.label(f'{view.prefix} · {view.title}').classes('text-lg font-semibold')
                ui.label(view.room_code).classes('text-slate-500')
            self.line = ui.label(headline(view)).classes('text-slate-700').mark(f'queue-line-{view.prefix}')
            no_data = _('Nobody in this queue.')
            self.table = ui.table(columns=translated_columns(COLUMNS), rows=rows_of(view), row_key='id') \
                .props(f'flat dense wrap-cells hide-pagination no-data-label="{no_data}"') \
                .classes('w-full').mark(f'queue-table-{view.prefix}')
            self.table.pagination = {'rowsPerPage': 0}
            self.table.add_slot('body-cell-actions', actions_slot())

    def show(self, view: queue.QueueView) -> None:
        self.line.set_text(headline(view))
        self.table.rows = rows_of(view)


class QueueCards:
    """A card per queue, updated in place when a queue changes; each ticket's buttons act on it."""

    def __init__(self, actor: Actor, priority: PriorityDialog, move: MoveDialog,
                 views: list[queue.QueueView]) -> None:
        self.actor, self.priority, self.move = actor, priority, move
        self.cards: dict[int, QueueCard] = {}
        self.tickets: dict[int, queue.TicketView] = {}
        with ui.element('div').classes('w-full grid grid-cols-1 xl:grid-cols-2 gap-4'):
            for view in views:
                card = self.cards[view.id] = QueueCard(view)
                on_row(card.table, 'ticket_action', self.act, choices=TICKET_ACTIONS)
                self.remember(view)

    def remember(self, view: queue.QueueView) -> None:
        for ticket in tickets_of(view):
            self.tickets[ticket.id] = ticket

    async def reread(self) -> None:
        """Every queue read afresh (news from another server process may have been lost)."""
        today = await staff_read(lambda s: _queues_today(s, self.actor), touch=False)
        for view in today.views if today is not None else []:
            if view.id in self.cards:
                self.cards[view.id].show(view)
                self.remember(view)

    async def update(self, event: QueueChanged) -> None:
        if event.queue_id not in self.cards:
            return
        view = await live.queue_view(event)  # one read per event for every board and reception screen
        if view is None:
            return
        self.cards[view.id].show(view)
        self.remember(view)

    async def act(self, action: str, row: dict) -> None:
        ticket = self.tickets.get(row['id'])
        if ticket is None:
            return
        if action == 'priority':
            self.priority.edit(ticket)
        elif action == 'move':
            self.move.edit(ticket)
        elif action == 'recall':
            await self.call_again(ticket)
        elif action == 'back':
            await self.put_back_in_line(ticket)
        else:
            await self.undo(ticket)

    async def call_again(self, ticket: queue.TicketView) -> None:
        await staff_action(lambda s: queue.recall(s, self.actor, ticket.id, now=utcnow()),
                           success=_('{ticket} called again.').format(ticket=ticket.label))

    async def put_back_in_line(self, ticket: queue.TicketView) -> None:
        await staff_action(lambda s: queue.back_in_line(s, self.actor, ticket.id, now=utcnow()))

    async def undo(self, ticket: queue.TicketView) -> None:
        await staff_action(lambda s: queue.undo(s, self.actor, ticket.id, now=utcnow()), success=_('Undone.'))
