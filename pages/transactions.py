"""Cashier reports: transaction history (filters, paging), the daily close, CSV exports."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi.responses import Response
from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import CASHIER
from clinic_ui.widgets import error_text, money, section_title, staff_read
from models import PaymentKind, PaymentMethod
from services import clinic_settings, reports
from services.access import Actor
from services.billing import METHOD_LABELS
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import DomainError, ValidationError
from services.core.events import BillingChanged
from services.patients import parse_date

PAGE_SIZE = 25
COLUMNS = [
    {'name': 'time', 'label': 'Time', 'field': 'time', 'align': 'left'},
    {'name': 'receipt', 'label': 'Receipt', 'field': 'receipt', 'align': 'left'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient', 'align': 'left'},
    {'name': 'invoice', 'label': 'Invoice', 'field': 'invoice', 'align': 'left'},
    {'name': 'method', 'label': 'Method', 'field': 'method', 'align': 'left'},
    {'name': 'amount', 'label': 'Amount', 'field': 'amount', 'align': 'right'},
    {'name': 'cashier', 'label': 'Cashier', 'field': 'cashier', 'align': 'left'},
]
INVOICE_LINK = r'''
<q-td :props="props"><a :href="'/cashier/invoices/' + props.row.invoice_id" class="text-primary">{{ props.value }}</a></q-td>
'''
CLOSE_COLUMNS = [
    {'name': 'label', 'label': '', 'field': 'label', 'align': 'left'},
    {'name': 'payments', 'label': 'Payments', 'field': 'payments', 'align': 'right'},
    {'name': 'received', 'label': 'Received', 'field': 'received', 'align': 'right'},
    {'name': 'refunds', 'label': 'Refunds', 'field': 'refunds', 'align': 'right'},
    {'name': 'refunded', 'label': 'Refunded', 'field': 'refunded', 'align': 'right'},
    {'name': 'net', 'label': 'Net', 'field': 'net', 'align': 'right'},
]


def read_day(text: str, label: str) -> date:
    day = parse_date(text or '')
    if day is None:
        raise ValidationError(f'Please enter the {label} as dd/mm/yyyy.')
    return day


def close_rows(lines: list[reports.CloseLine]) -> list[dict]:
    return [{'label': line.label, 'payments': line.payments, 'received': money(line.received), 'refunds': line.refunds,
             'refunded': money(line.refunded), 'net': money(line.net)} for line in lines]


@staff_page(CASHIER, '/cashier/transactions', title='Transactions')
async def transactions_page(actor: Actor):
    settings = clinic_settings.current()
    tz = settings.tz
    today = local_today(tz)
    start, end = reports.default_range(today)
    async with get_db().read() as session:
        cashier_options = {user_id: name for user_id, name in await reports.cashiers(session, actor)}
    state = {'offset': 0, 'filters': None}

    with ui.row().classes('w-full items-center gap-2'):
        ui.button(icon='arrow_back', on_click=lambda: ui.navigate.to('/cashier')) \
            .props('flat round aria-label="Back to the cashier queue"')
        section_title('Daily close')
        close_day = ui.input('Day', value=today.strftime('%d/%m/%Y')).props('outlined dense').classes('w-36') \
            .mark('close-day')
    close_error = error_text()
    with ui.row().classes('w-full items-start gap-4'):
        with ui.card().classes('grow basis-[28rem] gap-1'):
            ui.label('Per method').classes('font-semibold')
            by_method = ui.table(columns=CLOSE_COLUMNS, rows=[], row_key='label', pagination=0) \
                .props('flat dense hide-bottom no-data-label="No payment on this day."').classes('w-full') \
                .mark('close-by-method')
        with ui.card().classes('grow basis-[28rem] gap-1'):
            ui.label('Per cashier').classes('font-semibold')
            by_cashier = ui.table(columns=CLOSE_COLUMNS, rows=[], row_key='label', pagination=0) \
                .props('flat dense hide-bottom no-data-label="No payment on this day."').classes('w-full') \
                .mark('close-by-cashier')
    close_summary = ui.label().classes('text-slate-700').mark('close-summary')

    async def load_close() -> None:
        close_error.set_text('')
        try:
            day = read_day(close_day.value, 'day')
        except DomainError as e:
            close_error.set_text(str(e))
            return
        async with get_db().read() as session:
            close = await reports.daily_close(session, actor, day, tz=tz)
        by_method.rows = close_rows([*close.by_method, close.total])
        by_cashier.rows = close_rows([*close.by_cashier, close.total])
        close_summary.set_text(
            f'Net {money(close.total.net)} · cash in the drawer {money(close.cash_in_drawer)} · '
            f'{close.invoices} bill(s) made that day for {money(close.billed)} '
            f'(discounts {money(close.discounts)}, insurers to claim {money(close.insurance)})')

    close_day.on('keydown.enter', load_close)
    close_day.on('blur', load_close)

    ui.separator().classes('my-2')
    section_title('Transactions')
    with ui.row().classes('w-full items-center gap-2'):
        date_from = ui.input('From', value=start.strftime('%d/%m/%Y')).props('outlined dense').classes('w-36') \
            .mark('tx-from')
        date_to = ui.input('To', value=end.strftime('%d/%m/%Y')).props('outlined dense').classes('w-36') \
            .mark('tx-to')
        method = ui.select({None: 'Any method', **{m: METHOD_LABELS[m] for m in PaymentMethod}}, value=None,
                           label='Method').props('outlined dense').classes('w-40').mark('tx-method')
        cashier = ui.select({None: 'Any cashier', **cashier_options}, value=None, label='Cashier') \
            .props('outlined dense').classes('w-44').mark('tx-cashier')
        kind = ui.select({None: 'Payments and refunds', PaymentKind.PAYMENT: 'Payments', PaymentKind.REFUND: 'Refunds'},
                         value=None, label='Kind').props('outlined dense').classes('w-48')
        patient = ui.input('Patient (name or code)').props('outlined dense clearable').classes('w-56') \
            .mark('tx-patient')
        ui.button('Show', icon='search', on_click=lambda: search(reset=True)).props('unelevated no-caps') \
            .mark('tx-search')
    tx_error = error_text()
    table = ui.table(columns=COLUMNS, rows=[], row_key='id', pagination=0) \
        .props('flat bordered dense wrap-cells hide-bottom no-data-label="No transaction matches."') \
        .classes('w-full').mark('transactions')
    table.add_slot('body-cell-invoice', INVOICE_LINK)
    with ui.row().classes('w-full items-center gap-2'):
        previous = ui.button(icon='chevron_left', on_click=lambda: page(-1)).props('flat round aria-label=Previous')
        position = ui.label().mark('tx-position')
        following = ui.button(icon='chevron_right', on_click=lambda: page(1)).props('flat round aria-label=Next') \
            .mark('tx-next')
        ui.space()
        download = ui.button('Download CSV', icon='download').props('outline no-caps').mark('tx-csv')

    def read_filters() -> reports.TransactionFilter:
        return reports.TransactionFilter(read_day(date_from.value, 'start date'), read_day(date_to.value, 'end date'),
                                         method=method.value, cashier_id=cashier.value, patient=patient.value or '',
                                         kind=kind.value)

    async def search(reset: bool = False) -> None:
        tx_error.set_text('')
        try:
            filters = read_filters()
            if reset:
                state['offset'] = 0
        except DomainError as e:
            tx_error.set_text(str(e))
            return
        found = await staff_read(lambda session: reports.transactions(session, actor, filters, tz=tz,
                                                                      offset=state['offset'], limit=PAGE_SIZE),
                                 error_label=tx_error)
        if found is None:
            return
        rows, count = found
        state['filters'] = filters
        table.rows = [{'id': t.id, 'time': t.received_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'),
                       'receipt': t.receipt_number, 'patient': f'{t.patient_name} · {t.patient_code}',
                       'invoice': t.invoice_number, 'invoice_id': t.invoice_id,
                       'method': METHOD_LABELS[t.method] + (f': {t.reason}' if t.reason else ''),
                       'amount': money(t.amount), 'cashier': t.cashier} for t in rows]
        first = state['offset'] + 1 if count else 0
        position.set_text(f'{first}–{state["offset"] + len(rows)} of {count}')
        previous.set_enabled(state['offset'] > 0)
        following.set_enabled(state['offset'] + len(rows) < count)

    async def page(step: int) -> None:
        state['offset'] = max(0, state['offset'] + step * PAGE_SIZE)
        await search()

    def csv_query(filters: reports.TransactionFilter) -> str:
        params = {'date_from': filters.date_from.isoformat(), 'date_to': filters.date_to.isoformat()}
        for name, value in (('method', filters.method), ('cashier_id', filters.cashier_id), ('kind', filters.kind),
                            ('patient', filters.patient)):
            if value:
                params[name] = value.value if hasattr(value, 'value') else value
        return urlencode(params)

    def download_csv() -> None:
        try:
            filters = read_filters()
        except DomainError as e:
            tx_error.set_text(str(e))
            return
        ui.navigate.to(f'/cashier/transactions.csv?{csv_query(filters)}', new_tab=True)

    download.on_click(download_csv)

    ui.separator().classes('my-2')
    section_title('Appointments export')
    with ui.row().classes('w-full items-center gap-2'):
        appointments_from = ui.input('From', value=start.strftime('%d/%m/%Y')).props('outlined dense') \
            .classes('w-36').mark('appointments-from')
        appointments_to = ui.input('To', value=end.strftime('%d/%m/%Y')).props('outlined dense').classes('w-36') \
            .mark('appointments-to')
        appointments_error = error_text()

        def download_appointments() -> None:
            try:
                first, last = read_day(appointments_from.value, 'start date'), read_day(appointments_to.value,
                                                                                       'end date')
            except DomainError as e:
                appointments_error.set_text(str(e))
                return
            ui.navigate.to(f'/cashier/appointments.csv?date_from={first.isoformat()}&date_to={last.isoformat()}',
                           new_tab=True)

        ui.button('Download appointments CSV', icon='download', on_click=download_appointments) \
            .props('outline no-caps').mark('appointments-csv')

    await load_close()
    await search(reset=True)

    async def on_billing(event: BillingChanged) -> None:
        if event.action in ('payment', 'refund'):
            await load_close()
            if state['offset'] == 0:
                await search()

    subscribe(BillingChanged, on_billing)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise ValidationError(f'{text!r} is not a date (YYYY-MM-DD).') from e


def _csv_response(data: bytes, name: str) -> Response:
    return Response(data, media_type='text/csv; charset=utf-8',
                    headers={'Content-Disposition': f'attachment; filename="{name}"'})


@staff_file(CASHIER, '/cashier/transactions.csv')
async def transactions_csv(actor: Actor, date_from: str, date_to: str, method: str = '', cashier_id: int | None = None,
                           kind: str = '', patient: str = ''):
    settings = clinic_settings.current()
    try:
        filters = reports.TransactionFilter(_day(date_from), _day(date_to),
                                            method=PaymentMethod(method) if method else None, cashier_id=cashier_id,
                                            patient=patient, kind=PaymentKind(kind) if kind else None)
        async with get_db().read() as session:
            data = await reports.transactions_csv(session, actor, filters, tz=settings.tz, currency=settings.currency,
                                                  exponent=settings.currency_exponent)
    except (DomainError, ValueError) as e:
        return Response(str(e), status_code=400, media_type='text/plain')
    return _csv_response(data, f'transactions-{date_from}-to-{date_to}.csv')


@staff_file(CASHIER, '/cashier/appointments.csv')
async def appointments_csv(actor: Actor, date_from: str, date_to: str):
    settings = clinic_settings.current()
    try:
        async with get_db().read() as session:
            data = await reports.appointments_csv(session, actor, _day(date_from), _day(date_to), tz=settings.tz,
                                                  currency=settings.currency, exponent=settings.currency_exponent)
    except DomainError as e:
        return Response(str(e), status_code=400, media_type='text/plain')
    return _csv_response(data, f'appointments-{date_from}-to-{date_to}.csv')
