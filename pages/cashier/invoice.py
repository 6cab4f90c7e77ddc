"""One invoice: who and what (header), the items and figures, the balance with what the cashier can do about it, and
the payments and refunds with their receipts. Every panel shows a fresh view of the invoice, also on each billing
event about it."""
from __future__ import annotations

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui.live import on_missed, subscribe
from clinic_ui.panels import LivePanel
from clinic_ui.routes import staff_page
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import amount_text, money, on_row, section_title, staff_action, translated_columns
from models import InvoiceStatus, PaymentKind, PaymentMethod, VisitStatus
from models.types import utcnow
from services import billing, clinic_settings, qr, vietqr
from services.access import Actor
from services.core.events import BillingChanged
from services.core.i18n import N_, _

from .dialogs import DeferDialog, DiscountDialog, EmailDialog, InsuranceDialog, PaymentDialog, RefundDialog, VoidDialog
from .downloads import bill_url, receipt_url
from .texts import invoice_status_text, method_text, said

ITEM_COLUMNS = [
    {'name': 'description', 'label': N_('Item'), 'field': 'description', 'align': 'left'},
    {'name': 'quantity', 'label': N_('Qty'), 'field': 'quantity', 'align': 'right'},
    {'name': 'unit_price', 'label': N_('Unit price'), 'field': 'unit_price', 'align': 'right'},
    {'name': 'line_total', 'label': N_('Amount'), 'field': 'line_total', 'align': 'right'},
]
# A medicine's line with the stock batches it was dispensed from, folded under it in small print.
ITEM_DESCRIPTION = r'''
<q-td :props="props">{{ props.value }}<div v-if="props.row.batches" class="text-xs text-slate-500">{{ props.row.batches }}</div></q-td>
'''
PAYMENT_COLUMNS = [
    {'name': 'receipt', 'label': N_('Receipt'), 'field': 'receipt', 'align': 'left'},
    {'name': 'time', 'label': N_('Time'), 'field': 'time', 'align': 'left'},
    {'name': 'method', 'label': N_('Method'), 'field': 'method', 'align': 'left'},
    {'name': 'amount', 'label': N_('Amount'), 'field': 'amount', 'align': 'right'},
    {'name': 'cashier', 'label': N_('Cashier'), 'field': 'cashier', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
PAYMENT_ACTIONS = r'''
<q-td :props="props" class="whitespace-nowrap">
  <template v-if="props.row.first">
    <q-btn flat dense no-caps color="primary" icon="print" label="A4" @click="$parent.$emit('print', ['a4', props.row.id])" />
    <q-btn flat dense no-caps color="primary" icon="receipt" label="80 mm" @click="$parent.$emit('print', ['thermal', props.row.id])" />
    <q-btn flat dense round color="primary" icon="mail" :aria-label="props.row.email_label" @click="$parent.$emit('email', props.row.id)" />
  </template>
  <q-btn v-if="props.row.refundable" flat dense no-caps color="negative" :label="props.row.refund_label" @click="$parent.$emit('refund', props.row.id)" />
</q-td>
'''
STATUS_COLORS = {InvoiceStatus.UNPAID: 'orange', InvoiceStatus.PARTIALLY_PAID: 'amber-8',
                 InvoiceStatus.PAID: 'positive', InvoiceStatus.VOID: 'grey'}


def figure_lines(view: billing.InvoiceView) -> list[tuple[str, str, str]]:
    """The invoice's figures, top to bottom: (label, amount, classes)."""
    invoice = view.invoice
    lines = [(_('Subtotal'), money(invoice.subtotal), '')]
    if invoice.discount_amount:
        discount = _('Discount: {reason}, approved by {approver}') if view.approved_by else _('Discount: {reason}')
        lines.append((discount.format(reason=invoice.discount_reason, approver=view.approved_by),
                      '− ' + money(invoice.discount_amount), ''))
    if invoice.insurance_amount:
        lines.append((_('Insurance: {insurer}, policy {policy}').format(insurer=invoice.insurer,
                                                                        policy=invoice.insurance_policy_no),
                      '− ' + money(invoice.insurance_amount), ''))
    lines.append((_('Total'), money(invoice.total), 'font-bold text-lg'))
    if invoice.amount_paid:
        lines.append((_('Paid'), money(invoice.amount_paid), ''))
    if view.refunded:
        lines.append((_('Refunded'), '− ' + money(view.refunded), 'text-negative'))
    if invoice.status == InvoiceStatus.VOID:
        lines.append((_('Void: {reason} ({by})').format(reason=invoice.void_reason, by=view.voided_by), '',
                      'text-negative font-medium'))
    return lines


def method_line(p: billing.PaymentView) -> str:
    """How a payment was made (method, reference, cash received and change), or what a refund gave back and why."""
    method = method_text(p.method) + (f' ({p.reference})' if p.reference else '')
    if p.tendered is not None:
        method += ' · ' + _('received {received}, change {change}').format(received=amount_text(p.tendered),
                                                                          change=amount_text(p.change_due))
    if p.kind == PaymentKind.REFUND:
        return _('Refund, {method}: {reason}').format(method=method, reason=p.reason)
    if p.refunded:
        method += ' · ' + _('{amount} refunded').format(amount=amount_text(p.refunded))
    return method


def payment_rows(view: billing.InvoiceView) -> list[dict]:
    """Payments and refunds as rows; the first payment of a receipt carries the receipt's buttons."""
    tz, void = clinic_settings.current().tz, view.invoice.status == InvoiceStatus.VOID
    rows, email, refund_label = [], _('Email'), _('Refund…')
    for p in view.payments:
        refund = p.kind == PaymentKind.REFUND
        method = method_line(p)
        number = p.receipt_number or ''
        rows.append({'id': p.id, 'receipt': number.rsplit('-', 1)[0] if number.count('-') > 1 else number,
                     'first': number.count('-') == 1, 'time': p.received_at.astimezone(tz).strftime('%d/%m %H:%M'),
                     'method': method, 'amount': ('− ' if refund else '') + amount_text(p.amount),
                     'cashier': p.cashier, 'refundable': p.refundable if not void else 0,
                     'refundable_text': amount_text(p.refundable), 'email_label': email,
                     'refund_label': refund_label})
    return rows


class InvoiceHeader:
    """The invoice's number, patient, doctor and day, its status, and the visit's other invoices."""

    def __init__(self) -> None:
        with ui.row().classes('w-full items-center gap-3'):
            said(ui.button(icon='arrow_back', on_click=lambda: ui.navigate.to('/cashier')).props('flat round'),
                 'aria-label', _('Back to the queue'))
            with ui.column().classes('gap-0'):
                self.heading = ui.label().classes('text-xl font-semibold').mark('invoice-heading')
                self.subheading = ui.label().classes('text-slate-600')
            self.status = ui.badge().classes('text-sm px-2 py-1').mark('invoice-status')
            ui.space()
            self.others = ui.row().classes('gap-2 items-center')

    def show(self, view: billing.InvoiceView) -> None:
        invoice = view.invoice
        self.heading.set_text(f'{invoice.number} · {view.patient.full_name}')
        visit_day = view.visit.visit_date.strftime('%d/%m/%Y') if view.visit else ''
        self.subheading.set_text(' · '.join(p for p in (view.patient.code, view.doctor, visit_day) if p))
        self.status.set_text(invoice_status_text(invoice.status))
        self.status.props(f'color={STATUS_COLORS[invoice.status]}')
        self.others.clear()
        with self.others:
            for other_id, number, status in view.other_invoices:
                ui.link(f'{number} ({invoice_status_text(status)})', f'/cashier/invoices/{other_id}').classes('text-sm')


def batches_text(line: billing.BillLine) -> str:
    """The stock batches a medicine's line was dispensed from: ``Batch B1 × 10, B2 × 5``; '' for other lines."""
    batches = [f'{item.batch_no} × {item.quantity}' for item in line.items if item.batch_no]
    return _('Batch {batches}').format(batches=', '.join(batches)) if batches else ''


class InvoiceItems:
    """The items billed, and the figures from the subtotal to what was paid."""

    def __init__(self) -> None:
        with ui.card().classes('grow min-w-[20rem] basis-[34rem] gap-2'):
            section_title(_('Items'))
            self.items = ui.table(columns=translated_columns(ITEM_COLUMNS), rows=[], row_key='id', pagination=0) \
                .props('flat dense wrap-cells hide-bottom').classes('w-full').mark('invoice-items')
            self.items.add_slot('body-cell-description', ITEM_DESCRIPTION)
            ui.separator()
            self.figures = ui.column().classes('w-full gap-1').mark('invoice-figures')

    def show(self, view: billing.InvoiceView) -> None:
        void = view.invoice.status == InvoiceStatus.VOID
        self.items.rows = [{'id': line.items[0].id, 'quantity': line.quantity,
                            'description': _('{item} (void)').format(item=line.description) if void else line.description,
                            'batches': batches_text(line), 'unit_price': amount_text(line.unit_price),
                            'line_total': amount_text(line.line_total)}
                           for line in view.lines]
        self.figures.clear()
        with self.figures:
            for label, value, classes in figure_lines(view):
                with ui.row().classes(f'w-full justify-between no-wrap gap-4 {classes}'):
                    ui.label(label)
                    ui.label(value).classes('whitespace-nowrap')


class BalanceBox:
    """The balance due, and what the cashier can do with the bill now: take payment, close a bill of 0, discount,
    insurance, print, void."""

    def __init__(self, actor: Actor, invoice_id: int) -> None:
        self.actor, self.invoice_id = actor, invoice_id
        self.view: billing.InvoiceView | None = None
        with ui.card().classes('w-full lg:w-[24rem] gap-2'):
            self.balance = ui.label().classes('text-3xl font-bold text-primary').mark('invoice-balance')
            self.note = ui.label().classes('text-slate-600 text-sm')
            self.pay_button = ui.button(_('Take payment'), icon='payments', on_click=self.pay) \
                .props('unelevated no-caps size=lg').classes('w-full').mark('take-payment')
            self.settle_button = ui.button(_('Close the bill (nothing to pay)'), icon='done_all', on_click=self.settle) \
                .props('unelevated no-caps').classes('w-full')
            with ui.row().classes('w-full gap-2'):
                self.discount_button = ui.button(_('Discount / voucher'), icon='sell', on_click=self.discount) \
                    .props('outline no-caps').classes('grow').mark('discount')
                self.insurance_button = ui.button(_('Insurance'), icon='health_and_safety', on_click=self.insure) \
                    .props('outline no-caps').classes('grow').mark('insurance')
            self.defer_button = ui.button(_('Defer payment…'), icon='schedule', on_click=self.defer) \
                .props('outline no-caps').classes('w-full').mark('defer-payment')
            with ui.row().classes('w-full gap-2'):
                ui.button(_('Print bill'), icon='print', on_click=self.print_bill).props('flat no-caps') \
                    .mark('print-bill')
                ui.space()
                self.void_button = ui.button(_('Void…'), icon='block', on_click=self.void) \
                    .props('flat no-caps color=negative').mark('void')

    def show(self, view: billing.InvoiceView) -> None:
        self.view, invoice = view, view.invoice
        if invoice.status == InvoiceStatus.VOID:
            self.balance.set_text(_('Void'))
            self.note.set_text(_('This bill was cancelled; its items can be billed again.'))
        else:
            self.balance.set_text(money(view.balance))
            self.note.set_text(_('Balance due') if view.balance else _('Paid in full'))
        self.pay_button.set_visibility(view.can_pay and view.balance > 0)
        self.settle_button.set_visibility(view.can_pay and invoice.total == 0)
        self.discount_button.set_visibility(view.can_adjust)
        self.insurance_button.set_visibility(view.can_adjust)
        self.void_button.set_visibility(view.can_void)
        self._show_deferral(view)

    def _show_deferral(self, view: billing.InvoiceView) -> None:
        visit = view.visit
        deferred = visit is not None and visit.payment_deferred_at is not None
        if deferred and view.balance:
            self.note.set_text(_('Balance due; payment deferred: {reason}').format(reason=visit.payment_deferred_reason))
        self.defer_button.set_visibility(
            visit is not None and not deferred and view.can_pay and view.balance > 0
            and visit.status not in (VisitStatus.CLOSED, VisitStatus.CANCELLED))

    def defer(self) -> None:
        DeferDialog(self.actor, self.view).open()

    def pay(self) -> None:
        PaymentDialog(self.actor, self.view).open()

    async def settle(self) -> None:
        """A bill of 0 (discounted or insured in full) is closed without money."""
        await staff_action(lambda s: billing.pay(s, self.actor, self.invoice_id, [], now=utcnow()),
                           success=_('Bill closed.'))

    def discount(self) -> None:
        DiscountDialog(self.actor, self.view).open()

    def insure(self) -> None:
        InsuranceDialog(self.actor, self.view).open()

    def print_bill(self) -> None:
        ui.navigate.to(bill_url(self.invoice_id), new_tab=True)

    def void(self) -> None:
        VoidDialog(self.actor, self.view).open()


class TransferPanel:
    """The VietQR code for the balance due (when the clinic's bank account is set), what the patient's banking app
    will show beside it, and the button that records the transfer once it arrived."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.view: billing.InvoiceView | None = None
        self.transfer: vietqr.InvoiceTransfer | None = None
        with ui.card().classes('w-full gap-2').mark('transfer-panel') as self.card:
            section_title(_('Pay by bank transfer (VietQR)'))
            with ui.row().classes('w-full items-start gap-3 no-wrap'):
                self.code = ui.image().classes('w-40 h-40 shrink-0 border rounded').mark('transfer-qr')
                with ui.column().classes('gap-0 text-sm min-w-0'):
                    self.amount = ui.label().classes('text-lg font-bold text-primary').mark('transfer-amount')
                    self.bank = ui.label()
                    self.account = ui.label().classes('break-all')
                    self.holder = ui.label()
                    self.note = ui.label().classes('font-medium').mark('transfer-note')
            ui.label(_('The patient scans the code with their banking app. Once the money is in the clinic\'s '
                       'account, record it with the bank\'s transaction code.')).classes('text-xs text-slate-600')
            ui.button(_('Transfer received…'), icon='account_balance', on_click=self.received) \
                .props('outline no-caps').classes('w-full').mark('transfer-received')
        self.card.set_visibility(False)

    def show(self, view: billing.InvoiceView) -> None:
        self.view = view
        transfer = self.transfer = vietqr.for_invoice(view.invoice, clinic_settings.current())
        self.card.set_visibility(transfer is not None)
        if transfer is None:
            return
        self.code.set_source(qr.svg_data_uri(transfer.payload))
        said(self.code, 'alt', _('VietQR code to transfer {amount}').format(amount=money(transfer.amount)))
        self.amount.set_text(money(transfer.amount))
        self.bank.set_text(_('Bank: {bank}').format(bank=f'{transfer.bank} ({transfer.bank_bin})'
                                                      if transfer.bank != transfer.bank_bin else transfer.bank))
        self.account.set_text(_('Account: {account}').format(account=transfer.account))
        self.holder.set_text(_('Account holder: {name}').format(name=transfer.holder))
        self.note.set_text(_('Transfer note: {note}').format(note=transfer.purpose))

    def received(self) -> None:
        """The payment dialog with a bank transfer of the balance, its reference started with the note."""
        PaymentDialog(self.actor, self.view, method=PaymentMethod.BANK_TRANSFER, reference=self.transfer.purpose).open()


class PaymentsPanel:
    """Payments and refunds, each receipt with its print, email and refund buttons."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.view: billing.InvoiceView | None = None
        with ui.card().classes('w-full gap-2'):
            section_title(_('Payments and refunds'))
            self.payments = ui.table(columns=translated_columns(PAYMENT_COLUMNS), rows=[], row_key='id', pagination=0) \
                .props('flat dense wrap-cells hide-bottom').classes('w-full').mark('invoice-payments')
            said(self.payments, 'no-data-label', _('No payment yet.'))
            self.payments.add_slot('body-cell-actions', PAYMENT_ACTIONS)
        on_row(self.payments, 'print', self.print_receipt, choices=('a4', 'thermal'))
        on_row(self.payments, 'email', self.email)
        on_row(self.payments, 'refund', self.refund)

    def show(self, view: billing.InvoiceView) -> None:
        self.view = view
        self.payments.rows = payment_rows(view)

    @staticmethod
    def print_receipt(layout: str, row: dict) -> None:
        ui.navigate.to(receipt_url(row['receipt'], layout), new_tab=True)

    def email(self, row: dict) -> None:
        EmailDialog(self.actor, row['receipt'], self.view.patient.email or '').open()

    def refund(self, row: dict) -> None:
        RefundDialog(self.actor, row).open()


class Invoice(LivePanel[billing.InvoiceView]):
    """The invoice on screen: read once, shown in every panel; what cannot be shown is said in ``problem``."""

    def __init__(self, actor: Actor, invoice_id: int, panels: list, problem: ui.label) -> None:
        self.actor, self.invoice_id, self.panels, self.error_label = actor, invoice_id, panels, problem
        self.visit_id: int | None = None

    async def read(self, session: AsyncSession) -> billing.InvoiceView:
        return await billing.invoice_view(session, self.actor, self.invoice_id)

    def show(self, view: billing.InvoiceView) -> None:
        self.visit_id = view.invoice.visit_id
        for panel in self.panels:
            panel.show(view)

    async def on_billing(self, event: BillingChanged) -> None:
        """A live update: this invoice, or another of its visit, changed."""
        if event.invoice_id == self.invoice_id or (self.visit_id is not None and event.visit_id == self.visit_id):
            await self.refresh()


@staff_page(CASHIER, '/cashier/invoices/{invoice_id}', title=N_('Invoice'))

async def invoice_page(actor: Actor, invoice_id: int):
    header = InvoiceHeader()
    with ui.row().classes('w-full items-start gap-4'):
        items = InvoiceItems()
        with ui.column().classes('w-full lg:w-[24rem] gap-4'):
            balance = BalanceBox(actor, invoice_id)
            transfer = TransferPanel(actor)
    payments = PaymentsPanel(actor)
    problem = ui.label().classes('text-negative text-lg')  # an unknown invoice, say
    invoice = Invoice(actor, invoice_id, [header, items, balance, transfer, payments], problem)
    await invoice.load()
    subscribe(BillingChanged, invoice.on_billing)
    on_missed(invoice.refresh)
