"""Administration: the clinic at a glance, what is left to set up, and the way to every administration page."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import section_title
from services import clinic, clinic_settings
from services.access import Actor
from services.core.db import get_db
from services.core.events import CatalogChanged, SettingsChanged, StaffChanged

SECTIONS = [
    ('/admin/staff', 'badge', 'Staff accounts', 'Create accounts, roles, reset passwords, unlock, deactivate'),
    ('/admin/doctors', 'local_hospital', 'Doctors & schedules', 'Specialties, services, weekly hours per room, leave'),
    ('/admin/catalog', 'list_alt', 'Catalog & prices', 'Specialties, rooms, services with prices, medicines'),
    ('/admin/settings', 'tune', 'Clinic settings', 'Name, logo, time zone, currency, queues, email server'),
    ('/admin/displays', 'tv', 'Waiting-room displays', 'Keys that open the board on a TV'),
    ('/admin/dashboard', 'insights', 'Dashboard', 'Visits, revenue, waiting times, workload, no-shows'),
    ('/admin/audit', 'manage_search', 'Audit log', 'Who did what and when'),
    ('/admin/backup', 'backup', 'Backup', 'Back up the database now; how to restore'),
]


async def _load(actor: Actor) -> tuple[dict[str, int], list[tuple[str, bool, str]]]:
    async with get_db().read() as session:
        counts = await clinic.summary(session, actor)
        done = await clinic_settings.setup_progress(session, actor)
    checklist = [
        ('Clinic name, address and phone', done['settings'], '/admin/settings'),
        ('Rooms', done['rooms'], '/admin/catalog?tab=rooms'),
        ('Services with prices', done['services'], '/admin/catalog?tab=services'),
        ('Doctors', done['doctors'], '/admin/doctors'),
        ("Doctors' weekly hours", done['hours'], '/admin/doctors'),
        ('Medicines', done['medicines'], '/admin/catalog?tab=medicines'),
        ('Staff accounts (reception, cashier, pharmacy)', done['staff'], '/admin/staff'),
    ]
    return counts, checklist


@staff_page(ADMIN)
async def admin_page(actor: Actor):
    counts, checklist = await _load(actor)
    with ui.row().classes('w-full gap-3'):
        figures = {}
        for label, value in counts.items():
            with ui.card().classes('px-4 py-3 min-w-[9rem]').mark(f'count-{label}'):
                figures[label] = ui.label(f'{value:,}').classes('text-2xl font-semibold text-primary')
                ui.label(label).classes('text-sm text-slate-600')

    todo = ui.card().classes('w-full bg-amber-50 gap-1').mark('setup-checklist')
    with todo:
        ui.label('Setting up the clinic').classes('text-lg font-semibold text-slate-800')
        ui.label('Still to do:').classes('text-sm text-slate-600')
        steps = ui.column().classes('gap-1')

    def show_checklist(items: list[tuple[str, bool, str]]) -> None:
        steps.clear()
        with steps:
            for label, done, link in items:
                if not done:
                    with ui.row().classes('items-center gap-2'):
                        ui.icon('radio_button_unchecked', size='xs').classes('text-amber-700')
                        ui.link(label, link).classes('text-primary')
        todo.set_visibility(not all(done for _, done, _ in items))

    show_checklist(checklist)

    section_title('Administration')
    with ui.element('div').classes('w-full grid gap-3 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4'):
        for path, icon, title, text in SECTIONS:
            with ui.card().classes('cursor-pointer hover:shadow-md gap-1') \
                    .on('click', lambda p=path: ui.navigate.to(p)).mark(f'section-{path.rsplit("/", 1)[-1]}'):
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.icon(icon, size='sm').classes('text-primary')
                    ui.link(title, path).classes('text-base font-semibold text-slate-800 no-underline')
                ui.label(text).classes('text-sm text-slate-600')

    async def refresh() -> None:
        fresh_counts, fresh_checklist = await _load(actor)
        for label, value in fresh_counts.items():
            figures[label].set_text(f'{value:,}')
        show_checklist(fresh_checklist)

    subscribe(StaffChanged, refresh)
    subscribe(SettingsChanged, refresh)
    subscribe(CatalogChanged, refresh)
