"""Administration: back up the database now (while the clinic works), download backups, how to restore."""
from __future__ import annotations

from fastapi.responses import FileResponse, PlainTextResponse
from nicegui import ui

from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, section_title, staff_action
from services import backup, clinic_settings
from services.access import Actor
from services.core.db import get_db
from services.core.errors import NotFound

RESTORE_STEPS = [
    'Stop the clinic app (all staff will be signed out for a moment).',
    'On the server, in the app folder, run:  python -m services.backup restore data/backups/<file>.db',
    'It checks the file, keeps the current database as clinic.db.before-restore-<time>, and puts the backup in '
    'its place.',
    'Start the app again. Everything entered after the backup was taken is not in it.',
]


@staff_page(ADMIN, '/admin/backup', title='Backup')
async def backup_page(actor: Actor):
    settings = clinic_settings.current()
    back_link()
    if not settings.is_sqlite:
        with ui.card().classes('max-w-2xl'):
            section_title('This clinic runs on PostgreSQL')
            ui.label('Back it up with PostgreSQL\'s own tools, e.g. a nightly pg_dump -Fc; restore with '
                     'pg_restore.').mark('backup-postgres')
        return
    with ui.card().classes('w-full gap-2'):
        section_title('Back up now')
        ui.label('A consistent copy of the whole database, taken while everyone keeps working. Keep a copy '
                 'away from this computer (download it, or copy the backups folder).').classes('text-slate-600')
        error = error_text()
        with ui.row().classes('items-center gap-3'):
            button = ui.button('Back up now', icon='backup').props('unelevated no-caps').mark('backup-now')
            last = ui.label().classes('text-sm text-slate-700').mark('backup-result')
    section = section_title('Backups')
    ui.label(f'Kept in {backup.backup_dir(settings).resolve()}').classes('text-sm text-slate-600')
    table = ui.table(columns=[
        {'name': 'name', 'label': 'File', 'field': 'name', 'align': 'left'},
        {'name': 'when', 'label': 'Taken', 'field': 'when', 'align': 'left'},
        {'name': 'size', 'label': 'Size', 'field': 'size', 'align': 'right'},
        {'name': 'download', 'label': '', 'field': 'name', 'align': 'right'}], rows=[], row_key='name') \
        .props('flat bordered dense hide-pagination no-data-label="No backups yet."').classes('w-full') \
        .mark('backups-table')
    table.add_slot('body-cell-download', r'''
<q-td :props="props"><q-btn flat dense no-caps color="primary" icon="download" label="Download"
  type="a" :href="'/admin/backups/' + props.row.name" /></q-td>''')
    with ui.card().classes('w-full gap-1'):
        section_title('Restoring a backup')
        for number, step in enumerate(RESTORE_STEPS, 1):
            ui.label(f'{number}. {step}').classes('text-slate-700')

    async def load() -> None:
        files = await backup.backups(actor, settings)
        table.rows = [{'name': f.name, 'when': f.created_at.astimezone(settings.tz).strftime('%d/%m/%Y %H:%M:%S'),
                       'size': f'{f.size / 1024 / 1024:,.1f} MB'} for f in files]
        section.set_text(f'Backups ({len(files)})')

    async def run() -> None:
        button.props('loading')
        try:
            made = await staff_action(lambda s: backup.backup_now(s, actor, settings), error_label=error,
                                      write=False)
        finally:
            button.props(remove='loading')
        if made is not None:
            last.set_text(f'Done: {made.name} ({made.size / 1024 / 1024:,.1f} MB)')
            ui.notify('Backup taken.', type='positive')
            await load()

    button.on_click(run)
    await load()


@staff_file(ADMIN, '/admin/backups/{name}')
async def download_backup(actor: Actor, name: str):
    try:
        found = backup.find_backup(clinic_settings.current(), name)
    except NotFound as error:
        return PlainTextResponse(str(error), status_code=404)
    async with get_db().write() as session:
        await backup.record_download(session, actor, found.name)
    return FileResponse(found.path, filename=found.name, media_type='application/vnd.sqlite3')
