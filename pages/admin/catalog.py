"""Administration: the catalog (specialties, rooms, services with prices and durations, medicines)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, money, on_row, staff_action, staff_read
from models import RoomKind, ServiceKind
from services import catalog, clinic_settings
from services.access import Actor
from services.core.db import get_db
from services.core.events import CatalogChanged
from services.core.money import parse_money

PAGE_SIZE = 50
TABS = {'specialties': 'Specialties', 'rooms': 'Rooms', 'services': 'Services & prices', 'medicines': 'Medicines'}
ROOM_KINDS = {kind.value: kind.value.capitalize() for kind in RoomKind}
SERVICE_KINDS = {kind.value: kind.value.capitalize() for kind in ServiceKind}


def _columns(*names: tuple[str, str]) -> list[dict]:
    return [{'name': key, 'label': label, 'field': key, 'align': 'left'} for key, label in names]


def _major(amount: int, exponent: int) -> str:
    """Minor units as typed in a form: 150000 -> '150000', 1250 (USD) -> '12.50'."""
    return f'{amount / 10 ** exponent:.{exponent}f}' if exponent else str(amount)


def _form_dialog(title: str, build: Callable[[], Callable[[], Awaitable[object]]], *,
                 active: bool | None = None, toggle: Callable[[bool], Awaitable[object]] | None = None) -> None:
    """A dialog with the fields ``build()`` makes; ``build`` returns the save action (None on error)."""
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('catalog-dialog'):
        ui.label(title).classes('text-xl font-semibold')
        save_action = build()
        error = error_text()

        async def save() -> None:
            if await staff_action(lambda s: save_action(s), error_label=error, success='Saved.') is not None:
                dialog.close()

        async def switch() -> None:
            if await staff_action(lambda s: toggle(s, not active), error_label=error,
                                  success='Reactivated.' if not active else 'Deactivated.') is not None:
                dialog.close()

        with ui.row().classes('w-full items-center'):
            if toggle is not None and active is not None:
                ui.button('Reactivate' if not active else 'Deactivate', on_click=switch) \
                    .props('flat no-caps color=grey-8').mark('catalog-toggle')
            ui.space()
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            ui.button('Save', on_click=save).props('unelevated no-caps').mark('catalog-save')
    dialog.open()


def _input(label: str, value: object = '', mark: str = '') -> ui.input:
    field = ui.input(label, value='' if value is None else str(value)).props('outlined dense').classes('w-full')
    return field.mark(mark) if mark else field


@staff_page(ADMIN, '/admin/catalog', title='Catalog & prices')
async def catalog_page(actor: Actor, tab: str = 'specialties'):
    settings = clinic_settings.current()
    back_link()
    with ui.tabs().props('align=left no-caps active-color=primary indicator-color=primary').classes('w-full') as tabs:
        for key, label in TABS.items():
            ui.tab(key, label).mark(f'tab-{key}')
    panels = ui.tab_panels(tabs, value=tab if tab in TABS else 'specialties').classes('w-full bg-transparent')
    reloaders: list[Callable[[], Awaitable[None]]] = []

    def toolbar(button: str, on_click, *, search_mark: str | None = None) -> ui.input | None:
        with ui.row().classes('w-full items-center gap-3'):
            search = None
            if search_mark:
                search = ui.input(placeholder='Search name or code').props('outlined dense clearable debounce=300') \
                    .classes('w-72').mark(search_mark)
            ui.space()
            ui.button(button, icon='add', on_click=on_click).props('unelevated no-caps').mark(f'add-{search_mark or button}')
        return search

    def table(columns: list[dict], mark: str, empty: str) -> ui.table:
        result = ui.table(columns=columns, rows=[], row_key='id') \
            .props(f'flat bordered wrap-cells hide-pagination table-class="cursor-pointer" no-data-label="{empty}"') \
            .classes('w-full').mark(mark)
        result.add_slot('body-cell-state', r'''
<q-td :props="props"><q-badge :color="props.row.state == 'active' ? 'positive' : 'grey-6'" :label="props.row.state" /></q-td>''')
        return result

    with panels:
        # -------------------------------------------------------------- specialties
        with ui.tab_panel('specialties').classes('p-0 gap-3'):
            specialties_by_id: dict[int, object] = {}

            def edit_specialty(item=None) -> None:
                def build():
                    name = _input('Name', item.name if item else '', 'specialty-name')
                    keywords = ui.textarea('Complaints that lead here (comma-separated, e.g. fever, cough)',
                                           value=item.keywords if item else '').props('outlined dense autogrow') \
                        .classes('w-full').mark('specialty-keywords')
                    description = _input('Description (optional)', item.description if item else '')
                    return lambda s: catalog.save_specialty(s, actor, item.id if item else None, name=name.value,
                                                            description=description.value, keywords=keywords.value)
                _form_dialog(item.name if item else 'New specialty', build)

            toolbar('Add specialty', lambda: edit_specialty(), search_mark=None)
            ui.label('Keywords let reception suggest the right doctor from what a walk-in patient says.') \
                .classes('text-sm text-slate-600')
            specialty_table = table(_columns(('name', 'Specialty'), ('keywords', 'Complaints / keywords'),
                                             ('description', 'Description')), 'specialties-table',
                                    'No specialties yet.')
            on_row(specialty_table, 'rowClick', lambda row: edit_specialty(specialties_by_id.get(row['id'])))

            async def load_specialties() -> None:
                async with get_db().read() as session:
                    items = await catalog.list_specialties(session, actor)
                specialties_by_id.clear()
                specialties_by_id.update({s.id: s for s in items})
                specialty_table.rows = [{'id': s.id, 'name': s.name, 'keywords': s.keywords or '—',
                                         'description': s.description} for s in items]
            reloaders.append(load_specialties)

        # -------------------------------------------------------------- rooms
        with ui.tab_panel('rooms').classes('p-0 gap-3'):
            rooms_by_id: dict[int, object] = {}

            def edit_room(item=None) -> None:
                def build():
                    code = _input('Code (on tickets and the board, e.g. R101)', item.code if item else '', 'room-code')
                    name = _input('Name (e.g. Consultation room 1)', item.name if item else '', 'room-name')
                    kind = ui.select(ROOM_KINDS, label='Used for',
                                     value=item.kind.value if item else RoomKind.CONSULTATION.value) \
                        .props('outlined dense').classes('w-full').mark('room-kind')
                    floor = _input('Floor (optional)', item.floor if item else '')
                    return lambda s: catalog.save_room(s, actor, item.id if item else None, code=code.value,
                                                       name=name.value, kind=kind.value or '', floor=floor.value)
                _form_dialog(f'Room {item.code}' if item else 'New room', build,
                             active=item.is_active if item else None,
                             toggle=(lambda s, on: catalog.set_room_active(s, actor, item.id, on)) if item else None)

            toolbar('Add room', lambda: edit_room())
            room_table = table(_columns(('code', 'Code'), ('name', 'Name'), ('kind', 'Used for'), ('floor', 'Floor'),
                                        ('state', 'State')), 'rooms-table', 'No rooms yet.')
            on_row(room_table, 'rowClick', lambda row: edit_room(rooms_by_id.get(row['id'])))

            async def load_rooms() -> None:
                async with get_db().read() as session:
                    items = await catalog.list_rooms(session, actor)
                rooms_by_id.clear()
                rooms_by_id.update({r.id: r for r in items})
                room_table.rows = [{'id': r.id, 'code': r.code, 'name': r.name, 'kind': r.kind.value.capitalize(),
                                    'floor': r.floor, 'state': 'active' if r.is_active else 'deactivated'}
                                   for r in items]
            reloaders.append(load_rooms)

        # -------------------------------------------------------------- services
        with ui.tab_panel('services').classes('p-0 gap-3'):
            services_by_id: dict[int, object] = {}
            service_state = {'offset': 0}

            async def edit_service(item=None) -> None:
                async with get_db().read() as session:
                    specialty_options = {s.id: s.name for s in await catalog.list_specialties(session, actor)}

                def build():
                    code = _input('Code (e.g. CONS-GEN)', item.code if item else '', 'service-code')
                    name = _input('Name', item.name if item else '', 'service-name')
                    kind = ui.select(SERVICE_KINDS, label='Kind',
                                     value=item.kind.value if item else ServiceKind.CONSULTATION.value) \
                        .props('outlined dense').classes('w-full').mark('service-kind')
                    specialty = ui.select({0: '—', **specialty_options}, label='Specialty (optional)',
                                          value=(item.specialty_id or 0) if item else 0) \
                        .props('outlined dense').classes('w-full').mark('service-specialty')
                    with ui.row().classes('w-full gap-2 no-wrap'):
                        duration = ui.input('Duration (minutes)', value=str(item.duration_minutes) if item else '15') \
                            .props('outlined dense inputmode=numeric').classes('grow').mark('service-duration')
                        price = ui.input(f'Price ({settings.currency})',
                                         value=_major(item.price, settings.currency_exponent) if item else '') \
                            .props('outlined dense inputmode=decimal').classes('grow').mark('service-price')
                    if item:
                        ui.label('A new price applies from now on; invoices already made keep their prices.') \
                            .classes('text-xs text-slate-600')
                    description = _input('Description (optional)', item.description if item else '')

                    def save(s):
                        minor = parse_money(price.value, settings.currency_exponent, 'price')
                        return catalog.save_service(s, actor, item.id if item else None, code=code.value,
                                                    name=name.value, kind=kind.value or '',
                                                    duration_minutes=(duration.value or '').strip() or None,
                                                    price=minor, specialty_id=specialty.value or None,
                                                    description=description.value)
                    return save
                _form_dialog(item.name if item else 'New service', build, active=item.is_active if item else None,
                             toggle=(lambda s, on: catalog.set_service_active(s, actor, item.id, on)) if item else None)

            service_search = toolbar('Add service', lambda: edit_service(), search_mark='service-search')
            service_table = table(_columns(('code', 'Code'), ('name', 'Service'), ('kind', 'Kind'),
                                           ('duration', 'Minutes'), ('price', 'Price'), ('state', 'State')),
                                  'services-table', 'No services yet.')
            on_row(service_table, 'rowClick', lambda row: edit_service(services_by_id.get(row['id'])))
            service_pager = ui.row().classes('w-full items-center justify-end gap-2')

            async def load_services() -> None:
                page = await staff_read(lambda session: catalog.list_services(
                    session, actor, search=service_search.value or '', offset=service_state['offset'],
                    limit=PAGE_SIZE))
                if page is None:
                    return
                services_by_id.clear()
                services_by_id.update({s.id: s for s in page.rows})
                service_table.rows = [{'id': s.id, 'code': s.code, 'name': s.name, 'kind': s.kind.value,
                                       'duration': s.duration_minutes,
                                       'price': money(s.price),
                                       'state': 'active' if s.is_active else 'deactivated'} for s in page.rows]
                pager(service_pager, service_state, page.total, len(page.rows), load_services)
            service_search.on_value_change(lambda: restart(service_state, load_services))
            reloaders.append(load_services)

        # -------------------------------------------------------------- medicines
        with ui.tab_panel('medicines').classes('p-0 gap-3'):
            medicines_by_id: dict[int, object] = {}
            medicine_state = {'offset': 0}

            def edit_medicine(item=None) -> None:
                def build():
                    with ui.row().classes('w-full gap-2 no-wrap'):
                        code = ui.input('Code', value=item.code if item else '').props('outlined dense') \
                            .classes('w-32').mark('medicine-code')
                        name = ui.input('Name (e.g. Paracetamol 500 mg)', value=item.name if item else '') \
                            .props('outlined dense').classes('grow').mark('medicine-name')
                    generic = _input('Generic name (optional)', item.generic_name if item else '')
                    with ui.row().classes('w-full gap-2 no-wrap'):
                        form = ui.input('Form', value=item.form if item else 'tablet').props('outlined dense') \
                            .classes('grow')
                        strength = ui.input('Strength', value=item.strength if item else '').props('outlined dense') \
                            .classes('grow')
                    with ui.row().classes('w-full gap-2 no-wrap'):
                        unit = ui.input('Unit counted and sold', value=item.unit if item else 'tablet') \
                            .props('outlined dense').classes('grow').mark('medicine-unit')
                        price = ui.input(f'Price per unit ({settings.currency})',
                                         value=_major(item.price, settings.currency_exponent) if item else '') \
                            .props('outlined dense inputmode=decimal').classes('grow').mark('medicine-price')
                        reorder = ui.input('Reorder level', value=str(item.reorder_level) if item else '0') \
                            .props('outlined dense inputmode=numeric').classes('w-32').mark('medicine-reorder')

                    def save(s):
                        minor = parse_money(price.value, settings.currency_exponent, 'price')
                        return catalog.save_medicine(s, actor, item.id if item else None, code=code.value,
                                                     name=name.value, unit=unit.value, price=minor,
                                                     reorder_level=(reorder.value or '').strip(),
                                                     generic_name=generic.value, form=form.value,
                                                     strength=strength.value)
                    return save
                _form_dialog(item.name if item else 'New medicine', build, active=item.is_active if item else None,
                             toggle=(lambda s, on: catalog.set_medicine_active(s, actor, item.id, on)) if item else None)

            medicine_search = toolbar('Add medicine', lambda: edit_medicine(), search_mark='medicine-search')
            medicine_table = table(_columns(('code', 'Code'), ('name', 'Medicine'), ('form', 'Form'),
                                            ('unit', 'Unit'), ('price', 'Price per unit'),
                                            ('reorder', 'Reorder level'), ('state', 'State')),
                                   'medicines-table', 'No medicines yet.')
            on_row(medicine_table, 'rowClick', lambda row: edit_medicine(medicines_by_id.get(row['id'])))
            medicine_pager = ui.row().classes('w-full items-center justify-end gap-2')

            async def load_medicines() -> None:
                page = await staff_read(lambda session: catalog.list_medicines(
                    session, actor, search=medicine_search.value or '', offset=medicine_state['offset'],
                    limit=PAGE_SIZE))
                if page is None:
                    return
                medicines_by_id.clear()
                medicines_by_id.update({m.id: m for m in page.rows})
                medicine_table.rows = [{'id': m.id, 'code': m.code, 'name': m.name,
                                        'form': ' '.join(p for p in (m.form, m.strength) if p), 'unit': m.unit,
                                        'price': money(m.price),
                                        'reorder': m.reorder_level,
                                        'state': 'active' if m.is_active else 'deactivated'} for m in page.rows]
                pager(medicine_pager, medicine_state, page.total, len(page.rows), load_medicines)
            medicine_search.on_value_change(lambda: restart(medicine_state, load_medicines))
            reloaders.append(load_medicines)

    def pager(row: ui.row, state: dict, total: int, shown: int, load) -> None:
        row.clear()
        with row:
            ui.label(f'{state["offset"] + 1 if shown else 0}–{state["offset"] + shown} of {total}') \
                .classes('text-sm text-slate-600')

            async def move(step: int) -> None:
                state['offset'] = max(0, state['offset'] + step)
                await load()
            ui.button(icon='chevron_left', on_click=lambda: move(-PAGE_SIZE)).props('flat round dense') \
                .set_enabled(state['offset'] > 0)
            ui.button(icon='chevron_right', on_click=lambda: move(PAGE_SIZE)).props('flat round dense') \
                .set_enabled(state['offset'] + shown < total)

    async def restart(state: dict, load) -> None:
        state['offset'] = 0
        await load()

    for load in reloaders:
        await load()

    async def refresh(event: dict) -> None:
        for load in reloaders:
            await load()

    subscribe(CatalogChanged, refresh)
