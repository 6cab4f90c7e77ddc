"""The shared frame of every staff page: header (clinic, station, person, sign out) and the role's navigation."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from services import clinic_settings
from services.access import Actor
from services.core.events import SettingsChanged
from services.core.i18n import _

from . import auth, theme
from .live import subscribe
from .stations import stations_for

IDLE_CHECK_INTERVAL_S = 30


@contextmanager
def frame(actor: Actor, title: str, *, current_path: str = '') -> Iterator[ui.column]:
    """The page ``title`` is the English text marked for the catalog (``N_``): it is shown translated."""
    settings = clinic_settings.current()
    title = _(title)
    theme.apply()
    ui.page_title(f'{title} · {settings.clinic_name}')
    with ui.header(elevated=True).classes('items-center gap-2 px-3 py-2 bg-primary text-white'):
        menu_label = _('Menu')
        menu = ui.button(icon='menu').props(f'flat round color=white aria-label="{menu_label}"').classes('lg:hidden')
        with ui.column().classes('gap-0 min-w-0'):
            clinic_name = ui.label(settings.clinic_name).classes('text-xs opacity-80 leading-tight') \
                .mark('clinic-name')
            ui.label(title).classes('text-lg font-semibold leading-tight truncate').mark('station-title')
        ui.space()
        with ui.row().classes('items-center gap-2 no-wrap'):
            ui.icon('account_circle', size='sm')
            with ui.column().classes('gap-0 max-sm:hidden'):
                ui.label(actor.full_name).classes('text-sm font-medium leading-tight').mark('signed-in-name')
                ui.label(_(actor.role.label)).classes('text-xs opacity-80 leading-tight')
            ui.button(_('Sign out'), icon='logout', on_click=lambda: ui.navigate.to('/logout')) \
                .props('flat no-caps color=white').mark('sign-out')
    # A new name saved on the settings page shows at once (a new clinic names itself on its first run).
    subscribe(SettingsChanged, lambda: clinic_name.set_text(clinic_settings.current().clinic_name))
    with ui.left_drawer(value=None, bordered=True).props('width=220 breakpoint=1023').classes('bg-white p-0') \
            as drawer:
        with ui.list().props('padding').classes('w-full'):
            for station in stations_for(actor.role):
                active = current_path.startswith(station.path)
                with ui.item(on_click=lambda s=station: ui.navigate.to(s.path)) \
                        .props(f'clickable {"active" if active else ""} active-class="bg-teal-50 text-primary"') \
                        .classes('rounded-r-full mr-2').mark(f'nav-{station.path.strip("/")}'):
                    with ui.item_section().props('avatar'):
                        ui.icon(station.icon)
                    ui.item_section(_(station.title)).classes('text-base')
            ui.separator().classes('my-2')
            with ui.item(on_click=lambda: ui.navigate.to('/account/language')).props('clickable') \
                    .mark('nav-language'):
                with ui.item_section().props('avatar'):
                    ui.icon('translate')
                ui.item_section(_('Language'))
            with ui.item(on_click=lambda: ui.navigate.to('/account/password')).props('clickable'):
                with ui.item_section().props('avatar'):
                    ui.icon('key')
                ui.item_section(_('Change password'))
    menu.on_click(drawer.toggle)

    def check_idle() -> None:
        if auth.seconds_until_idle_logout() <= 0:
            ui.navigate.to('/logout?reason=idle')

    ui.timer(IDLE_CHECK_INTERVAL_S, check_idle)  # reads this browser's session only, never the database
    with ui.column().classes('w-full max-w-screen-xl mx-auto p-3 sm:p-5 gap-4') as content:
        yield content
