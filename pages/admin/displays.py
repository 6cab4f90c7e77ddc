"""Administration: the display keys of the waiting-room boards and of the self check-in kiosks (issue, name,
revoke)."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape

from nicegui import context, ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import error_text, on_row, section_title, staff_action, staff_read, translated_columns
from services import clinic_settings, display_keys, queue
from services.access import Actor
from services.core import i18n
from services.core.i18n import N_, _, pick

from .dialogs import RenameDisplayDialog

COLUMNS = [
    {'name': 'name', 'label': N_('Display'), 'field': 'name', 'align': 'left'},
    {'name': 'purpose', 'label': N_('Opens'), 'field': 'purpose', 'align': 'left'},
    {'name': 'queues', 'label': N_('Shows'), 'field': 'queues', 'align': 'left'},
    {'name': 'language', 'label': N_('Language'), 'field': 'language', 'align': 'left'},
    {'name': 'created', 'label': N_('Issued'), 'field': 'created', 'align': 'left'},
    {'name': 'seen', 'label': N_('Last seen'), 'field': 'seen', 'align': 'left'},
    {'name': 'state', 'label': N_('State'), 'field': 'state', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]


def actions_slot() -> str:
    """The row's buttons, their labels in the reader's language (the slot is a template: labels are JSON)."""
    buttons = [('rename', N_('Rename'), 'edit', 'primary'), ('language', N_('Language'), 'translate', 'primary'),
               ('revoke', N_('Revoke'), 'block', 'negative')]
    return '<q-td :props="props">' + ''.join(
        f'<q-btn v-if="!props.row.revoked" :label="{escape(json.dumps(_(label)), quote=True)}" icon="{icon}" '
        f'size="sm" flat no-caps '
        f'color="{color}" @click="() => $parent.$emit(\'key_action\', [\'{name}\', props.row.id])" />'
        for name, label, icon, color in buttons) + '</q-td>'


def purpose_choices() -> dict[str, str]:
    """What a key opens."""
    return {display_keys.BOARD: _('Waiting-room board'), display_keys.KIOSK: _('Self check-in kiosk')}


def language_choices() -> dict[str, str]:
    """What a board may speak: the clinic's language, one language, or both in turn."""
    clinic = i18n.LANGUAGES.get(clinic_settings.current().language[:2], '')
    return {'': _("Clinic's language ({language})").format(language=clinic), **i18n.LANGUAGES,
            display_keys.BOTH: _('Both, one after the other')}


class NewDisplay:
    """Issue a key for a new display; its board address is shown once, to copy. ``on_issued`` then runs (the
    list of keys reads again)."""

    def __init__(self, actor: Actor, queues: dict[int, str]) -> None:
        self.actor = actor
        self.on_issued: Callable[[], Awaitable[None]] | None = None
        self.base = str(context.client.request.base_url).rstrip('/')  # the address this admin used: the TV's too
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(_('New display')).classes('text-lg font-semibold')
            with ui.row().classes('w-full items-start gap-3'):
                self.name = ui.input(_('Name'), placeholder=_('Waiting room TV, ground floor')).props('outlined') \
                    .classes('grow').mark('display-name')
                self.purpose = ui.select(purpose_choices(), value=display_keys.BOARD, label=_('Opens')) \
                    .props('outlined').classes('w-56').mark('display-purpose')
                self.scope = ui.select(queues, multiple=True, label=_('Queues (empty: all)')) \
                    .props('outlined use-chips').classes('w-80').mark('display-queues')
                self.language = ui.select(language_choices(), value='', label=_('Language')) \
                    .props('outlined').classes('w-64').mark('display-language')
            self.error = error_text()
            ui.button(_('Issue key'), icon='key', on_click=self.issue).props('unelevated no-caps').mark('issue-key')
            self.issued = ui.column().classes('w-full gap-1')

    async def issue(self) -> None:
        result = await staff_action(lambda s: display_keys.issue(s, self.actor, self.name.value or '',
                                                                 queue_ids=list(self.scope.value or []),
                                                                 language=self.language.value or None,
                                                                 purpose=self.purpose.value or display_keys.BOARD),
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
            ui.label(_('Open this address on "{display}" (shown once: copy it now):').format(display=row.name)) \
                .classes('font-medium')
            ui.label(f'{self.base}/{row.purpose}?key={key}') \
                .classes('font-mono text-sm bg-slate-100 p-2 rounded break-all').mark('display-url')
            if row.purpose == display_keys.KIOSK:
                ui.label(_('Tip: open it on the entrance tablet in the browser\'s kiosk mode and allow the camera, so '
                           'patients can show the QR code of their appointment email.')) \
                    .classes('text-sm text-slate-600')
                return
            ui.label(_('Tip: start the TV browser in kiosk mode with --autoplay-policy=no-user-gesture-required so '
                       'announcements play without a tap, also after a restart.')).classes('text-sm text-slate-600')


class DisplayKeys:
    """Every key issued, with what it shows and when it was last seen; rename or revoke one."""

    def __init__(self, actor: Actor, queues: dict[int, str]) -> None:
        self.actor = actor
        self.queues = queues
        self.tz = clinic_settings.current().tz
        columns = translated_columns(COLUMNS)
        self.table = ui.table(columns=columns, rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination').classes('w-full').mark('display-keys')
        self.table.props(f'no-data-label={json.dumps(_("No displays yet."))}')
        self.table.pagination = {'rowsPerPage': 0}
        self.table.add_slot('body-cell-actions', actions_slot())
        on_row(self.table, 'key_action', self.act, choices=('rename', 'language', 'revoke'))

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime('%d/%m/%Y %H:%M') if moment else '—'

    def show(self, keys: list[display_keys.DisplayKey]) -> None:
        languages = language_choices()
        purposes = purpose_choices()
        self.table.rows = [{'purpose': purposes.get(r.purpose, r.purpose), 'id': r.id, 'name': r.name, 'created': self.when(r.created_at),
                            'seen': self.when(r.last_seen_at), 'revoked': r.revoked_at is not None,
                            'queues': '—' if r.purpose == display_keys.KIOSK else
                            ', '.join(self.queues.get(int(i), '?') for i in r.queue_ids.split(',') if i)
                            or _('All queues'),
                            'language': languages.get(r.language or '', r.language), 'language_code': r.language or '',
                            'state': _('revoked {when}').format(when=self.when(r.revoked_at)) if r.revoked_at
                            else _('active')}
                           for r in keys]

    async def load(self) -> None:
        keys = await staff_read(lambda s: display_keys.list_keys(s, self.actor))
        if keys is not None:
            self.show(keys)

    async def act(self, action: str, row: dict) -> None:
        if action == 'rename':
            RenameDisplayDialog(self.actor, row['id'], row['name'], on_renamed=self.load)
        elif action == 'language':
            self.choose_language(row)
        else:
            await self.revoke(row['id'])

    def choose_language(self, row: dict) -> None:
        """The board's language: open boards switch at once."""
        with ui.dialog() as dialog, ui.card().classes('w-96'):
            ui.label(_('Language of "{display}"').format(display=row['name'])).classes('text-lg font-semibold')
            choice = ui.select(language_choices(), value=row.get('language_code', ''), label=_('Language')) \
                .props('outlined').classes('w-full').mark('display-language-choice')
            error = error_text()

            async def save() -> None:
                done = await staff_action(lambda s: display_keys.set_language(s, self.actor, row['id'],
                                                                              choice.value or None),
                                          error_label=error, success=_('The board now speaks this language.'))
                if done is not None:
                    dialog.close()
                    await self.load()

            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=save).props('unelevated no-caps').mark('display-language-save')
        dialog.open()

    async def revoke(self, key_id: int) -> None:
        await staff_action(lambda s: display_keys.revoke(s, self.actor, key_id), success=_('Key revoked.'))
        await self.load()


@staff_page(ADMIN, '/admin/displays', title=N_('Waiting-room displays'))
async def displays_page(actor: Actor):
    targets = await staff_read(lambda s: queue.transfer_targets(s, actor))
    if targets is None:
        return
    queues = {q.id: f'{q.prefix} · {pick(q.name, q.name_translations)}' for q in targets}
    section_title(_('Waiting-room displays'))
    ui.label(_('A display key lets a TV open the board without signing in. It opens the board and nothing else; '
               'revoke it when a TV is replaced or the link was shared by mistake.')).classes('text-slate-600 -mt-3')
    ui.label(_('A kiosk key opens the self check-in kiosk on the entrance tablet, and nothing else.')) \
        .classes('text-slate-600 -mt-3')
    new_display = NewDisplay(actor, queues)
    keys = DisplayKeys(actor, queues)
    new_display.on_issued = keys.load
    await keys.load()
