"""The cashier's dialogs: taking a payment (split between methods, cash with change) and its result, a discount or
voucher, the insurer's share, a receipt by email, a refund, a void."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from nicegui import ui

from clinic_ui import auth
from clinic_ui.widgets import amount_text, error_text, money, staff_action
from models import PaymentMethod
from models.types import utcnow
from services import billing, clinic_settings, receipts, users
from services.access import Actor
from services.billing import CASHIER_METHODS, Tender
from services.core.clock import local_today
from services.core.errors import DomainError, ValidationError
from services.core.i18n import _
from services.core.money import parse_money

from .downloads import receipt_url
from .texts import method_text, said


def parse_amount(text: str) -> int:
    return parse_money(text, clinic_settings.current().currency_exponent)


class ShareInputs:
    """A share of the bill as a percent or an amount (a discount, the insurer's part)."""

    def __init__(self, label: str) -> None:
        with ui.row().classes('w-full items-center gap-2 no-wrap'):
            self.mode = ui.toggle({'percent': '%', 'amount': _('Amount')}, value='percent').props('no-caps unelevated')
            self.value = ui.input(label).props('outlined dense inputmode=decimal').classes('grow')

    def read(self) -> tuple[Decimal | None, int | None]:
        """(percent, None) or (None, amount); a domain error when what was typed is no number."""
        if self.mode.value == 'percent':
            return billing.parse_percent(self.value.value or ''), None
        return None, parse_amount(self.value.value or '')


# --- Payment ---------------------------------------------------------------------------------------------------------

class TenderRow:
    """One method of a payment: the method, the amount, the cash received (cash) or a reference (other methods)."""

    def __init__(self, method: PaymentMethod, amount: int, on_remove: Callable[[TenderRow], None], *,
                 reference: str = '') -> None:
        with ui.row().classes('w-full items-center gap-2 no-wrap') as self.row:
            self.method = ui.select({m: method_text(m) for m in CASHIER_METHODS}, value=method) \
                .props('outlined dense').classes('w-36').mark('tender-method')
            self.amount = ui.input(_('Amount'), value=amount_text(amount)).props('outlined dense inputmode=decimal') \
                .classes('grow').mark('tender-amount')
            self.received = ui.input(_('Cash received')).props('outlined dense inputmode=decimal').classes('grow') \
                .mark('tender-received')
            self.reference = ui.input(_('Reference'), value=reference).props('outlined dense').classes('grow') \
                .mark('tender-reference')
            said(ui.button(icon='close', on_click=lambda: on_remove(self)).props('flat dense round'), 'aria-label',
                 _('Remove'))
        self.received.bind_visibility_from(self.method, 'value', lambda m: m == PaymentMethod.CASH)
        self.reference.bind_visibility_from(self.method, 'value', lambda m: m != PaymentMethod.CASH)

    @property
    def cash(self) -> bool:
        return self.method.value == PaymentMethod.CASH

    def figures(self) -> tuple[int, int]:
        """(amount, change) as typed so far; what cannot be read yet counts as nothing."""
        try:
            amount = parse_amount(self.amount.value or '0')
        except ValidationError:
            return 0, 0
        received = self.received.value if self.cash else ''
        try:
            return amount, max(0, parse_amount(received) - amount) if received else 0
        except ValidationError:
            return amount, 0

    def tender(self) -> Tender:
        method = PaymentMethod(self.method.value)
        received = self.received.value if self.cash else ''
        return Tender(method, parse_amount(self.amount.value or ''), parse_amount(received) if received else None,
                      self.reference.value if not self.cash else '')


class PaymentDialog:
    """Take a payment of the balance, split between methods; cash shows the change."""

    def __init__(self, actor: Actor, view: billing.InvoiceView, *, method: PaymentMethod = PaymentMethod.CASH,
                 reference: str = '') -> None:
        """``method`` and ``reference``: how the first method is suggested (a transfer with the note it carries)."""
        self.actor, self.view, self.balance = actor, view, view.balance
        self.tenders: list[TenderRow] = []
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-2').mark('payment-dialog'):
            ui.label(_('Take payment · {number}').format(number=view.invoice.number)).classes('text-xl font-semibold')
            ui.label(_('Balance due: {amount}').format(amount=money(self.balance))).classes('text-lg')
            self.rows = ui.column().classes('w-full gap-2')
            self.summary = ui.label().classes('text-slate-700').mark('payment-summary')
            self.error = error_text()
            self.add(method, reference=reference)
            ui.button(_('Add another method'), icon='add', on_click=lambda: self.add(PaymentMethod.CARD)) \
                .props('flat no-caps').mark('add-tender')
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Confirm payment'), icon='check', on_click=self.pay).props('unelevated no-caps') \
                    .mark('confirm-payment')

    def open(self) -> None:
        self.dialog.open()

    def entered(self) -> tuple[int, int]:
        """What the methods add up to, and the change to give."""
        figures = [tender.figures() for tender in self.tenders]
        return sum(amount for amount, unused in figures), sum(change for unused, change in figures)

    def update(self) -> None:
        total, change = self.entered()
        if total > self.balance:
            text = _('{amount} more than the balance').format(amount=money(total - self.balance))
        elif change:
            text = _('Entered {entered} · left after this {left} · change {change}').format(
                entered=money(total), left=money(self.balance - total), change=money(change))
        else:
            text = _('Entered {entered} · left after this {left}').format(entered=money(total),
                                                                          left=money(self.balance - total))
        self.summary.set_text(text)

    def add(self, method: PaymentMethod = PaymentMethod.CASH, *, reference: str = '') -> None:
        """Another method, suggested with what is left of the balance."""
        with self.rows:
            tender = TenderRow(method, max(self.balance - self.entered()[0], 0), on_remove=self.remove,
                               reference=reference)
        for element in (tender.method, tender.amount, tender.received):
            element.on_value_change(self.update)
        tender.method.on_value_change(lambda: self.suggest_reference(tender))
        self.tenders.append(tender)
        self.update()

    def suggest_reference(self, tender: TenderRow) -> None:
        """A bank transfer needs its reference: it starts as the invoice number, the note the patient's transfer
        carries (the cashier adds the bank's transaction code)."""
        if tender.method.value == PaymentMethod.BANK_TRANSFER and not (tender.reference.value or '').strip():
            tender.reference.set_value(self.view.invoice.number)

    def remove(self, tender: TenderRow) -> None:
        self.tenders.remove(tender)
        self.rows.remove(tender.row)
        self.update()

    async def pay(self) -> None:
        try:  # an extra method left at 0: nothing to take by it
            chosen = [t.tender() for t in self.tenders
                      if len(self.tenders) == 1 or parse_amount(t.amount.value or '0') != 0]
        except DomainError as e:
            self.error.set_text(str(e))
            return
        result = await staff_action(lambda s: billing.pay(s, self.actor, self.view.invoice.id, chosen, now=utcnow()),
                                    error_label=self.error)
        if result is not None:
            self.dialog.close()
            paid_dialog(self.actor, result, self.view.patient.email or '')


def paid_dialog(actor: Actor, result: billing.PaymentResult, email: str) -> None:
    """The payment's receipt: the change to give, what is still to pay, print or email the receipt."""
    number = result.receipt_number
    with ui.dialog() as dialog, ui.card().classes('items-center gap-2 p-6 min-w-[20rem]').mark('paid-dialog'):
        ui.label(_('Receipt {number}').format(number=number)).classes('text-lg font-medium')
        if result.change_due:
            ui.label(_('Change to give')).classes('text-slate-600')
            ui.label(money(result.change_due)).classes('text-5xl font-bold text-primary').mark('change-due')
        ui.label(_('Paid in full') if result.balance == 0
                 else _('Still to pay: {amount}').format(amount=money(result.balance))) \
            .classes('text-lg')
        if result.visit_paid:
            ui.label(_('The visit is paid and closed at the cashier.')).classes('text-sm text-slate-600')
        with ui.row().classes('justify-center'):
            ui.button(_('Print A4'), icon='print', on_click=lambda: ui.navigate.to(receipt_url(number), new_tab=True)) \
                .props('unelevated no-caps')
            ui.button(_('Print 80 mm'), icon='receipt',
                      on_click=lambda: ui.navigate.to(receipt_url(number, 'thermal'), new_tab=True)) \
                .props('outline no-caps')
            ui.button(_('Email'), icon='mail', on_click=lambda: EmailDialog(actor, number, email).open()) \
                .props('outline no-caps').mark('email-receipt')
        ui.button(_('Done'), on_click=dialog.close).props('flat no-caps')
    dialog.open()


# --- Discount and insurance ------------------------------------------------------------------------------------------

class DiscountDialog:
    """One discount per bill (percent or amount, with a reason; above the limit an administrator approves with their
    password), or a voucher (refused with the reason, shown under its code)."""

    def __init__(self, actor: Actor, view: billing.InvoiceView) -> None:
        self.actor, self.invoice_id = actor, view.invoice.id
        self.approver_name = self.approver_password = None
        percent = clinic_settings.current().discount_approval_percent
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('discount-dialog'):
            ui.label(_('Discount')).classes('text-xl font-semibold')
            ui.label(_('One discount per bill. Above {percent}% an administrator approves.').format(percent=percent)) \
                .classes('text-sm text-slate-600')
            self.share = ShareInputs(_('Discount'))
            self.share.value.mark('discount-value')
            self.reason = ui.input(_('Reason (required)')).props('outlined dense').classes('w-full') \
                .mark('discount-reason')
            if not actor.is_admin:
                self.approval()
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                if view.invoice.discount_amount:
                    ui.button(_('Remove discount'), on_click=self.remove).props('flat no-caps color=negative')
                ui.button(_('Apply discount'), on_click=self.apply).props('unelevated no-caps').mark('apply-discount')
            ui.separator()
            ui.label(_('Voucher')).classes('text-lg font-semibold')
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.code = ui.input(_('Voucher code')).props('outlined dense').classes('grow').mark('voucher-code')
                ui.button(_('Use voucher'), on_click=self.use_voucher).props('outline no-caps').mark('apply-voucher')
            self.voucher_error = error_text().mark('voucher-error')  # why a voucher is refused, under its code
            ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')

    def approval(self) -> None:
        with ui.expansion(_('Administrator approval'), icon='verified_user').classes('w-full').mark('approval'):
            self.approver_name = ui.input(_('Administrator user name')).props('outlined dense autocomplete=off') \
                .classes('w-full').mark('approver-name')
            self.approver_password = ui.input(_('Password'), password=True) \
                .props('outlined dense autocomplete=new-password').classes('w-full').mark('approver-password')

    def open(self) -> None:
        self.dialog.open()

    async def approver(self) -> tuple[bool, Actor | None]:
        """(checked, the approving administrator): (True, None) when nobody was named, (False, None) when the name
        and password were refused (the person was told)."""
        if self.approver_name is None or not (self.approver_name.value or '').strip():
            return True, None
        settings = clinic_settings.current()
        name, password = self.approver_name.value or '', self.approver_password.value or ''
        approver = await staff_action(lambda s: users.authenticate(
            s, name, password, address=auth.client_address(auth.this_request()),
            max_failed=settings.max_failed_logins, lockout_minutes=settings.lockout_minutes),
            error_label=self.error, write=False)  # the check writes its outcome itself
        return approver is not None, approver

    async def apply(self) -> None:
        try:
            percent, amount = self.share.read()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        checked, approver = await self.approver()
        if not checked:
            return
        reason, limit = self.reason.value or '', clinic_settings.current().discount_approval_percent
        done = await staff_action(lambda s: billing.set_discount(
            s, self.actor, self.invoice_id, percent=percent, amount=amount, reason=reason, approver=approver,
            approval_percent=limit, now=utcnow()), error_label=self.error, success=_('Discount applied.'))
        if done is not None:
            self.dialog.close()

    async def remove(self) -> None:
        done = await staff_action(lambda s: billing.set_discount(s, self.actor, self.invoice_id, now=utcnow()),
                                  error_label=self.error, success=_('Discount removed.'))
        if done is not None:
            self.dialog.close()

    async def use_voucher(self) -> None:
        code, today = self.code.value or '', local_today(clinic_settings.current().tz)
        done = await staff_action(lambda s: billing.apply_voucher(s, self.actor, self.invoice_id, code, today=today,
                                                                  now=utcnow()),
                                  error_label=self.voucher_error, success=_('Voucher applied.'))
        if done is not None:
            self.dialog.close()


class InsuranceDialog:
    """The insurer's share of what is left after the discount, with the insurer and the policy number."""

    def __init__(self, actor: Actor, view: billing.InvoiceView) -> None:
        invoice = view.invoice
        self.actor, self.invoice_id = actor, invoice.id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-lg gap-2').mark('insurance-dialog'):
            ui.label(_('Insurance')).classes('text-xl font-semibold')
            ui.label(_('The insurer pays this share of what is left after the discount.')) \
                .classes('text-sm text-slate-600')
            self.share = ShareInputs(_('Insurer pays'))
            self.share.value.mark('insurance-value')
            self.insurer = ui.input(_('Insurer'), value=invoice.insurer).props('outlined dense').classes('w-full') \
                .mark('insurer')
            self.policy = ui.input(_('Policy number'), value=invoice.insurance_policy_no).props('outlined dense') \
                .classes('w-full').mark('policy')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                if invoice.insurance_amount:
                    ui.button(_('Remove'), on_click=self.remove).props('flat no-caps color=negative')
                ui.button(_('Apply'), on_click=self.apply).props('unelevated no-caps').mark('apply-insurance')

    def open(self) -> None:
        self.dialog.open()

    async def apply(self) -> None:
        try:
            percent, amount = self.share.read()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        await self.save(percent, amount, success=_('Insurance share applied.'))

    async def remove(self) -> None:
        await self.save(None, None, success=_('Insurance removed.'))

    async def save(self, percent: Decimal | None, amount: int | None, *, success: str) -> None:
        insurer, policy = self.insurer.value or '', self.policy.value or ''
        done = await staff_action(lambda s: billing.set_insurance(
            s, self.actor, self.invoice_id, percent=percent, amount=amount, insurer=insurer, policy_no=policy,
            now=utcnow()), error_label=self.error, success=success)
        if done is not None:
            self.dialog.close()


# --- Receipts, refunds, voids ----------------------------------------------------------------------------------------

class EmailDialog:
    """Send a receipt (A4 or 80 mm) by email, through the outbox."""

    def __init__(self, actor: Actor, number: str, address: str) -> None:
        self.actor, self.number = actor, number
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('email-dialog'):
            ui.label(_('Email receipt {number}').format(number=number)).classes('text-xl font-semibold')
            self.address = ui.input(_('Email address'), value=address).props('outlined dense').classes('w-full') \
                .mark('email-address')
            layouts = {key: _(label) for key, label in receipts.LAYOUTS.items()}
            self.layout = ui.select(layouts, value='a4', label=_('Layout')).props('outlined dense') \
                .classes('w-full')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Send'), icon='send', on_click=self.send).props('unelevated no-caps').mark('send-email')

    def open(self) -> None:
        self.dialog.open()

    async def send(self) -> None:
        to, layout, settings = self.address.value or '', self.layout.value, clinic_settings.current()
        done = await staff_action(
            lambda s: receipts.email_receipt(s, self.actor, self.number, to=to, settings=settings, layout=layout),
            error_label=self.error, success=_('The receipt is in the outbox and will be sent shortly.'))
        if done is not None:
            self.dialog.close()


class RefundDialog:
    """Give back part or all of one payment, with a reason; a refund receipt is made."""

    def __init__(self, actor: Actor, row: dict) -> None:
        self.actor, self.payment_id = actor, row['id']
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('refund-dialog'):
            ui.label(_('Refund from receipt {number}').format(number=row['receipt'])).classes('text-xl font-semibold')
            ui.label(_('{method} · up to {amount}').format(method=row['method'], amount=row['refundable_text'])) \
                .classes('text-slate-600')
            self.amount = ui.input(_('Amount to give back'), value=row['refundable_text']) \
                .props('outlined dense inputmode=decimal').classes('w-full').mark('refund-amount')
            self.reason = ui.input(_('Reason (required)')).props('outlined dense').classes('w-full') \
                .mark('refund-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Refund'), on_click=self.refund).props('unelevated no-caps color=negative') \
                    .mark('confirm-refund')

    def open(self) -> None:
        self.dialog.open()

    async def refund(self) -> None:
        try:
            amount = parse_amount(self.amount.value or '')
        except DomainError as e:
            self.error.set_text(str(e))
            return
        reason = self.reason.value or ''
        number = await staff_action(lambda s: billing.refund(s, self.actor, self.payment_id, amount, reason,
                                                             now=utcnow()), error_label=self.error)
        if number is not None:
            self.dialog.close()
            ui.notify(_('Refunded {amount}: refund receipt {number}.').format(amount=money(amount), number=number),
                      type='positive')


class VoidDialog:
    """Cancel a bill with nothing paid on it: it is kept, marked void, and its items can be billed again."""

    def __init__(self, actor: Actor, view: billing.InvoiceView) -> None:
        self.actor, self.invoice_id = actor, view.invoice.id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('void-dialog'):
            ui.label(_('Void {number}?').format(number=view.invoice.number)).classes('text-xl font-semibold')
            ui.label(_('The bill is kept, marked void; its items can then be billed again.')) \
                .classes('text-sm text-slate-600')
            self.reason = ui.input(_('Reason (required)')).props('outlined dense').classes('w-full').mark('void-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Keep it'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Void the bill'), on_click=self.void).props('unelevated no-caps color=negative') \
                    .mark('confirm-void')

    def open(self) -> None:
        self.dialog.open()

    async def void(self) -> None:
        reason = self.reason.value or ''
        done = await staff_action(lambda s: billing.void(s, self.actor, self.invoice_id, reason, now=utcnow()),
                                  error_label=self.error, success=_('The bill is void.'))
        if done is not None:
            self.dialog.close()


class DeferDialog:
    """The patient pays later: the visit may close unpaid; what is owed stays on the bill."""

    def __init__(self, actor: Actor, view: billing.InvoiceView) -> None:
        self.actor, self.visit_id = actor, view.invoice.visit_id
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('defer-dialog'):
            ui.label(_('Defer the payment of {amount}?').format(amount=money(view.balance))) \
                .classes('text-xl font-semibold')
            ui.label(_('The visit can then close unpaid; the balance stays on this bill and can be paid later.')) \
                .classes('text-sm text-slate-600')
            self.reason = ui.input(_('Reason (required)')).props('outlined dense').classes('w-full') \
                .mark('defer-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Defer payment'), on_click=self.defer).props('unelevated no-caps').mark('confirm-defer')

    def open(self) -> None:
        self.dialog.open()

    async def defer(self) -> None:
        reason = self.reason.value or ''
        done = await staff_action(lambda s: billing.defer_payment(s, self.actor, self.visit_id, reason, now=utcnow()),
                                  error_label=self.error, success=_('Payment deferred: the visit can close unpaid.'))

        if done is not None:
            self.dialog.close()
