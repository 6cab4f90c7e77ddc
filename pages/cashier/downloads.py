"""The cashier's files: receipts and bills as PDF (A4 or 80 mm), transactions and appointments as CSV."""
from __future__ import annotations

from datetime import date

from fastapi.responses import Response

from clinic_ui import transaction
from clinic_ui.routes import staff_file
from clinic_ui.stations import CASHIER
from models import PaymentKind, PaymentMethod
from models.types import utcnow
from services import cashier_close, clinic_settings, close_sheet, receipts, reports
from services.access import Actor
from services.core.errors import DomainError, ValidationError
from services.core.i18n import _


def receipt_url(number: str, layout: str = 'a4') -> str:
    return f'/cashier/receipts/{number}.pdf?layout={layout}'


def bill_url(invoice_id: int, layout: str = 'a4') -> str:
    return f'/cashier/invoices/{invoice_id}/bill.pdf?layout={layout}'


def _pdf_response(pdf: bytes, name: str) -> Response:
    return Response(pdf, media_type='application/pdf', headers={'Content-Disposition': f'inline; filename="{name}"'})


async def _receipt_response(data: receipts.ReceiptData, layout: str) -> Response:
    settings = clinic_settings.current()
    pdf = await receipts.render_receipt(data, receipts.ClinicHeader.from_settings(settings),
                                        layout='thermal' if layout == 'thermal' else 'a4', tz=settings.tz)
    return _pdf_response(pdf, receipts.file_name(data))


@staff_file(CASHIER, '/cashier/receipts/{number}.pdf')
async def receipt_pdf(actor: Actor, number: str, layout: str = 'a4'):
    try:
        data = await transaction.read(lambda s: receipts.receipt_data(s, actor, number))
        return await _receipt_response(data, layout)
    except DomainError as e:
        return Response(str(e), status_code=404, media_type='text/plain')


@staff_file(CASHIER, '/cashier/invoices/{invoice_id}/bill.pdf')
async def bill_pdf(actor: Actor, invoice_id: int, layout: str = 'a4'):
    try:
        data = await transaction.read(lambda s: receipts.bill_data(s, actor, invoice_id, now=utcnow()))
        return await _receipt_response(data, layout)
    except DomainError as e:
        return Response(str(e), status_code=404, media_type='text/plain')


def close_sheet_url(close_id: int) -> str:
    return f'/cashier/closes/{close_id}.pdf'


@staff_file(CASHIER, '/cashier/closes/{close_id}.pdf')
async def close_sheet_pdf(actor: Actor, close_id: int):
    """A cashier's closed day, printed (their own; any for an administrator)."""
    settings = clinic_settings.current()
    try:
        drawer = await transaction.read(lambda s: cashier_close.close_sheet(s, actor, close_id, tz=settings.tz))
    except DomainError as e:
        return Response(str(e), status_code=404, media_type='text/plain')
    pdf = await close_sheet.render_close_sheet(drawer, receipts.ClinicHeader.from_settings(settings), tz=settings.tz)
    return _pdf_response(pdf, close_sheet.file_name(drawer.day, drawer.cashier_id))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise ValidationError(_('{text} is not a date (YYYY-MM-DD).').format(text=repr(text))) from e



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
        data = await transaction.read(lambda s: reports.transactions_csv(s, actor, filters, tz=settings.tz,
                                                                  currency=settings.currency,
                                                                  exponent=settings.currency_exponent))
    except (DomainError, ValueError) as e:
        return Response(str(e), status_code=400, media_type='text/plain')
    return _csv_response(data, f'transactions-{date_from}-to-{date_to}.csv')


@staff_file(CASHIER, '/cashier/appointments.csv')
async def appointments_csv(actor: Actor, date_from: str, date_to: str):
    settings = clinic_settings.current()
    try:
        first, last = _day(date_from), _day(date_to)
        data = await transaction.read(lambda s: reports.appointments_csv(s, actor, first, last, tz=settings.tz,
                                                                  currency=settings.currency,
                                                                  exponent=settings.currency_exponent))
    except DomainError as e:
        return Response(str(e), status_code=400, media_type='text/plain')
    return _csv_response(data, f'appointments-{date_from}-to-{date_to}.csv')
