"""Consultation: the doctor's worklist, live. Call next, recall (repeat the call on the board), skip, start the
consultation, finish, send to the lab or another doctor, undo a wrong step. Admins can open any doctor's queue."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui import appointment_rows, downloads, live
from clinic_ui.lab_flags import alert_critical_results
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import CONSULTATION
from clinic_ui.widgets import KeyedList, data_table, section_title, staff_action, staff_read, translated_columns
from models import QueueKind, Role, TicketStatus
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.clock import local_time_text
from services.core.events import AppointmentChanged, QueueChanged, ResultsReady
from services.core.i18n import N_, _, ngettext, pick

from .dialogs import SendDialog

WAITING_COLUMNS = [
    {'name': 'position', 'label': '#', 'field': 'position', 'align': 'right'},
    {'name': 'ticket', 'label': N_('Ticket'), 'field': 'ticket', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient', 'align': 'left'},
    {'name': 'booked', 'label': N_('Booked for'), 'field': 'booked', 'align': 'left'},
    {'name': 'priority', 'label': N_('Priority'), 'field': 'priority', 'align': 'left'},
    {'name': 'arrived', 'label': N_('Arrived'), 'field': 'arrived', 'align': 'left'},
    {'name': 'wait', 'label': N_('Est. wait'), 'field': 'wait', 'align': 'right', 'classes': 'whitespace-nowrap'},
    {'name': 'results', 'label': '', 'field': 'results', 'align': 'left'},
]
# a ticket's state as the worklist writes it
TICKET_STATES = {TicketStatus.WAITING: N_('waiting'), TicketStatus.CALLED: N_('called'),
                 TicketStatus.IN_SERVICE: N_('in service'), TicketStatus.DONE: N_('done'),
                 TicketStatus.SKIPPED: N_('skipped'), TicketStatus.NO_SHOW: N_('no show'),
                 TicketStatus.TRANSFERRED: N_('transferred'), TicketStatus.CANCELLED: N_('cancelled')}
RESULTS_SLOT = r'''
<q-td :props="props"><q-badge v-if="props.value" color="positive" icon="science" :label="props.value" /></q-td>
'''


def clock(moment: datetime | None) -> str:
    return local_time_text(moment, clinic_settings.current().tz) if moment else ''


def state_text(status: TicketStatus) -> str:
    return _(TICKET_STATES[status]) if status in TICKET_STATES else status.value


def waiting_rows(view: queue.QueueView) -> list[dict]:
    return [{'id': t.id, 'position': index, 'ticket': t.label, 'patient': f'{t.patient_name} · {t.patient_code}',
             'booked': clock(t.appointment_at) if t.appointment_at else _('walk-in'),
             'priority': t.priority_reason if t.priority else '', 'arrived': clock(t.arrived_at),
             'wait': _('{minutes} min').format(minutes=t.wait_minutes),
             'results': _('results ready') if t.back_with_results else ''}
            for index, t in enumerate(view.waiting, start=1)]


def status_text(ticket: queue.TicketView) -> str:
    if ticket.status == TicketStatus.IN_SERVICE:
        return _('In consultation since {time}').format(time=clock(ticket.started_at))
    if ticket.status == TicketStatus.CALLED:
        if ticket.call_count > 1:
            return _('Called at {time} ({count}×): waiting for the patient to come in').format(
                time=clock(ticket.called_at), count=ticket.call_count)
        return _('Called at {time}: waiting for the patient to come in').format(time=clock(ticket.called_at))
    text = state_text(ticket.status)
    return text[:1].upper() + text[1:]


async def _own_queue(session: AsyncSession, actor: Actor) -> dict[int, str]:
    mine = await queue.my_queue(session, actor)
    return {mine.id: mine.name} if mine else {}


async def queues_of(actor: Actor) -> dict[int, str] | None:
    """The queues this person works from: a doctor's own, every doctor's for an administrator (None: not read,
    the person was told why)."""
    if actor.role == Role.DOCTOR:
        return await staff_action(lambda s: _own_queue(s, actor))
    queues = await staff_read(lambda s: queue.list_queues(s, actor))
    return None if queues is None else {q.id: pick(q.name, q.name_translations) for q in queues if q.kind == QueueKind.DOCTOR}


class Worklist:
    """The queue on screen and its latest view; the panels that show it register here (``watch``)."""

    def __init__(self, actor: Actor, queues: dict[int, str]) -> None:
        self.actor = actor
        self.queues = queues
        self.queue_id = next(iter(queues))
        self.view: queue.QueueView | None = None
        self.panels: list = []

    def watch(self, panel) -> None:
        self.panels.append(panel)

    async def choose(self, queue_id: int) -> None:
        self.queue_id = queue_id
        await self.refresh()

    async def refresh(self) -> None:
        view = await staff_read(lambda s: queue.queue_view(s, self.actor, self.queue_id,
                                                           tz=clinic_settings.current().tz, now=utcnow()))
        if view is not None:
            self.show(view)

    async def follow(self, event: QueueChanged) -> None:
        if event.queue_id == self.queue_id:  # a queue this person may see (checked by the first refresh)
            view = await live.queue_view(event)
            if view is not None:
                self.show(view)

    async def results_ready(self, event: ResultsReady) -> None:
        """A patient this doctor waited for is back with every result: said at once, and shown in the list."""
        if event.queue_id != self.queue_id:
            return
        await self.refresh()
        waiting = self.view.waiting if self.view else []
        back = next((t for t in waiting if t.id == event.ticket_id), None)
        ui.notify(_('Results ready: {patient} ({ticket}) is back in your queue.').format(
            patient=back.patient_name, ticket=back.label) if back is not None
            else _('Results ready: A patient is back in your queue.'), type='info', multi_line=True)

    def show(self, view: queue.QueueView) -> None:
        """Only what changed is sent: a call elsewhere in the clinic leaves this screen untouched."""
        self.view = view
        for panel in self.panels:
            panel.show(view)


class QueueHeader:
    """Whose queue, how many wait, the doctor to choose (administrators), and "Call next"."""

    def __init__(self, worklist: Worklist) -> None:
        self.worklist = worklist
        doctor = worklist.actor.role == Role.DOCTOR
        with ui.row().classes('w-full items-center justify-between gap-3'):
            with ui.column().classes('gap-0'):
                self.title = section_title(_('My queue') if doctor else _('Queue'))
                self.summary = ui.label().classes('text-slate-600').mark('queue-summary')
            if len(worklist.queues) > 1:
                ui.select(worklist.queues, value=worklist.queue_id, label=_('Doctor'),
                          on_change=lambda e: worklist.choose(e.value)) \
                    .props('outlined dense').classes('w-72').mark('queue-select')
            self.call_button = ui.button(_('Call next'), icon='campaign', on_click=self.call_next) \
                .props('size=lg no-caps unelevated').classes('px-6').mark('call-next')
        worklist.watch(self)

    def show(self, view: queue.QueueView) -> None:
        name = _('My queue') if self.worklist.actor.role == Role.DOCTOR else view.title
        self.title.set_text(f'{name} · {view.prefix}' + (f' · {view.room_code}' if view.room_code else ''))
        self.summary.set_text(ngettext('{count} waiting · about {minutes} min per patient',
                                       '{count} waiting · about {minutes} min per patient', len(view.waiting),
                                       minutes=round(view.typical_minutes)))
        self.call_button.set_enabled(bool(view.waiting))

    async def call_next(self) -> None:
        worklist = self.worklist
        self.call_button.props('loading')
        try:
            called = await live.call_next_first(lambda: staff_action(lambda s: queue.call_next_shown(
                s, worklist.actor, worklist.queue_id, tz=clinic_settings.current().tz, now=utcnow())),
                worklist.queue_id, worklist.show)
        finally:
            self.call_button.props(remove='loading')
        ticket = called.ticket if called is not None else None
        if ticket is None and worklist.view is not None and not worklist.view.waiting:
            ui.notify(_('Nobody is waiting.'), type='info')
        elif ticket is not None:
            ui.notify(_('{ticket} called: {patient}').format(ticket=ticket.label, patient=ticket.patient_name),
                      type='positive')


class TicketActions:
    """A ticket's buttons: each one step of the queue, on the ticket as last shown."""

    def __init__(self, actor: Actor, ticket: queue.TicketView) -> None:
        self.actor = actor
        self.ticket = ticket

    async def step(self, step: Callable, success: str | None = None) -> queue.TicketView | None:
        return await staff_action(lambda s: step(s, self.actor, self.ticket.id, now=utcnow()), success=success)

    async def recall(self) -> None:
        await self.step(queue.recall, _('{ticket} called again').format(ticket=self.ticket.label))

    async def call_again(self) -> None:
        await self.step(queue.recall)

    async def skip(self) -> None:
        await self.step(queue.skip)

    async def back_in_line(self) -> None:
        await self.step(queue.back_in_line)

    async def no_show(self) -> None:
        await self.step(queue.mark_no_show)

    async def finish(self) -> None:
        await self.step(queue.finish, _('{ticket} finished').format(ticket=self.ticket.label))

    async def undo(self) -> None:
        await self.step(queue.undo)

    async def start(self) -> None:
        if await self.step(queue.start) is not None:
            ui.navigate.to(downloads.chart_url(self.ticket.visit_id))

    def open_chart(self) -> None:
        ui.navigate.to(downloads.chart_url(self.ticket.visit_id))


class ActiveCard(TicketActions):
    """A called patient, or one in consultation: the big number, who, since when, and the next steps."""

    def __init__(self, actor: Actor, ticket: queue.TicketView, send: SendDialog) -> None:
        super().__init__(actor, ticket)
        self.send = send
        self.status: TicketStatus | None = None
        with ui.card().classes('w-full').mark(f'active-{ticket.label}') as self.root:
            with ui.row().classes('w-full items-center gap-6'):
                ui.label(ticket.label).classes('text-5xl font-bold text-primary').mark('active-ticket')
                with ui.column().classes('gap-0 grow'):
                    self.who = ui.label().classes('text-xl font-medium')
                    self.since = ui.label().classes('text-slate-600')
                    self.priority = ui.label().classes('text-amber-800')
                self.results = ui.badge(_('results ready'), color='positive').props('outline') \
                    .classes('text-base').mark('active-results-ready')
            self.actions = ui.row().classes('gap-2')

    def show(self, ticket: queue.TicketView) -> None:
        self.ticket = ticket
        self.who.set_text(f'{ticket.patient_name} · {ticket.patient_code}')
        self.since.set_text(status_text(ticket))
        self.priority.set_text(_('Priority: {reason}').format(reason=ticket.priority_reason) if ticket.priority
                               else '')
        self.priority.set_visibility(bool(ticket.priority))
        self.results.set_visibility(ticket.back_with_results)
        if ticket.status != self.status:  # other buttons for another step: only then rebuilt
            self.status = ticket.status
            self.actions.clear()
            with self.actions:
                self._buttons(ticket.status)

    def _buttons(self, status: TicketStatus) -> None:
        if status == TicketStatus.CALLED:
            ui.button(_('Start consultation'), icon='play_arrow', on_click=self.start) \
                .props('unelevated no-caps').mark('start')
            ui.button(_('Recall'), icon='replay', on_click=self.recall).props('outline no-caps').mark('recall')
            ui.button(_('Skip'), icon='skip_next', on_click=self.skip).props('outline no-caps').mark('skip')
        else:
            ui.button(_('Open chart'), icon='description', on_click=self.open_chart) \
                .props('unelevated no-caps').mark('open-chart')
            ui.button(_('Finish'), icon='check', on_click=self.finish).props('outline no-caps').mark('finish')
        ui.button(_('Send to…'), icon='forward', on_click=lambda: self.send.open(self.ticket)) \
            .props('outline no-caps').mark('send-to')
        ui.button(_('Undo last step'), icon='undo', on_click=self.undo).props('flat no-caps').mark('undo')


class SkippedRow(TicketActions):
    """Called, did not come: call again, back in line, or no-show."""

    def __init__(self, actor: Actor, ticket: queue.TicketView) -> None:
        super().__init__(actor, ticket)
        with ui.row().classes('w-full items-center gap-3').mark(f'skipped-{ticket.label}') as self.root:
            ui.label(ticket.label).classes('text-lg font-semibold w-20 shrink-0 whitespace-nowrap')
            self.name = ui.label().classes('grow')
            with ui.row().classes('gap-1 items-center'):  # the three steps wrap together, under the name
                ui.button(_('Call again'), icon='replay', on_click=self.call_again).props('outline dense no-caps')
                ui.button(_('Back in line'), on_click=self.back_in_line).props('flat dense no-caps')
                ui.button(_('No-show'), on_click=self.no_show).props('flat dense no-caps color=negative')

    def show(self, ticket: queue.TicketView) -> None:
        self.ticket = ticket
        self.name.set_text(ticket.patient_name)


class FinishedRow(TicketActions):
    """Done (or gone elsewhere) lately: undo when it was a mistake."""

    def __init__(self, actor: Actor, ticket: queue.TicketView) -> None:
        super().__init__(actor, ticket)
        with ui.row().classes('w-full items-center gap-3 no-wrap').mark(f'finished-{ticket.label}') as self.root:
            ui.label(ticket.label).classes('font-semibold w-20 shrink-0 whitespace-nowrap')
            self.name = ui.label().classes('grow min-w-0')
            self.status = ui.label().classes('text-slate-500 shrink-0')
            ui.button(_('Undo'), icon='undo', on_click=self.undo).props('flat dense no-caps').classes('shrink-0') \
                .mark('undo-finished')

    def show(self, ticket: queue.TicketView) -> None:
        self.ticket = ticket
        self.name.set_text(ticket.patient_name)
        self.status.set_text(state_text(ticket.status))


class NowPanel:
    """The patients called in or in consultation."""

    def __init__(self, worklist: Worklist, send: SendDialog) -> None:
        actor = worklist.actor
        with ui.card().classes('w-full'):
            section_title(_('Now'))
            self.nobody = ui.label(_('Nobody called yet. Press "Call next" when you are ready.')) \
                .classes('text-slate-600').mark('nobody-called')
            self.active = KeyedList(ui.column().classes('w-full gap-4'),
                                    lambda t: keyed(ActiveCard(actor, t, send)), key=lambda t: t.id)
        worklist.watch(self)

    def show(self, view: queue.QueueView) -> None:
        self.nobody.set_visibility(not view.active)
        self.active.show(view.active)


class WaitingPanel:
    """Who waits, in calling order, with the estimated wait."""

    def __init__(self, worklist: Worklist) -> None:
        with ui.column().classes('grow min-w-0 gap-2'):
            self.title = section_title(_('Waiting'))
            self.table = ui.table(columns=translated_columns(WAITING_COLUMNS), rows=[], row_key='id') \
                .props('flat bordered wrap-cells hide-pagination').classes('w-full').mark('waiting')
            self.table.props['no-data-label'] = _('Nobody is waiting.')
            self.table.pagination = {'rowsPerPage': 0}
            self.table.add_slot('body-cell-results', RESULTS_SLOT)
        worklist.watch(self)

    def show(self, view: queue.QueueView) -> None:
        self.title.set_text(_('Waiting ({count})').format(count=len(view.waiting)))
        self.table.rows = waiting_rows(view)


class AsidePanel:
    """The skipped patients and the latest finished ones."""

    def __init__(self, worklist: Worklist) -> None:
        actor = worklist.actor
        with ui.column().classes('w-full lg:w-[26rem] gap-2'):
            self.skipped_title = section_title(_('Skipped: called, did not come'))
            self.skipped = KeyedList(ui.column().classes('w-full gap-2'), lambda t: keyed(SkippedRow(actor, t)),
                                     key=lambda t: t.id)
            self.finished_title = section_title(_('Recently finished'))
            self.finished = KeyedList(ui.column().classes('w-full gap-2'), lambda t: keyed(FinishedRow(actor, t)),
                                      key=lambda t: t.id)
        worklist.watch(self)

    def show(self, view: queue.QueueView) -> None:
        self.skipped_title.set_text(_('Skipped: called, did not come ({count})').format(count=len(view.skipped)))
        self.skipped_title.set_visibility(bool(view.skipped))
        self.skipped.show(view.skipped)
        self.finished_title.set_visibility(bool(view.finished))
        self.finished.show(view.finished[:5])


def keyed(item: ActiveCard | SkippedRow | FinishedRow) -> tuple[ui.element, Callable[[queue.TicketView], None]]:
    """What ``KeyedList`` keeps of an item on screen: its root element and how it shows a newer version."""
    return item.root, item.show


class AppointmentsPanel:
    """Today's appointments (the doctor's own; every doctor's for an administrator), folded away."""

    def __init__(self, actor: Actor, rows: list[dict]) -> None:
        self.actor = actor
        doctor = actor.role == Role.DOCTOR
        self.heading = _('My appointments today') if doctor else _("All doctors' appointments today")
        with ui.expansion(f'{self.heading} ({len(rows)})', icon='event').classes('w-full bg-white rounded') \
                .mark('my-appointments-panel') as self.panel:
            columns = appointment_rows.columns(('doctor',) if doctor else ())
            self.table = data_table(columns, rows, empty=_('No appointments today.'), mark='my-appointments')

    async def refresh(self) -> None:
        rows = await appointment_rows.todays_rows(self.actor)
        self.table.rows = rows
        self.panel.text = f'{self.heading} ({len(rows)})'


@staff_page(CONSULTATION)
async def consultation_page(actor: Actor):
    alert_critical_results(actor)
    queues = await queues_of(actor)
    if not queues:
        if queues is not None:
            ui.label(_('Your account is not linked to a doctor yet: please ask an administrator.')
                     if actor.role == Role.DOCTOR else _("There are no doctors' queues yet.")) \
                .classes('text-lg text-slate-700')
        return
    destinations = await staff_read(lambda s: queue.transfer_targets(s, actor))
    if destinations is None:
        return
    worklist = Worklist(actor, queues)
    QueueHeader(worklist)
    send = SendDialog(actor, destinations)
    NowPanel(worklist, send)
    with ui.row().classes('w-full items-start gap-4 no-wrap max-lg:flex-wrap'):
        WaitingPanel(worklist)
        AsidePanel(worklist)
    appointments = AppointmentsPanel(actor, await appointment_rows.todays_rows(actor))
    subscribe(QueueChanged, worklist.follow)
    subscribe(ResultsReady, worklist.results_ready)
    live.on_missed(worklist.refresh)
    subscribe(AppointmentChanged, appointments.refresh)
    await worklist.refresh()
