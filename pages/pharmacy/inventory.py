"""The pharmacy's stock page: every medicine with its usable stock; goods in and the ledger of each."""
from __future__ import annotations

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui.live import subscribe
from clinic_ui.panels import LivePanel
from clinic_ui.routes import staff_page
from clinic_ui.stations import PHARMACY
from clinic_ui.widgets import data_table, on_row, section_title, staff_read, translated_columns
from services import clinic_settings, inventory
from services.access import Actor
from services.core.clock import local_today
from services.core.events import StockChanged
from services.core.i18n import N_, _

from .dialogs import GoodsInDialog, LedgerDialog

STOCK_COLUMNS = [
    {'name': 'code', 'label': N_('Code'), 'field': 'code'},
    {'name': 'name', 'label': N_('Medicine'), 'field': 'name'},
    {'name': 'usable', 'label': N_('Usable'), 'field': 'usable', 'align': 'right'},
    {'name': 'on_hand', 'label': N_('On hand'), 'field': 'on_hand', 'align': 'right'},
    {'name': 'reorder', 'label': N_('Reorder at'), 'field': 'reorder', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
OPEN_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn flat dense no-caps color="primary" :label="props.row.ledger_label"
         @click="$parent.$emit('ledger', props.row.id)" />
  <q-btn flat dense no-caps color="primary" :label="props.row.receive_label"
         @click="$parent.$emit('receive', props.row.id)" />
</q-td>
'''


def stock_rows(items: list[inventory.MedicineStock]) -> list[dict]:
    ledger, receive = _('Ledger'), _('Goods in')
    return [{'id': m.id, 'code': m.code, 'name': m.name, 'usable': f'{m.usable} {m.unit}',
             'on_hand': m.on_hand, 'reorder': m.reorder_level, 'ledger_label': ledger, 'receive_label': receive}
            for m in items]


class StockList(LivePanel[list[inventory.MedicineStock]]):
    """Stock by medicine (live); each row opens the medicine's ledger or takes goods in."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        section_title(_('Stock by medicine'))
        self.table = data_table(translated_columns(STOCK_COLUMNS), [], empty=_('No medicines.'), mark='stock', rows_per_page=15)
        self.table.add_slot('body-cell-actions', OPEN_SLOT)
        on_row(self.table, 'ledger', self.open_ledger)
        on_row(self.table, 'receive', self.receive)

    async def read(self, session: AsyncSession) -> list[inventory.MedicineStock]:
        return await inventory.medicines(session, self.actor, today=local_today(clinic_settings.current().tz))

    def show(self, items: list[inventory.MedicineStock]) -> None:
        self.table.rows = stock_rows(items)

    def receive(self, row: dict) -> None:
        GoodsInDialog(self.actor, row['id'], row['name']).open()

    async def open_ledger(self, row: dict) -> None:
        ledger = await staff_read(lambda s: inventory.ledger(s, self.actor, row['id']))
        if ledger is not None:
            LedgerDialog(self.actor, ledger).open()


@staff_page(PHARMACY, '/pharmacy/inventory', title=N_('Inventory'))
async def inventory_page(actor: Actor):
    with ui.row().classes('w-full items-center justify-between'):
        ui.link(_('← Pharmacy'), '/pharmacy')

    stock = StockList(actor)
    subscribe(StockChanged, stock.refresh)
    await stock.load()
