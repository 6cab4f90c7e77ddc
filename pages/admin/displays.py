"""Administration: the display keys of the waiting-room boards (issue, name, revoke)."""
from __future__ import annotations

from nicegui import context, ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import error_text, on_row, section_title, staff_action
from services import clinic_settings, display_keys, queue
from services.access import Actor
from services.core.db import get_db

COLUMNS = [
    {'name': 'name', 'label': 'Display', 'field': 'name', 'align': 'left'},
    {'name': 'queues', 'label': 'Shows', 'field': 'queues', 'align': 'left'},
    {'name': 'created', 'label': 'Issued', 'field': 'created', 'align': 'left'},
    {'name': 'seen', 'label': 'Last seen', 'field': 'seen', 'align': 'left'},
    {'name': 'state', 'label': 'State', 'field': 'state', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
ACTIONS_SLOT = r'''
<q-td :props="props">
  <q-btn v-if="!props.row.revoked" label="Rename" icon="edit" size="sm" flat no-caps color="primary"
         @click="() => $parent.$emit('key_action', ['rename', props.row.id])" />
  <q-btn v-if="!props.row.revoked" label="Revoke" icon="block" size="sm" flat no-caps color="negative"
         @click="() => $parent.$emit('key_action', ['revoke', props.row.id])" />
</q-td>
'''


@staff_page(ADMIN, '/admin/displays', title='Waiting-room displays')
async def displays_page(actor: Actor):
    tz = clinic_settings.current().tz
    base = str(context.client.request.base_url).rstrip('/')  # the address this admin used: the TV can use it too
    async with get_db().read() as session:
        queues = {q.id: f'{q.prefix} · {q.name}' for q in await queue.transfer_targets(session, actor)}

    def when(moment) -> str:
        return moment.astimezone(tz).strftime('%d/%m/%Y %H:%M') if moment else '—'

    section_title('Waiting-room displays')
    ui.label('A display key lets a TV open the board without signing in. It opens the board and nothing else; '
             'revoke it when a TV is replaced or the link was shared by mistake.').classes('text-slate-600 -mt-3')
    with ui.card().classes('w-full max-w-3xl'):
        ui.label('New display').classes('text-lg font-semibold')
        with ui.row().classes('w-full items-start gap-3'):
            name = ui.input('Name', placeholder='Waiting room TV, ground floor').props('outlined') \
                .classes('grow').mark('display-name')
            scope = ui.select(queues, multiple=True, label='Queues (empty: all)').props('outlined use-chips') \
                .classes('w-80').mark('display-queues')
        error = error_text()
        issue_button = ui.button('Issue key', icon='key').props('unelevated no-caps').mark('issue-key')
        issued = ui.column().classes('w-full gap-1')

    table = ui.table(columns=COLUMNS, rows=[], row_key='id') \
        .props('flat bordered wrap-cells hide-pagination no-data-label="No displays yet."').classes('w-full') \
        .mark('display-keys')
    table.pagination = {'rowsPerPage': 0}
    table.add_slot('body-cell-actions', ACTIONS_SLOT)

    async def load() -> None:
        async with get_db().read() as session:
            rows = await display_keys.list_keys(session, actor)
        table.rows = [{'id': r.id, 'name': r.name, 'created': when(r.created_at), 'seen': when(r.last_seen_at),
                       'queues': ', '.join(queues.get(int(i), '?') for i in r.queue_ids.split(',') if i) or 'All queues',
                       'state': f'revoked {when(r.revoked_at)}' if r.revoked_at else 'active',
                       'revoked': r.revoked_at is not None} for r in rows]

    async def issue() -> None:
        result = await staff_action(lambda s: display_keys.issue(s, actor, name.value or '',
                                                                 queue_ids=list(scope.value or [])),
                                    error_label=error)
        if result is None:
            return
        row, key = result
        issued.clear()
        with issued:
            ui.label(f'Open this address on "{row.name}" (shown once: copy it now):').classes('font-medium')
            ui.label(f'{base}/board?key={key}').classes('font-mono text-sm bg-slate-100 p-2 rounded break-all') \
                .mark('display-url')
            ui.label('Tip: start the TV browser in kiosk mode with --autoplay-policy=no-user-gesture-required so '
                     'announcements play without a tap, also after a restart.').classes('text-sm text-slate-600')
        name.value = ''
        scope.value = []
        await load()

    with ui.dialog() as rename_dialog, ui.card().classes('w-96'):
        new_name = ui.input('Name').props('outlined').classes('w-full').mark('rename-input')
        rename_error = error_text()
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=rename_dialog.close).props('flat no-caps')
            rename_save = ui.button('Save').props('unelevated no-caps').mark('rename-save')
    chosen = {'id': None}

    async def save_name() -> None:
        done = await staff_action(lambda s: display_keys.rename(s, actor, chosen['id'], new_name.value or ''),
                                  error_label=rename_error)
        if done is not None:
            rename_dialog.close()
            await load()

    async def key_action(action: str, row: dict) -> None:
        key_id = chosen['id'] = row['id']
        if action == 'rename':
            new_name.value = row['name']
            rename_dialog.open()
        elif action == 'revoke':
            await staff_action(lambda s: display_keys.revoke(s, actor, key_id), success='Key revoked.')
            await load()

    issue_button.on_click(issue)
    rename_save.on_click(save_name)
    on_row(table, 'key_action', key_action, choices=('rename', 'revoke'))
    await load()
