"""The worklist of one station (laboratory, imaging or procedures), live: open orders first, then what was finished
in the last 12 hours. "Take" starts a pending order and opens its result; "Open" opens one already taken."""
from __future__ import annotations

from datetime import timedelta

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui import downloads
from clinic_ui.lab_flags import order_status_text
from clinic_ui.live import subscribe
from clinic_ui.panels import LivePanel
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.service_point import service_point
from clinic_ui.stations import SERVICES
from clinic_ui.widgets import data_table, on_row, section_title, staff_action, staff_read, translated_columns
from models import OrderStatus, QueueKind, ServiceKind
from models.types import utcnow
from services import clinic_settings, orders
from services.access import Actor
from services.core.events import OrdersChanged
from services.core.i18n import N_, _

from .dialogs import ResultDialog

STATIONS = {'lab': (N_('Laboratory'), [ServiceKind.LAB]), 'imaging': (N_('Imaging'), [ServiceKind.IMAGING]),
            'procedure': (N_('Procedures'), [ServiceKind.PROCEDURE])}
STATUS_ORDER = {OrderStatus.IN_PROGRESS: 0, OrderStatus.PENDING: 1, OrderStatus.COMPLETED: 2,
                OrderStatus.CANCELLED: 3}
COLUMNS = [
    {'name': 'ordered', 'label': N_('Ordered'), 'field': 'ordered'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient'},
    {'name': 'service', 'label': N_('Service'), 'field': 'service'},
    {'name': 'by', 'label': N_('Ordered by'), 'field': 'by'},
    {'name': 'status', 'label': N_('Status'), 'field': 'status'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" class="q-px-sm"
         :label="props.row.action" @click="$parent.$emit('open', props.row.id)" />
</q-td>
'''
STATUS_SLOT = r'''
<q-td :props="props">
  <q-badge :color="{pending: 'orange', in_progress: 'blue', completed: 'positive', cancelled: 'grey'}[props.row.state]"
           :label="props.value" />
</q-td>
'''
RECENT = timedelta(hours=12)


def rows_of(views: list[orders.OrderView]) -> list[dict]:
    tz = clinic_settings.current().tz
    views = sorted(views, key=lambda o: (STATUS_ORDER[o.status], o.ordered_at))
    return [{'id': o.id, 'ordered': o.ordered_at.astimezone(tz).strftime('%d/%m %H:%M'),
             'patient': f'{o.patient_name} · {o.patient_code}', 'service': o.service_name, 'by': o.ordered_by,
             'status': order_status_text(o.status), 'state': o.status.value,
             'action': _('Take') if o.status == OrderStatus.PENDING else _('Open')} for o in views]


class Worklist(LivePanel[list[orders.OrderView]]):
    """The chosen station's orders, with their counts; the toggle chooses the station."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.station = 'lab'
        with ui.row().classes('w-full items-center justify-between gap-3'):
            self.title = section_title(_('Worklist'))
            ui.toggle({key: _(name) for key, (name, __) in STATIONS.items()}, value='lab',
                      on_change=lambda e: self.choose(e.value)).props('no-caps unelevated toggle-color=primary') \
                .mark('station')
        self.counts = ui.label('').classes('text-slate-600').mark('worklist-counts')
        self.table = data_table(translated_columns(COLUMNS), [], empty=_('Nothing ordered for this station.'), mark='worklist')
        self.table.add_slot('body-cell-actions', ACTIONS_SLOT)
        self.table.add_slot('body-cell-status', STATUS_SLOT)
        on_row(self.table, 'open', self.open)

    async def read(self, session: AsyncSession) -> list[orders.OrderView]:
        return await orders.worklist(session, self.actor, STATIONS[self.station][1], since=utcnow() - RECENT)

    def show(self, views: list[orders.OrderView]) -> None:
        self.table.rows = rows_of(views)
        pending = sum(o.status == OrderStatus.PENDING for o in views)
        running = sum(o.status == OrderStatus.IN_PROGRESS for o in views)
        done = sum(o.status == OrderStatus.COMPLETED for o in views)
        self.title.set_text(_('Worklist · {station}').format(station=_(STATIONS[self.station][0])))
        self.counts.set_text(_('{pending} pending · {running} started · {done} completed in the last 12 hours')
                             .format(pending=pending, running=running, done=done))

    async def choose(self, station: str) -> None:
        self.station = station
        await self.load()

    async def open(self, row: dict) -> None:
        """Open the order's result; a pending order is taken first."""
        view = await staff_read(lambda s: orders.order(s, self.actor, row['id']))
        if view is not None and view.status == OrderStatus.PENDING:
            view = await self.take(view.id)
        if view is not None:
            ResultDialog(self.actor, view).open()

    async def take(self, order_id: int) -> orders.OrderView | None:
        """Start the order (only one technician gets it); returns it as it is now."""
        if await staff_action(lambda s: orders.start(s, self.actor, order_id, now=utcnow())) is None:
            return None
        return await staff_read(lambda s: orders.order(s, self.actor, order_id))


@staff_page(SERVICES, reconnect_timeout=30)
async def lab_page(actor: Actor):
    await service_point(actor, {QueueKind.LAB, QueueKind.IMAGING, QueueKind.PROCEDURE}, N_('Calling patients'))
    worklist = Worklist(actor)
    subscribe(OrdersChanged, worklist.refresh)
    await worklist.load()


@staff_file(SERVICES, '/lab/files/{file_id}')
async def lab_result_file(actor: Actor, file_id: int):
    return await downloads.result_file(actor, file_id)


@staff_file(SERVICES, '/lab/results/{order_id}.pdf')
async def lab_result_pdf(actor: Actor, order_id: int):
    return await downloads.result_pdf(actor, order_id)
