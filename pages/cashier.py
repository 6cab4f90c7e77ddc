"""Cashier: the live queue of visits to settle, the itemized invoice with discount, voucher and insurance, split
payments with change, receipts (print A4 / 80 mm or email), refunds and voids."""
from __future__ import annotations

from decimal import Decimal

from fastapi.responses import Response
from nicegui import ui

from clinic_ui import auth
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import amount_text, data_table, error_text, money, on_row, section_title, staff_action
from models import InvoiceStatus, PaymentKind, PaymentMethod
from models.types import utcnow
from services import billing, clinic_settings, receipts, users
from services.access import Actor
from services.billing import CASHIER_METHODS, METHOD_LABELS, Tender
from services.core.clock import local_time_text, local_today
from services.core.db import get_db
from services.core.errors import DomainError, ValidationError
from services.core.events import BillingChanged, VisitChanged
from services.core.money import parse_money

QUEUE_COLUMNS = [
    {'name': 'arrived', 'label': 'Arrived', 'field': 'arrived'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'doctor', 'label': 'Doctor', 'field': 'doctor'},
    {'name': 'status', 'label': 'Visit', 'field': 'status'},
    {'name': 'invoices', 'label': 'Open bill', 'field': 'invoices'},
    {'name': 'balance', 'label': 'Balance due', 'field': 'balance', 'align': 'right'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
QUEUE_ACTIONS = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" icon="receipt_long" class="q-px-sm"
         :label="props.row.unbilled ? 'Bill' : 'Open'" @click="$parent.$emit('open', props.row.id)" />
</q-td>
'''
ITEM_COLUMNS = [
    {'name': 'description', 'label': 'Item', 'field': 'description', 'align': 'left'},
    {'name': 'quantity', 'label': 'Qty', 'field': 'quantity', 'align': 'right'},
    {'name': 'unit_price', 'label': 'Unit price', 'field': 'unit_price', 'align': 'right'},
    {'name': 'line_total', 'label': 'Amount', 'field': 'line_total', 'align': 'right'},
]
PAYMENT_COLUMNS = [
    {'name': 'receipt', 'label': 'Receipt', 'field': 'receipt', 'align': 'left'},
    {'name': 'time', 'label': 'Time', 'field': 'time', 'align': 'left'},
    {'name': 'method', 'label': 'Method', 'field': 'method', 'align': 'left'},
    {'name': 'amount', 'label': 'Amount', 'field': 'amount', 'align': 'right'},
    {'name': 'cashier', 'label': 'Cashier', 'field': 'cashier', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
PAYMENT_ACTIONS = r'''
<q-td :props="props" class="whitespace-nowrap">
  <template v-if="props.row.first">
    <q-btn flat dense no-caps color="primary" icon="print" label="A4" @click="$parent.$emit('print', ['a4', props.row.id])" />
    <q-btn flat dense no-caps color="primary" icon="receipt" label="80 mm" @click="$parent.$emit('print', ['thermal', props.row.id])" />
    <q-btn flat dense round color="primary" icon="mail" aria-label="Email" @click="$parent.$emit('email', props.row.id)" />
  </template>
  <q-btn v-if="props.row.refundable" flat dense no-caps color="negative" label="Refund…" @click="$parent.$emit('refund', props.row.id)" />
</q-td>
'''
STATUS_COLORS = {InvoiceStatus.UNPAID: 'orange', InvoiceStatus.PARTIALLY_PAID: 'amber-8',
                 InvoiceStatus.PAID: 'positive', InvoiceStatus.VOID: 'grey'}



def parse_amount(text: str) -> int:
    return parse_money(text, clinic_settings.current().currency_exponent)


def receipt_url(number: str, layout: str = 'a4') -> str:
    return f'/cashier/receipts/{number}.pdf?layout={layout}'


def bill_url(invoice_id: int, layout: str = 'a4') -> str:
    return f'/cashier/invoices/{invoice_id}/bill.pdf?layout={layout}'


# --- The queue ------------------------------------------------------------------------------------------------------

async def queue_rows(actor: Actor) -> list[dict]:
    settings = clinic_settings.current()
    today = local_today(settings.tz)
    async with get_db().read() as session:
        rows = await billing.cashier_queue(session, actor, today=today)
    return [{'id': r.visit_id, 'arrived': local_time_text(r.checked_in_at, settings.tz) if r.visit_date == today
             else r.visit_date.strftime('%d/%m'), 'patient': f'{r.patient_name} · {r.patient_code}',
             'doctor': r.doctor, 'status': r.visit_status.value.replace('_', ' '),
             'invoices': r.invoices or ('to bill' if r.unbilled else ''), 'balance': money(r.balance) if r.balance else '',
             'unbilled': r.unbilled} for r in rows]


async def open_visit(actor: Actor, visit_id: int) -> None:
    invoice_id = await staff_action(lambda s: billing.bill_visit(s, actor, visit_id, now=utcnow()))
    if invoice_id is not None:
        ui.navigate.to(f'/cashier/invoices/{invoice_id}')


@staff_page(CASHIER)
async def cashier_page(actor: Actor):
    rows = await queue_rows(actor)
    with ui.row().classes('w-full items-baseline justify-between'):
        title = section_title('Waiting to pay', len(rows)).mark('queue-title')
        with ui.row().classes('items-baseline gap-4'):
            ui.link('Transactions & daily close', '/cashier/transactions').mark('transactions-link')
    ui.label('Invoices waiting for payment and visits to bill, oldest first. The list updates by itself.') \
        .classes('text-sm text-slate-600 -mt-2')
    table = data_table(QUEUE_COLUMNS, rows, empty='Nobody is waiting to pay.', mark='cashier-queue')
    table.add_slot('body-cell-actions', QUEUE_ACTIONS)
    on_row(table, 'open', lambda row: open_visit(actor, row['id']))

    async def refresh() -> None:
        fresh = await queue_rows(actor)
        table.rows = fresh
        title.set_text(f'Waiting to pay ({len(fresh)})')

    subscribe(BillingChanged, refresh)
    subscribe(VisitChanged, refresh)


# --- One invoice ----------------------------------------------------------------------------------------------------

def share_inputs(kind_label: str):
    """Percent-or-amount inputs; returns (mode toggle, value input)."""
    with ui.row().classes('w-full items-center gap-2 no-wrap'):
        mode = ui.toggle({'percent': '%', 'amount': 'Amount'}, value='percent').props('no-caps unelevated')
        value = ui.input(kind_label).props('outlined dense inputmode=decimal').classes('grow')
    return mode, value


def read_share(mode: ui.toggle, value: ui.input) -> tuple[Decimal | None, int | None]:
    if mode.value == 'percent':
        return billing.parse_percent(value.value or ''), None
    return None, parse_amount(value.value or '')


class InvoiceScreen:
    """The invoice page's elements; ``show`` fills them from a fresh view (also on every billing event)."""

    def __init__(self, actor: Actor, invoice_id: int) -> None:
        self.actor = actor
        self.invoice_id = invoice_id
        self.view: billing.InvoiceView | None = None

    def build(self) -> None:
        with ui.row().classes('w-full items-center gap-3'):
            ui.button(icon='arrow_back', on_click=lambda: ui.navigate.to('/cashier')) \
                .props('flat round aria-label="Back to the queue"')
            with ui.column().classes('gap-0'):
                self.heading = ui.label().classes('text-xl font-semibold').mark('invoice-heading')
                self.subheading = ui.label().classes('text-slate-600')
            self.status = ui.badge().classes('text-sm px-2 py-1').mark('invoice-status')
            ui.space()
            self.others = ui.row().classes('gap-2 items-center')
        with ui.row().classes('w-full items-start gap-4'):
            with ui.card().classes('grow min-w-[20rem] basis-[34rem] gap-2'):
                section_title('Items')
                self.items = ui.table(columns=ITEM_COLUMNS, rows=[], row_key='id', pagination=0) \
                    .props('flat dense wrap-cells hide-bottom').classes('w-full').mark('invoice-items')
                ui.separator()
                self.figures = ui.column().classes('w-full gap-1').mark('invoice-figures')
            with ui.card().classes('w-full lg:w-[24rem] gap-2'):
                self.balance = ui.label().classes('text-3xl font-bold text-primary').mark('invoice-balance')
                self.balance_note = ui.label().classes('text-slate-600 text-sm')
                self.pay_button = ui.button('Take payment', icon='payments', on_click=self.open_payment) \
                    .props('unelevated no-caps size=lg').classes('w-full').mark('take-payment')
                self.settle_button = ui.button('Close the bill (nothing to pay)', icon='done_all',
                                               on_click=self.settle).props('unelevated no-caps').classes('w-full')
                with ui.row().classes('w-full gap-2'):
                    self.discount_button = ui.button('Discount / voucher', icon='sell', on_click=self.open_discount) \
                        .props('outline no-caps').classes('grow').mark('discount')
                    self.insurance_button = ui.button('Insurance', icon='health_and_safety',
                                                      on_click=self.open_insurance) \
                        .props('outline no-caps').classes('grow').mark('insurance')
                with ui.row().classes('w-full gap-2'):
                    ui.button('Print bill', icon='print',
                              on_click=lambda: ui.navigate.to(bill_url(self.invoice_id), new_tab=True)) \
                        .props('flat no-caps').mark('print-bill')
                    ui.space()
                    self.void_button = ui.button('Void…', icon='block', on_click=self.open_void) \
                        .props('flat no-caps color=negative').mark('void')
        with ui.card().classes('w-full gap-2'):
            self.payments_title = section_title('Payments and refunds')
            self.payments = ui.table(columns=PAYMENT_COLUMNS, rows=[], row_key='id', pagination=0) \
                .props('flat dense wrap-cells hide-bottom no-data-label="No payment yet."').classes('w-full') \
                .mark('invoice-payments')
            self.payments.add_slot('body-cell-actions', PAYMENT_ACTIONS)
            on_row(self.payments, 'print', lambda layout, row: ui.navigate.to(receipt_url(row['receipt'], layout),
                                                                              new_tab=True), choices=('a4', 'thermal'))
            on_row(self.payments, 'email', lambda row: self.open_email(row['receipt']))
            on_row(self.payments, 'refund', self.open_refund)

    async def load(self) -> None:
        async with get_db().read() as session:
            self.view = await billing.invoice_view(session, self.actor, self.invoice_id)
        self.show()

    def show(self) -> None:
        view, settings = self.view, clinic_settings.current()
        invoice = view.invoice
        self.heading.set_text(f'{invoice.number} · {view.patient.full_name}')
        visit_day = view.visit.visit_date.strftime('%d/%m/%Y') if view.visit else ''
        self.subheading.set_text(' · '.join(p for p in (view.patient.code, view.doctor, visit_day) if p))
        self.status.set_text(invoice.status.value.replace('_', ' '))
        self.status.props(f'color={STATUS_COLORS[invoice.status]}')
        self.others.clear()
        with self.others:
            for other_id, number, status in view.other_invoices:
                ui.link(f'{number} ({status.value.replace("_", " ")})', f'/cashier/invoices/{other_id}') \
                    .classes('text-sm')
        self.items.rows = [{'id': i.id, 'description': i.description + (' (void)' if invoice.status ==
                                                                          InvoiceStatus.VOID else ''),
                            'quantity': i.quantity, 'unit_price': amount_text(i.unit_price),
                            'line_total': amount_text(i.line_total)} for i in view.items]
        lines = [('Subtotal', money(invoice.subtotal), '')]
        if invoice.discount_amount:
            approved = f', approved by {view.approved_by}' if view.approved_by else ''
            lines.append((f'Discount: {invoice.discount_reason}{approved}', '− ' + money(invoice.discount_amount), ''))
        if invoice.insurance_amount:
            lines.append((f'Insurance: {invoice.insurer}, policy {invoice.insurance_policy_no}',
                          '− ' + money(invoice.insurance_amount), ''))
        lines.append(('Total', money(invoice.total), 'font-bold text-lg'))
        if invoice.amount_paid:
            lines.append(('Paid', money(invoice.amount_paid), ''))
        if view.refunded:
            lines.append(('Refunded', '− ' + money(view.refunded), 'text-negative'))
        if invoice.status == InvoiceStatus.VOID:
            lines.append((f'Void: {invoice.void_reason} ({view.voided_by})', '', 'text-negative font-medium'))
        self.figures.clear()
        with self.figures:
            for label, value, classes in lines:
                with ui.row().classes(f'w-full justify-between no-wrap gap-4 {classes}'):
                    ui.label(label)
                    ui.label(value).classes('whitespace-nowrap')
        if invoice.status == InvoiceStatus.VOID:
            self.balance.set_text('Void')
            self.balance_note.set_text('This bill was cancelled; its items can be billed again.')
        else:
            self.balance.set_text(money(view.balance))
            self.balance_note.set_text('Balance due' if view.balance else 'Paid in full')
        self.pay_button.set_visibility(view.can_pay and view.balance > 0)
        self.settle_button.set_visibility(view.can_pay and invoice.total == 0)
        self.discount_button.set_visibility(view.can_adjust)
        self.insurance_button.set_visibility(view.can_adjust)
        self.void_button.set_visibility(view.can_void)
        tz = settings.tz
        rows = []
        for p in view.payments:
            refund = p.kind == PaymentKind.REFUND
            method = METHOD_LABELS[p.method] + (f' ({p.reference})' if p.reference else '')
            if p.tendered is not None:
                method += f' · received {amount_text(p.tendered)}, change {amount_text(p.change_due)}'
            if refund:
                method = f'Refund, {method}: {p.reason}'
            elif p.refunded:
                method += f' · {amount_text(p.refunded)} refunded'
            number = p.receipt_number or ''
            rows.append({'id': p.id, 'receipt': number.rsplit('-', 1)[0] if number.count('-') > 1 else number,
                         'first': number.count('-') == 1, 'time': p.received_at.astimezone(tz).strftime('%d/%m %H:%M'),
                         'method': method, 'amount': ('− ' if refund else '') + amount_text(p.amount),
                         'cashier': p.cashier, 'refundable': p.refundable if invoice.status != InvoiceStatus.VOID else 0,
                         'refundable_text': amount_text(p.refundable)})
        self.payments.rows = rows

    async def on_billing(self, event: BillingChanged) -> None:
        if event.invoice_id == self.invoice_id or (
                self.view is not None and event.visit_id == self.view.invoice.visit_id):
            await self.load()

    # -- actions --

    async def settle(self) -> None:
        await staff_action(lambda s: billing.pay(s, self.actor, self.invoice_id, [], now=utcnow()),
                           success='Bill closed.')

    def open_payment(self) -> None:
        balance = self.view.balance
        tenders: list[dict] = []
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-xl gap-2').mark('payment-dialog'):
            ui.label(f'Take payment · {self.view.invoice.number}').classes('text-xl font-semibold')
            ui.label(f'Balance due: {money(balance)}').classes('text-lg')
            rows = ui.column().classes('w-full gap-2')
            summary = ui.label().classes('text-slate-700').mark('payment-summary')
            error = error_text()

            def amounts() -> tuple[int, int]:
                total = change = 0
                for tender in tenders:
                    try:
                        amount = parse_amount(tender['amount'].value or '0')
                        total += amount
                        if tender['method'].value == PaymentMethod.CASH and tender['received'].value:
                            change += max(0, parse_amount(tender['received'].value) - amount)
                    except ValidationError:
                        pass
                return total, change

            def update() -> None:
                total, change = amounts()
                parts = [f'Entered {money(total)}', f'left after this {money(max(balance - total, 0))}']
                if change:
                    parts.append(f'change {money(change)}')
                if total > balance:
                    parts = [f'{money(total - balance)} more than the balance']
                summary.set_text(' · '.join(parts))

            def add(method: PaymentMethod = PaymentMethod.CASH, amount: int | None = None) -> None:
                if amount is None:
                    amount = max(balance - amounts()[0], 0)
                with rows, ui.row().classes('w-full items-center gap-2 no-wrap') as row:
                    method_select = ui.select({m: METHOD_LABELS[m] for m in CASHIER_METHODS}, value=method) \
                        .props('outlined dense').classes('w-36').mark('tender-method')
                    amount_input = ui.input('Amount', value=amount_text(amount)) \
                        .props('outlined dense inputmode=decimal').classes('grow').mark('tender-amount')
                    received = ui.input('Cash received').props('outlined dense inputmode=decimal') \
                        .classes('grow').mark('tender-received')
                    reference = ui.input('Reference').props('outlined dense').classes('grow') \
                        .mark('tender-reference')
                    tender = {'method': method_select, 'amount': amount_input, 'received': received,
                              'reference': reference, 'row': row}

                    def remove() -> None:
                        tenders.remove(tender)
                        rows.remove(row)
                        update()

                    ui.button(icon='close', on_click=remove).props('flat dense round aria-label="Remove"')
                received.bind_visibility_from(method_select, 'value', lambda m: m == PaymentMethod.CASH)
                reference.bind_visibility_from(method_select, 'value', lambda m: m != PaymentMethod.CASH)
                for element in (method_select, amount_input, received):
                    element.on_value_change(update)
                tenders.append(tender)
                update()

            add()
            ui.button('Add another method', icon='add', on_click=lambda: add(PaymentMethod.CARD)) \
                .props('flat no-caps').mark('add-tender')

            async def confirm() -> None:
                try:
                    chosen = []
                    for tender in tenders:
                        method = PaymentMethod(tender['method'].value)
                        received = tender['received'].value if method == PaymentMethod.CASH else ''
                        if len(tenders) > 1 and parse_amount(tender['amount'].value or '0') == 0:
                            continue  # an extra method left at 0: nothing to take by it
                        chosen.append(Tender(method, parse_amount(tender['amount'].value or ''),
                                             parse_amount(received) if received else None,
                                             tender['reference'].value if method != PaymentMethod.CASH else ''))
                except DomainError as e:
                    error.set_text(str(e))
                    return
                result = await staff_action(lambda s: billing.pay(s, self.actor, self.invoice_id, chosen,
                                                                  now=utcnow()), error_label=error)
                if result is not None:
                    dialog.close()
                    self.show_result(result)

            with ui.row().classes('w-full justify-end'):
                ui.button('Back', on_click=dialog.close).props('flat no-caps')
                ui.button('Confirm payment', icon='check', on_click=confirm).props('unelevated no-caps') \
                    .mark('confirm-payment')
        dialog.open()

    def show_result(self, result: billing.PaymentResult) -> None:
        with ui.dialog() as dialog, ui.card().classes('items-center gap-2 p-6 min-w-[20rem]').mark('paid-dialog'):
            ui.label(f'Receipt {result.receipt_number}').classes('text-lg font-medium')
            if result.change_due:
                ui.label('Change to give').classes('text-slate-600')
                ui.label(money(result.change_due)).classes('text-5xl font-bold text-primary').mark('change-due')
            ui.label('Paid in full' if result.balance == 0 else f'Still to pay: {money(result.balance)}') \
                .classes('text-lg')
            if result.visit_paid:
                ui.label('The visit is paid and closed at the cashier.').classes('text-sm text-slate-600')
            with ui.row().classes('justify-center'):
                ui.button('Print A4', icon='print', on_click=lambda: ui.navigate.to(
                    receipt_url(result.receipt_number), new_tab=True)).props('unelevated no-caps')
                ui.button('Print 80 mm', icon='receipt', on_click=lambda: ui.navigate.to(
                    receipt_url(result.receipt_number, 'thermal'), new_tab=True)).props('outline no-caps')
                ui.button('Email', icon='mail', on_click=lambda: self.open_email(result.receipt_number)) \
                    .props('outline no-caps').mark('email-receipt')
            ui.button('Done', on_click=dialog.close).props('flat no-caps')
        dialog.open()

    def open_discount(self) -> None:
        settings = clinic_settings.current()
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('discount-dialog'):
            ui.label('Discount').classes('text-xl font-semibold')
            ui.label(f'One discount per bill. Above {settings.discount_approval_percent}% an administrator '
                     'approves.').classes('text-sm text-slate-600')
            mode, value = share_inputs('Discount')
            value.mark('discount-value')
            reason = ui.input('Reason (required)').props('outlined dense').classes('w-full').mark('discount-reason')
            approver_name = approver_password = None
            if not self.actor.is_admin:
                with ui.expansion('Administrator approval', icon='verified_user').classes('w-full') \
                        .mark('approval'):
                    approver_name = ui.input('Administrator user name').props('outlined dense autocomplete=off') \
                        .classes('w-full').mark('approver-name')
                    approver_password = ui.input('Password', password=True) \
                        .props('outlined dense autocomplete=new-password').classes('w-full').mark('approver-password')
            error = error_text()

            async def apply() -> None:
                try:
                    percent, amount = read_share(mode, value)
                except DomainError as e:
                    error.set_text(str(e))
                    return
                approver = None
                if approver_name is not None and (approver_name.value or '').strip():
                    approver = await staff_action(lambda s: users.authenticate(
                        s, approver_name.value or '', approver_password.value or '',
                        address=auth.client_address(auth.this_request()),
                        max_failed=settings.max_failed_logins, lockout_minutes=settings.lockout_minutes),
                        error_label=error, write=False)  # the check writes its outcome itself
                    if approver is None:
                        return
                done = await staff_action(lambda s: billing.set_discount(
                    s, self.actor, self.invoice_id, percent=percent, amount=amount, reason=reason.value or '',
                    approver=approver, approval_percent=settings.discount_approval_percent, now=utcnow()),
                    error_label=error, success='Discount applied.')
                if done is not None:
                    dialog.close()

            async def remove() -> None:
                done = await staff_action(lambda s: billing.set_discount(s, self.actor, self.invoice_id, now=utcnow()),
                                          error_label=error, success='Discount removed.')
                if done is not None:
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                if self.view.invoice.discount_amount:
                    ui.button('Remove discount', on_click=remove).props('flat no-caps color=negative')
                ui.button('Apply discount', on_click=apply).props('unelevated no-caps').mark('apply-discount')
            ui.separator()
            ui.label('Voucher').classes('text-lg font-semibold')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                code = ui.input('Voucher code').props('outlined dense').classes('grow').mark('voucher-code')

                async def use_voucher() -> None:
                    done = await staff_action(lambda s: billing.apply_voucher(
                        s, self.actor, self.invoice_id, code.value or '', today=local_today(settings.tz),
                        now=utcnow()), error_label=error, success='Voucher applied.')
                    if done is not None:
                        dialog.close()

                ui.button('Use voucher', on_click=use_voucher).props('outline no-caps').mark('apply-voucher')
            ui.button('Back', on_click=dialog.close).props('flat no-caps')
        dialog.open()

    def open_insurance(self) -> None:
        invoice = self.view.invoice
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-lg gap-2').mark('insurance-dialog'):
            ui.label('Insurance').classes('text-xl font-semibold')
            ui.label('The insurer pays this share of what is left after the discount.') \
                .classes('text-sm text-slate-600')
            mode, value = share_inputs('Insurer pays')
            value.mark('insurance-value')
            insurer = ui.input('Insurer', value=invoice.insurer).props('outlined dense').classes('w-full') \
                .mark('insurer')
            policy = ui.input('Policy number', value=invoice.insurance_policy_no).props('outlined dense') \
                .classes('w-full').mark('policy')
            error = error_text()

            async def save(remove: bool = False) -> None:
                try:
                    percent, amount = (None, None) if remove else read_share(mode, value)
                except DomainError as e:
                    error.set_text(str(e))
                    return
                done = await staff_action(lambda s: billing.set_insurance(
                    s, self.actor, self.invoice_id, percent=percent, amount=amount, insurer=insurer.value or '',
                    policy_no=policy.value or '', now=utcnow()), error_label=error,
                    success='Insurance removed.' if remove else 'Insurance share applied.')
                if done is not None:
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                ui.button('Back', on_click=dialog.close).props('flat no-caps')
                if invoice.insurance_amount:
                    ui.button('Remove', on_click=lambda: save(True)).props('flat no-caps color=negative')
                ui.button('Apply', on_click=lambda: save()).props('unelevated no-caps').mark('apply-insurance')
        dialog.open()

    def open_email(self, number: str) -> None:
        settings = clinic_settings.current()
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('email-dialog'):
            ui.label(f'Email receipt {number}').classes('text-xl font-semibold')
            address = ui.input('Email address', value=self.view.patient.email or '').props('outlined dense') \
                .classes('w-full').mark('email-address')
            layout = ui.select(receipts.LAYOUTS, value='a4', label='Layout').props('outlined dense').classes('w-full')
            error = error_text()

            async def send() -> None:
                done = await staff_action(lambda s: receipts.email_receipt(
                    s, self.actor, number, to=address.value or '', settings=settings, layout=layout.value),
                    error_label=error, success='The receipt is in the outbox and will be sent shortly.')
                if done is not None:
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                ui.button('Back', on_click=dialog.close).props('flat no-caps')
                ui.button('Send', icon='send', on_click=send).props('unelevated no-caps').mark('send-email')
        dialog.open()

    def open_refund(self, row: dict) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('refund-dialog'):
            ui.label(f'Refund from receipt {row["receipt"]}').classes('text-xl font-semibold')
            ui.label(f'{row["method"]} · up to {row["refundable_text"]}').classes('text-slate-600')
            amount = ui.input('Amount to give back', value=row['refundable_text']) \
                .props('outlined dense inputmode=decimal').classes('w-full').mark('refund-amount')
            reason = ui.input('Reason (required)').props('outlined dense').classes('w-full').mark('refund-reason')
            error = error_text()

            async def confirm() -> None:
                try:
                    value = parse_amount(amount.value or '')
                except DomainError as e:
                    error.set_text(str(e))
                    return
                number = await staff_action(lambda s: billing.refund(s, self.actor, row['id'], value,
                                                                     reason.value or '', now=utcnow()),
                                            error_label=error)
                if number is not None:
                    dialog.close()
                    ui.notify(f'Refunded {money(value)}: refund receipt {number}.', type='positive')

            with ui.row().classes('w-full justify-end'):
                ui.button('Back', on_click=dialog.close).props('flat no-caps')
                ui.button('Refund', on_click=confirm).props('unelevated no-caps color=negative') \
                    .mark('confirm-refund')
        dialog.open()

    def open_void(self) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-md gap-2').mark('void-dialog'):
            ui.label(f'Void {self.view.invoice.number}?').classes('text-xl font-semibold')
            ui.label('The bill is kept, marked void; its items can then be billed again.') \
                .classes('text-sm text-slate-600')
            reason = ui.input('Reason (required)').props('outlined dense').classes('w-full').mark('void-reason')
            error = error_text()

            async def confirm() -> None:
                done = await staff_action(lambda s: billing.void(s, self.actor, self.invoice_id, reason.value or '',
                                                                 now=utcnow()), error_label=error,
                                          success='The bill is void.')
                if done is not None:
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                ui.button('Keep it', on_click=dialog.close).props('flat no-caps')
                ui.button('Void the bill', on_click=confirm).props('unelevated no-caps color=negative') \
                    .mark('confirm-void')
        dialog.open()


@staff_page(CASHIER, '/cashier/invoices/{invoice_id}', title='Invoice')
async def invoice_page(actor: Actor, invoice_id: int):
    screen = InvoiceScreen(actor, invoice_id)
    screen.build()
    try:
        await screen.load()
    except DomainError as e:
        ui.label(str(e)).classes('text-negative text-lg')
        return
    subscribe(BillingChanged, screen.on_billing)


# --- PDFs ---------------------------------------------------------------------------------------------------------

def _pdf_response(pdf: bytes, name: str) -> Response:
    return Response(pdf, media_type='application/pdf', headers={'Content-Disposition': f'inline; filename="{name}"'})


@staff_file(CASHIER, '/cashier/receipts/{number}.pdf')
async def receipt_pdf(actor: Actor, number: str, layout: str = 'a4'):
    settings = clinic_settings.current()
    try:
        async with get_db().read() as session:
            data = await receipts.receipt_data(session, actor, number)
        pdf = await receipts.render_receipt(data, receipts.ClinicHeader.from_settings(settings),
                                            layout='thermal' if layout == 'thermal' else 'a4', tz=settings.tz)
    except DomainError as e:
        return Response(str(e), status_code=404, media_type='text/plain')
    return _pdf_response(pdf, receipts.file_name(data))


@staff_file(CASHIER, '/cashier/invoices/{invoice_id}/bill.pdf')
async def bill_pdf(actor: Actor, invoice_id: int, layout: str = 'a4'):
    settings = clinic_settings.current()
    try:
        async with get_db().read() as session:
            data = await receipts.bill_data(session, actor, invoice_id, now=utcnow())
        pdf = await receipts.render_receipt(data, receipts.ClinicHeader.from_settings(settings),
                                            layout='thermal' if layout == 'thermal' else 'a4', tz=settings.tz)
    except DomainError as e:
        return Response(str(e), status_code=404, media_type='text/plain')
    return _pdf_response(pdf, receipts.file_name(data))
