"""Lab & imaging: the technicians' worklist of ordered services."""
from __future__ import annotations

from clinic_ui.db import get_db
from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.settings import get_settings
from clinic_ui.stations import SERVICES
from clinic_ui.widgets import data_table, section_title
from services import orders
from services.access import Actor

COLUMNS = [
    {'name': 'ordered', 'label': 'Ordered', 'field': 'ordered'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'service', 'label': 'Service', 'field': 'service'},
    {'name': 'kind', 'label': 'Kind', 'field': 'kind'},
    {'name': 'by', 'label': 'Ordered by', 'field': 'by'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
]


async def order_rows(actor: Actor) -> list[dict]:
    tz = get_settings().tz
    async with get_db().read() as session:
        rows = await orders.open_orders(session, actor)
    return [{'id': r.id, 'ordered': r.ordered_at.astimezone(tz).strftime('%d/%m %H:%M'),
             'patient': f'{r.patient_name} · {r.patient_code}', 'service': r.service_name, 'kind': r.kind.value,
             'by': r.ordered_by, 'status': r.status.value.replace('_', ' ')} for r in rows]


@staff_page(SERVICES)
async def lab_page(actor: Actor):
    rows = await order_rows(actor)
    title = section_title('Worklist: ordered services to do', len(rows))
    table = data_table(COLUMNS, rows, empty='No ordered services waiting.', mark='worklist')

    async def refresh() -> None:
        table.rows = await order_rows(actor)
        title.set_text(f'Worklist: ordered services to do ({len(table.rows)})')

    subscribe(Topic.ORDERS, refresh)
