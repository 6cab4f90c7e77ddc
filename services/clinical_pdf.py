"""Printed clinical documents: the prescription (A5), the usage-instruction labels stuck on each medicine, and a
lab result (A4: each value with its unit, reference range and H / L / HH / LL / A mark, flagged ones in bold).

Uses the per-process reduced DejaVu fonts of ``services.documents`` (``prepare_fonts``), so Vietnamese names
print correctly and a document costs a few tens of milliseconds. Build them off the event loop with the
``render_*`` functions (a worker thread).
"""
from __future__ import annotations

import asyncio
import unicodedata
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from .documents import FONT, prepare_fonts
from .lab_results import flag_mark
from .orders import OrderView
from .pharmacy import Label
from .prescriptions import PrintedPrescription

LABEL_WIDTH_MM = 70
LABEL_HEIGHT_MM = 40


def _nfc(text: str) -> str:
    return unicodedata.normalize('NFC', text or '')


def _new_pdf(**kwargs) -> FPDF:
    pdf = FPDF(unit='mm', **kwargs)
    for style, path in prepare_fonts().items():
        pdf.add_font(FONT, style, str(path))
    return pdf


def _text(pdf: FPDF, text: str, *, size: float, height: float, bold: bool = False, align: Align = Align.L,
          width: float = 0) -> None:
    pdf.set_font(FONT, 'B' if bold else '', size)
    pdf.multi_cell(width, height, _nfc(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def prescription_pdf(rx: PrintedPrescription, *, clinic_name: str, clinic_address: str, clinic_phone: str,
                     tz: ZoneInfo) -> bytes:
    pdf = _new_pdf(format='A5')
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_title(f'Prescription {rx.number}')
    pdf.set_creator(clinic_name)
    pdf.add_page()
    _text(pdf, clinic_name, size=12, height=6, bold=True)
    contact = ' · '.join(part for part in (clinic_address, clinic_phone) if part)
    if contact:
        _text(pdf, contact, size=8, height=4)
    pdf.ln(2)
    _text(pdf, 'PRESCRIPTION', size=15, height=8, bold=True, align=Align.C)
    issued = rx.issued_at.astimezone(tz)
    _text(pdf, f'{rx.number} · {issued:%d/%m/%Y %H:%M}', size=8, height=4, align=Align.C)
    pdf.ln(2)
    who = ', '.join(part for part in (rx.age, rx.sex) if part)
    _text(pdf, f'Patient: {rx.patient_name} ({rx.patient_code})' + (f', {who}' if who else ''), size=10, height=5.5)
    if rx.diagnosis:
        _text(pdf, f'Diagnosis: {rx.diagnosis}', size=10, height=5.5)
    pdf.ln(2)
    for number, item in enumerate(rx.items, start=1):
        _text(pdf, f'{number}. {item.medicine_name}', size=10.5, height=5.5, bold=True)
        pdf.set_x(pdf.l_margin + 5)
        _text(pdf, f'Quantity: {item.quantity} {item.unit}    {item.dosage}', size=9.5, height=5,
              width=pdf.epw - 5)
        if item.instructions:
            pdf.set_x(pdf.l_margin + 5)
            _text(pdf, item.instructions, size=9.5, height=5, width=pdf.epw - 5)
        pdf.ln(1)
    if rx.advice:
        pdf.ln(2)
        _text(pdf, f'Advice: {rx.advice}', size=9.5, height=5)
    pdf.ln(6)
    _text(pdf, f'Doctor: {rx.doctor_name}', size=10, height=5, bold=True, align=Align.R)
    _text(pdf, '(signature)', size=8, height=4, align=Align.R)
    return bytes(pdf.output())


def labels_pdf(labels: list[Label], *, clinic_name: str, tz: ZoneInfo) -> bytes:
    """One 70 × 40 mm label per medicine (label printers take one page per label)."""
    pdf = _new_pdf(format=(LABEL_WIDTH_MM, LABEL_HEIGHT_MM))
    pdf.set_margins(3, 3, 3)
    pdf.set_auto_page_break(False)
    pdf.set_title('Medicine labels')
    for label in labels:
        pdf.add_page()
        _text(pdf, f'{clinic_name} · {label.dispensed_at.astimezone(tz):%d/%m/%Y}', size=6.5, height=3)
        _text(pdf, label.patient_name, size=8.5, height=4, bold=True)
        _text(pdf, f'{label.medicine_name} × {label.quantity} {label.unit}', size=8, height=3.8, bold=True)
        if label.dosage:
            _text(pdf, label.dosage, size=9, height=4.2)
        if label.instructions:
            _text(pdf, label.instructions, size=8, height=3.8)
        pdf.set_y(LABEL_HEIGHT_MM - 6.5)
        _text(pdf, f'Batch {label.batch_no} · use before {label.expiry_date:%d/%m/%Y}', size=6, height=3)
    return bytes(pdf.output())


RESULT_COLUMNS = (('Test', 62), ('Result', 34), ('Flag', 14), ('Unit', 28), ('Reference range', 0))
FLAG_LEGEND = 'H high · L low · HH critically high · LL critically low · A abnormal (beside the value, in bold)'


def _result_head(pdf: FPDF, view: OrderView, *, clinic_name: str, tz: ZoneInfo) -> None:
    _text(pdf, clinic_name, size=12, height=6, bold=True)
    _text(pdf, 'LABORATORY RESULT' if view.status.value == 'completed' else 'LABORATORY RESULT (PRELIMINARY)',
          size=15, height=9, bold=True, align=Align.C)
    _text(pdf, view.service_name, size=11, height=6, bold=True, align=Align.C)
    born = f', born {view.date_of_birth:%d/%m/%Y}' if view.date_of_birth else ''
    _text(pdf, f'Patient: {view.patient_name} ({view.patient_code}){born}', size=10, height=5.5)
    done = f' · reported {view.completed_at.astimezone(tz):%d/%m/%Y %H:%M}' if view.completed_at else ''
    _text(pdf, f'Ordered by {view.ordered_by} on {view.ordered_at.astimezone(tz):%d/%m/%Y %H:%M}{done}', size=9,
          height=5)
    pdf.ln(3)


def _result_row(pdf: FPDF, cells: tuple[str, ...], *, bold: bool, fill: bool = False) -> None:
    pdf.set_font(FONT, 'B' if bold else '', 9.5)
    for (_, width), cell in zip(RESULT_COLUMNS, cells):
        pdf.cell(width or pdf.epw - sum(w for _, w in RESULT_COLUMNS), 6.5, _nfc(cell), border='B', fill=fill)
    pdf.ln()


def result_pdf(view: OrderView, *, clinic_name: str, tz: ZoneInfo) -> bytes:
    """One order's result on A4: the values in the panel's order, flagged ones in bold with their mark."""
    pdf = _new_pdf(format='A4')
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(f'{view.service_name} · {view.patient_name}')
    pdf.set_creator(clinic_name)
    pdf.add_page()
    _result_head(pdf, view, clinic_name=clinic_name, tz=tz)
    if view.values:
        pdf.set_fill_color(235, 240, 240)
        _result_row(pdf, tuple(label for label, _ in RESULT_COLUMNS), bold=True, fill=True)
        for value in view.values:
            mark = flag_mark(value.flag)
            _result_row(pdf, (value.name, value.value, mark, value.unit, value.range), bold=bool(mark))
        pdf.ln(1)
        _text(pdf, FLAG_LEGEND, size=7.5, height=4)
    if view.result_text:
        pdf.ln(3)
        _text(pdf, view.result_text, size=10, height=5.5)
    pdf.ln(6)
    _text(pdf, f'Performed by: {view.performed_by}' if view.performed_by else '', size=9.5, height=5, align=Align.R)
    return bytes(pdf.output())


async def render_result(view: OrderView, **kwargs) -> bytes:
    return await asyncio.to_thread(result_pdf, view, **kwargs)


async def render_prescription(rx: PrintedPrescription, **kwargs) -> bytes:
    return await asyncio.to_thread(prescription_pdf, rx, **kwargs)


async def render_labels(labels: list[Label], **kwargs) -> bytes:
    return await asyncio.to_thread(labels_pdf, labels, **kwargs)


