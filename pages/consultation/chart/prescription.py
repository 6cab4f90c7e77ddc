"""The prescription: medicines found with their stock, the quantity computed from the dose, allergy and stock
warnings, lines to remove while it is a draft, and the printable prescription."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import error_text, section_title, staff_action, staff_read
from models import PrescriptionStatus
from models.types import utcnow
from services import consultation, prescriptions
from services.core.clock import local_today
from services.core.errors import AllergyConflict
from services.core.events import VisitChanged
from services.core.i18n import N_, _
from services.prescriptions import LineInput

from .dialogs import AllergyOverrideDialog
from .visit import OpenVisit

RX_STATES = {PrescriptionStatus.DRAFT: N_('draft'), PrescriptionStatus.ISSUED: N_('issued'),
             PrescriptionStatus.PARTIALLY_DISPENSED: N_('partially dispensed'),
             PrescriptionStatus.DISPENSED: N_('dispensed'), PrescriptionStatus.CANCELLED: N_('cancelled')}


class PrescriptionPanel:
    """Find a medicine, write the dose, add it; the lines so far with their warnings."""
    follows = (VisitChanged,)

    def __init__(self, visit: OpenVisit) -> None:
        self.visit = visit
        self.picked: prescriptions.MedicineHit | None = None
        with ui.card().classes('w-full gap-3'):
            with ui.row().classes('w-full items-center justify-between'):
                section_title(_('Prescription'))
                self.print_link = ui.link(_('Print prescription (PDF)'), '#', new_tab=True).mark('print-prescription')
            with ui.column().classes('w-full gap-2') as self.form:
                self._line_form()
            self.error = error_text()
            self.lines = ui.column().classes('w-full gap-1')
        self.search.on_value_change(self.find)
        for element in (self.dose, self.times, self.days, self.quantity):
            element.on_value_change(self.show_quantity)
        visit.watch(self)

    def _line_form(self) -> None:
        self.search = ui.input(_('Find a medicine (name or code)')).props('outlined clearable').classes('w-full') \
            .mark('medicine-search')
        self.hits = ui.column().classes('w-full gap-0')
        self.picked_label = ui.label('').classes('font-medium text-primary').mark('picked-medicine')
        with ui.grid().classes('w-full gap-2 grid-cols-2 md:grid-cols-5'):
            self.dose = ui.input(_('Dose'), placeholder=_('1 tablet')).props('outlined dense').mark('dose')
            self.times = ui.input(_('Times a day')).props('outlined dense inputmode=numeric').mark('times')
            self.days = ui.input(_('Days')).props('outlined dense inputmode=numeric').mark('days')
            self.quantity = ui.input(_('Quantity'), placeholder=_('computed')) \
                .props('outlined dense inputmode=numeric').mark('quantity')
            self.instructions = ui.input(_('Instructions'), placeholder=_('After meals')).props('outlined dense') \
                .classes('col-span-2 md:col-span-1').mark('instructions')
        with ui.row().classes('items-center gap-3'):
            ui.button(_('Add to prescription'), icon='add', on_click=self.add).props('unelevated no-caps') \
                .mark('add-medicine')
            self.quantity_hint = ui.label('').classes('text-sm text-slate-600')

    async def find(self) -> None:
        text = self.search.value or ''
        hits = []
        if len(text.strip()) >= 2:
            hits = await staff_read(lambda s: prescriptions.search_medicines(
                s, self.visit.actor, text, today=local_today(self.visit.tz), limit=8))
            if hits is None:
                return
        self.hits.clear()
        with self.hits:
            for hit in hits:
                with ui.item(on_click=lambda h=hit: self.pick(h)).props('clickable dense') \
                        .classes('w-full rounded hover:bg-teal-50').mark('medicine-hit'):
                    with ui.item_section():
                        ui.label(hit.name)
                    with ui.item_section().props('side'):
                        ui.label(f'{hit.on_hand} {hit.unit}' if hit.on_hand else _('out of stock')) \
                            .classes('text-positive' if hit.on_hand else 'text-negative font-medium')

    def pick(self, hit: prescriptions.MedicineHit) -> None:
        self.picked = hit
        self.picked_label.set_text(
            _('{medicine} · {count} {unit} in stock').format(medicine=hit.name, count=hit.on_hand, unit=hit.unit)
            if hit.on_hand else _('{medicine} · OUT OF STOCK').format(medicine=hit.name))
        self.search.set_value('')
        self.hits.clear()
        self.show_quantity()

    def show_quantity(self) -> None:
        """The quantity the dose, times a day and days come to, while none is written."""
        hit = self.picked
        if hit is None:
            self.quantity_hint.set_text('')
            return
        try:
            computed = prescriptions.compute_quantity(self.dose.value or '', int(self.times.value or 0),
                                                      int(self.days.value or 0), hit.unit)
        except ValueError:
            computed = None
        self.quantity_hint.set_text(f'= {computed} {hit.unit}' if computed and not self.quantity.value else '')

    async def add(self) -> None:
        await self.submit('')

    async def submit(self, reason: str, error_label: ui.label | None = None) -> bool:
        """Add the line; a medicine matching an allergy opens the override dialog (nothing is added until the
        doctor gives the reason there). True when the line was added."""
        hit = self.picked
        line = LineInput(hit.id if hit else None, dose=self.dose.value or '', times_per_day=self.times.value or '',
                         duration_days=self.days.value or '', quantity=self.quantity.value or '',
                         instructions=self.instructions.value or '')
        added = await staff_action(lambda s: self._add_item(s, line, reason), error_label=error_label or self.error)
        if isinstance(added, AllergyConflict):
            if error_label is None:
                AllergyOverrideDialog(added, self.submit).open()
            else:
                error_label.set_text(str(added))
            return False
        if added is None:
            return False
        if added.warnings:
            ui.notify(_('{medicine} added. Warning: {warnings}').format(medicine=hit.name,
                                                                         warnings='; '.join(added.warnings)),
                      type='warning', multi_line=True, timeout=8000)
        else:
            ui.notify(_('{medicine} × {quantity} added.').format(medicine=hit.name, quantity=added.item.quantity),
                      type='positive')
        self.picked = None
        self.picked_label.set_text('')
        for element in (self.dose, self.times, self.days, self.quantity, self.instructions):
            element.set_value('')
        await self.visit.refresh()
        return True

    async def _add_item(self, session, line: LineInput, reason: str):
        """The service's answer, or the allergy it stopped at (for the override dialog)."""
        try:
            return await prescriptions.add_item(session, self.visit.actor, self.visit.id, line,
                                                today=local_today(self.visit.tz), now=utcnow(),
                                                allergy_override_reason=reason)
        except AllergyConflict as conflict:
            return conflict

    async def remove(self, item_id: int) -> None:
        await staff_action(lambda s: prescriptions.remove_item(s, self.visit.actor, self.visit.id, item_id))
        await self.visit.refresh()

    def show(self, chart: consultation.Chart) -> None:
        rx = chart.prescription
        draft = rx is None or rx.status.value == 'draft'
        self.form.set_visibility(chart.editable and draft)
        self.print_link.set_visibility(rx is not None and bool(rx.items))
        if rx is not None:
            self.print_link.props(f'href=/consultation/prescriptions/{rx.id}.pdf')
        self.lines.clear()
        with self.lines:
            if rx is None or not rx.items:
                ui.label(_('No medicines prescribed.')).classes('text-slate-500 text-sm')
                return
            if not draft:
                ui.label(_('Issued to the pharmacy · {status}').format(
                    status=_(RX_STATES[rx.status]) if rx.status in RX_STATES else rx.status.value)) \
                    .classes('text-sm text-slate-600')
            for item in rx.items:
                self._line(item, removable=draft and chart.editable)

    def _line(self, item: prescriptions.ItemView, *, removable: bool) -> None:
        with ui.row().classes('w-full items-start gap-2 border-b py-1 no-wrap').mark('rx-item'):
            with ui.column().classes('gap-0 grow min-w-0'):
                ui.label(f'{item.medicine_name} × {item.quantity} {item.unit}').classes('font-medium')
                ui.label(item.dosage + (f' · {item.instructions}' if item.instructions else '')) \
                    .classes('text-sm text-slate-600')
                for warning in item.warnings:
                    ui.label(f'⚠ {warning}').classes('text-sm text-negative font-medium').mark('rx-warning')
                if item.allergy_override_reason:
                    ui.label(_('Prescribed despite the allergy: {reason}').format(
                        reason=item.allergy_override_reason)).classes('text-sm text-negative').mark('rx-override')
            if removable:
                remove = ui.button(icon='delete', on_click=lambda: self.remove(item.id)) \
                    .props('flat round dense color=grey-7')
                remove.props['aria-label'] = _('Remove')
