"""Receipts (and printable bills) as PDF with fpdf2, in two layouts: A4 and 80 mm thermal paper.

A receipt belongs to one payment action (possibly split across methods) or one refund: its number comes from the
gap-free ``receipt`` sequence (``billing.next_receipt_number``). Its figures are those *as of* that receipt
(earlier payments, the balance left then), so a reprint a week later shows the same numbers. The bill of an
invoice (before or without payment) prints the same way, titled "Invoice".

Layout. The document is first described as a list of blocks (text, table rows, rules, the logo); each block's
height is measured with the real font (word wrap included), so the 80 mm slip is exactly as long as its content
and the A4 page never splits a row. Fonts: DejaVu, prepared once per process by
``services.pdf_fonts`` (each receipt gets a cheap private copy), so names with diacritics print.

Language. A receipt, a bill and their email are written in the patient's language (``Patient.language``, else the
clinic's), whoever prints them: titles, headings, sentences, amounts (``1.234.567 ₫``) and dates.

Building a PDF is CPU work (~15 ms): from the event loop call ``render_receipt`` (a worker thread).
"""
from __future__ import annotations

import asyncio
import io
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from PIL import Image
from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import InvoiceStatus, Payment, PaymentKind, Role
from models.types import utcnow

from . import audit, billing, clinic_settings, pdf_fonts, qr, vietqr
from .access import Actor, require
from .core import i18n
from .core.boundary import action, query
from .core.errors import NotFound, ValidationError
from .core.i18n import N_, _
from .core.money import format_amount, format_money
from .documents import reader_language
from .notifications import queue_email
from .pdf_fonts import FONT
from .text import is_valid_email

log = logging.getLogger(__name__)
Layout = Literal['a4', 'thermal']
LAYOUTS: dict[str, str] = {'a4': 'A4', 'thermal': '80 mm'}
# The kinds of document (ReceiptData.title: compared by code, shown translated).
RECEIPT, REFUND_RECEIPT, INVOICE = N_('Receipt'), N_('Refund receipt'), N_('Invoice')
# The payment methods as printed (billing.METHOD_LABELS), shown translated.
METHOD_NAMES = (N_('Cash'), N_('Card'), N_('Bank transfer'), N_('E-wallet'), N_('Insurance'))


@dataclass(frozen=True)
class ClinicHeader:
    name: str
    address: str = ''
    phone: str = ''
    logo: Path | None = None
    currency: str = 'VND'
    exponent: int = 0
    language: str = ''  # the clinic's language: for patients who chose none ('': the settings in force)

    @classmethod
    def from_settings(cls, settings) -> ClinicHeader:
        return cls(settings.clinic_name, settings.clinic_address, settings.clinic_phone, settings.clinic_logo,
                   settings.currency, settings.currency_exponent, settings.language)


@dataclass(frozen=True)
class ReceiptLine:
    description: str
    quantity: int
    unit_price: int
    line_total: int


@dataclass(frozen=True)
class ReceiptPayment:
    receipt_number: str
    method: str
    amount: int
    tendered: int | None = None
    change_due: int = 0
    reference: str = ''


@dataclass(frozen=True)
class ReceiptData:
    title: str                 # 'Receipt', 'Refund receipt' or 'Invoice'
    number: str                # the receipt number (or the invoice number for a bill)
    invoice_number: str
    issued_at: datetime        # aware; printed in the clinic's time zone
    patient_name: str
    patient_code: str
    cashier: str
    doctor: str
    lines: list[ReceiptLine]
    subtotal: int
    discount: int
    voucher_code: str          # the voucher the discount came from ('' for a manual discount, whose reason is internal)
    insurance: int
    insurer: str
    policy_no: str
    total: int
    payments: list[ReceiptPayment] = field(default_factory=list)  # taken (or given back) with this receipt
    paid_before: int = 0       # received on the invoice before this receipt
    paid_total: int = 0        # received on the invoice up to and including this receipt
    refunded_total: int = 0    # given back up to and including this receipt
    refund_reason: str = ''
    refund_of: str = ''        # the receipt a refund gives money back from
    void_reason: str = ''
    language: str | None = None  # the patient's language (None: the clinic's)
    transfer: vietqr.InvoiceTransfer | None = None  # the VietQR code for what is due (a bill; a receipt with a balance)

    @property
    def is_refund(self) -> bool:
        return bool(self.refund_of)

    @property
    def balance(self) -> int:
        return self.total - self.paid_total

    @property
    def change_due(self) -> int:
        return sum(p.change_due for p in self.payments)


# --- Reading what to print ----------------------------------------------------------------------------------------

def _lines(view: billing.InvoiceView) -> list[ReceiptLine]:
    """One line per medicine and unit price, not per stock batch (``billing.bill_lines``)."""
    return [ReceiptLine(line.description, line.quantity, line.unit_price, line.line_total) for line in view.lines]


def _base(view: billing.InvoiceView, **fields) -> ReceiptData:
    invoice = view.invoice
    return ReceiptData(
        invoice_number=invoice.number, patient_name=view.patient.full_name, patient_code=view.patient.code,
        doctor=view.doctor, lines=_lines(view), subtotal=invoice.subtotal, discount=invoice.discount_amount,
        voucher_code=invoice.voucher_code or '', insurance=invoice.insurance_amount, insurer=invoice.insurer,
        policy_no=invoice.insurance_policy_no, total=invoice.total,
        void_reason=invoice.void_reason if invoice.status == InvoiceStatus.VOID else '',
        language=view.patient.language, **fields)


def _payment(p: billing.PaymentView) -> ReceiptPayment:
    return ReceiptPayment(p.receipt_number or '', billing.METHOD_LABELS[p.method], p.amount, p.tendered, p.change_due,
                          p.reference)


@query
async def invoice_of_receipt(session: AsyncSession, actor: Actor, number: str) -> int:
    require(actor, Role.CASHIER)
    invoice_id = (await session.exec(select(Payment.invoice_id).where(Payment.receipt_number == number))).first()
    if invoice_id is None:
        raise NotFound(_('There is no receipt {number}.').format(number=number))
    return invoice_id


@query
async def receipt_data(session: AsyncSession, actor: Actor, number: str) -> ReceiptData:
    """The receipt ``number`` (a payment, split or not, or a refund) with the invoice's figures as of then."""
    require(actor, Role.CASHIER)
    view = await billing.invoice_view(session, actor, await invoice_of_receipt(session, actor, number))
    mine = [p for p in view.payments if p.receipt_number == number or
            (p.receipt_number or '').startswith(number + '-')]
    last_id = max(p.id for p in mine)
    first_id = min(p.id for p in mine)
    payments = [p for p in view.payments if p.kind == PaymentKind.PAYMENT]
    refunds = [p for p in view.payments if p.kind == PaymentKind.REFUND]
    paid_before = sum(p.amount for p in payments if p.id < first_id)
    paid_total = sum(p.amount for p in payments if p.id <= last_id)
    refunded_total = sum(p.amount for p in refunds if p.id <= last_id)
    first = mine[0]
    if first.kind == PaymentKind.REFUND:
        original = next((p for p in view.payments if p.id == first.refund_of_id), None)
        return _base(view, title=REFUND_RECEIPT, number=number, issued_at=first.received_at,
                     cashier=first.cashier, payments=[_payment(first)], paid_before=paid_before,
                     paid_total=paid_total, refunded_total=refunded_total, refund_reason=first.reason,
                     refund_of=(original.receipt_number if original else '') or '?')
    return _base(view, title=RECEIPT, number=number, issued_at=first.received_at, cashier=first.cashier,
                 payments=[_payment(p) for p in mine], paid_before=paid_before, paid_total=paid_total,
                 refunded_total=refunded_total, transfer=_transfer_left(view, view.invoice.total - paid_total))


def _transfer_left(view: billing.InvoiceView, balance_then: int) -> vietqr.InvoiceTransfer | None:
    """A receipt that leaves a balance shows the QR code to transfer it, as long as that is still what is due: once
    more was paid (or the bill was voided), a reprint shows none, so nobody pays the same balance twice."""
    transfer = vietqr.for_invoice(view.invoice, clinic_settings.current())
    return transfer if transfer is not None and balance_then > 0 and transfer.amount == balance_then else None


@query
async def bill_data(session: AsyncSession, actor: Actor, invoice_id: int, *, now: datetime | None = None) -> ReceiptData:
    """The invoice itself (for the patient to check before paying, or a statement): every payment so far."""
    view = await billing.invoice_view(session, actor, invoice_id)
    payments = [p for p in view.payments if p.kind == PaymentKind.PAYMENT]
    return _base(view, title=INVOICE, number=view.invoice.number, issued_at=now or utcnow(),
                 cashier=actor.full_name, payments=[_payment(p) for p in payments],
                 paid_total=view.invoice.amount_paid, refunded_total=view.refunded,
                 transfer=vietqr.for_invoice(view.invoice, clinic_settings.current()))


# --- Layout ---------------------------------------------------------------------------------------------------------

def _nfc(text: str) -> str:
    return unicodedata.normalize('NFC', text or '')


@dataclass
class _Cell:
    text: str
    width: float
    align: str = 'L'


@dataclass
class _Block:
    kind: str                      # 'row', 'rule', 'gap', 'image'
    cells: list[_Cell] = field(default_factory=list)
    size: float = 9
    bold: bool = False
    line_height: float = 4.5
    gap: float = 0
    image: Path | None = None
    picture: bytes = b''           # 'qr': the PNG of a QR code, drawn at the left of the block's text (or above it)
    image_size: tuple[float, float] = (0, 0)
    dashed: bool = True
    fill: bool = False


@dataclass(frozen=True)
class _Page:
    width: float
    margin: float
    base_size: float
    line_height: float

    @property
    def content(self) -> float:
        return self.width - 2 * self.margin


A4_PAGE = _Page(210, 16, 10, 5.2)
THERMAL_PAGE = _Page(80, 4, 8.5, 4.2)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Split ``text`` into lines no wider than ``width`` (words first, long words by character)."""
    usable = max(width - 2 * pdf.c_margin, 1)
    lines: list[str] = []
    for paragraph in _nfc(text).split('\n'):
        current = ''
        for word in paragraph.split(' '):
            candidate = f'{current} {word}' if current else word
            if pdf.get_string_width(candidate) <= usable:
                current = candidate
                continue
            if current:
                lines.append(current)
            current = ''
            while pdf.get_string_width(word) > usable and len(word) > 1:
                cut = len(word)
                while cut > 1 and pdf.get_string_width(word[:cut]) > usable:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines or ['']


class _Doc:
    """Blocks of a receipt for one page width; measured, then drawn."""

    def __init__(self, page: _Page) -> None:
        self.page = page
        self.blocks: list[_Block] = []
        self._wrapped: dict[int, list[list[str]]] = {}  # id(block) -> its lines (blocks live as long as the doc)

    def text(self, text: str, *, size: float | None = None, bold: bool = False, align: str = 'L',
             line_height: float | None = None) -> None:
        if text:
            self.row([_Cell(text, self.page.content, align)], size=size, bold=bold, line_height=line_height)

    def row(self, cells: list[_Cell], *, size: float | None = None, bold: bool = False,
            line_height: float | None = None, fill: bool = False) -> None:
        size = size or self.page.base_size
        self.blocks.append(_Block('row', cells, size, bold, line_height or self.page.line_height * size
                                  / self.page.base_size, fill=fill))

    def pair(self, label: str, value: str, *, size: float | None = None, bold: bool = False,
             value_width: float | None = None) -> None:
        """A label on the left, a figure on the right."""
        value_width = value_width or self.page.content * 0.4
        indent = (len(label) - len(label.lstrip(' '))) * 1.5  # leading spaces: indented by 1.5 mm each
        cells = [_Cell('', indent)] if indent else []
        cells += [_Cell(label.strip(), self.page.content - value_width - indent), _Cell(value, value_width, 'R')]
        self.row(cells, size=size, bold=bold)

    def rule(self, dashed: bool = True) -> None:
        self.blocks.append(_Block('rule', dashed=dashed, gap=3))

    def gap(self, mm: float) -> None:
        self.blocks.append(_Block('gap', gap=mm))

    def qr(self, png: bytes, size: float, text: str, *, beside: bool) -> None:
        """A QR code ``size`` mm square with ``text`` beside it (A4) or a centred code with the text under it."""
        if beside:
            gap = 4
            self.blocks.append(_Block('qr', [_Cell(text, self.page.content - size - gap)], self.page.base_size,
                                      line_height=self.page.line_height, picture=png, image_size=(size, size),
                                      gap=size))
        else:
            self.blocks.append(_Block('qr', [], picture=png, image_size=(size, size), gap=size + 1))
            self.text(text, align='C')

    def image(self, path: Path, width: float) -> None:
        try:
            with Image.open(path) as picture:
                w, h = picture.size
        except (OSError, ValueError):
            log.warning('clinic logo %s cannot be read; printed without it', path)
            return
        height = width * h / w
        if height > width * 0.6:  # a tall logo: limit its height instead
            height, width = width * 0.6, width * 0.6 * w / h
        self.blocks.append(_Block('image', image=path, image_size=(width, height), gap=height + 2))

    # -- measuring and drawing --

    def _lines(self, pdf: FPDF, block: _Block) -> list[list[str]]:
        """The wrapped lines of each cell (sets the block's font): measured once per block, not at every look."""
        pdf.set_font(FONT, 'B' if block.bold else '', block.size)
        if (lines := self._wrapped.get(id(block))) is None:
            lines = self._wrapped[id(block)] = [_wrap(pdf, cell.text, cell.width) for cell in block.cells]
        return lines

    def height(self, pdf: FPDF, block: _Block) -> float:
        if block.kind == 'qr' and block.cells:
            return max(block.gap, max(len(lines) for lines in self._lines(pdf, block)) * block.line_height)
        if block.kind != 'row':
            return block.gap
        return max(len(lines) for lines in self._lines(pdf, block)) * block.line_height

    def total_height(self, pdf: FPDF) -> float:
        return sum(self.height(pdf, block) for block in self.blocks)

    def draw(self, pdf: FPDF, *, paged: bool) -> None:
        margin, width = self.page.margin, self.page.width
        for block in self.blocks:
            height = self.height(pdf, block)
            if paged and pdf.get_y() + height > pdf.h - margin:
                pdf.add_page()
            y = pdf.get_y()
            if block.kind == 'rule':
                pdf.set_draw_color(110, 110, 110)
                if block.dashed:
                    pdf.set_dash_pattern(dash=1, gap=1)
                pdf.line(margin, y + block.gap / 2, width - margin, y + block.gap / 2)
                pdf.set_dash_pattern()
            elif block.kind == 'image':
                image_width, image_height = block.image_size
                pdf.image(str(block.image), x=(width - image_width) / 2, y=y, w=image_width, h=image_height)
            elif block.kind == 'qr':
                size = block.image_size[0]
                x = margin if block.cells else (width - size) / 2
                pdf.image(io.BytesIO(block.picture), x=x, y=y, w=size, h=size)
                for cell, lines in zip(block.cells, self._lines(pdf, block)):
                    for index, line in enumerate(lines):
                        pdf.set_xy(margin + size + 4, y + 2 + index * block.line_height)
                        pdf.cell(cell.width, block.line_height, line, align=cell.align)
            elif block.kind == 'row':
                if block.fill:
                    pdf.set_fill_color(236, 242, 241)
                    pdf.rect(margin, y, self.page.content, height, style='F')
                x = margin
                for cell, lines in zip(block.cells, self._lines(pdf, block)):
                    for index, line in enumerate(lines):
                        pdf.set_xy(x, y + index * block.line_height)
                        pdf.cell(cell.width, block.line_height, line, align=cell.align)
                    x += cell.width
            pdf.set_xy(margin, y + height)


def _describe(doc: _Doc, data: ReceiptData, clinic: ClinicHeader, tz, thermal: bool) -> None:
    page = doc.page
    money = lambda amount: format_amount(amount, clinic.exponent)  # noqa: E731
    with_currency = lambda amount: format_money(amount, clinic.currency, clinic.exponent)  # noqa: E731
    if clinic.logo:
        doc.image(Path(clinic.logo), 30 if thermal else 36)
    doc.text(clinic.name, size=12 if thermal else 15, bold=True, align='C')
    for line in (clinic.address, _('Tel. {phone}').format(phone=clinic.phone) if clinic.phone else ''):
        doc.text(line, size=page.base_size - 1, align='C')
    doc.gap(2)
    doc.text(_(data.title).upper(), size=12 if thermal else 14, bold=True, align='C')
    doc.text(_('No. {number}').format(number=data.number), size=page.base_size + 1, bold=True, align='C')
    if data.void_reason:
        doc.text(_('VOID: {reason}').format(reason=data.void_reason), size=page.base_size + 1, bold=True, align='C')
    doc.gap(2)
    label_width = 20 if thermal else 34
    info = [(_('Date'), f'{data.issued_at.astimezone(tz):%d/%m/%Y %H:%M}')]
    if data.number != data.invoice_number:
        info.append((_('Invoice'), data.invoice_number))
    info += [(_('Patient'), f'{data.patient_name} ({data.patient_code})'), (_('Doctor'), data.doctor),
             (_('Cashier'), data.cashier)]
    for label, value in info:
        if value:
            doc.row([_Cell(label, label_width), _Cell(value, page.content - label_width)])
    doc.rule()

    if thermal:
        for line in data.lines:
            doc.text(line.description, bold=True)
            doc.pair('  ' + _('{quantity} x {price}').format(quantity=line.quantity, price=money(line.unit_price)),
                     money(line.line_total))
    else:
        widths = [10, page.content - 10 - 18 - 34 - 36, 18, 34, 36]
        heads = ['#', _('Description'), _('Qty'), _('Unit price'),
                 _('Amount ({currency})').format(currency=clinic.currency)]
        aligns = ['L', 'L', 'R', 'R', 'R']
        doc.row([_Cell(h, w, a) for h, w, a in zip(heads, widths, aligns)], bold=True, fill=True)
        for number, line in enumerate(data.lines, start=1):
            values = [str(number), line.description, str(line.quantity), money(line.unit_price),
                      money(line.line_total)]
            doc.row([_Cell(v, w, a) for v, w, a in zip(values, widths, aligns)])
    doc.rule()

    value_width = page.content * (0.42 if thermal else 0.3)
    pair = lambda label, value, **kw: doc.pair(label, value, value_width=value_width, **kw)  # noqa: E731
    pair(_('Subtotal'), money(data.subtotal))
    if data.discount:
        # The reason of a manual discount is the clinic's own note: the patient's paper says only "Discount". A
        # voucher shows its code: the patient brought it, and sees which one was used up.
        pair(_('Discount (voucher {code})').format(code=data.voucher_code) if data.voucher_code else _('Discount'),
             money(-data.discount))
    if data.insurance:
        pair(_('Insurance: {insurer}, policy {policy}').format(insurer=data.insurer, policy=data.policy_no),
             money(-data.insurance))
    pair(_('TOTAL'), with_currency(data.total), size=page.base_size + 2, bold=True)
    doc.rule()

    if data.is_refund:
        refund = data.payments[0]
        pair(_('Refunded now: {method}').format(method=_(refund.method)), with_currency(refund.amount), bold=True)
        doc.text(_('From receipt {number}. Reason: {reason}').format(number=data.refund_of, reason=data.refund_reason),
                 size=page.base_size - 0.5)
    elif data.payments:
        if data.title == RECEIPT:
            if data.paid_before:
                pair(_('Paid before'), money(data.paid_before))
            doc.text(_('Paid now'), bold=True)
        else:
            doc.text(_('Payments'), bold=True)
        for payment in data.payments:
            pair(f'  {_(payment.method)}' + (f' ({payment.reference})' if payment.reference else ''),
                 money(payment.amount))
            if payment.tendered is not None:
                pair('    ' + _('Cash received'), money(payment.tendered), size=page.base_size - 0.5)
                pair('    ' + _('Change'), money(payment.change_due), size=page.base_size - 0.5)
    pair(_('Total paid'), with_currency(data.paid_total), bold=True)
    if data.refunded_total:
        pair(_('Refunded'), money(-data.refunded_total))
    pair(_('Balance due'), with_currency(data.balance), size=page.base_size + 1, bold=True)
    doc.rule()
    if data.transfer is not None and not data.is_refund:
        _describe_transfer(doc, data.transfer, with_currency, thermal)
        doc.rule()
    doc.text(_('Thank you. Please keep this receipt.') if data.title != INVOICE else
             _('This is a bill, not a receipt.'), size=page.base_size - 1, align='C')


def _describe_transfer(doc: _Doc, transfer: vietqr.InvoiceTransfer, with_currency, thermal: bool) -> None:
    """The VietQR code for the amount due, with what a payer checks in their banking app beside it."""
    lines = [_('Pay by bank transfer (VietQR)'),
             _('Scan with your banking app.'),
             _('Bank: {bank}').format(bank=transfer.bank),
             _('Account: {account}').format(account=transfer.account)]
    if transfer.holder:
        lines.append(_('Account holder: {name}').format(name=transfer.holder))
    lines += [_('Amount: {amount}').format(amount=with_currency(transfer.amount)),
              _('Transfer note: {note}').format(note=transfer.purpose)]
    doc.qr(qr.png(transfer.payload), 40 if thermal else 42, '\n'.join(lines), beside=not thermal)


def receipt_language(data: ReceiptData, clinic: ClinicHeader) -> str:
    """The language a receipt is written in: the patient's, else the clinic's."""
    return reader_language(data.language, clinic=clinic.language or None)


def receipt_pdf(data: ReceiptData, clinic: ClinicHeader, *, layout: Layout = 'a4', tz=None) -> bytes:
    """The receipt as PDF bytes, in the patient's language (CPU work: call ``render_receipt`` from the event
    loop)."""
    if layout not in LAYOUTS:
        raise ValidationError(_('Unknown receipt layout {layout}.').format(layout=repr(layout)))
    with i18n.use(receipt_language(data, clinic)):
        return _receipt_pdf(data, clinic, layout=layout, tz=tz)


def _receipt_pdf(data: ReceiptData, clinic: ClinicHeader, *, layout: Layout, tz) -> bytes:
    tz = tz or data.issued_at.tzinfo
    thermal = layout == 'thermal'
    page = THERMAL_PAGE if thermal else A4_PAGE
    pdf = pdf_fonts.new_pdf(format='A4')
    pdf.set_title(_('{title} {number}').format(title=_(data.title), number=data.number))
    pdf.set_author(clinic.name)
    pdf.set_creator('Clinic Flow')
    pdf.set_margins(page.margin, page.margin, page.margin)
    pdf.set_auto_page_break(False)
    doc = _Doc(page)
    _describe(doc, data, clinic, tz, thermal)
    if thermal:
        pdf.add_page(format=(page.width, doc.total_height(pdf) + 2 * page.margin + 2))
    else:
        pdf.add_page()
    doc.draw(pdf, paged=not thermal)
    return bytes(pdf.output())


async def render_receipt(data: ReceiptData, clinic: ClinicHeader, *, layout: Layout = 'a4', tz=None) -> bytes:
    """``receipt_pdf`` in a worker thread, so the other screens keep moving meanwhile."""
    return await asyncio.to_thread(receipt_pdf, data, clinic, layout=layout, tz=tz)


def file_name(data: ReceiptData) -> str:
    return f'{"invoice" if data.title == INVOICE else "receipt"}-{data.number}.pdf'


# --- Email ----------------------------------------------------------------------------------------------------------

@action
async def email_receipt(session: AsyncSession, actor: Actor, number: str, *, to: str, settings,
                        layout: Layout = 'a4') -> str:
    """Queue the receipt PDF to ``to`` in the outbox (sent in the background). Once per receipt and address.
    Returns the address. Commits."""
    require(actor, Role.CASHIER)
    to = (to or '').strip()
    if not is_valid_email(to):
        raise ValidationError(_('Please enter a valid email address.'), 'email')
    data = await receipt_data(session, actor, number)
    clinic = ClinicHeader.from_settings(settings)
    pdf = await render_receipt(data, clinic, layout=layout, tz=settings.tz)
    with i18n.use(receipt_language(data, clinic)):
        subject, body = _receipt_email(data, clinic, settings)
    invoice_id = await invoice_of_receipt(session, actor, number)
    await queue_email(session, dedupe_key=f'receipt:{number}:{to.lower()}', to=to, subject=subject,
                      body=body, attachment_name=file_name(data),
                      attachment_type='application/pdf', attachment_data=pdf)
    audit.record(session, actor, 'receipt_emailed', entity='invoice', entity_id=invoice_id,
                 detail=f'{number} to {to}')
    return to


def _receipt_email(data: ReceiptData, clinic: ClinicHeader, settings) -> tuple[str, str]:
    """Subject and text of the email that carries a receipt, in the current language."""
    money = lambda amount: format_money(amount, clinic.currency, clinic.exponent)  # noqa: E731
    paid_now = sum(p.amount for p in data.payments)
    if data.is_refund:
        news = _('We have refunded {amount} of your bill {invoice}.').format(amount=money(paid_now),
                                                                              invoice=data.invoice_number)
    else:
        news = _('Thank you for your payment of {amount} for bill {invoice} (total {total}).').format(
            amount=money(paid_now), invoice=data.invoice_number, total=money(data.total))
    lines = [_('Dear {name},').format(name=data.patient_name), '', news,
             _('Your receipt {number} is attached.').format(number=data.number)]
    if data.balance > 0:
        lines.append(_('Still to pay: {amount}.').format(amount=money(data.balance)))
    lines += ['', _('Kind regards,'), settings.clinic_name]
    lines += [line for line in (settings.clinic_address, settings.clinic_phone) if line]
    subject = _('{title} {number} from {clinic}').format(title=_(data.title), number=data.number,
                                                          clinic=settings.clinic_name)
    return subject, '\n'.join(lines) + '\n'


@query
async def receipts_of_invoice(session: AsyncSession, actor: Actor, invoice_id: int) -> list[str]:
    """The receipt numbers of an invoice (one per payment action or refund), oldest first."""
    require(actor, Role.CASHIER)
    numbers = (await session.exec(select(Payment.receipt_number).where(
        Payment.invoice_id == invoice_id, Payment.receipt_number.is_not(None),
        or_(Payment.kind == PaymentKind.REFUND, ~Payment.receipt_number.like('%-%-%'))).order_by(Payment.id))).all()
    return list(numbers)


def sample_receipt(now: datetime) -> ReceiptData:
    """A realistic receipt (for the benchmark and tests)."""
    lines = [ReceiptLine('General consultation', 1, 150_000, 150_000),
             ReceiptLine('Complete blood count (CBC)', 1, 90_000, 90_000),
             ReceiptLine('Paracetamol 500 mg (tablet)', 20, 1_200, 24_000),
             ReceiptLine('Amoxicillin 500 mg (capsule)', 21, 2_500, 52_500),
             ReceiptLine('Siro ho Bảo Thanh 125 ml (bottle)', 1, 48_000, 48_000)]
    subtotal = sum(line.line_total for line in lines)
    totals = billing.compute_totals([line.line_total for line in lines], discount=billing.Share(percent=10),
                                    insurance=billing.Share(percent=40))
    cash = ReceiptPayment('R-000124', 'Cash', 100_000, 200_000, 100_000)
    card = ReceiptPayment('R-000124-2', 'Card', totals.total - 100_000, reference='POS 481516')
    return ReceiptData(title=RECEIPT, number='R-000124', invoice_number='INV-2026-000123', issued_at=now,
                       patient_name='Nguyễn Thị Thu Hằng', patient_code='P0001234', cashier='Trần Văn Đức',
                       doctor='Dr. Lê Quốc Việt', lines=lines, subtotal=subtotal, discount=totals.discount,
                       voucher_code='', insurance=totals.insurance,
                       insurer='Bảo Việt', policy_no='HD-12345678', total=totals.total, payments=[cash, card],
                       paid_total=totals.total)

