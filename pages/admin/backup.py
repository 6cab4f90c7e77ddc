"""Administration: back up the database now (while the clinic works), download backups, how to restore."""
from __future__ import annotations

from babel.numbers import format_decimal
from fastapi.responses import FileResponse, PlainTextResponse
from nicegui import ui

from clinic_ui import transaction
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, section_title, staff_action, translated_columns
from services import backup, clinic_settings
from services.access import Actor
from services.core import i18n
from services.core.errors import NotFound
from services.core.i18n import N_, _
from services.core.settings import Settings

COLUMNS = [
    {'name': 'name', 'label': N_('File'), 'field': 'name', 'align': 'left'},
    {'name': 'when', 'label': N_('Taken'), 'field': 'when', 'align': 'left'},
    {'name': 'size', 'label': N_('Size'), 'field': 'size', 'align': 'right'},
    {'name': 'download', 'label': '', 'field': 'name', 'align': 'right'},
]
DOWNLOAD_SLOT = r'''
<q-td :props="props"><q-btn flat dense no-caps color="primary" icon="download" :label="props.row.download"
  type="a" :href="'/admin/backups/' + props.row.name" /></q-td>'''
RESTORE_STEPS = [
    N_('Stop the clinic app (all staff will be signed out for a moment).'),
    N_('On the server, in the app folder, run:  python -m services.backup restore data/backups/<file>.db'),
    N_('It checks the file, keeps the current database as clinic.db.before-restore-<time>, and puts the backup in '
       'its place.'),
    N_('Start the app again. Everything entered after the backup was taken is not in it.'),
]


def postgres_note() -> None:
    with ui.card().classes('max-w-2xl'):
        section_title(_('This clinic runs on PostgreSQL'))
        ui.label(_("Back it up with PostgreSQL's own tools, e.g. a nightly pg_dump -Fc; restore with "
                   'pg_restore.')).mark('backup-postgres')


def restore_steps() -> None:
    with ui.card().classes('w-full gap-1'):
        section_title(_('Restoring a backup'))
        for number, step in enumerate(RESTORE_STEPS, 1):
            ui.label(f'{number}. {_(step)}').classes('text-slate-700')


def _size(size: int) -> str:
    return _('{size} MB').format(size=format_decimal(size / 1024 / 1024, '#,##0.0', locale=i18n.locale()))


class Backups:
    """Back up now, and the backups kept, each to download."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        self.settings = settings
        with ui.card().classes('w-full gap-2'):
            section_title(_('Back up now'))
            ui.label(_('A consistent copy of the whole database, taken while everyone keeps working. Keep a copy '
                       'away from this computer (download it, or copy the backups folder).')).classes('text-slate-600')
            self.error = error_text()
            with ui.row().classes('items-center gap-3'):
                self.button = ui.button(_('Back up now'), icon='backup', on_click=self.back_up) \
                    .props('unelevated no-caps').mark('backup-now')
                self.result = ui.label().classes('text-sm text-slate-700').mark('backup-result')
        self.title = section_title(_('Backups'))
        ui.label(_('Kept in {folder}').format(folder=backup.backup_dir(settings).resolve())) \
            .classes('text-sm text-slate-600')
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[], row_key='name') \
            .props('flat bordered dense hide-pagination').classes('w-full').mark('backups-table')
        self.table.props['no-data-label'] = _('No backups yet.')
        self.table.add_slot('body-cell-download', DOWNLOAD_SLOT)

    async def load(self) -> None:
        self.show(await backup.backups(self.actor, self.settings))

    def show(self, files: list[backup.BackupFile]) -> None:
        self.table.rows = [{'name': f.name, 'size': _size(f.size), 'download': _('Download'),
                            'when': f.created_at.astimezone(self.settings.tz).strftime('%d/%m/%Y %H:%M:%S')}
                           for f in files]
        self.title.set_text(_('Backups ({count})').format(count=len(files)))

    async def back_up(self) -> None:
        self.button.props('loading')
        try:
            made = await staff_action(lambda s: backup.backup_now(s, self.actor, self.settings),
                                      error_label=self.error, write=False)
        finally:
            self.button.props(remove='loading')
        if made is not None:
            self.result.set_text(_('Done: {file} ({size})').format(file=made.name, size=_size(made.size)))
            ui.notify(_('Backup taken.'), type='positive')
            await self.load()


@staff_page(ADMIN, '/admin/backup', title=N_('Backup'))
async def backup_page(actor: Actor):
    settings = clinic_settings.current()
    back_link()
    if not settings.is_sqlite:
        postgres_note()
        return
    backups = Backups(actor, settings)
    restore_steps()
    await backups.load()


@staff_file(ADMIN, '/admin/backups/{name}')
async def download_backup(actor: Actor, name: str):
    try:
        found = backup.find_backup(clinic_settings.current(), name)
    except NotFound as error:
        return PlainTextResponse(str(error), status_code=404)
    await transaction.write(lambda s: backup.record_download(s, actor, found.name))
    return FileResponse(found.path, filename=found.name, media_type='application/vnd.sqlite3')
