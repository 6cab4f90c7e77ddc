"""The pharmacy's dialogs: dispensing a prescription (per medicine how much to give, or a substitute with a note),
goods in, a medicine's ledger, and an adjustment of one batch."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from clinic_ui.allergies import AllergyLine
from clinic_ui.widgets import data_table, error_text, section_title, staff_action, translated_columns
from models import StockBatch
from models.types import utcnow
from services import clinic_settings, inventory, pharmacy, prescriptions
from services.access import Actor
from services.core.clock import local_today
from services.core.i18n import N_, _, ngettext
from services.inventory import ADJUSTMENT_REASONS, GoodsIn
from services.patients import parse_date
from services.pharmacy import DispenseLine
from services.substitutes import Substitute

from .texts import movement_text, said

LEDGER_COLUMNS = [
    {'name': 'at', 'label': N_('When'), 'field': 'at'},
    {'name': 'kind', 'label': N_('Movement'), 'field': 'kind'},
    {'name': 'batch', 'label': N_('Batch'), 'field': 'batch'},
    {'name': 'quantity', 'label': N_('Quantity change'), 'field': 'quantity', 'align': 'right'},
    {'name': 'balance', 'label': N_('Balance'), 'field': 'balance', 'align': 'right'},
    {'name': 'reason', 'label': N_('Reason'), 'field': 'reason'},
    {'name': 'by', 'label': N_('By'), 'field': 'by'},
]


def today() -> date:
    return local_today(clinic_settings.current().tz)


async def once(button: ui.button, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` unless it is already running from this button: a double click does it once."""
    if button.props.get('loading'):
        return
    button.props('loading')
    try:
        await action()
    finally:
        button.props(remove='loading')


# --- Dispensing ------------------------------------------------------------------------------------------------------

class DispenseLineForm:
    """One prescribed medicine: what it is, how much to give, and optionally an equivalent medicine instead (same
    active ingredient and strength, in any pack: the quantity is converted), with a note."""

    def __init__(self, actor: Actor, line: pharmacy.PlanLine) -> None:
        self.actor = actor
        item = self.item = line.item
        self.substitutes = line.substitutes
        self.substitute: Substitute | None = None
        with ui.column().classes('w-full gap-1 border rounded p-3').mark('dispense-line'):
            with ui.row().classes('w-full items-start gap-3'):
                self.describe(line)
                self.quantity = ui.number(_('Give ({unit})').format(unit=item.unit), value=min(line.remaining, item.on_hand), min=0,
                                          max=line.remaining, step=1, format='%d') \
                    .props('outlined dense').classes('w-36').mark('give-quantity')
            self.checked = self.override(item)
            in_stock = sum(1 for option in self.substitutes.options if option.on_hand)
            title = ngettext('Substitute… ({count} equivalent in stock)', 'Substitute… ({count} equivalents in stock)',
                             in_stock) if in_stock else _('Substitute…')
            with ui.expansion(title, value=item.on_hand < line.remaining).classes('w-full text-sm') \
                    .props('dense').mark('substitute-panel'):
                self.choices = ui.column().classes('w-full gap-0').mark('substitutes')
                with ui.row().classes('w-full gap-2 items-center'):
                    self.chosen = ui.label('').classes('text-primary text-sm grow').mark('substitute-chosen')
                    self.keep = ui.button(_('Give the prescribed medicine'), on_click=lambda: self.choose(None)) \
                        .props('flat dense no-caps').mark('substitute-clear')
                self.note = ui.input(_('Why (required)')).props('outlined dense').classes('w-full') \
                    .mark('substitute-note')
                self.note.set_visibility(bool(in_stock))  # nothing to choose: no reason to write
        self.quantity.on_value_change(self.show_choices)
        self.show_choices()

    @staticmethod
    def override(item: prescriptions.ItemView) -> ui.checkbox | None:
        """Prescribed despite an allergy: the doctor's reason, and the box the pharmacist ticks once checked."""
        if not item.allergy_override_reason:
            return None
        ui.label(_("Prescribed despite an allergy. Doctor's reason: {reason}")
                 .format(reason=item.allergy_override_reason)) \
            .classes('text-negative font-medium').mark('override-reason')
        if item.allergy_acknowledged:
            ui.label(_('Checked by a pharmacist at an earlier dispense.')).classes('text-sm text-slate-600')
            return None
        return ui.checkbox(_('I have checked this with the patient/doctor')).mark('acknowledge-override')

    @staticmethod
    def describe(line: pharmacy.PlanLine) -> None:
        item = line.item
        with ui.column().classes('gap-0 grow min-w-0'):
            ui.label(f'{item.medicine_name}').classes('font-medium')
            ui.label(f'{item.dosage}' + (f' · {item.instructions}' if item.instructions else '')) \
                .classes('text-sm text-slate-600')
            ui.label(_('Prescribed {quantity} {unit} · given {given} · in stock {on_hand}')
                     .format(quantity=item.quantity, unit=item.unit, given=item.dispensed_quantity,
                             on_hand=item.on_hand)).classes('text-sm')
            batches = ', '.join(_('{batch} (exp. {expiry}: {quantity})')
                                .format(batch=b.batch_no, expiry=f'{b.expiry_date:%d/%m/%Y}', quantity=b.quantity)
                                for b in line.batches[:3])
            ui.label(_('Batches, first expiry first: {batches}').format(batches=batches) if batches
                     else _('No batch in date.')) \
                .classes('text-xs text-slate-500')
            for warning in item.warnings:
                ui.label(f'⚠ {warning}').classes('text-sm text-negative')

    def given(self) -> int:
        return max(int(self.quantity.value or 0), 0)

    def show_choices(self) -> None:
        """The equivalents, in stock first, each with its stock and what the quantity to give comes to in its
        pack; or why there is none to choose."""
        self.choices.clear()
        quantity = self.given()
        with self.choices:
            if self.substitutes.reason:
                ui.label(self.substitutes.reason).classes('text-sm text-slate-700').mark('substitute-reason')
            for option in self.substitutes.options:
                stock = _('{count} {unit} in stock').format(count=option.on_hand, unit=option.unit) \
                    if option.on_hand else _('OUT OF STOCK')
                with ui.item(on_click=lambda option=option: self.choose(option)).props('dense') \
                        .classes('w-full rounded').mark('substitute-option') as row:
                    with ui.item_section():
                        ui.item_label(f'{option.name} · {option.strength}').classes('font-medium')
                        ui.item_label(self.substitutes.conversion(quantity, self.item.unit, option)) \
                            .props('caption')
                    with ui.item_section().props('side'):
                        ui.item_label(stock).classes('text-positive' if option.on_hand else 'text-negative')
                if option.on_hand:
                    row.props('clickable')
                else:
                    row.props('disable')
        if self.substitute is None:
            self.chosen.set_text('')
        else:
            self.chosen.set_text(_('Substitute: {name}, {conversion}').format(
                name=self.substitute.name,
                conversion=self.substitutes.conversion(quantity, self.item.unit, self.substitute)))
        self.keep.set_visibility(self.substitute is not None)

    def choose(self, option: Substitute | None) -> None:
        self.substitute = option
        self.show_choices()

    def acknowledged(self) -> bool:
        return self.checked is not None and bool(self.checked.value)

    def entered(self) -> DispenseLine:
        return DispenseLine(self.item.id, self.given(), self.substitute.id if self.substitute else None,
                            self.note.value or '')


class DispenseDialog:
    """A prescription to dispense: one form per medicine, a note, and "Dispense" (all or nothing)."""

    def __init__(self, actor: Actor, plan: pharmacy.DispensePlan,
                 on_dispensed: Callable[[int, pharmacy.DispensePlan], None]) -> None:
        self.actor, self.plan, self.on_dispensed = actor, plan, on_dispensed
        tz = clinic_settings.current().tz
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-4xl gap-3').mark('dispense-dialog'):
            ui.label(f'RX-{plan.prescription_id:06d} · {plan.patient_name} · {plan.patient_code}') \
                .classes('text-xl font-semibold')
            ui.label(_('Prescribed by {doctor} at {time}')
                     .format(doctor=plan.doctor_name, time=f'{plan.issued_at.astimezone(tz):%d/%m %H:%M}')
                     if plan.issued_at else _('Prescribed by {doctor}').format(doctor=plan.doctor_name)) \
                .classes('text-slate-600')
            AllergyLine(plan.allergy)
            self.lines = [DispenseLineForm(actor, line) for line in plan.lines]
            self.notes = ui.input(_('Note (optional)')).props('outlined dense').classes('w-full')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                self.button = ui.button(_('Dispense'), icon='medication').props('unelevated no-caps') \
                    .mark('confirm-dispense')
        self.button.on_click(lambda: once(self.button, self.dispense))

    def open(self) -> None:
        self.dialog.open()

    async def dispense(self) -> None:
        lines = [line.entered() for line in self.lines]
        checked = [line.item.id for line in self.lines if line.acknowledged()]
        done = await staff_action(lambda s: pharmacy.dispense(s, self.actor, self.plan.prescription_id, lines,
                                                              notes=self.notes.value or '', today=today(),
                                                              now=utcnow(), acknowledged_item_ids=checked),
                                  error_label=self.error, success=_('Dispensed: stock updated.'))
        if done is not None:
            self.dialog.close()
            self.on_dispensed(done.id, self.plan)


# --- Inventory -------------------------------------------------------------------------------------------------------

class GoodsInDialog:
    """A delivery of one medicine: a batch with its expiry, supplier, quantity and unit cost."""

    def __init__(self, actor: Actor, medicine_id: int, name: str) -> None:
        self.actor, self.medicine_id = actor, medicine_id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('receive-dialog'):
            section_title(_('Goods in: {name}').format(name=name))
            self.batch_no = ui.input(_('Batch number *')).props('outlined dense').mark('batch-no')
            self.expiry = ui.input(_('Expiry (dd/mm/yyyy) *')).props('outlined dense inputmode=numeric').mark('expiry')
            self.supplier = ui.input(_('Supplier')).props('outlined dense').mark('supplier')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.quantity = ui.input(_('Quantity *')).props('outlined dense inputmode=numeric').classes('grow') \
                    .mark('receive-quantity')
                self.cost = ui.input(_('Unit cost')).props('outlined dense inputmode=numeric').classes('grow') \
                    .mark('unit-cost')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                self.button = ui.button(_('Receive'), icon='move_to_inbox').props('unelevated no-caps') \
                    .mark('confirm-receive')
        self.button.on_click(lambda: once(self.button, self.receive))

    def open(self) -> None:
        self.dialog.open()

    async def receive(self) -> None:
        typed = (self.expiry.value or '').strip()
        day = parse_date(self.expiry.value or '') if typed else None
        if typed and day is None:
            self.error.set_text(_('Please write the expiry date as dd/mm/yyyy, e.g. 31/12/2027.'))
            return
        data = GoodsIn(self.medicine_id, self.batch_no.value or '', day, self.supplier.value or '',
                       self.quantity.value or '', self.cost.value or '')
        done = await staff_action(lambda s: inventory.receive(s, self.actor, data, today=today(), now=utcnow()),
                                  error_label=self.error, success=_('Goods received.'))
        if done is not None:
            self.dialog.close()


class LedgerDialog:
    """A medicine's batches and every movement of its stock, with the check that they add up."""

    def __init__(self, actor: Actor, ledger: inventory.Ledger) -> None:
        self.actor = actor
        tz = clinic_settings.current().tz
        with ui.dialog().props('maximized') as self.dialog, ui.card().classes('w-full gap-3').mark('ledger-dialog'):
            with ui.row().classes('w-full items-center justify-between'):
                section_title(_('Ledger: {name}').format(name=ledger.medicine.name))
                said(ui.button(icon='close', on_click=self.dialog.close).props('flat round'), 'aria-label', _('Close'))
            check = _('On hand {quantity} {unit} · ledger adds up') if ledger.adds_up \
                else _('On hand {quantity} {unit} · ledger DOES NOT ADD UP: please report')
            ui.label(check.format(quantity=ledger.on_hand, unit=ledger.medicine.unit)) \
                .classes('text-positive' if ledger.adds_up else 'text-negative').mark('ledger-check')
            with ui.row().classes('w-full gap-2'):
                for batch in ledger.batches:
                    with ui.card().classes('p-2 gap-0').mark('batch'):
                        ui.label(f'{batch.batch_no}').classes('font-medium')
                        ui.label(_('exp. {expiry} · {quantity} left')
                                 .format(expiry=f'{batch.expiry_date:%d/%m/%Y}', quantity=batch.quantity)) \
                            .classes('text-sm text-slate-600')
                        ui.button(_('Adjust…'), on_click=lambda b=batch: self.adjust(b)) \
                            .props('flat dense no-caps').mark('adjust')
            rows = [{'id': r.id, 'at': r.at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), 'kind': movement_text(r.kind),
                     'batch': r.batch_no, 'quantity': f'{r.quantity:+d}', 'balance': r.balance, 'reason': r.reason,
                     'by': r.by} for r in reversed(ledger.rows)]
            data_table(translated_columns(LEDGER_COLUMNS), rows, empty=_('No movements.'), mark='ledger', rows_per_page=20)

    def open(self) -> None:
        self.dialog.open()

    def adjust(self, batch: StockBatch) -> None:
        """Adjust one batch; once saved, this ledger closes (it is out of date)."""
        AdjustDialog(self.actor, batch.id, batch.batch_no, on_saved=self.dialog.close).open()


class AdjustDialog:
    """A correction of one batch's quantity, with a reason (and a note)."""

    def __init__(self, actor: Actor, batch_id: int, batch_no: str, on_saved: Callable[[], None]) -> None:
        self.actor, self.batch_id, self.on_saved = actor, batch_id, on_saved
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('adjust-dialog'):
            section_title(_('Adjust batch {batch}').format(batch=batch_no))
            reasons = {key: _(label) for key, label in ADJUSTMENT_REASONS.items()}
            self.reason = ui.select(reasons, value='damaged', label=_('Reason')).props('outlined dense') \
                .mark('adjust-reason')
            self.change = ui.input(_('Change (e.g. -3 or +2) *')).props('outlined dense').mark('adjust-change')
            self.note = ui.input(_('Note')).props('outlined dense').mark('adjust-note')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Save'), on_click=self.adjust).props('unelevated no-caps').mark('confirm-adjust')

    def open(self) -> None:
        self.dialog.open()

    async def adjust(self) -> None:
        change, reason, note = self.change.value or '', self.reason.value, self.note.value or ''
        done = await staff_action(lambda s: inventory.adjust(s, self.actor, self.batch_id, change=change,
                                                             reason=reason, note=note, now=utcnow()),
                                  error_label=self.error, success=_('Stock adjusted.'))

        if done is not None:
            self.dialog.close()
            self.on_saved()
