"""The doctor's consultation page for one visit: history at a glance, the record (saved as a draft while typing),
ICD-10 search, orders, the prescription with stock and allergy warnings, a printable prescription, the follow-up
booking, and finishing the consultation (the patient then goes to lab / pharmacy / cashier).

URL: ``/consultation/visits/{visit_id}`` (the worklist's "Start consultation" links here).
"""
from __future__ import annotations

import asyncio

from nicegui import ui

from clinic_ui.lab_flags import alert_critical_results
from clinic_ui.live import on_missed, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import CONSULTATION
from clinic_ui.widgets import money, staff_action
from services import clinic_settings, consultation, icd10
from services.access import Actor
from services.core.clock import local_today
from services.core.events import OrdersChanged, VisitChanged
from services.core.i18n import N_, _

from .finish import FinishPanel
from .follow_up import FollowUpPanel
from .header import HistoryPanel, PatientHeader
from .orders import OrdersPanel, orderable
from .prescription import PrescriptionPanel
from .record import RecordPanel
from .visit import OpenVisit

COLUMNS = 'w-full grid gap-4 grid-cols-1 xl:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]'


async def open_visit(actor: Actor, visit_id: int) -> OpenVisit | None:
    """The visit's chart, its opening audited; or why it cannot be opened, with the way back to the queue."""
    settings = clinic_settings.current()
    refused = ui.label().classes('text-lg text-negative')
    chart = await staff_action(lambda s: consultation.chart(s, actor, visit_id, today=local_today(settings.tz),
                                                            currency_format=money), error_label=refused)
    if chart is None:
        ui.link(_('← Back to my queue'), '/consultation')
        return None
    refused.delete()
    return OpenVisit(actor, chart, settings)


@staff_page(CONSULTATION, '/consultation/visits/{visit_id}', title=N_('Consultation'), reconnect_timeout=30)
async def chart_page(actor: Actor, visit_id: int):
    await asyncio.to_thread(icd10.preload)
    visit = await open_visit(actor, visit_id)
    if visit is None:
        return
    header = PatientHeader(visit)
    with ui.element('div').classes(COLUMNS) as panels:
        with ui.column().classes('gap-4 min-w-0'):
            record = RecordPanel(visit)
            OrdersPanel(visit, await orderable(visit))
            PrescriptionPanel(visit)
            FollowUpPanel(visit)
        with ui.column().classes('gap-2 min-w-0'):
            HistoryPanel(visit)
    with header.actions:
        FinishPanel(visit, record)
    panels.mark('chart-panels')  # only now: every panel and action is on the page
    subscribe(OrdersChanged, visit.follow)
    subscribe(VisitChanged, visit.follow)
    on_missed(visit.reread)
    alert_critical_results(actor)
    visit.show()  # the record was filled in when its form was built: what is typed meanwhile stays
