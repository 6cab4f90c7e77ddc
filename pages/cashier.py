"""Cashier: invoices still to be paid (billing, payments and receipts build on this station)."""
from __future__ import annotations

from clinic_ui.db import get_db
from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.settings import get_settings
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import data_table, money, section_title
from services import billing
from services.access import Actor

COLUMNS = [
    {'name': 'number', 'label': 'Invoice', 'field': 'number'},
    {'name': 'date', 'label': 'Date', 'field': 'date'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'total', 'label': 'Total', 'field': 'total', 'align': 'right'},
    {'name': 'balance', 'label': 'Balance due', 'field': 'balance', 'align': 'right'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
]


async def invoice_rows(actor: Actor) -> list[dict]:
    settings = get_settings()
    async with get_db().read() as session:
        rows = await billing.open_invoices(session, actor)
    fmt = lambda amount: money(amount, settings.currency, settings.currency_exponent)  # noqa: E731
    return [{'id': r.id, 'number': r.number, 'date': r.created_at.astimezone(settings.tz).strftime('%d/%m/%Y'),
             'patient': f'{r.patient_name} · {r.patient_code}', 'total': fmt(r.total), 'balance': fmt(r.balance),
             'status': r.status.value.replace('_', ' ')} for r in rows]


@staff_page(CASHIER)
async def cashier_page(actor: Actor):
    rows = await invoice_rows(actor)
    title = section_title('Invoices waiting for payment', len(rows))
    table = data_table(COLUMNS, rows, empty='Nothing waiting for payment.', mark='open-invoices')

    async def refresh() -> None:
        table.rows = await invoice_rows(actor)
        title.set_text(f'Invoices waiting for payment ({len(table.rows)})')

    subscribe(Topic.BILLING, refresh)
