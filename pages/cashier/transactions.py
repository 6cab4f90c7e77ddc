"""Cashier reports: the daily close, the transaction history (filters, paging, CSV) and the appointments export.
The close and the first page of the history follow new payments and refunds as they happen."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from nicegui import ui

from clinic_ui.live import on_missed, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import error_text, money, section_title, staff_read, translated_columns
from models import PaymentKind, PaymentMethod
from services import clinic_settings, reports
from services.access import Actor
from services.core.clock import local_today
from services.core.errors import DomainError, ValidationError
from services.core.events import BillingChanged
from services.core.i18n import N_, _, ngettext
from services.patients import parse_date

from .drawer import DrawerPanel
from .texts import method_text, said

PAGE_SIZE = 25
COLUMNS = [
    {'name': 'time', 'label': N_('Time'), 'field': 'time', 'align': 'left'},
    {'name': 'receipt', 'label': N_('Receipt'), 'field': 'receipt', 'align': 'left'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient', 'align': 'left'},
    {'name': 'invoice', 'label': N_('Invoice'), 'field': 'invoice', 'align': 'left'},
    {'name': 'method', 'label': N_('Method'), 'field': 'method', 'align': 'left'},
    {'name': 'amount', 'label': N_('Amount'), 'field': 'amount', 'align': 'right'},
    {'name': 'cashier', 'label': N_('Cashier'), 'field': 'cashier', 'align': 'left'},
]
INVOICE_LINK = r'''
<q-td :props="props"><a :href="'/cashier/invoices/' + props.row.invoice_id" class="text-primary">{{ props.value }}</a></q-td>
'''
CLOSE_COLUMNS = [
    {'name': 'label', 'label': '', 'field': 'label', 'align': 'left'},
    {'name': 'payments', 'label': N_('Payments'), 'field': 'payments', 'align': 'right'},
    {'name': 'received', 'label': N_('Received'), 'field': 'received', 'align': 'right'},
    {'name': 'refunds', 'label': N_('Refunds'), 'field': 'refunds', 'align': 'right'},
    {'name': 'refunded', 'label': N_('Refunded'), 'field': 'refunded', 'align': 'right'},
    {'name': 'net', 'label': N_('Net'), 'field': 'net', 'align': 'right'},
]


def close_table(mark: str) -> ui.table:
    """A table of the daily close (per method or per cashier)."""
    table = ui.table(columns=translated_columns(CLOSE_COLUMNS), rows=[], row_key='label', pagination=0) \
        .props('flat dense hide-bottom').classes('w-full').mark(mark)
    return said(table, 'no-data-label', _('No payment on this day.'))


def read_day(text: str, message: str) -> date:
    """The day typed as dd/mm/yyyy; else a domain error saying ``message`` (a whole sentence, translated)."""
    day = parse_date(text or '')
    if day is None:
        raise ValidationError(message)
    return day


def start_day(text: str) -> date:
    return read_day(text, _('Please enter the start date as dd/mm/yyyy.'))


def end_day(text: str) -> date:
    return read_day(text, _('Please enter the end date as dd/mm/yyyy.'))


def day_input(label: str, day: date, mark: str) -> ui.input:
    return ui.input(label, value=day.strftime('%d/%m/%Y')).props('outlined dense').classes('w-36').mark(mark)


def close_rows(lines: list[reports.CloseLine], total: reports.CloseLine, *, names: bool = False) -> list[dict]:
    """The close's lines and its total; a line's label is a payment method to translate, or a cashier's name
    (``names``) shown as it is."""
    return [{'label': line.label if names and line is not total else _(line.label), 'payments': line.payments,
             'received': money(line.received), 'refunds': line.refunds, 'refunded': money(line.refunded),
             'net': money(line.net)} for line in [*lines, total]]


def transaction_rows(found: list[reports.Transaction]) -> list[dict]:
    tz = clinic_settings.current().tz
    return [{'id': t.id, 'time': t.received_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), 'receipt': t.receipt_number,
             'patient': f'{t.patient_name} · {t.patient_code}', 'invoice': t.invoice_number,
             'invoice_id': t.invoice_id, 'method': method_text(t.method) + (f': {t.reason}' if t.reason else ''),
             'amount': money(t.amount), 'cashier': t.cashier} for t in found]


def csv_query(filters: reports.TransactionFilter) -> str:
    params = {'date_from': filters.date_from.isoformat(), 'date_to': filters.date_to.isoformat()}
    for name, value in (('method', filters.method), ('cashier_id', filters.cashier_id), ('kind', filters.kind),
                        ('patient', filters.patient)):
        if value:
            params[name] = value.value if hasattr(value, 'value') else value
    return urlencode(params)


class DailyClose:
    """One day's payments and refunds per method and per cashier, with the cash that should be in the drawer."""

    def __init__(self, actor: Actor, today: date) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-center gap-2'):
            said(ui.button(icon='arrow_back', on_click=lambda: ui.navigate.to('/cashier')).props('flat round'),
                 'aria-label', _('Back to the cashier queue'))
            section_title(_('Daily close'))
            self.day = day_input(_('Day'), today, 'close-day')
        self.error = error_text()
        with ui.row().classes('w-full items-start gap-4'):
            with ui.card().classes('grow basis-[28rem] gap-1'):
                ui.label(_('Per method')).classes('font-semibold')
                self.by_method = close_table('close-by-method')
            with ui.card().classes('grow basis-[28rem] gap-1'):
                ui.label(_('Per cashier')).classes('font-semibold')
                self.by_cashier = close_table('close-by-cashier')
        self.summary = ui.label().classes('text-slate-700').mark('close-summary')
        self.day.on('keydown.enter', self.load)
        self.day.on('blur', self.load)

    async def load(self, *, touch: bool = True) -> None:
        self.error.set_text('')
        try:
            day = read_day(self.day.value, _('Please enter the day as dd/mm/yyyy.'))
        except DomainError as e:
            self.error.set_text(str(e))
            return
        tz = clinic_settings.current().tz
        close = await staff_read(lambda s: reports.daily_close(s, self.actor, day, tz=tz), error_label=self.error,
                                 touch=touch)
        if close is not None:
            self.show(close)

    def show(self, close: reports.DailyClose) -> None:
        self.by_method.rows = close_rows(close.by_method, close.total)
        self.by_cashier.rows = close_rows(close.by_cashier, close.total, names=True)
        self.summary.set_text(ngettext(
            'Net {net} · cash in the drawer {cash} · {count} bill made that day for {billed} '
            '(discounts {discounts}, insurers to claim {insurance})',
            'Net {net} · cash in the drawer {cash} · {count} bills made that day for {billed} '
            '(discounts {discounts}, insurers to claim {insurance})',
            close.invoices, net=money(close.total.net), cash=money(close.cash_in_drawer), billed=money(close.billed),
            discounts=money(close.discounts), insurance=money(close.insurance)))

    async def on_billing(self, event: BillingChanged) -> None:
        if event.action in ('payment', 'refund'):
            await self.load(touch=False)


class TransactionHistory:
    """Payments and refunds between two days, filtered, a page at a time; the same as CSV."""

    def __init__(self, actor: Actor, start: date, end: date, cashiers: dict[int, str]) -> None:
        self.actor = actor
        self.offset = 0
        section_title(_('Transactions'))
        self.filter_row(start, end, cashiers)
        self.error = error_text()
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[], row_key='id', pagination=0) \
            .props('flat bordered dense wrap-cells hide-bottom').classes('w-full').mark('transactions')
        said(self.table, 'no-data-label', _('No transaction matches.'))
        self.table.add_slot('body-cell-invoice', INVOICE_LINK)
        with ui.row().classes('w-full items-center gap-2'):
            self.previous = said(ui.button(icon='chevron_left', on_click=lambda: self.turn(-1)).props('flat round'),
                                 'aria-label', _('Previous'))
            self.position = ui.label().mark('tx-position')
            self.following = said(ui.button(icon='chevron_right', on_click=lambda: self.turn(1)).props('flat round'),
                                  'aria-label', _('Next')).mark('tx-next')
            ui.space()
            ui.button(_('Download CSV'), icon='download', on_click=self.download).props('outline no-caps').mark('tx-csv')

    def filter_row(self, start: date, end: date, cashiers: dict[int, str]) -> None:
        with ui.row().classes('w-full items-center gap-2'):
            self.date_from = day_input(_('From'), start, 'tx-from')
            self.date_to = day_input(_('To'), end, 'tx-to')
            self.method = ui.select({None: _('Any method'), **{m: method_text(m) for m in PaymentMethod}},
                                    value=None, label=_('Method')).props('outlined dense').classes('w-40') \
                .mark('tx-method')
            self.cashier = ui.select({None: _('Any cashier'), **cashiers}, value=None, label=_('Cashier')) \
                .props('outlined dense').classes('w-44').mark('tx-cashier')
            self.kind = ui.select({None: _('Payments and refunds'), PaymentKind.PAYMENT: _('Payments'),
                                   PaymentKind.REFUND: _('Refunds')}, value=None, label=_('Kind')) \
                .props('outlined dense').classes('w-48')
            self.patient = ui.input(_('Patient (name or code)')).props('outlined dense clearable').classes('w-56') \
                .mark('tx-patient')
            ui.button(_('Show'), icon='search', on_click=self.show_first).props('unelevated no-caps').mark('tx-search')

    def filters(self) -> reports.TransactionFilter:
        return reports.TransactionFilter(start_day(self.date_from.value),
                                         end_day(self.date_to.value), method=self.method.value,
                                         cashier_id=self.cashier.value, patient=self.patient.value or '',
                                         kind=self.kind.value)

    async def show_first(self) -> None:
        """The first page of what the filters ask for."""
        await self.search(reset=True)

    async def turn(self, step: int) -> None:
        self.offset = max(0, self.offset + step * PAGE_SIZE)
        await self.search()

    async def search(self, *, reset: bool = False, touch: bool = True) -> None:
        self.error.set_text('')
        try:
            filters = self.filters()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        if reset:
            self.offset = 0
        offset, tz = self.offset, clinic_settings.current().tz
        found = await staff_read(lambda s: reports.transactions(s, self.actor, filters, tz=tz, offset=offset,
                                                                limit=PAGE_SIZE), error_label=self.error, touch=touch)
        if found is not None:
            self.show(*found)

    def show(self, rows: list[reports.Transaction], count: int) -> None:
        self.table.rows = transaction_rows(rows)
        first = self.offset + 1 if count else 0
        self.position.set_text(_('{first}–{last} of {count}').format(first=first, last=self.offset + len(rows),
                                                                     count=count))
        self.previous.set_enabled(self.offset > 0)
        self.following.set_enabled(self.offset + len(rows) < count)

    def download(self) -> None:
        try:
            filters = self.filters()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        ui.navigate.to(f'/cashier/transactions.csv?{csv_query(filters)}', new_tab=True)

    async def on_billing(self, event: BillingChanged) -> None:
        """A new payment or refund shows at once on the first page (a later page stays where the person is)."""
        if event.action in ('payment', 'refund') and self.offset == 0:
            await self.search(touch=False)


class AppointmentsExport:
    """The appointments between two days as CSV."""

    def __init__(self, start: date, end: date) -> None:
        section_title(_('Appointments export'))
        with ui.row().classes('w-full items-center gap-2'):
            self.date_from = day_input(_('From'), start, 'appointments-from')
            self.date_to = day_input(_('To'), end, 'appointments-to')
            self.error = error_text()
            ui.button(_('Download appointments CSV'), icon='download', on_click=self.download) \
                .props('outline no-caps').mark('appointments-csv')

    def download(self) -> None:
        try:
            first = start_day(self.date_from.value)
            last = end_day(self.date_to.value)
        except DomainError as e:
            self.error.set_text(str(e))
            return
        ui.navigate.to(f'/cashier/appointments.csv?date_from={first.isoformat()}&date_to={last.isoformat()}',
                       new_tab=True)


@staff_page(CASHIER, '/cashier/transactions', title=N_('Transactions'))

async def transactions_page(actor: Actor):
    today = local_today(clinic_settings.current().tz)
    start, end = reports.default_range(today)
    cashiers = await staff_read(lambda s: reports.cashiers(s, actor)) or []
    drawer = DrawerPanel(actor, today)
    ui.separator().classes('my-2')
    close = DailyClose(actor, today)
    ui.separator().classes('my-2')
    history = TransactionHistory(actor, start, end, dict(cashiers))
    ui.separator().classes('my-2')
    AppointmentsExport(start, end)
    await drawer.load()
    await close.load()
    await history.search(reset=True)
    subscribe(BillingChanged, drawer.on_billing)
    subscribe(BillingChanged, close.on_billing)
    subscribe(BillingChanged, history.on_billing)
    on_missed(lambda: drawer.load(touch=False))
    on_missed(lambda: close.load(touch=False))
    on_missed(lambda: history.search(touch=False) if history.offset == 0 else None)
