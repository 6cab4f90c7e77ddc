"""The chart's main steps: send the patient to the lab or imaging before the consultation ends, or finish it (the
record is signed and the patient goes on to the lab, the pharmacy or the cashier). With results still open,
finishing asks first: wait for the results (the patient goes to the lab and comes back), or finish now without
waiting (the results go to the chart). A patient sent to the lab gets a ticket whose slip the doctor can print."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import section_title, staff_action
from models.types import utcnow
from services import consultation, orders
from services.core.events import OrdersChanged, VisitChanged
from services.core.i18n import _, ngettext

from .record import RecordPanel
from .visit import OpenVisit

WORKLIST = '/consultation'


def with_ticket(text: str, label: str) -> str:
    """``text``, then where the patient's new ticket lets them go (when they have one)."""
    if not label:
        return text
    return text + ' ' + _('Ticket {ticket}: the patient can go there now.').format(ticket=label)


def slip_url(visit_id: int) -> str:
    """The slip of the visit's latest ticket (the lab's, once sent there)."""
    return f'/consultation/tickets/{visit_id}.pdf'


class SlipDialog:
    """The patient was sent to a station: their ticket, its slip to print, and the way back to the worklist."""

    def __init__(self, visit_id: int) -> None:
        with ui.dialog().props('persistent') as self.dialog, \
                ui.card().classes('w-full max-w-md gap-3').mark('slip-dialog'):
            self.title = section_title('')
            self.text = ui.label().classes('text-slate-700')
            with ui.row().classes('w-full items-center justify-end gap-4'):
                ui.link(_('Print the ticket slip'), slip_url(visit_id), new_tab=True).mark('print-slip')
                ui.button(_('Back to my queue'), on_click=lambda: ui.navigate.to(WORKLIST)) \
                    .props('unelevated no-caps').mark('back-to-queue')

    def open(self, label: str, text: str) -> None:
        self.title.set_text(_('Ticket {ticket}').format(ticket=label))
        self.text.set_text(text)
        self.dialog.open()


class ResultsPendingDialog:
    """Finishing while ordered tests have no result: the doctor chooses how."""

    def __init__(self, panel: FinishPanel) -> None:
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-3').mark('results-pending-dialog'):
            section_title(_('Results are still pending'))
            self.text = ui.label().classes('text-slate-700')
            ui.button(_('Send to the lab and finish when results are in'), icon='biotech',
                      on_click=lambda: self.choose(panel, 'wait')) \
                .props('unelevated no-caps').classes('w-full').mark('finish-wait')
            ui.button(_('Finish now without waiting (results go to the chart)'), icon='task_alt',
                      on_click=lambda: self.choose(panel, 'finish')) \
                .props('outline no-caps').classes('w-full').mark('finish-now')
            ui.button(_('Back to the chart'), on_click=self.dialog.close).props('flat no-caps').classes('self-end')

    def open(self, pending: int) -> None:
        self.text.set_text(ngettext('{count} ordered test has no result yet.',
                                    '{count} ordered tests have no result yet.', pending))
        self.dialog.open()

    async def choose(self, panel: FinishPanel, open_orders: consultation.OpenOrders) -> None:
        self.dialog.close()
        await panel.finish_with(open_orders)


class FinishPanel:
    """Both steps save what is typed first, and return to the worklist."""
    follows = (OrdersChanged, VisitChanged)

    def __init__(self, visit: OpenVisit, record: RecordPanel) -> None:
        self.visit = visit
        self.record = record
        self.pending = 0
        self.send_button = ui.button(_('Send to lab / imaging'), icon='biotech', on_click=self.send_to_services) \
            .props('outline no-caps').mark('send-to-services')
        self.finish_button = ui.button(_('Finish consultation'), icon='task_alt', on_click=self.finish) \
            .props('unelevated no-caps size=md').mark('finish-consultation')
        self.ask = ResultsPendingDialog(self)
        self.slip = SlipDialog(visit.id)
        visit.watch(self)

    def show(self, chart: consultation.Chart) -> None:
        self.pending = sum(o.status in orders.OPEN for o in chart.orders)
        self.send_button.set_visibility(chart.editable and self.pending > 0)
        self.finish_button.set_visibility(chart.editable)

    async def send_to_services(self) -> None:
        await self.record.flush()
        visit = self.visit
        label = await staff_action(lambda s: consultation.send_to_services(s, visit.actor, visit.id, tz=visit.tz,
                                                                           now=utcnow()))
        if label is not None:
            self.sent(label)

    def sent(self, label: str) -> None:
        """Sent to the lab to come back with the results: the ticket's slip, or straight back to the worklist."""
        text = _('Sent to the lab / imaging. The record stays a draft until the patient comes back.')
        if not label:
            ui.notify(text, type='positive', multi_line=True)
            ui.navigate.to(WORKLIST)
            return
        self.slip.open(label, with_ticket(text, label))

    async def finish(self) -> None:
        await self.record.flush()
        if self.pending:
            self.ask.open(self.pending)
            return
        await self.finish_with('refuse')

    async def finish_with(self, open_orders: consultation.OpenOrders) -> None:
        visit = self.visit
        done = await staff_action(lambda s: consultation.finish(s, visit.actor, visit.id, tz=visit.tz, now=utcnow(),
                                                                open_orders=open_orders),
                                  error_label=self.record.error)
        if done is None:
            return
        if done.awaiting_results:
            self.sent(done.ticket_label)
            return
        text = _('Consultation finished: the patient is now {status}.').format(
            status=consultation.status_text(done.status))
        if done.ticket_label:  # a new number at the pharmacy or the cashier: its slip, to hand over
            self.slip.open(done.ticket_label, with_ticket(text, done.ticket_label))
            return
        ui.notify(text, type='positive', multi_line=True)
        ui.navigate.to(WORKLIST)
