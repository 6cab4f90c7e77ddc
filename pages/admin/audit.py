"""Administration: the audit log (who did what and when), filtered and paged in the database."""
from __future__ import annotations

from datetime import date

from nicegui import ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, staff_read
from services import audit_view, clinic_settings, staff_admin
from services.access import Actor
from services.core.db import get_db

PAGE_SIZE = 50
COLUMNS = [
    {'name': 'at', 'label': 'When', 'field': 'at', 'align': 'left', 'classes': 'whitespace-nowrap',
     'headerStyle': 'width: 11rem'},
    {'name': 'who', 'label': 'Who', 'field': 'who', 'align': 'left', 'headerStyle': 'width: 9rem'},
    {'name': 'action', 'label': 'What', 'field': 'action', 'align': 'left'},
    {'name': 'subject', 'label': 'On', 'field': 'subject', 'align': 'left', 'headerStyle': 'width: 9rem'},
    {'name': 'detail', 'label': 'Detail', 'field': 'detail', 'align': 'left'},
]


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@staff_page(ADMIN, '/admin/audit', title='Audit log')
async def audit_page(actor: Actor, entity: str = '', entity_id: int | None = None):
    tz = clinic_settings.current().tz
    async with get_db().read() as session:
        people = await staff_admin.people(session, actor)
    back_link()
    with ui.row().classes('w-full items-end gap-2'):
        kind = ui.select({'': 'Everything', **audit_view.KIND_LABELS}, value='', label='Kind') \
            .props('outlined dense').classes('w-56').mark('audit-kind')
        person = ui.select({0: 'Anyone', **people}, value=0, label='Who', with_input=True) \
            .props('outlined dense').classes('w-64').mark('audit-person')
        first_day = ui.input('From').props('outlined dense type=date stack-label').classes('w-40').mark('audit-from')
        last_day = ui.input('To').props('outlined dense type=date stack-label').classes('w-40').mark('audit-to')
        subject = ui.input('On (e.g. patient 42)', value=f'{entity} {entity_id}'.strip() if entity else '') \
            .props('outlined dense clearable').classes('w-48').mark('audit-subject')
    error = error_text()
    table = ui.table(columns=COLUMNS, rows=[], row_key='id') \
        .props('flat bordered dense wrap-cells hide-pagination no-data-label="No entries match."').classes('w-full') \
        .mark('audit-table')
    with ui.row().classes('w-full items-center justify-end gap-2'):
        position = ui.label().classes('text-sm text-slate-600')
        newer = ui.button('Newer', icon='chevron_left', on_click=lambda: go(-1)).props('flat no-caps dense') \
            .mark('audit-newer')
        older = ui.button('Older', on_click=lambda: go(1)).props('flat no-caps dense icon-right=chevron_right') \
            .mark('audit-older')
    cursors: list[int | None] = [None]  # the "before id" of each page shown so far (keyset paging)
    state = {'page': 0, 'last_id': None, 'has_more': False}

    def subject_filter() -> tuple[str, int | None]:
        words = (subject.value or '').strip().lower().split()
        if not words:
            return '', None
        number = next((int(w) for w in words if w.isdigit()), None)
        name = next((w for w in words if not w.isdigit()), '')
        return name, number

    async def load() -> None:
        name, number = subject_filter()
        page = await staff_read(lambda s: audit_view.search(
            s, actor, kind=kind.value or None, user_id=person.value or None, entity=name, entity_id=number,
            start_day=_date(first_day.value), end_day=_date(last_day.value), tz=tz,
            before_id=cursors[state['page']], limit=PAGE_SIZE), error_label=error)
        if page is None:
            return
        table.rows = [{'id': e.id, 'at': e.at.astimezone(tz).strftime('%d/%m/%Y %H:%M:%S'),
                       'who': e.username or '—', 'action': audit_view.describe(e.action),
                       'subject': f'{e.entity} {e.entity_id or ""}'.strip(), 'detail': e.detail}
                      for e in page.entries]
        state['last_id'], state['has_more'] = page.last_id, page.has_more
        start = state['page'] * PAGE_SIZE
        position.set_text(f'Entries {start + 1 if page.entries else 0}–{start + len(page.entries)}'
                          + (' (more older)' if page.has_more else ''))
        newer.set_enabled(state['page'] > 0)
        older.set_enabled(page.has_more)

    async def go(step: int) -> None:
        if step > 0 and state['has_more']:
            del cursors[state['page'] + 1:]
            cursors.append(state['last_id'])
            state['page'] += 1
        elif step < 0 and state['page'] > 0:
            state['page'] -= 1
        await load()

    async def restart() -> None:
        del cursors[1:]
        state['page'] = 0
        await load()

    for field in (kind, person, first_day, last_day):
        field.on_value_change(restart)
    subject.props('debounce=400')
    subject.on_value_change(restart)
    await load()
