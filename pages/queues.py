"""Reception: every queue of the day, live. Prioritise a patient (with the reason), move them to another doctor or
send them to a station (lab, imaging) and back, call a skipped patient again, undo a wrong step."""
from __future__ import annotations

from nicegui import ui

from clinic_ui import live
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, on_row, section_title, staff_action
from models import TicketStatus
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.db import get_db
from services.core.events import QueueChanged

PRIORITY_REASONS = ['Elderly', 'Pregnant', 'Urgent', 'Disability', 'Young child']
COLUMNS = [
    {'name': 'ticket', 'label': 'Ticket', 'field': 'ticket', 'align': 'left'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient', 'align': 'left'},
    {'name': 'state', 'label': 'State', 'field': 'state', 'align': 'left'},
    {'name': 'wait', 'label': 'Est. wait', 'field': 'wait', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
# Buttons in a Quasar slot: a click reaches Python as the table's "ticket_action" event with [action, ticket id].
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn v-if="props.row.waiting" label="Priority" icon="priority_high" size="sm" flat no-caps color="accent"
         @click="() => $parent.$emit('ticket_action', ['priority', props.row.id])" />
  <q-btn v-if="props.row.skipped" label="Call again" icon="replay" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['recall', props.row.id])" />
  <q-btn v-if="props.row.skipped" label="Back in line" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['back', props.row.id])" />
  <q-btn label="Move" icon="forward" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('ticket_action', ['move', props.row.id])" />
  <q-btn label="Undo" icon="undo" size="sm" flat no-caps
         @click="() => $parent.$emit('ticket_action', ['undo', props.row.id])" />
</q-td>
'''


def rows_of(view: queue.QueueView) -> list[dict]:
    rows = []
    for ticket in [*view.active, *view.waiting, *view.skipped]:
        state = ticket.status.value.replace('_', ' ')
        if ticket.priority:
            state += f' · priority: {ticket.priority_reason}'
        rows.append({'id': ticket.id, 'ticket': ticket.label, 'patient': f'{ticket.patient_name} · {ticket.patient_code}',
                     'state': state, 'wait': f'{ticket.wait_minutes} min' if ticket.wait_minutes is not None else '',
                     'waiting': ticket.status == TicketStatus.WAITING, 'skipped': ticket.status == TicketStatus.SKIPPED})
    return rows


def headline(view: queue.QueueView) -> str:
    serving = view.now_serving
    now = f'now {serving.label}' if serving else 'nobody called'
    return f'{now} · {len(view.waiting)} waiting · new arrivals wait ≈ {view.wait_for_newcomer} min'


@staff_page(RECEPTION, '/reception/queues', title='Queues')
async def queues_page(actor: Actor):
    settings = clinic_settings.current()
    async with get_db().read() as session:
        views = await queue.all_queue_views(session, actor, tz=settings.tz, now=utcnow())
        targets = {q.id: f'{q.prefix} · {q.name}' for q in await queue.transfer_targets(session, actor)}
    tickets: dict[int, queue.TicketView] = {}
    section_title("Today's queues")
    ui.label('Live: changes made by doctors, the lab and other receptionists appear at once.') \
        .classes('text-slate-600 -mt-3')

    # -- dialogs -----------------------------------------------------------------------------------------------
    with ui.dialog() as priority_dialog, ui.card().classes('w-96'):
        priority_title = ui.label().classes('text-lg font-semibold')
        level = ui.select({0: 'Normal', 1: 'Priority', 2: 'High priority', 3: 'Urgent'}, value=1, label='Priority') \
            .props('outlined').classes('w-full').mark('priority-level')
        reason = ui.input('Reason', placeholder='Elderly, pregnant, urgent…', autocomplete=PRIORITY_REASONS) \
            .props('outlined').classes('w-full').mark('priority-reason')
        priority_error = error_text()
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=priority_dialog.close).props('flat no-caps')
            priority_save = ui.button('Save').props('unelevated no-caps').mark('priority-save')

    with ui.dialog() as move_dialog, ui.card().classes('w-96'):
        move_title = ui.label().classes('text-lg font-semibold')
        target = ui.select(targets, label='Send to').props('outlined').classes('w-full').mark('move-target')
        move_error = error_text()
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=move_dialog.close).props('flat no-caps')
            move_save = ui.button('Move').props('unelevated no-caps').mark('move-save')

    chosen = {'id': None}

    async def save_priority() -> None:
        ticket_id = chosen['id']
        done = await staff_action(lambda s: queue.set_priority(s, actor, ticket_id, level.value or 0,
                                                               reason.value or '', now=utcnow()),
                                  error_label=priority_error, success='Priority saved.')
        if done is not None:
            priority_dialog.close()

    async def save_move() -> None:
        ticket_id = chosen['id']
        if target.value is None:
            move_error.set_text('Please choose where to send the patient.')
            return
        done = await staff_action(lambda s: queue.transfer(s, actor, ticket_id, target.value, tz=settings.tz,
                                                           now=utcnow()), error_label=move_error)
        if done is not None:
            ui.notify(f'Moved: now {done.label} in {targets[done.queue_id]}', type='positive')
            move_dialog.close()

    priority_save.on_click(save_priority)
    move_save.on_click(save_move)

    async def ticket_action(action: str, row: dict) -> None:
        ticket_id = row['id']
        ticket = tickets.get(ticket_id)
        if ticket is None:
            return
        chosen['id'] = ticket_id
        if action == 'priority':
            priority_title.set_text(f'Priority for {ticket.label} · {ticket.patient_name}')
            level.value = ticket.priority or 1
            reason.value = ticket.priority_reason
            priority_error.set_text('')
            priority_dialog.open()
        elif action == 'move':
            move_title.set_text(f'Move {ticket.label} · {ticket.patient_name}')
            target.value = None
            move_error.set_text('')
            move_dialog.open()
        elif action == 'recall':
            await staff_action(lambda s: queue.recall(s, actor, ticket_id, now=utcnow()),
                               success=f'{ticket.label} called again.')
        elif action == 'back':
            await staff_action(lambda s: queue.back_in_line(s, actor, ticket_id, now=utcnow()))
        elif action == 'undo':
            await staff_action(lambda s: queue.undo(s, actor, ticket_id, now=utcnow()), success='Undone.')

    # -- one card per queue, updated in place ------------------------------------------------------------------
    cards: dict[int, tuple[ui.label, ui.table]] = {}
    with ui.element('div').classes('w-full grid grid-cols-1 xl:grid-cols-2 gap-4'):
        for view in views:
            with ui.card().classes('w-full gap-2').mark(f'queue-{view.prefix}'):
                with ui.row().classes('w-full items-baseline justify-between'):
                    ui.label(f'{view.prefix} · {view.name}').classes('text-lg font-semibold')
                    ui.label(view.room_code).classes('text-slate-500')
                line = ui.label(headline(view)).classes('text-slate-700').mark(f'queue-line-{view.prefix}')
                table = ui.table(columns=COLUMNS, rows=rows_of(view), row_key='id') \
                    .props('flat dense wrap-cells hide-pagination no-data-label="Nobody in this queue."') \
                    .classes('w-full').mark(f'queue-table-{view.prefix}')
                table.pagination = {'rowsPerPage': 0}
                table.add_slot('body-cell-actions', ACTIONS_SLOT)
                on_row(table, 'ticket_action', ticket_action, choices=('priority', 'recall', 'back', 'move', 'undo'))
                cards[view.id] = (line, table)
            for ticket in [*view.active, *view.waiting, *view.skipped]:
                tickets[ticket.id] = ticket

    async def on_queue(event: QueueChanged) -> None:
        if event.queue_id not in cards:
            return
        view = await live.queue_view(event)  # one read per event for every board and reception screen
        if view is None:
            return
        line, table = cards[view.id]
        line.set_text(headline(view))
        table.rows = rows_of(view)
        for ticket in [*view.active, *view.waiting, *view.skipped]:
            tickets[ticket.id] = ticket

    subscribe(QueueChanged, on_queue)
