"""Administration: the catalog (specialties, rooms, services with prices and durations, medicines, the lab tests'
panels), one tab each; a row opens its form (``catalog_forms.py``, ``lab_panels.py``)."""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, money, on_row, staff_read
from services import catalog
from services.access import Actor
from services.core import i18n
from services.core.events import CatalogChanged
from services.core.i18n import N_, _

from .catalog_forms import MedicineForm, RoomForm, ServiceForm, SpecialtyForm, kind_label
from .lab_panels import LabPanelsTab
from .parts import PAGE_SIZE, STATE_SLOT, Pager

TABS = {'specialties': N_('Specialties'), 'rooms': N_('Rooms'), 'services': N_('Services & prices'),
        'medicines': N_('Medicines'), 'lab': N_('Lab panels')}


def _state(item: Any) -> str:
    return _('active') if item.is_active else _('deactivated')


def _name(item: Any) -> str:
    return i18n.pick(item.name, item.name_translations)


class CatalogTab:
    """A tab's toolbar, its table (clicking a row edits the item) and the reading of its items. A subclass names
    its columns and texts (marked with ``N_``, shown translated), reads its items (``read``), makes a row of each
    (``row``) and opens its form."""
    columns: tuple[tuple[str, str], ...] = ()
    mark = ''
    empty = ''
    add_label = ''
    add_mark = ''

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.items: dict[int, Any] = {}
        with ui.row().classes('w-full items-center gap-3'):
            self.toolbar()
            ui.space()
            ui.button(_(self.add_label), icon='add', on_click=self.create).props('unelevated no-caps') \
                .mark(self.add_mark or f'add-{self.add_label}')
        self.intro()
        self.table = ui.table(columns=[{'name': key, 'label': _(label), 'field': key, 'align': 'left'}
                                       for key, label in self.columns], rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination table-class="cursor-pointer"') \
            .props(f'no-data-label="{_(self.empty)}"').classes('w-full').mark(self.mark)
        self.table.add_slot('body-cell-state', STATE_SLOT)
        on_row(self.table, 'rowClick', self.edit)

    def toolbar(self) -> None:
        """What stands left of the Add button."""

    def intro(self) -> None:
        """What stands between the toolbar and the table."""

    async def read(self, session) -> list:
        raise NotImplementedError

    def row(self, item: Any) -> dict:
        raise NotImplementedError

    def open_form(self, item: Any) -> Awaitable[None] | None:
        """Open the item's form (``None``: a new one). At once where the form needs nothing more: a click runs
        it in the same turn, so the dialog is there when the click returns."""
        raise NotImplementedError

    async def load(self, touch: bool = True) -> None:
        items = await staff_read(self.read, touch=touch)
        if items is not None:
            self.show(items)

    def show(self, items: list) -> None:
        self.items = {item.id: item for item in items}
        self.table.rows = [self.row(item) for item in items]

    def create(self) -> Awaitable[None] | None:
        return self.open_form(None)

    def edit(self, row: dict) -> Awaitable[None] | None:
        return self.open_form(self.items.get(row['id']))


class PagedTab(CatalogTab):
    """A long list: searched by name or code and paged in the database."""
    search_mark = ''

    def __init__(self, actor: Actor) -> None:
        super().__init__(actor)
        self.pager = Pager(self.load)
        self.search.on_value_change(self.pager.restart)

    def toolbar(self) -> None:
        self.search = ui.input(placeholder=_('Search name or code')).props('outlined dense clearable debounce=300') \
            .classes('w-72').mark(self.search_mark)

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        raise NotImplementedError

    async def load(self, touch: bool = True) -> None:
        page = await staff_read(lambda s: self.read_page(s, self.search.value or '', self.pager.offset), touch=touch)
        if page is not None:
            self.show(page.rows)
            self.pager.show(len(page.rows), page.total)


class SpecialtiesTab(CatalogTab):
    columns = (('name', N_('Specialty')), ('keywords', N_('Complaints / keywords')),
               ('description', N_('Description')), ('state', N_('State')))
    mark, empty, add_label = 'specialties-table', N_('No specialties yet.'), N_('Add specialty')

    def intro(self) -> None:
        ui.label(_('Keywords let reception suggest the right doctor from what a walk-in patient says.')) \
            .classes('text-sm text-slate-600')

    async def read(self, session) -> list:
        return await catalog.list_specialties(session, self.actor)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'name': _name(item), 'keywords': item.keywords or '—', 'description': item.description,
                'state': _state(item), 'active': item.is_active}

    def open_form(self, item: Any) -> None:
        SpecialtyForm(self.actor, item)


class RoomsTab(CatalogTab):
    columns = (('code', N_('Code')), ('name', N_('Name')), ('kind', N_('Used for')), ('floor', N_('Floor')),
               ('state', N_('State')))
    mark, empty, add_label = 'rooms-table', N_('No rooms yet.'), N_('Add room')

    async def read(self, session) -> list:
        return await catalog.list_rooms(session, self.actor)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': _name(item), 'kind': kind_label(item.kind),
                'floor': item.floor, 'state': _state(item), 'active': item.is_active}

    def open_form(self, item: Any) -> None:
        RoomForm(self.actor, item)


class ServicesTab(PagedTab):
    columns = (('code', N_('Code')), ('name', N_('Service')), ('kind', N_('Kind')), ('duration', N_('Minutes')),
               ('price', N_('Price')), ('state', N_('State')))
    mark, empty, add_label = 'services-table', N_('No services yet.'), N_('Add service')
    search_mark, add_mark = 'service-search', 'add-service-search'

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        return await catalog.list_services(session, self.actor, search=search, offset=offset, limit=PAGE_SIZE)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': _name(item), 'kind': kind_label(item.kind),
                'duration': item.duration_minutes, 'price': money(item.price), 'state': _state(item),
                'active': item.is_active}

    async def open_form(self, item: Any) -> None:
        specialties = await staff_read(lambda s: catalog.list_specialties(s, self.actor))
        if specialties is not None:  # a deactivated specialty only where the service already has it
            ServiceForm(self.actor, item, {s.id: _name(s) if s.is_active else
                                           _('{name} (deactivated)').format(name=_name(s)) for s in specialties
                                           if s.is_active or (item is not None and item.specialty_id == s.id)})


class MedicinesTab(PagedTab):
    columns = (('code', N_('Code')), ('name', N_('Medicine')), ('form', N_('Form')), ('unit', N_('Unit')),
               ('price', N_('Price per unit')), ('reorder', N_('Reorder level')), ('state', N_('State')))
    mark, empty, add_label = 'medicines-table', N_('No medicines yet.'), N_('Add medicine')
    search_mark, add_mark = 'medicine-search', 'add-medicine-search'

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        return await catalog.list_medicines(session, self.actor, search=search, offset=offset, limit=PAGE_SIZE)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': item.name, 'unit': item.unit, 'price': money(item.price),
                'form': ' '.join(part for part in (item.form, item.strength) if part),
                'reorder': item.reorder_level, 'state': _state(item), 'active': item.is_active}

    def open_form(self, item: Any) -> None:
        MedicineForm(self.actor, item)


PANELS = {'specialties': SpecialtiesTab, 'rooms': RoomsTab, 'services': ServicesTab, 'medicines': MedicinesTab,
          'lab': LabPanelsTab}


@staff_page(ADMIN, '/admin/catalog', title=N_('Catalog & prices'))
async def catalog_page(actor: Actor, tab: str = 'specialties'):
    back_link()
    with ui.tabs().props('align=left no-caps active-color=primary indicator-color=primary').classes('w-full') as tabs:
        for key, label in TABS.items():
            ui.tab(key, _(label)).mark(f'tab-{key}')
    panels: list[CatalogTab | LabPanelsTab] = []
    with ui.tab_panels(tabs, value=tab if tab in TABS else 'specialties').classes('w-full bg-transparent'):
        for key, panel in PANELS.items():
            with ui.tab_panel(key).classes('p-0 gap-3'):
                panels.append(panel(actor))
    for panel in panels:
        await panel.load()

    async def refresh() -> None:
        for panel in panels:
            await panel.load(touch=False)

    subscribe(CatalogChanged, refresh)
