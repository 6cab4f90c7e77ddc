"""Lab tests, imaging and procedures for the visit, and their results as they arrive."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.lab_flags import order_status_text, value_line
from clinic_ui.widgets import error_text, money, section_title, staff_action, staff_read
from models import OrderStatus, Service
from models.types import utcnow
from services import consultation, orders
from services.core.events import OrdersChanged
from services.core.i18n import _, ngettext

from .visit import OpenVisit

STATUS_COLORS = {OrderStatus.PENDING: 'orange', OrderStatus.IN_PROGRESS: 'blue', OrderStatus.COMPLETED: 'positive',
                 OrderStatus.CANCELLED: 'grey'}


async def orderable(visit: OpenVisit) -> list[Service]:
    """What this doctor may order for the visit (nothing when it is not theirs to change)."""
    if not visit.chart.can_edit:
        return []
    return await staff_read(lambda s: orders.orderable_services(s, visit.actor)) or []


class OrdersPanel:
    """Order services; each order with its status, and its result (text, values, files) once the station has it."""
    follows = (OrdersChanged,)

    def __init__(self, visit: OpenVisit, services: list[Service]) -> None:
        self.visit = visit
        with ui.card().classes('w-full gap-3'):
            section_title(_('Lab, imaging and procedures'))
            with ui.row().classes('w-full items-start gap-2') as self.form:
                self.services = ui.select({s.id: f'{s.name} · {money(s.price)}' for s in services}, multiple=True,
                                          label=_('Order services'), with_input=True) \
                    .props('outlined use-chips').classes('grow min-w-[16rem]').mark('order-services')
                self.notes = ui.input(_('Note to the technician')).props('outlined').classes('w-64').mark('order-notes')
                ui.button(_('Order'), icon='add', on_click=self.place).props('unelevated no-caps') \
                    .classes('mt-2').mark('place-order')
            self.error = error_text()
            self.list = ui.column().classes('w-full gap-2')
        visit.watch(self)

    def show(self, chart: consultation.Chart) -> None:
        self.form.set_visibility(chart.editable)
        self.list.clear()
        with self.list:
            if not chart.orders:
                ui.label(_('Nothing ordered.')).classes('text-slate-500 text-sm')
            for order in chart.orders:
                self._order(order, cancellable=order.status == OrderStatus.PENDING and chart.editable)

    def _order(self, o: orders.OrderView, *, cancellable: bool) -> None:
        with ui.column().classes('w-full gap-1 border rounded p-2').mark(f'order-{o.id}'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.label(o.service_name).classes('font-medium')
                ui.badge(order_status_text(o.status), color=STATUS_COLORS[o.status]).mark('order-status')
                ui.label(money(o.price)).classes('text-sm text-slate-500')
                ui.space()
                if cancellable:
                    ui.button(_('Cancel'), on_click=lambda: self.cancel(o.id)) \
                        .props('flat dense no-caps color=negative')
            if o.result_text:
                ui.label(o.result_text).classes('text-sm whitespace-pre-line').mark('order-result')
            for v in o.values:
                value_line(v).mark('order-value')
            for f in o.files:
                ui.link(f'📎 {f.filename}', f'/consultation/files/{f.id}', new_tab=True).classes('text-sm')
            if o.values:
                ui.link('🖨 ' + _('Print result'), f'/consultation/results/{o.id}.pdf', new_tab=True) \
                    .classes('text-sm').mark('print-result')

    async def place(self) -> None:
        ids = list(self.services.value or [])
        created = await staff_action(lambda s: orders.place(s, self.visit.actor, self.visit.id, ids,
                                                            notes=self.notes.value or '', now=utcnow()),
                                     error_label=self.error)
        if created:
            ui.notify(ngettext("{count} service ordered: it is in the station's worklist.",
                               "{count} services ordered: they are in the station's worklist.", len(created)),
                      type='positive')
            self.services.set_value([])
            self.notes.set_value('')
            await self.visit.refresh()

    async def cancel(self, order_id: int) -> None:
        if await staff_action(lambda s: orders.cancel(s, self.visit.actor, order_id, reason='Cancelled by the doctor',
                                                      now=utcnow()), success=_('Order cancelled.')):
            await self.visit.refresh()
