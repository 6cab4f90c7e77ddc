"""CSV files that are safe to open in a spreadsheet: every CSV the app writes goes through ``csv_bytes``.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return in front of one) as a formula. Text typed by anyone, e.g. a name on the public booking page such as
``=HYPERLINK("http://evil.example","Open")``, would become a live formula in the cashier's export. OWASP's rule:
such a text cell gets a leading single quote; the spreadsheet shows it as text and people can still read it.
Numbers the app writes itself (amounts, ids: ``int`` or ``Decimal``) are not text and stay numbers, so a refund of
-30000 still adds up.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')


def safe_cell(value: object) -> object:
    """A number as it is; anything else as text, with a single quote in front if it could start a formula."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    text = '' if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with a BOM (spreadsheet programs then read Vietnamese names right), CRLF lines, one header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\r\n')
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode('utf-8-sig')
