"""Printed clinical documents: the prescription (A5) and the usage-instruction labels stuck on each medicine.

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


async def render_prescription(rx: PrintedPrescription, **kwargs) -> bytes:
    return await asyncio.to_thread(prescription_pdf, rx, **kwargs)


async def render_labels(labels: list[Label], **kwargs) -> bytes:
    return await asyncio.to_thread(labels_pdf, labels, **kwargs)


