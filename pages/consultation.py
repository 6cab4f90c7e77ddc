"""Consultation: the doctor's worklist, live. Call next, recall (repeat the call on the board), skip, start the
consultation, finish, send to the lab or another doctor, undo a wrong step. Admins can open any doctor's queue."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from clinic_ui import appointment_rows, downloads, live
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import CONSULTATION
from clinic_ui.widgets import KeyedList, data_table, section_title, staff_action
from models import QueueKind, Role, TicketStatus
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.db import get_db
from services.core.events import AppointmentChanged, QueueChanged

WAITING_COLUMNS = [
    {'name': 'position', 'label': '#', 'field': 'position', 'align': 'right'},
    {'name': 'ticket', 'label': 'Ticket', 'field': 'ticket', 'align': 'left'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient', 'align': 'left'},
    {'name': 'booked', 'label': 'Booked for', 'field': 'booked', 'align': 'left'},
    {'name': 'priority', 'label': 'Priority', 'field': 'priority', 'align': 'left'},
    {'name': 'arrived', 'label': 'Arrived', 'field': 'arrived', 'align': 'left'},
    {'name': 'wait', 'label': 'Est. wait', 'field': 'wait', 'align': 'right'},
]


def clock(moment: datetime | None) -> str:
    return moment.astimezone(clinic_settings.current().tz).strftime('%H:%M') if moment else ''


def waiting_rows(view: queue.QueueView) -> list[dict]:
    return [{'id': t.id, 'position': index, 'ticket': t.label, 'patient': f'{t.patient_name} · {t.patient_code}',
             'booked': clock(t.appointment_at) if t.appointment_at else 'walk-in',
             'priority': t.priority_reason if t.priority else '', 'arrived': clock(t.arrived_at),
             'wait': f'{t.wait_minutes} min'} for index, t in enumerate(view.waiting, start=1)]


def status_text(ticket: queue.TicketView) -> str:
    if ticket.status == TicketStatus.IN_SERVICE:
        return f'In consultation since {clock(ticket.started_at)}'
    if ticket.status == TicketStatus.CALLED:
        times = f' ({ticket.call_count}×)' if ticket.call_count > 1 else ''
        return f'Called at {clock(ticket.called_at)}{times}: waiting for the patient to come in'
    return ticket.status.value.replace('_', ' ').capitalize()


@staff_page(CONSULTATION)
async def consultation_page(actor: Actor):
    settings = clinic_settings.current()
    if actor.role == Role.DOCTOR:
        async with get_db().write() as session:
            mine = await queue.my_queue(session, actor)
        if mine is None:
            ui.label('Your account is not linked to a doctor yet: please ask an administrator.') \
                .classes('text-lg text-slate-700')
            return
        choices = {mine.id: mine.name}
    else:
        async with get_db().read() as session:
            choices = {q.id: q.name for q in await queue.list_queues(session, actor) if q.kind == QueueKind.DOCTOR}
        if not choices:
            ui.label('There are no doctors\' queues yet.').classes('text-lg text-slate-700')
            return
    current = {'id': next(iter(choices)), 'view': None}
    async with get_db().read() as session:
        destinations = await queue.transfer_targets(session, actor)
    targets = {q.id: f'{q.prefix} · {q.name}' for q in destinations}

    with ui.row().classes('w-full items-center justify-between gap-3'):
        with ui.column().classes('gap-0'):
            title = section_title('My queue' if actor.role == Role.DOCTOR else 'Queue')
            summary = ui.label().classes('text-slate-600').mark('queue-summary')
        if len(choices) > 1:
            async def choose(event) -> None:
                current['id'] = event.value
                await refresh()

            ui.select(choices, value=current['id'], label='Doctor', on_change=choose) \
                .props('outlined dense').classes('w-72').mark('queue-select')
        call_button = ui.button('Call next', icon='campaign', on_click=lambda: call_next()) \
            .props('size=lg no-caps unelevated').classes('px-6').mark('call-next')

    async def run(action: Callable[..., Awaitable], ticket_id: int, success: str | None = None, **kwargs) -> None:
        await staff_action(lambda s: action(s, actor, ticket_id, now=utcnow(), **kwargs), success=success)

    async def start_consultation(ticket: queue.TicketView) -> None:
        started = await staff_action(lambda s: queue.start(s, actor, ticket.id, now=utcnow()))
        if started is not None:
            ui.navigate.to(downloads.chart_url(ticket.visit_id))

    async def call_next() -> None:
        call_button.props('loading')
        try:
            ticket = await staff_action(lambda s: queue.call_next(s, actor, current['id'], tz=settings.tz,
                                                                  now=utcnow()))
        finally:
            call_button.props(remove='loading')
        if ticket is None and current['view'] is not None and not current['view'].waiting:
            ui.notify('Nobody is waiting.', type='info')
        elif ticket is not None:
            ui.notify(f'{ticket.label} called: {ticket.patient_name}', type='positive')

    # one "send to" dialog for the page, not a menu of every queue per patient: a call then adds a card of a
    # dozen elements, not of a hundred
    with ui.dialog() as send_dialog, ui.card().classes('w-[28rem] max-w-full'):
        send_title = ui.label().classes('text-lg font-semibold')
        send_buttons = {}
        with ui.column().classes('w-full gap-1'):
            stations = [q for q in destinations if q.kind != QueueKind.DOCTOR]
            doctors = [q for q in destinations if q.kind == QueueKind.DOCTOR]
            for caption, group in (('Lab, imaging and procedures', stations), ('Another doctor', doctors)):
                if group:
                    ui.label(caption).classes('text-sm text-slate-500 mt-1')
                for q in group:  # the lab first: where patients are sent most
                    send_buttons[q.id] = ui.button(targets[q.id], on_click=lambda q=q.id: send_to(q)) \
                        .props('flat no-caps align=left').classes('w-full').mark(f'send-to-{q.prefix}')
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=send_dialog.close).props('flat no-caps')
    sending: dict[str, queue.TicketView | None] = {'ticket': None}

    def choose_destination(ticket: queue.TicketView) -> None:
        sending['ticket'] = ticket
        send_title.set_text(f'Send {ticket.label} ({ticket.patient_name}) to…')
        for queue_id, button in send_buttons.items():
            button.set_visibility(queue_id != ticket.queue_id)
        send_dialog.open()

    async def send_to(queue_id: int) -> None:
        ticket = sending['ticket']
        send_dialog.close()
        if ticket is not None:
            await run(queue.transfer, ticket.id, f'{ticket.label} sent to {targets[queue_id]}',
                      to_queue_id=queue_id, tz=settings.tz)

    def active_card(ticket: queue.TicketView) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
        with ui.card().classes('w-full').mark(f'active-{ticket.label}') as card:
            with ui.row().classes('w-full items-center gap-6'):
                ui.label(ticket.label).classes('text-5xl font-bold text-primary').mark('active-ticket')
                with ui.column().classes('gap-0 grow'):
                    who = ui.label().classes('text-xl font-medium')
                    status = ui.label().classes('text-slate-600')
                    priority = ui.label().classes('text-amber-800')
            actions = ui.row().classes('gap-2')
        shown = {'status': None}

        def update(fresh: queue.TicketView) -> None:
            who.set_text(f'{fresh.patient_name} · {fresh.patient_code}')
            status.set_text(status_text(fresh))
            priority.set_text(f'Priority: {fresh.priority_reason}' if fresh.priority else '')
            priority.set_visibility(bool(fresh.priority))
            if fresh.status != shown['status']:  # other buttons for another step: only then rebuilt
                shown['status'] = fresh.status
                actions.clear()
                with actions:
                    active_buttons(fresh)
        return card, update

    def active_buttons(ticket: queue.TicketView) -> None:
        if ticket.status == TicketStatus.CALLED:
            ui.button('Start consultation', icon='play_arrow', on_click=lambda: start_consultation(ticket)) \
                .props('unelevated no-caps').mark('start')
            ui.button('Recall', icon='replay', on_click=lambda: run(
                queue.recall, ticket.id, f'{ticket.label} called again')).props('outline no-caps').mark('recall')
            ui.button('Skip', icon='skip_next', on_click=lambda: run(queue.skip, ticket.id)) \
                .props('outline no-caps').mark('skip')
        else:
            ui.button('Open chart', icon='description', on_click=lambda: ui.navigate.to(downloads.chart_url(ticket.visit_id))) \
                .props('unelevated no-caps').mark('open-chart')
            ui.button('Finish', icon='check', on_click=lambda: run(
                queue.finish, ticket.id, f'{ticket.label} finished')).props('outline no-caps').mark('finish')
        ui.button('Send to…', icon='forward', on_click=lambda: choose_destination(ticket)) \
            .props('outline no-caps').mark('send-to')
        ui.button('Undo last step', icon='undo', on_click=lambda: run(queue.undo, ticket.id)) \
            .props('flat no-caps').mark('undo')

    def skipped_row(ticket: queue.TicketView) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
        with ui.row().classes('w-full items-center gap-3').mark(f'skipped-{ticket.label}') as row:
            ui.label(ticket.label).classes('text-lg font-semibold w-20')
            name = ui.label().classes('grow')
            ui.button('Call again', icon='replay', on_click=lambda: run(queue.recall, ticket.id)) \
                .props('outline dense no-caps')
            ui.button('Back in line', on_click=lambda: run(queue.back_in_line, ticket.id)) \
                .props('flat dense no-caps')
            ui.button('No-show', on_click=lambda: run(queue.mark_no_show, ticket.id)) \
                .props('flat dense no-caps color=negative')
        return row, lambda fresh: name.set_text(fresh.patient_name)

    def finished_row(ticket: queue.TicketView) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
        with ui.row().classes('w-full items-center gap-3').mark(f'finished-{ticket.label}') as row:
            ui.label(ticket.label).classes('font-semibold w-20')
            name = ui.label().classes('grow')
            status = ui.label().classes('text-slate-500')
            ui.button('Undo', icon='undo', on_click=lambda: run(queue.undo, ticket.id)) \
                .props('flat dense no-caps').mark('undo-finished')

        def update(fresh: queue.TicketView) -> None:
            name.set_text(fresh.patient_name)
            status.set_text(fresh.status.value.replace('_', ' '))
        return row, update

    with ui.card().classes('w-full'):
        section_title('Now')
        nobody = ui.label('Nobody called yet. Press "Call next" when you are ready.') \
            .classes('text-slate-600').mark('nobody-called')
        active = KeyedList(ui.column().classes('w-full gap-4'), active_card, key=lambda t: t.id)
    with ui.row().classes('w-full items-start gap-4 no-wrap max-lg:flex-wrap'):
        with ui.column().classes('grow min-w-0 gap-2'):
            waiting_title = section_title('Waiting')
            table = ui.table(columns=WAITING_COLUMNS, rows=[], row_key='id') \
                .props('flat bordered wrap-cells hide-pagination no-data-label="Nobody is waiting."') \
                .classes('w-full').mark('waiting')
            table.pagination = {'rowsPerPage': 0}
        with ui.column().classes('w-full lg:w-[26rem] gap-2'):
            skipped_title = section_title('Skipped: called, did not come')
            skipped = KeyedList(ui.column().classes('w-full gap-2'), skipped_row, key=lambda t: t.id)
            finished_title = section_title('Recently finished')
            finished = KeyedList(ui.column().classes('w-full gap-2'), finished_row, key=lambda t: t.id)

    def show_lists(view: queue.QueueView) -> None:
        """Only what changed is sent: a call elsewhere in the clinic leaves this screen untouched."""
        nobody.set_visibility(not view.active)
        active.show(view.active)
        skipped_title.set_text(f'Skipped: called, did not come ({len(view.skipped)})')
        skipped_title.set_visibility(bool(view.skipped))
        skipped.show(view.skipped)
        finished_title.set_visibility(bool(view.finished))
        finished.show(view.finished[:5])

    heading = 'My appointments today' if actor.role == Role.DOCTOR else "All doctors' appointments today"
    booked = await appointment_rows.todays_rows(actor)
    with ui.expansion(f'{heading} ({len(booked)})', icon='event').classes('w-full bg-white rounded') \
            .mark('my-appointments-panel') as appointments_panel:
        columns = [c for c in appointment_rows.COLUMNS if c['name'] != 'doctor' or actor.role != Role.DOCTOR]
        appointments = data_table(columns, booked, empty='No appointments today.', mark='my-appointments')

    async def refresh_appointments() -> None:
        fresh = await appointment_rows.todays_rows(actor)
        appointments.rows = fresh
        appointments_panel.text = f'{heading} ({len(fresh)})'

    async def refresh(view: queue.QueueView | None = None) -> None:
        if view is None:
            async with get_db().read() as session:
                view = await queue.queue_view(session, actor, current['id'], tz=settings.tz, now=utcnow())
        current['view'] = view
        title.set_text(f'{"My queue" if actor.role == Role.DOCTOR else view.name} · {view.prefix}'
                       + (f' · {view.room_code}' if view.room_code else ''))
        summary.set_text(f'{len(view.waiting)} waiting · about {round(view.typical_minutes)} min per patient')
        waiting_title.set_text(f'Waiting ({len(view.waiting)})')
        table.rows = waiting_rows(view)
        call_button.set_enabled(bool(view.waiting))
        show_lists(view)

    async def on_queue(event: QueueChanged) -> None:
        if event.queue_id == current['id']:  # a queue this person may see (checked by the first refresh)
            await refresh(await live.queue_view(event))

    subscribe(QueueChanged, on_queue)
    subscribe(AppointmentChanged, refresh_appointments)
    await refresh()
