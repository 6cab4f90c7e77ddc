"""Administration: the clinic at a glance and its staff accounts (set-up pages build on this station)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.db import get_db
from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.settings import get_settings
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import data_table, section_title
from services import clinic, users
from services.access import Actor

STAFF_COLUMNS = [
    {'name': 'name', 'label': 'Name', 'field': 'name'},
    {'name': 'username', 'label': 'User name', 'field': 'username'},
    {'name': 'role', 'label': 'Role', 'field': 'role'},
    {'name': 'active', 'label': 'Active', 'field': 'active'},
    {'name': 'last_login', 'label': 'Last sign-in', 'field': 'last_login'},
]


async def _load(actor: Actor) -> tuple[dict[str, int], list[dict]]:
    tz = get_settings().tz
    async with get_db().read() as session:
        counts = await clinic.summary(session, actor)
        accounts = await users.list_users(session, actor)
    rows = [{'id': u.id, 'name': u.full_name, 'username': u.username, 'role': u.role.label,
             'active': 'yes' if u.is_active else 'no',
             'last_login': u.last_login_at.astimezone(tz).strftime('%d/%m/%Y %H:%M') if u.last_login_at else '—'}
            for u in accounts]
    return counts, rows


@staff_page(ADMIN)
async def admin_page(actor: Actor):
    counts, rows = await _load(actor)
    with ui.row().classes('w-full gap-3'):
        figures = {}
        for label, value in counts.items():
            with ui.card().classes('px-4 py-3 min-w-[9rem]').mark(f'count-{label}'):
                figures[label] = ui.label(f'{value:,}').classes('text-2xl font-semibold text-primary')
                ui.label(label).classes('text-sm text-slate-600')
    title = section_title('Staff accounts', len(rows))
    table = data_table(STAFF_COLUMNS, rows, empty='No accounts.', mark='staff')

    async def refresh() -> None:
        fresh_counts, fresh_rows = await _load(actor)
        for label, value in fresh_counts.items():
            figures[label].set_text(f'{value:,}')
        table.rows = fresh_rows
        title.set_text(f'Staff accounts ({len(fresh_rows)})')

    subscribe(Topic.STAFF, refresh)
