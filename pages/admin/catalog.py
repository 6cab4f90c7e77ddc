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
from services.core.events import CatalogChanged

from .catalog_forms import MedicineForm, RoomForm, ServiceForm, SpecialtyForm
from .lab_panels import LabPanelsTab
from .parts import PAGE_SIZE, STATE_SLOT, Pager

TABS = {'specialties': 'Specialties', 'rooms': 'Rooms', 'services': 'Services & prices', 'medicines': 'Medicines',
        'lab': 'Lab panels'}


def _state(item: Any) -> str:
    return 'active' if item.is_active else 'deactivated'


class CatalogTab:
    """A tab's toolbar, its table (clicking a row edits the item) and the reading of its items. A subclass names
    its columns and texts, reads its items (``read``), makes a row of each (``row``) and opens its form."""
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
            ui.button(self.add_label, icon='add', on_click=self.create).props('unelevated no-caps') \
                .mark(self.add_mark or f'add-{self.add_label}')
        self.intro()
        self.table = ui.table(columns=[{'name': key, 'label': label, 'field': key, 'align': 'left'}
                                       for key, label in self.columns], rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination table-class="cursor-pointer" '
                   f'no-data-label="{self.empty}"').classes('w-full').mark(self.mark)
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
        self.search = ui.input(placeholder='Search name or code').props('outlined dense clearable debounce=300') \
            .classes('w-72').mark(self.search_mark)

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        raise NotImplementedError

    async def load(self, touch: bool = True) -> None:
        page = await staff_read(lambda s: self.read_page(s, self.search.value or '', self.pager.offset), touch=touch)
        if page is not None:
            self.show(page.rows)
            self.pager.show(len(page.rows), page.total)


class SpecialtiesTab(CatalogTab):
    columns = (('name', 'Specialty'), ('keywords', 'Complaints / keywords'), ('description', 'Description'))
    mark, empty, add_label = 'specialties-table', 'No specialties yet.', 'Add specialty'

    def intro(self) -> None:
        ui.label('Keywords let reception suggest the right doctor from what a walk-in patient says.') \
            .classes('text-sm text-slate-600')

    async def read(self, session) -> list:
        return await catalog.list_specialties(session, self.actor)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'name': item.name, 'keywords': item.keywords or '—', 'description': item.description}

    def open_form(self, item: Any) -> None:
        SpecialtyForm(self.actor, item)


class RoomsTab(CatalogTab):
    columns = (('code', 'Code'), ('name', 'Name'), ('kind', 'Used for'), ('floor', 'Floor'), ('state', 'State'))
    mark, empty, add_label = 'rooms-table', 'No rooms yet.', 'Add room'

    async def read(self, session) -> list:
        return await catalog.list_rooms(session, self.actor)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': item.name, 'kind': item.kind.value.capitalize(),
                'floor': item.floor, 'state': _state(item)}

    def open_form(self, item: Any) -> None:
        RoomForm(self.actor, item)


class ServicesTab(PagedTab):
    columns = (('code', 'Code'), ('name', 'Service'), ('kind', 'Kind'), ('duration', 'Minutes'), ('price', 'Price'),
               ('state', 'State'))
    mark, empty, add_label = 'services-table', 'No services yet.', 'Add service'
    search_mark, add_mark = 'service-search', 'add-service-search'

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        return await catalog.list_services(session, self.actor, search=search, offset=offset, limit=PAGE_SIZE)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': item.name, 'kind': item.kind.value,
                'duration': item.duration_minutes, 'price': money(item.price), 'state': _state(item)}

    async def open_form(self, item: Any) -> None:
        specialties = await staff_read(lambda s: catalog.list_specialties(s, self.actor))
        if specialties is not None:
            ServiceForm(self.actor, item, {s.id: s.name for s in specialties})


class MedicinesTab(PagedTab):
    columns = (('code', 'Code'), ('name', 'Medicine'), ('form', 'Form'), ('unit', 'Unit'),
               ('price', 'Price per unit'), ('reorder', 'Reorder level'), ('state', 'State'))
    mark, empty, add_label = 'medicines-table', 'No medicines yet.', 'Add medicine'
    search_mark, add_mark = 'medicine-search', 'add-medicine-search'

    async def read_page(self, session, search: str, offset: int) -> catalog.Page:
        return await catalog.list_medicines(session, self.actor, search=search, offset=offset, limit=PAGE_SIZE)

    def row(self, item: Any) -> dict:
        return {'id': item.id, 'code': item.code, 'name': item.name, 'unit': item.unit, 'price': money(item.price),
                'form': ' '.join(part for part in (item.form, item.strength) if part),
                'reorder': item.reorder_level, 'state': _state(item)}

    def open_form(self, item: Any) -> None:
        MedicineForm(self.actor, item)


PANELS = {'specialties': SpecialtiesTab, 'rooms': RoomsTab, 'services': ServicesTab, 'medicines': MedicinesTab,
          'lab': LabPanelsTab}


@staff_page(ADMIN, '/admin/catalog', title='Catalog & prices')
async def catalog_page(actor: Actor, tab: str = 'specialties'):
    back_link()
    with ui.tabs().props('align=left no-caps active-color=primary indicator-color=primary').classes('w-full') as tabs:
        for key, label in TABS.items():
            ui.tab(key, label).mark(f'tab-{key}')
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
