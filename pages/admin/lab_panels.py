"""Administration, the catalog: the lab tests' panels. A test opens its panel: the values it measures in the order
they are entered and printed (add, rename, move, take off), each with its reference ranges (for anyone, or by sex
and age band, with critical limits)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from nicegui import ui

from clinic_ui.widgets import error_text, on_row, staff_action, staff_read
from services import lab_results
from services.access import Actor
from services.core.i18n import N_, _
from services.lab_results import AnalyteView, RangeInput, RangeView

from .parts import STATE_SLOT

COLUMNS = (('code', N_('Code')), ('name', N_('Lab test')), ('values', N_('Values on its panel')),
           ('state', N_('State')))
SEXES = {'': N_('Anyone'), 'female': N_('Female'), 'male': N_('Male')}


def _number(value: Decimal | None) -> str:
    return '' if value is None else f'{value.normalize():f}'


def range_text(view: RangeView) -> str:
    """"female, 0–12 y: 11.5–14.5 · critical < 7 or > 20"."""
    limits = view.limits
    text = f'{view.who}: {lab_results.reference_text(limits)}'
    low, high = limits.critical_low, limits.critical_high
    if low is not None and high is not None:
        return _('{range} · critical < {low} or > {high}').format(range=text, low=_number(low), high=_number(high))
    if low is not None:
        return _('{range} · critical < {low}').format(range=text, low=_number(low))
    if high is not None:
        return _('{range} · critical > {high}').format(range=text, high=_number(high))
    return text


class LabPanelsTab:
    """The lab tests of the price list; a row opens its panel."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        ui.label(_('The values each lab test measures, with their units and reference ranges: the lab enters one '
                   'row per value, and values out of range are flagged.')).classes('text-sm text-slate-600')
        self.table = ui.table(columns=[{'name': key, 'label': _(label), 'field': key, 'align': 'left'}
                                       for key, label in COLUMNS], rows=[], row_key='id') \
            .props('flat bordered wrap-cells hide-pagination table-class="cursor-pointer"') \
            .classes('w-full').mark('lab-panels-table')
        self.table.props['no-data-label'] = _('No lab tests on the price list.')
        self.table.add_slot('body-cell-state', STATE_SLOT)
        on_row(self.table, 'rowClick', self.open)

    async def load(self, touch: bool = True) -> None:
        services = await staff_read(lambda s: lab_results.lab_services(s, self.actor), touch=touch)
        if services is not None:
            self.table.rows = [{'id': s.id, 'code': s.code, 'name': s.name, 'values': s.analytes or '—',
                                'state': _('active') if s.is_active else _('deactivated'), 'active': s.is_active}
                               for s in services]

    async def open(self, row: dict) -> None:
        await PanelDialog(self.actor, row['id'], row['name']).load()


class PanelDialog:
    """One lab test's panel: its values with their ranges, and the form to add a value."""

    def __init__(self, actor: Actor, service_id: int, name: str) -> None:
        self.actor = actor
        self.service_id = service_id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-4xl gap-2').mark('panel-dialog'):
            ui.label(_('Panel · {name}').format(name=name)).classes('text-xl font-semibold')
            self.rows = ui.column().classes('w-full gap-2 max-h-[60vh] overflow-y-auto pr-1')
            self.error = error_text()
            with ui.row().classes('w-full items-center gap-2'):
                self.name = ui.input(_('New value (e.g. WBC)')).props('outlined dense').classes('grow') \
                    .mark('analyte-name')
                self.unit = ui.input(_('Unit')).props('outlined dense').classes('w-32').mark('analyte-unit')
                ui.button(_('Add value'), icon='add', on_click=self.add).props('unelevated no-caps').mark('add-analyte')
                ui.button(_('Close'), on_click=self.dialog.close).props('flat no-caps')
            self.forms = ui.element('div')  # the dialogs of a value or range: they outlive a reload of the rows
        self.dialog.open()

    async def load(self) -> None:
        analytes = await staff_read(lambda s: lab_results.panel(s, self.actor, self.service_id),
                                    error_label=self.error)
        if analytes is None:
            return
        self.rows.clear()
        with self.rows:
            if not analytes:
                ui.label(_('No values yet: add the first one below.')).classes('text-slate-500')
            for number, analyte in enumerate(analytes):
                self.analyte(number, analyte)

    def analyte(self, number: int, analyte: AnalyteView) -> None:
        with ui.column().classes('w-full gap-0 border rounded p-2').mark(f'analyte-{number}'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.label(analyte.name).classes('font-medium' if analyte.is_active else 'line-through text-slate-400')
                ui.label(analyte.unit).classes('text-sm text-slate-600')
                ui.space()
                self.analyte_buttons(number, analyte)
            for view in analyte.ranges:
                with ui.row().classes('items-center gap-1'):
                    ui.label(range_text(view)).classes('text-sm').mark('range-text')
                    ui.button(icon='edit', on_click=lambda v=view: RangeDialog(self, analyte, v)) \
                        .props('flat dense round size=sm').tooltip(_('Change this range'))
                    ui.button(icon='delete', on_click=lambda v=view: self.run(
                        lambda s: lab_results.delete_range(s, self.actor, v.id), _('Range removed.'))) \
                        .props('flat dense round size=sm color=negative').tooltip(_('Remove this range')) \
                        .mark('delete-range')

    def analyte_buttons(self, number: int, analyte: AnalyteView) -> None:
        def step(function: Callable[..., Awaitable[Any]], **kwargs: Any) -> Callable[[], Awaitable[None]]:
            return lambda: self.run(lambda s: function(s, self.actor, analyte.id, **kwargs))
        ui.button(icon='arrow_upward', on_click=step(lab_results.move_analyte, up=True)) \
            .props('flat dense round size=sm').tooltip(_('Move up'))
        ui.button(icon='arrow_downward', on_click=step(lab_results.move_analyte, up=False)) \
            .props('flat dense round size=sm').tooltip(_('Move down')).mark(f'move-down-{number}')
        ui.button(icon='edit', on_click=lambda: AnalyteDialog(self, analyte)) \
            .props('flat dense round size=sm').tooltip(_('Rename, or change the unit'))
        ui.button(_('Add range'), icon='add', on_click=lambda: RangeDialog(self, analyte, None)) \
            .props('flat dense no-caps').mark(f'add-range-{number}')
        ui.button(_('Put back') if not analyte.is_active else _('Take off'),
                  on_click=lambda: self.run(lambda s: lab_results.set_analyte_active(
                      s, self.actor, analyte.id, not analyte.is_active))).props('flat dense no-caps color=grey-8')

    async def run(self, step: Callable[[Any], Awaitable[Any]], success: str | None = None,
                  error_label: ui.label | None = None) -> bool:
        """One change of the panel; then the panel as it is now. True when it was saved."""
        done = await staff_action(step, error_label=error_label or self.error, success=success)
        if done is not None:
            await self.load()
        return done is not None

    async def add(self) -> None:
        if await self.run(lambda s: lab_results.save_analyte(s, self.actor, self.service_id, None,
                                                              name=self.name.value or '',
                                                              unit=self.unit.value or ''), _('Value added.')):
            self.name.set_value('')
            self.unit.set_value('')


class AnalyteDialog:
    """Rename a value of the panel, or change its unit."""

    def __init__(self, panel: PanelDialog, analyte: AnalyteView) -> None:
        self.panel, self.analyte = panel, analyte
        with panel.forms, ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2'):
            ui.label(analyte.name).classes('text-lg font-semibold')
            self.name = ui.input(_('Name'), value=analyte.name).props('outlined dense').classes('w-full')
            self.unit = ui.input(_('Unit'), value=analyte.unit).props('outlined dense').classes('w-full')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.save).props('unelevated no-caps')
        self.dialog.open()

    async def save(self) -> None:
        panel = self.panel
        if await panel.run(lambda s: lab_results.save_analyte(s, panel.actor, panel.service_id, self.analyte.id,
                                                               name=self.name.value or '',
                                                               unit=self.unit.value or ''),
                           _('Value saved.'), error_label=self.error):
            self.dialog.close()


class RangeDialog:
    """A reference range of one value: for anyone or one sex, optionally an age band; normal and critical
    limits."""

    def __init__(self, panel: PanelDialog, analyte: AnalyteView, view: RangeView | None) -> None:
        self.panel, self.analyte, self.view = panel, analyte, view
        limits = view.limits if view else lab_results.Range()
        with panel.forms, ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2') \
                .mark('range-dialog'):
            ui.label(_('{name}: reference range').format(name=analyte.name)).classes('text-lg font-semibold')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.sex = ui.select({key: _(label) for key, label in SEXES.items()},
                                     value=view.sex.value if view and view.sex else '', label=_('For')) \
                    .props('outlined dense').classes('w-32').mark('range-sex')
                self.min_age = self.field(_('From age (years)'), view.min_age_years if view else None, 'range-min-age')
                self.max_age = self.field(_('Under age (years)'), view.max_age_years if view else None, 'range-max-age')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.low = self.field(_('Low'), _number(limits.low), 'range-low')
                self.high = self.field(_('High'), _number(limits.high), 'range-high')
                self.critical_low = self.field(_('Critical below'), _number(limits.critical_low), 'range-critical-low')
                self.critical_high = self.field(_('Critical above'), _number(limits.critical_high),
                                                'range-critical-high')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.save).props('unelevated no-caps').mark('range-save')
        self.dialog.open()

    @staticmethod
    def field(label: str, value: object, mark: str) -> ui.input:
        return ui.input(label, value='' if value is None else str(value)).props('outlined dense') \
            .classes('grow').mark(mark)

    async def save(self) -> None:
        data = RangeInput(sex=self.sex.value or None, min_age_years=self.min_age.value or '',
                          max_age_years=self.max_age.value or '', low=self.low.value or '',
                          high=self.high.value or '', critical_low=self.critical_low.value or '',
                          critical_high=self.critical_high.value or '')
        panel = self.panel
        if await panel.run(lambda s: lab_results.save_range(s, panel.actor, self.analyte.id,
                                                             self.view.id if self.view else None, data),
                           _('Range saved.'), error_label=self.error):
            self.dialog.close()
