"""The cashier's page: the live queue of visits to settle; "Bill" / "Open" puts everything billable on the visit's
invoice and opens it."""
from __future__ import annotations

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui.live import subscribe
from clinic_ui.panels import LivePanel
from clinic_ui.routes import staff_page
from clinic_ui.service_point import service_point
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import data_table, money, on_row, section_title, staff_action, translated_columns
from models import QueueKind
from models.types import utcnow
from services import billing, clinic_settings
from services.access import Actor
from services.core.clock import local_time_text, local_today
from services.core.events import BillingChanged, VisitChanged
from services.core.i18n import N_, _

from .texts import visit_status_text

QUEUE_COLUMNS = [
    {'name': 'arrived', 'label': N_('Arrived'), 'field': 'arrived'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient'},
    {'name': 'doctor', 'label': N_('Doctor'), 'field': 'doctor'},
    {'name': 'status', 'label': N_('Visit'), 'field': 'status'},
    {'name': 'invoices', 'label': N_('Open bill'), 'field': 'invoices'},
    {'name': 'balance', 'label': N_('Balance due'), 'field': 'balance', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
QUEUE_ACTIONS = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" icon="receipt_long" class="q-px-sm"
         :label="props.row.action" @click="$parent.$emit('open', props.row.id)" />
</q-td>
'''


def queue_rows(rows: list[billing.QueueRow]) -> list[dict]:
    tz = clinic_settings.current().tz
    today, to_bill, bill, open_ = local_today(tz), _('to bill'), _('Bill'), _('Open')
    return [{'id': r.visit_id, 'arrived': local_time_text(r.checked_in_at, tz) if r.visit_date == today
             else r.visit_date.strftime('%d/%m'), 'patient': f'{r.patient_name} · {r.patient_code}',
             'doctor': r.doctor, 'status': visit_status_text(r.visit_status),
             'invoices': r.invoices or (to_bill if r.unbilled else ''), 'balance': money(r.balance) if r.balance else '',
             'unbilled': r.unbilled, 'action': bill if r.unbilled else open_} for r in rows]


class WaitingList(LivePanel[list[billing.QueueRow]]):
    """Invoices waiting for payment and visits to bill, oldest first."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-baseline justify-between'):
            self.title = section_title(_('Waiting to pay')).mark('queue-title')
            with ui.row().classes('items-baseline gap-4'):
                ui.link(_('Transactions & daily close'), '/cashier/transactions').mark('transactions-link')
        ui.label(_('Invoices waiting for payment and visits to bill, oldest first. The list updates by itself.')) \
            .classes('text-sm text-slate-600 -mt-2')
        self.table = data_table(translated_columns(QUEUE_COLUMNS), [], empty=_('Nobody is waiting to pay.'),
                                mark='cashier-queue')
        self.table.add_slot('body-cell-actions', QUEUE_ACTIONS)
        on_row(self.table, 'open', self.bill)

    async def read(self, session: AsyncSession) -> list[billing.QueueRow]:
        return await billing.cashier_queue(session, self.actor, today=local_today(clinic_settings.current().tz))

    def show(self, rows: list[billing.QueueRow]) -> None:
        self.table.rows = queue_rows(rows)
        self.title.set_text(_('Waiting to pay ({count})').format(count=len(rows)))

    async def bill(self, row: dict) -> None:
        """Put everything billable of the visit on its open invoice (made if needed), and open it."""
        invoice_id = await staff_action(lambda s: billing.bill_visit(s, self.actor, row['id'], now=utcnow()))
        if invoice_id is not None:
            ui.navigate.to(f'/cashier/invoices/{invoice_id}')


@staff_page(CASHIER)
async def cashier_page(actor: Actor):
    await service_point(actor, {QueueKind.CASHIER}, _('Cashier window'))

    waiting = WaitingList(actor)
    subscribe(BillingChanged, waiting.refresh)
    subscribe(VisitChanged, waiting.refresh)
    await waiting.load()
