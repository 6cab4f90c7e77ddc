"""Pharmacy inventory: goods in, adjustments with a reason, and the stock ledger of a medicine (it adds up)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import PHARMACY
from clinic_ui.widgets import data_table, error_text, on_row, section_title, staff_action
from models.types import utcnow
from services import clinic_settings, inventory
from services.access import Actor
from services.core.clock import local_today
from services.core.db import get_db
from services.core.events import StockChanged
from services.inventory import ADJUSTMENT_REASONS, GoodsIn
from services.patients import parse_date

STOCK_COLUMNS = [
    {'name': 'code', 'label': 'Code', 'field': 'code'},
    {'name': 'name', 'label': 'Medicine', 'field': 'name'},
    {'name': 'usable', 'label': 'Usable', 'field': 'usable', 'align': 'right'},
    {'name': 'on_hand', 'label': 'On hand', 'field': 'on_hand', 'align': 'right'},
    {'name': 'reorder', 'label': 'Reorder at', 'field': 'reorder', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
LEDGER_COLUMNS = [
    {'name': 'at', 'label': 'When', 'field': 'at'},
    {'name': 'kind', 'label': 'Movement', 'field': 'kind'},
    {'name': 'batch', 'label': 'Batch', 'field': 'batch'},
    {'name': 'quantity', 'label': 'Change', 'field': 'quantity', 'align': 'right'},
    {'name': 'balance', 'label': 'Balance', 'field': 'balance', 'align': 'right'},
    {'name': 'reason', 'label': 'Reason', 'field': 'reason'},
    {'name': 'by', 'label': 'By', 'field': 'by'},
]
OPEN_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn flat dense no-caps color="primary" label="Ledger" @click="$parent.$emit('ledger', props.row.id)" />
  <q-btn flat dense no-caps color="primary" label="Goods in" @click="$parent.$emit('receive', props.row.id)" />
</q-td>
'''


def stock_rows(items: list[inventory.MedicineStock]) -> list[dict]:
    return [{'id': m.id, 'code': m.code, 'name': m.name, 'usable': f'{m.usable} {m.unit}',
             'on_hand': m.on_hand, 'reorder': m.reorder_level} for m in items]


@staff_page(PHARMACY, '/pharmacy/inventory', title='Inventory')
async def inventory_page(actor: Actor):
    tz = clinic_settings.current().tz

    async def load() -> list[inventory.MedicineStock]:
        async with get_db().read() as session:
            return await inventory.medicines(session, actor, today=local_today(tz))

    with ui.row().classes('w-full items-center justify-between'):
        ui.link('← Pharmacy', '/pharmacy')
    section_title('Stock by medicine')
    table = data_table(STOCK_COLUMNS, stock_rows(await load()), empty='No medicines.', mark='stock',
                       rows_per_page=15)
    table.add_slot('body-cell-actions', OPEN_SLOT)

    async def refresh() -> None:
        table.rows = stock_rows(await load())

    def receive_dialog(medicine_id: int, name: str) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('receive-dialog'):
            section_title(f'Goods in: {name}')
            batch_no = ui.input('Batch number *').props('outlined dense').mark('batch-no')
            expiry = ui.input('Expiry (dd/mm/yyyy) *').props('outlined dense inputmode=numeric').mark('expiry')
            supplier = ui.input('Supplier').props('outlined dense').mark('supplier')
            with ui.row().classes('w-full gap-2 no-wrap'):
                quantity = ui.input('Quantity *').props('outlined dense inputmode=numeric').classes('grow') \
                    .mark('receive-quantity')
                cost = ui.input('Unit cost').props('outlined dense inputmode=numeric').classes('grow') \
                    .mark('unit-cost')
            error = error_text()

            async def confirm() -> None:
                if receive_button.props.get('loading'):
                    return  # a double click receives once
                receive_button.props('loading')
                try:
                    await receive_now()
                finally:
                    receive_button.props(remove='loading')

            async def receive_now() -> None:
                day = parse_date(expiry.value or '') if (expiry.value or '').strip() else None
                if (expiry.value or '').strip() and day is None:
                    error.set_text('Please write the expiry date as dd/mm/yyyy, e.g. 31/12/2027.')
                    return
                data = GoodsIn(medicine_id, batch_no.value or '', day, supplier.value or '', quantity.value or '',
                               cost.value or '')
                done = await staff_action(lambda s: inventory.receive(s, actor, data, today=local_today(tz),
                                                                      now=utcnow()),
                                          error_label=error, success='Goods received.')
                if done is not None:
                    dialog.close()

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                receive_button = ui.button('Receive', icon='move_to_inbox', on_click=confirm) \
                    .props('unelevated no-caps').mark('confirm-receive')
        dialog.open()

    async def ledger_dialog(medicine_id: int) -> None:
        async with get_db().read() as session:
            ledger = await inventory.ledger(session, actor, medicine_id)
        with ui.dialog().props('maximized') as dialog, ui.card().classes('w-full gap-3').mark('ledger-dialog'):
            with ui.row().classes('w-full items-center justify-between'):
                section_title(f'Ledger: {ledger.medicine.name}')
                ui.button(icon='close', on_click=dialog.close).props('flat round aria-label="Close"')
            check = 'adds up' if ledger.adds_up else 'DOES NOT ADD UP: please report'
            ui.label(f'On hand {ledger.on_hand} {ledger.medicine.unit} · ledger {check}') \
                .classes('text-positive' if ledger.adds_up else 'text-negative').mark('ledger-check')
            with ui.row().classes('w-full gap-2'):
                for batch in ledger.batches:
                    with ui.card().classes('p-2 gap-0').mark('batch'):
                        ui.label(f'{batch.batch_no}').classes('font-medium')
                        ui.label(f'exp. {batch.expiry_date:%d/%m/%Y} · {batch.quantity} left') \
                            .classes('text-sm text-slate-600')
                        ui.button('Adjust…', on_click=lambda b=batch: adjust_dialog(b.id, b.batch_no, dialog)) \
                            .props('flat dense no-caps').mark('adjust')
            rows = [{'id': r.id, 'at': r.at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), 'kind': r.kind.value,
                     'batch': r.batch_no, 'quantity': f'{r.quantity:+d}', 'balance': r.balance, 'reason': r.reason,
                     'by': r.by} for r in reversed(ledger.rows)]
            data_table(LEDGER_COLUMNS, rows, empty='No movements.', mark='ledger', rows_per_page=20)
        dialog.open()

    def adjust_dialog(batch_id: int, batch_no: str, ledger_dialog_element) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('adjust-dialog'):
            section_title(f'Adjust batch {batch_no}')
            reason = ui.select(ADJUSTMENT_REASONS, value='damaged', label='Reason').props('outlined dense') \
                .mark('adjust-reason')
            change = ui.input('Change (e.g. -3 or +2) *').props('outlined dense').mark('adjust-change')
            note = ui.input('Note').props('outlined dense').mark('adjust-note')
            error = error_text()

            async def confirm() -> None:
                done = await staff_action(lambda s: inventory.adjust(s, actor, batch_id, change=change.value or '',
                                                                     reason=reason.value, note=note.value or '',
                                                                     now=utcnow()),
                                          error_label=error, success='Stock adjusted.')
                if done is not None:
                    dialog.close()
                    ledger_dialog_element.close()

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                ui.button('Save', on_click=confirm).props('unelevated no-caps').mark('confirm-adjust')
        dialog.open()

    on_row(table, 'ledger', lambda row: ledger_dialog(row['id']))
    on_row(table, 'receive', lambda row: receive_dialog(row['id'], row['name']))
    subscribe(StockChanged, refresh)
