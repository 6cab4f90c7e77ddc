"""The chart's main steps: send the patient to the lab or imaging before the consultation ends, or finish it (the
record is signed and the patient goes on to the lab, the pharmacy or the cashier)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import staff_action
from models.types import utcnow
from services import consultation, orders
from services.core.events import OrdersChanged, VisitChanged

from .record import RecordPanel
from .visit import OpenVisit


def ticket_text(label: str) -> str:
    return f' Ticket {label}: the patient can go there now.' if label else ''


class FinishPanel:
    """Both steps save what is typed first, and return to the worklist."""
    follows = (OrdersChanged, VisitChanged)

    def __init__(self, visit: OpenVisit, record: RecordPanel) -> None:
        self.visit = visit
        self.record = record
        self.send_button = ui.button('Send to lab / imaging', icon='biotech', on_click=self.send_to_services) \
            .props('outline no-caps').mark('send-to-services')
        self.finish_button = ui.button('Finish consultation', icon='task_alt', on_click=self.finish) \
            .props('unelevated no-caps size=md').mark('finish-consultation')
        visit.watch(self)

    def show(self, chart: consultation.Chart) -> None:
        self.send_button.set_visibility(chart.editable and any(o.status in orders.OPEN for o in chart.orders))
        self.finish_button.set_visibility(chart.editable)

    async def send_to_services(self) -> None:
        await self.record.flush()
        visit = self.visit
        label = await staff_action(lambda s: consultation.send_to_services(s, visit.actor, visit.id, tz=visit.tz,
                                                                           now=utcnow()))
        if label is None:
            return
        ui.notify('Sent to the lab / imaging. The record stays a draft until the patient comes back.'
                  + ticket_text(label), type='positive', multi_line=True)
        ui.navigate.to('/consultation')

    async def finish(self) -> None:
        await self.record.flush()
        visit = self.visit
        done = await staff_action(lambda s: consultation.finish(s, visit.actor, visit.id, tz=visit.tz, now=utcnow()),
                                  error_label=self.record.error)
        if done is None:
            return
        ui.notify(f'Consultation finished: the patient is now {consultation.status_text(done.status)}.'
                  + ticket_text(done.ticket_label), type='positive', multi_line=True)
        ui.navigate.to('/consultation')
