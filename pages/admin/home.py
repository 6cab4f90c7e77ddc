"""Administration: the clinic at a glance, what is left to set up, and the way to every administration page."""
from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import section_title, staff_read
from services import clinic, clinic_settings
from services.access import Actor
from services.core import i18n
from services.core.events import CatalogChanged, SettingsChanged, StaffChanged
from services.core.i18n import N_, _

SECTIONS = [
    ('/admin/staff', 'badge', N_('Staff accounts'), N_('Create accounts, roles, reset passwords, unlock, deactivate')),
    ('/admin/doctors', 'local_hospital', N_('Doctors & schedules'),
     N_('Specialties, services, weekly hours per room, leave')),
    ('/admin/catalog', 'list_alt', N_('Catalog & prices'), N_('Specialties, rooms, services with prices, medicines')),
    ('/admin/settings', 'tune', N_('Clinic settings'), N_('Name, logo, time zone, currency, queues, email server')),
    ('/admin/vouchers', 'confirmation_number', N_('Vouchers'),
     N_('Discount codes: issue, limit to services, deactivate, see where used')),
    ('/admin/displays', 'tv', N_('Waiting-room displays'), N_('Keys that open the board on a TV')),
    ('/admin/dashboard', 'insights', N_('Dashboard'), N_('Visits, revenue, waiting times, workload, no-shows')),
    ('/admin/audit', 'manage_search', N_('Audit log'), N_('Who did what and when')),
    ('/admin/backup', 'backup', N_('Backup'), N_('Back up the database now; how to restore')),
]
CHECKLIST = [  # (what to do, its key in clinic_settings.setup_progress, where it is done)
    (N_('Clinic name, address and phone'), 'settings', '/admin/settings'),
    (N_('Rooms'), 'rooms', '/admin/catalog?tab=rooms'),
    (N_('Services with prices'), 'services', '/admin/catalog?tab=services'),
    (N_('Doctors'), 'doctors', '/admin/doctors'),
    (N_("Doctors' weekly hours"), 'hours', '/admin/doctors'),
    (N_('Medicines'), 'medicines', '/admin/catalog?tab=medicines'),
    (N_('Staff accounts (reception, cashier, pharmacy)'), 'staff', '/admin/staff'),
]
COUNT_LABELS = (N_('Staff accounts'), N_('Doctors'), N_('Rooms'), N_('Services'), N_('Medicines'),
                N_('Patients'))  # the keys of clinic.summary


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]
    done: dict[str, bool]


async def read_overview(actor: Actor, *, touch: bool = True) -> Overview | None:
    async def both(session) -> Overview:
        return Overview(await clinic.summary(session, actor), await clinic_settings.setup_progress(session, actor))
    return await staff_read(both, touch=touch)


class Counts:
    """One card per count (patients, doctors, …), its figure updated in place."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.figures: dict[str, ui.label] = {}
        with ui.row().classes('w-full gap-3'):
            for label in counts:
                with ui.card().classes('px-4 py-3 min-w-[9rem]').mark(f'count-{label}'):
                    self.figures[label] = ui.label().classes('text-2xl font-semibold text-primary')
                    ui.label(_(label)).classes('text-sm text-slate-600')
        self.show(counts)

    def show(self, counts: dict[str, int]) -> None:
        for label, value in counts.items():
            if label in self.figures:
                self.figures[label].set_text(i18n.number(value))


class Checklist:
    """What is still to set up, each step a link to where it is done; gone when everything is."""

    def __init__(self) -> None:
        self.steps: dict[str, ui.row] = {}
        with ui.card().classes('w-full bg-amber-50 gap-1').mark('setup-checklist') as self.card:
            ui.label(_('Setting up the clinic')).classes('text-lg font-semibold text-slate-800')
            ui.label(_('Still to do:')).classes('text-sm text-slate-600')
            with ui.column().classes('gap-1'):
                for label, key, link in CHECKLIST:
                    with ui.row().classes('items-center gap-2') as self.steps[key]:
                        ui.icon('radio_button_unchecked', size='xs').classes('text-amber-700')
                        ui.link(_(label), link).classes('text-primary')

    def show(self, done: dict[str, bool]) -> None:
        for key, step in self.steps.items():
            step.set_visibility(not done[key])
        self.card.set_visibility(not all(done[key] for key in self.steps))


def sections() -> None:
    """A card per administration page."""
    section_title(_('Administration'))
    with ui.element('div').classes('w-full grid gap-3 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4'):
        for path, icon, title, text in SECTIONS:
            with ui.card().classes('cursor-pointer hover:shadow-md gap-1') \
                    .on('click', lambda p=path: ui.navigate.to(p)).mark(f'section-{path.rsplit("/", 1)[-1]}'):
                with ui.row().classes('items-center gap-2 no-wrap'):
                    ui.icon(icon, size='sm').classes('text-primary')
                    ui.link(_(title), path).classes('text-base font-semibold text-slate-800 no-underline')
                ui.label(_(text)).classes('text-sm text-slate-600')


@staff_page(ADMIN)
async def admin_page(actor: Actor):
    first = await read_overview(actor)
    if first is None:
        return
    counts, checklist = Counts(first.counts), Checklist()
    checklist.show(first.done)
    sections()

    async def refresh() -> None:
        fresh = await read_overview(actor, touch=False)
        if fresh is not None:
            counts.show(fresh.counts)
            checklist.show(fresh.done)

    for kind in (StaffChanged, SettingsChanged, CatalogChanged):
        subscribe(kind, refresh)
