"""Pharmacy: stock alerts (dispensing and goods-in build on this station)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.db import get_db
from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.settings import get_settings
from clinic_ui.stations import PHARMACY
from clinic_ui.widgets import data_table, section_title
from services import inventory
from services.access import Actor
from services.clock import local_today

EXPIRY_WARNING_DAYS = 60


async def _alerts(actor: Actor) -> inventory.StockAlerts:
    today = local_today(get_settings().tz)
    async with get_db().read() as session:
        return await inventory.stock_alerts(session, actor, today, expiring_within_days=EXPIRY_WARNING_DAYS)


def _low_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': m.medicine_id, 'code': m.code, 'name': m.name, 'on_hand': f'{m.on_hand} {m.unit}',
             'reorder': m.reorder_level} for m in alerts.low_stock]


def _expiring_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': b.batch_id, 'name': b.medicine_name, 'batch': b.batch_no,
             'expiry': b.expiry_date.strftime('%d/%m/%Y') + (' (expired)' if b.expired else ''),
             'quantity': b.quantity} for b in alerts.expiring]


@staff_page(PHARMACY)
async def pharmacy_page(actor: Actor):
    alerts = await _alerts(actor)
    with ui.grid().classes('w-full gap-6 grid-cols-1 xl:grid-cols-2'):
        with ui.column().classes('gap-2 min-w-0'):
            low_title = section_title('Below reorder level', len(alerts.low_stock))
            low = data_table([{'name': 'code', 'label': 'Code', 'field': 'code'},
                              {'name': 'name', 'label': 'Medicine', 'field': 'name'},
                              {'name': 'on_hand', 'label': 'Usable stock', 'field': 'on_hand'},
                              {'name': 'reorder', 'label': 'Reorder at', 'field': 'reorder'}],
                             _low_rows(alerts), empty='All medicines above their reorder level.', mark='low-stock',
                             rows_per_page=10)
        with ui.column().classes('gap-2 min-w-0'):
            exp_title = section_title(f'Expired or expiring within {EXPIRY_WARNING_DAYS} days', len(alerts.expiring))
            expiring = data_table([{'name': 'name', 'label': 'Medicine', 'field': 'name'},
                                   {'name': 'batch', 'label': 'Batch', 'field': 'batch'},
                                   {'name': 'expiry', 'label': 'Expiry', 'field': 'expiry'},
                                   {'name': 'quantity', 'label': 'Quantity', 'field': 'quantity'}],
                                  _expiring_rows(alerts), empty='No batch expires soon.', mark='expiring',
                                  rows_per_page=10)

    async def refresh() -> None:
        fresh = await _alerts(actor)
        low.rows = _low_rows(fresh)
        expiring.rows = _expiring_rows(fresh)
        low_title.set_text(f'Below reorder level ({len(fresh.low_stock)})')
        exp_title.set_text(f'Expired or expiring within {EXPIRY_WARNING_DAYS} days ({len(fresh.expiring)})')

    subscribe(Topic.PHARMACY, refresh)
