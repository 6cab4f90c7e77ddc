"""Administration: the display keys of the waiting-room boards (issue, name, revoke)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import context, ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import error_text, on_row, section_title, staff_action, staff_read
from services import clinic_settings, display_keys, queue
from services.access import Actor

from .dialogs import RenameDisplayDialog

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


class NewDisplay:
    """Issue a key for a new display; its board address is shown once, to copy. ``on_issued`` then runs (the
    list of keys reads again)."""

    def __init__(self, actor: Actor, queues: dict[int, str]) -> None:
        self.actor = actor
        self.on_issued: Callable[[], Awaitable[None]] | None = None
        self.base = str(context.client.request.base_url).rstrip('/')  # the address this admin used: the TV's too
        with ui.card().classes('w-full max-w-3xl'):
            ui.label('New display').classes('text-lg font-semibold')
            with ui.row().classes('w-full items-start gap-3'):
                self.name = ui.input('Name', placeholder='Waiting room TV, ground floor').props('outlined') \
                    .classes('grow').mark('display-name')
                self.scope = ui.select(queues, multiple=True, label='Queues (empty: all)') \
                    .props('outlined use-chips').classes('w-80').mark('display-queues')
            self.error = error_text()
            ui.button('Issue key', icon='key', on_click=self.issue).props('unelevated no-caps').mark('issue-key')
            self.issued = ui.column().classes('w-full gap-1')

    async def issue(self) -> None:
        result = await staff_action(lambda s: display_keys.issue(s, self.actor, self.name.value or '',
                                                                 queue_ids=list(self.scope.value or [])),
                                    error_label=self.error)
        if result is None:
            return
        self.show_address(*result)
        self.name.value = ''
        self.scope.value = []
        if self.on_issued is not None:
            await self.on_issued()

    def show_address(self, row: display_keys.DisplayKey, key: str) -> None:
        self.issued.clear()
        with self.issued:
            ui.label(f'Open this address on "{row.name}" (shown once: copy it now):').classes('font-medium')
            ui.label(f'{self.base}/board?key={key}').classes('font-mono text-sm bg-slate-100 p-2 rounded break-all') \
                .mark('display-url')
            ui.label('Tip: start the TV browser in kiosk mode with --autoplay-policy=no-user-gesture-required so '
                     'announcements play without a tap, also after a restart.').classes('text-sm text-slate-600')


class DisplayKeys:
    """Every key issued, with what it shows and when it was last seen; rename or revoke one."""

    def __init__(self, actor: Actor, queues: dict[int, str]) -> None:
        self.actor = actor
        self.queues = queues
        self.tz = clinic_settings.current().tz
        self.table = ui.table(columns=COLUMNS, rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination no-data-label="No displays yet."').classes('w-full') \
            .mark('display-keys')
        self.table.pagination = {'rowsPerPage': 0}
        self.table.add_slot('body-cell-actions', ACTIONS_SLOT)
        on_row(self.table, 'key_action', self.act, choices=('rename', 'revoke'))

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime('%d/%m/%Y %H:%M') if moment else '—'

    def show(self, keys: list[display_keys.DisplayKey]) -> None:
        self.table.rows = [{'id': r.id, 'name': r.name, 'created': self.when(r.created_at),
                            'seen': self.when(r.last_seen_at), 'revoked': r.revoked_at is not None,
                            'queues': ', '.join(self.queues.get(int(i), '?') for i in r.queue_ids.split(',') if i)
                            or 'All queues',
                            'state': f'revoked {self.when(r.revoked_at)}' if r.revoked_at else 'active'}
                           for r in keys]

    async def load(self) -> None:
        keys = await staff_read(lambda s: display_keys.list_keys(s, self.actor))
        if keys is not None:
            self.show(keys)

    async def act(self, action: str, row: dict) -> None:
        if action == 'rename':
            RenameDisplayDialog(self.actor, row['id'], row['name'], on_renamed=self.load)
        else:
            await self.revoke(row['id'])

    async def revoke(self, key_id: int) -> None:
        await staff_action(lambda s: display_keys.revoke(s, self.actor, key_id), success='Key revoked.')
        await self.load()


@staff_page(ADMIN, '/admin/displays', title='Waiting-room displays')
async def displays_page(actor: Actor):
    targets = await staff_read(lambda s: queue.transfer_targets(s, actor))
    if targets is None:
        return
    queues = {q.id: f'{q.prefix} · {q.name}' for q in targets}
    section_title('Waiting-room displays')
    ui.label('A display key lets a TV open the board without signing in. It opens the board and nothing else; '
             'revoke it when a TV is replaced or the link was shared by mistake.').classes('text-slate-600 -mt-3')
    new_display = NewDisplay(actor, queues)
    keys = DisplayKeys(actor, queues)
    new_display.on_issued = keys.load
    await keys.load()
