"""The printed close of a cashier's day (A4, fpdf2): the same look and fonts as the receipts (``receipts``), in the
cashier's language. It shows the figures as they were closed: per method, the cash expected against the cash
counted, the difference and its reason, the notes counted, and lines to sign."""
from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from models import PaymentMethod

from . import pdf_fonts
from .billing import METHOD_LABELS
from .cashier_close import Drawer
from .core import i18n
from .core.i18n import _
from .core.money import format_amount, format_money
from .documents import reader_language
from .receipts import A4_PAGE, ClinicHeader, _Cell, _Doc


def sheet_language(drawer: Drawer, clinic: ClinicHeader) -> str:
    """The cashier's language, else the clinic's."""
    return reader_language(drawer.language, clinic=clinic.language or None)


def _describe(doc: _Doc, drawer: Drawer, clinic: ClinicHeader, tz) -> None:
    row = drawer.close
    page = doc.page
    money = lambda amount: format_amount(amount, clinic.exponent)  # noqa: E731
    with_currency = lambda amount: format_money(amount, clinic.currency, clinic.exponent)  # noqa: E731
    if clinic.logo:
        doc.image(Path(clinic.logo), 36)
    doc.text(clinic.name, size=15, bold=True, align='C')
    for line in (clinic.address, _('Tel. {phone}').format(phone=clinic.phone) if clinic.phone else ''):
        doc.text(line, size=page.base_size - 1, align='C')
    doc.gap(2)
    doc.text(_("Cashier's day close").upper(), size=14, bold=True, align='C')
    doc.text(_('Day {day}').format(day=drawer.day.strftime('%d/%m/%Y')), size=page.base_size + 1, bold=True,
             align='C')
    if row.reopened_at is not None:
        doc.text(_('REOPENED at {time} by {name}: {reason}').format(
            time=row.reopened_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), name=drawer.reopened_by,
            reason=row.reopen_reason), bold=True, align='C')
    doc.gap(2)
    for label, value in ((_('Cashier'), drawer.cashier),
                         (_('Closed'), _('{time} by {name}').format(
                             time=row.closed_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), name=drawer.closed_by))):
        doc.row([_Cell(label, 34), _Cell(value, page.content - 34)])
    doc.rule()

    widths = [page.content - 5 * 26, 26, 26, 26, 26, 26]
    aligns = ['L', 'R', 'R', 'R', 'R', 'R']
    heads = [_('Method'), _('Payments'), _('Received'), _('Refunds'), _('Refunded'), _('Net')]
    doc.row([_Cell(h, w, a) for h, w, a in zip(heads, widths, aligns)], bold=True, fill=True)
    totals = [0, 0, 0, 0]
    for method in METHOD_LABELS:
        figures = row.totals.get(method.value)
        if not figures:
            continue
        totals = [a + b for a, b in zip(totals, figures)]
        payments, received, refunds, refunded = figures
        values = [_(METHOD_LABELS[PaymentMethod(method)]), str(payments), money(received), str(refunds),
                  money(refunded), money(received - refunded)]
        doc.row([_Cell(v, w, a) for v, w, a in zip(values, widths, aligns)])
    if not row.totals:
        doc.text(_('No payment on this day.'))
    values = [_('Total'), str(totals[0]), money(totals[1]), str(totals[2]), money(totals[3]),
              money(totals[1] - totals[3])]
    doc.row([_Cell(v, w, a) for v, w, a in zip(values, widths, aligns)], bold=True)
    doc.rule()

    value_width = page.content * 0.3
    pair = lambda label, value, **kw: doc.pair(label, value, value_width=value_width, **kw)  # noqa: E731
    doc.text(_('Cash in the drawer'), bold=True)
    pair('  ' + _('Opening float'), money(row.opening_float))
    pair('  ' + _('Cash taken'), money(row.cash_in))
    pair('  ' + _('Cash refunded'), money(-row.cash_out))
    pair(_('Expected cash'), with_currency(row.expected), bold=True)
    pair(_('Counted cash'), with_currency(row.counted), bold=True)
    pair(_('Difference'), with_currency(row.difference), size=page.base_size + 1, bold=True)
    if row.reason:
        doc.text(_('Reason: {reason}').format(reason=row.reason), size=page.base_size - 0.5)
    doc.rule()

    if row.denominations:
        doc.text(_('Notes counted'), bold=True)
        widths = [page.content - 2 * 40, 40, 40]
        doc.row([_Cell(_('Banknote'), widths[0]), _Cell(_('Count'), widths[1], 'R'), _Cell(_('Amount'), widths[2], 'R')],
                bold=True, fill=True)
        for value, count in sorted(((int(v), c) for v, c in row.denominations.items()), reverse=True):
            doc.row([_Cell(money(value), widths[0]), _Cell(str(count), widths[1], 'R'),
                     _Cell(money(value * count), widths[2], 'R')])
        doc.row([_Cell(_('Total'), widths[0]), _Cell('', widths[1]), _Cell(money(row.counted), widths[2], 'R')],
                bold=True)
        doc.rule()

    doc.gap(10)
    half = page.content / 2
    doc.row([_Cell(_('Cashier'), half, 'C'), _Cell(_('Checked by'), half, 'C')], bold=True)
    doc.row([_Cell(_('(signature and full name)'), half, 'C'), _Cell(_('(signature and full name)'), half, 'C')],
            size=page.base_size - 1)
    doc.gap(22)
    doc.row([_Cell('.' * 40, half, 'C'), _Cell('.' * 40, half, 'C')])


def close_sheet_pdf(drawer: Drawer, clinic: ClinicHeader, *, tz) -> bytes:
    """The close sheet as PDF bytes (CPU work: call ``render_close_sheet`` from the event loop)."""
    with i18n.use(sheet_language(drawer, clinic)):
        pdf = pdf_fonts.new_pdf(format='A4')
        pdf.set_title(_("Cashier's day close") + f' {drawer.day.isoformat()}')
        pdf.set_author(clinic.name)
        pdf.set_creator('Clinic Flow')
        pdf.set_margins(A4_PAGE.margin, A4_PAGE.margin, A4_PAGE.margin)
        pdf.set_auto_page_break(False)
        doc = _Doc(A4_PAGE)
        _describe(doc, drawer, clinic, tz)
        pdf.add_page()
        doc.draw(pdf, paged=True)
        return bytes(pdf.output())


async def render_close_sheet(drawer: Drawer, clinic: ClinicHeader, *, tz) -> bytes:
    return await asyncio.to_thread(close_sheet_pdf, drawer, clinic, tz=tz)


def file_name(day: date, cashier_id: int) -> str:
    return f'close-{day.isoformat()}-{cashier_id}.pdf'
