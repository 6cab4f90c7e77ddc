"""Printed documents (PDF, fpdf2): the ticket slip a patient gets at check-in.

Language. Everything a patient receives (slip, prescription, labels, receipts, emails) is written in the
patient's language (``reader_language``), whoever prints it: the document is built inside ``i18n.use(...)``.

Fonts. fpdf2's core fonts cannot print Vietnamese ("ễ"), so we embed DejaVu Sans (``assets/fonts``), prepared once
per process by ``services.pdf_fonts`` (every document gets a cheap private copy: ``pdf_fonts.new_pdf``).

Building a PDF is still CPU work: from the event loop call ``render_ticket_slip`` (a worker thread).
"""
from __future__ import annotations

import asyncio
import io
import unicodedata
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Dispense, Patient, Visit

from . import pdf_fonts, qr
from .core import i18n
from .core.i18n import _
from .pdf_fonts import FONT

SLIP_WIDTH_MM = 80
SLIP_HEIGHT_MM = 105
QR_MM = 34  # the ticket link's code: big enough for any phone camera at arm's length
SLIP_WITH_QR_MM = SLIP_HEIGHT_MM + QR_MM + 12
MARGIN_MM = 4


def reader_language(*choices: str | None, clinic: str | None = None) -> str:
    """The language of a document or message for a patient: the first of ``choices`` (e.g. the booking's, then the
    patient's) that has a catalog, else the clinic's language (``clinic``, or the settings in force). The language of
    the staff member who prints or sends it plays no part."""
    for choice in choices:
        if code := i18n.normalize(choice):
            return code
    if clinic is None:
        from . import clinic_settings  # here: clinic_settings imports notifications, which imports us
        clinic = clinic_settings.current().language
    return i18n.normalize(clinic) or i18n.SOURCE


async def patient_language(session: AsyncSession, *, patient_id: int | None = None, patient_code: str | None = None,
                           clinic: str | None = None) -> str:
    """``reader_language`` of a patient found by id or code (the clinic's language if there is no such patient)."""
    column, value = (Patient.id, patient_id) if patient_id is not None else (Patient.code, patient_code)
    language = (await session.exec(select(Patient.language).where(column == value))).first()
    return reader_language(language, clinic=clinic)


async def dispense_language(session: AsyncSession, dispense_id: int, *, clinic: str | None = None) -> str:
    """``reader_language`` of the patient medicines were handed out to (their labels are printed in it)."""
    language = (await session.exec(select(Patient.language).join(Visit, Visit.patient_id == Patient.id)
                                   .join(Dispense, Dispense.visit_id == Visit.id)
                                   .where(Dispense.id == dispense_id))).first()
    return reader_language(language, clinic=clinic)


def _new_slip_pdf(height_mm: float = SLIP_HEIGHT_MM) -> FPDF:
    pdf = pdf_fonts.new_pdf(format=(SLIP_WIDTH_MM, height_mm))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(False)
    return pdf


def _line(pdf: FPDF, text: str, *, size: float, height: float, bold: bool = False,
          align: Align = Align.C) -> None:
    """One paragraph across the slip, wrapped if long. Text is NFC-normalised: precomposed Vietnamese letters."""
    pdf.set_font(FONT, 'B' if bold else '', size)
    pdf.multi_cell(0, height, unicodedata.normalize('NFC', text), align=align,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _rule(pdf: FPDF) -> None:
    """A dashed line across the slip."""
    y = pdf.get_y() + 1.5
    pdf.set_draw_color(120, 120, 120)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.line(MARGIN_MM, y, SLIP_WIDTH_MM - MARGIN_MM, y)
    pdf.set_dash_pattern()
    pdf.set_y(y + 2.5)


def slip_time_text(moment: datetime) -> str:
    """'Tue 24 Nov 2026, 09:30' in the current language (the caller passes the clinic-local time)."""
    return _('{weekday} {day}, {time}').format(weekday=i18n.weekday(moment.date(), 'abbreviated'),
                                               day=i18n.day(moment.date(), 'medium'), time=i18n.clock(moment))


def ticket_slip_pdf(*, clinic_name: str, ticket: str, patient_name: str, doctor: str, room: str,
                    issued_at_local: datetime, waiting_ahead: int | None, language: str | None = None,
                    link: str = '') -> bytes:
    """The patient's own queue slip, 80 mm wide (thermal receipt printers), as PDF bytes, in ``language`` (the
    patient's: ``reader_language``; None: the clinic's). ``link``: their live ticket page, printed as a QR code
    (the slip is then taller)."""
    with i18n.use(reader_language(language)):
        pdf = _new_slip_pdf(SLIP_WITH_QR_MM if link else SLIP_HEIGHT_MM)
        pdf.set_title(_('Ticket {ticket}').format(ticket=ticket))
        pdf.set_creator(clinic_name)
        pdf.add_page()
        _line(pdf, clinic_name, size=12, height=6, bold=True)
        _rule(pdf)
        _line(pdf, _('Your number'), size=9, height=4.5)
        _line(pdf, ticket, size=40, height=17, bold=True)
        _line(pdf, patient_name, size=12, height=6, bold=True)
        _rule(pdf)
        if doctor:
            _line(pdf, _('Doctor: {name}').format(name=doctor), size=10, height=5.5, align=Align.L)
        if room:
            _line(pdf, _('Room: {room}').format(room=room), size=10, height=5.5, align=Align.L)
        _line(pdf, _('Issued: {when}').format(when=slip_time_text(issued_at_local)), size=10, height=5.5,
              align=Align.L)
        if waiting_ahead is not None:
            pdf.ln(1)
            _line(pdf, _('Patients ahead of you: {count}').format(count=waiting_ahead), size=11, height=6, bold=True,
                  align=Align.L)
        _rule(pdf)
        _line(pdf, _('Please wait until your number is shown on the screen and called.'), size=8, height=4)
        if link:
            _rule(pdf)
            _line(pdf, _('Scan to follow your turn on your phone'), size=9, height=4.5, bold=True)
            pdf.image(io.BytesIO(qr.png(link)), x=(SLIP_WIDTH_MM - QR_MM) / 2, y=pdf.get_y() + 1, w=QR_MM, h=QR_MM)
        return bytes(pdf.output())


async def render_ticket_slip(**fields) -> bytes:
    """``ticket_slip_pdf`` in a worker thread, so other staff's screens keep moving meanwhile."""
    return await asyncio.to_thread(ticket_slip_pdf, **fields)
