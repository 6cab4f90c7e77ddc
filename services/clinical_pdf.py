"""Printed clinical documents: the prescription (A5), the usage-instruction labels stuck on each medicine, and a
lab result (A4: each value with its unit, reference range and H / L / HH / LL / A mark, flagged ones in bold).

Uses the DejaVu fonts prepared once per process by ``services.pdf_fonts``, so Vietnamese names
print correctly and a document costs a few tens of milliseconds. Build them off the event loop with the
``render_*`` functions (a worker thread).

Each document is written in the patient's language (``language``: ``documents.reader_language``), whoever prints
it; the dosage is printed as one translated sentence and the medicine's unit from a small translated vocabulary.
"""
from __future__ import annotations

import asyncio
import re
import unicodedata
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from . import pdf_fonts
from .core import i18n
from .core.i18n import N_, _, ngettext
from .documents import reader_language
from .lab_results import flag_mark
from .orders import OrderView
from .pdf_fonts import FONT
from .pharmacy import Label
from .prescriptions import PrintedPrescription

LABEL_WIDTH_MM = 70
LABEL_HEIGHT_MM = 40

# The units medicines are counted in, as patients read them (the database keeps the English word).
UNITS = {'tablet': N_('tablet'), 'tablets': N_('tablet'), 'capsule': N_('capsule'), 'capsules': N_('capsule'),
         'sachet': N_('sachet'), 'sachets': N_('sachet'), 'bottle': N_('bottle'), 'bottles': N_('bottle'),
         'tube': N_('tube'), 'tubes': N_('tube'), 'ml': N_('ml'), 'nebule': N_('nebule'), 'nebules': N_('nebule'),
         'inhaler': N_('inhaler'), 'inhalers': N_('inhaler'), 'drop': N_('drop'), 'drops': N_('drop'),
         'ampoule': N_('ampoule'), 'ampoules': N_('ampoule'), 'box': N_('box'), 'pack': N_('pack'),
         'puff': N_('puff'), 'puffs': N_('puff')}
SEXES = {'female': N_('female'), 'male': N_('male'), 'other': N_('other')}
_AMOUNT_AND_UNIT = re.compile(r'^(\d+(?:[.,]\d+)?|½|1/2)\s*([A-Za-z]+)$')
_AGE = re.compile(r'^(\d+) (years|months)$')
_LABEL_DOSAGE = re.compile(r'^(?P<dose>.*?)(?:,? ?(?P<times>\d+) times a day)?(?:,? ?for (?P<days>\d+) days?)?$')


def unit_text(unit: str) -> str:
    """A medicine's unit in the current language (as stored when it is not in the vocabulary)."""
    known = UNITS.get((unit or '').strip().lower())
    return _(known) if known else unit


def dose_text(dose: str) -> str:
    """The dose as the doctor wrote it, its unit translated when it reads '<amount> <unit>' ('2 tablet')."""
    match = _AMOUNT_AND_UNIT.match((dose or '').strip())
    if match and match.group(2).lower() in UNITS:
        return _('{amount} {unit}').format(amount=match.group(1), unit=unit_text(match.group(2)))
    return dose or ''


def dosage_text(dose: str, times_per_day: int | None, duration_days: int | None) -> str:
    """How to take a medicine, as one sentence in the current language: '1 tablet, 3 times a day, for 5 days'."""
    dose = dose_text(dose)
    if times_per_day and duration_days:
        text = ngettext('{dose}, once a day, for {days} days', '{dose}, {count} times a day, for {days} days',
                        times_per_day, dose=dose, days=duration_days)
    elif times_per_day:
        text = ngettext('{dose}, once a day', '{dose}, {count} times a day', times_per_day, dose=dose)
    elif duration_days:
        text = ngettext('{dose}, for {count} day', '{dose}, for {count} days', duration_days, dose=dose)
    else:
        return dose
    return text.strip(' ,')


def _label_dosage(dosage: str) -> str:
    """A label's dosage (written in English by the pharmacy) as a sentence in the current language."""
    match = _LABEL_DOSAGE.match((dosage or '').strip())
    if not match or not (match.group('times') or match.group('days')):
        return dose_text(dosage)
    return dosage_text(match.group('dose'), int(match.group('times') or 0) or None,
                       int(match.group('days') or 0) or None)


def _age_text(age: str) -> str:
    match = _AGE.match(age or '')
    if not match:
        return age
    count = int(match.group(1))
    if match.group(2) == 'years':
        return ngettext('{count} year', '{count} years', count)
    return ngettext('{count} month', '{count} months', count)


def _sex_text(sex: str) -> str:
    known = SEXES.get(sex or '')
    return _(known) if known else sex


def _nfc(text: str) -> str:
    return unicodedata.normalize('NFC', text or '')


def _new_pdf(**kwargs) -> FPDF:
    return pdf_fonts.new_pdf(**kwargs)


def _text(pdf: FPDF, text: str, *, size: float, height: float, bold: bool = False, align: Align = Align.L,
          width: float = 0) -> None:
    pdf.set_font(FONT, 'B' if bold else '', size)
    pdf.multi_cell(width, height, _nfc(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def prescription_pdf(rx: PrintedPrescription, *, clinic_name: str, clinic_address: str, clinic_phone: str,
                     tz: ZoneInfo, language: str | None = None) -> bytes:
    """The prescription on A5, in ``language`` (the patient's; None: the clinic's)."""
    with i18n.use(reader_language(language)):
        return _prescription_pdf(rx, clinic_name=clinic_name, clinic_address=clinic_address,
                                 clinic_phone=clinic_phone, tz=tz)


def _prescription_pdf(rx: PrintedPrescription, *, clinic_name: str, clinic_address: str, clinic_phone: str,
                      tz: ZoneInfo) -> bytes:
    pdf = _new_pdf(format='A5')
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_title(_('Prescription {number}').format(number=rx.number))
    pdf.set_creator(clinic_name)
    pdf.add_page()
    _text(pdf, clinic_name, size=12, height=6, bold=True)
    contact = ' · '.join(part for part in (clinic_address, clinic_phone) if part)
    if contact:
        _text(pdf, contact, size=8, height=4)
    pdf.ln(2)
    _text(pdf, _('PRESCRIPTION'), size=15, height=8, bold=True, align=Align.C)
    issued = rx.issued_at.astimezone(tz)
    _text(pdf, f'{rx.number} · {issued:%d/%m/%Y %H:%M}', size=8, height=4, align=Align.C)
    pdf.ln(2)
    who = ', '.join(part for part in (_age_text(rx.age), _sex_text(rx.sex)) if part)
    patient = _('Patient: {name} ({code})').format(name=rx.patient_name, code=rx.patient_code)
    _text(pdf, f'{patient}, {who}' if who else patient, size=10, height=5.5)
    if rx.diagnosis:
        _text(pdf, _('Diagnosis: {diagnosis}').format(diagnosis=rx.diagnosis), size=10, height=5.5)
    pdf.ln(2)
    for number, item in enumerate(rx.items, start=1):
        _text(pdf, f'{number}. {item.medicine_name}', size=10.5, height=5.5, bold=True)
        pdf.set_x(pdf.l_margin + 5)
        quantity = _('Quantity: {quantity} {unit}').format(quantity=item.quantity, unit=unit_text(item.unit))
        dosage = dosage_text(item.dose, item.times_per_day, item.duration_days)
        _text(pdf, f'{quantity}    {dosage}' if dosage else quantity, size=9.5, height=5, width=pdf.epw - 5)
        if item.instructions:
            pdf.set_x(pdf.l_margin + 5)
            _text(pdf, item.instructions, size=9.5, height=5, width=pdf.epw - 5)
        pdf.ln(1)
    if rx.advice:
        pdf.ln(2)
        _text(pdf, _('Advice: {advice}').format(advice=rx.advice), size=9.5, height=5)
    pdf.ln(6)
    _text(pdf, _('Doctor: {name}').format(name=rx.doctor_name), size=10, height=5, bold=True, align=Align.R)
    _text(pdf, _('(signature)'), size=8, height=4, align=Align.R)
    return bytes(pdf.output())


def labels_pdf(labels: list[Label], *, clinic_name: str, tz: ZoneInfo, language: str | None = None) -> bytes:
    """One 70 × 40 mm label per medicine (label printers take one page per label), in ``language`` (the patient's;
    None: the clinic's)."""
    with i18n.use(reader_language(language)):
        return _labels_pdf(labels, clinic_name=clinic_name, tz=tz)


def _labels_pdf(labels: list[Label], *, clinic_name: str, tz: ZoneInfo) -> bytes:
    pdf = _new_pdf(format=(LABEL_WIDTH_MM, LABEL_HEIGHT_MM))
    pdf.set_margins(3, 3, 3)
    pdf.set_auto_page_break(False)
    pdf.set_title(_('Medicine labels'))
    for label in labels:
        pdf.add_page()
        _text(pdf, f'{clinic_name} · {label.dispensed_at.astimezone(tz):%d/%m/%Y}', size=6.5, height=3)
        _text(pdf, label.patient_name, size=8.5, height=4, bold=True)
        _text(pdf, f'{label.medicine_name} × {label.quantity} {unit_text(label.unit)}', size=8, height=3.8, bold=True)
        if label.dosage:
            _text(pdf, _label_dosage(label.dosage), size=9, height=4.2)
        if label.instructions:
            _text(pdf, label.instructions, size=8, height=3.8)
        pdf.set_y(LABEL_HEIGHT_MM - 6.5)
        _text(pdf, _('Batch {batch} · use before {date}').format(batch=label.batch_no,
                                                                  date=f'{label.expiry_date:%d/%m/%Y}'),
              size=6, height=3)
    return bytes(pdf.output())


RESULT_COLUMNS = ((N_('Test'), 62), (N_('Result'), 34), (N_('Flag'), 14), (N_('Unit'), 28), (N_('Reference range'), 0))
FLAG_LEGEND = N_('H high · L low · HH critically high · LL critically low · A abnormal (beside the value, in bold)')


def _result_head(pdf: FPDF, view: OrderView, *, clinic_name: str, tz: ZoneInfo) -> None:
    _text(pdf, clinic_name, size=12, height=6, bold=True)
    _text(pdf, _('LABORATORY RESULT') if view.status.value == 'completed' else _('LABORATORY RESULT (PRELIMINARY)'),
          size=15, height=9, bold=True, align=Align.C)
    _text(pdf, view.service_name, size=11, height=6, bold=True, align=Align.C)
    if view.date_of_birth:
        patient = _('Patient: {name} ({code}), born {date}').format(
            name=view.patient_name, code=view.patient_code, date=f'{view.date_of_birth:%d/%m/%Y}')
    else:
        patient = _('Patient: {name} ({code})').format(name=view.patient_name, code=view.patient_code)
    _text(pdf, patient, size=10, height=5.5)
    ordered = f'{view.ordered_at.astimezone(tz):%d/%m/%Y %H:%M}'
    if view.completed_at:
        when = _('Ordered by {doctor} on {ordered} · reported {reported}').format(
            doctor=view.ordered_by, ordered=ordered, reported=f'{view.completed_at.astimezone(tz):%d/%m/%Y %H:%M}')
    else:
        when = _('Ordered by {doctor} on {ordered}').format(doctor=view.ordered_by, ordered=ordered)
    _text(pdf, when, size=9, height=5)
    pdf.ln(3)


def _result_row(pdf: FPDF, cells: tuple[str, ...], *, bold: bool, fill: bool = False) -> None:
    pdf.set_font(FONT, 'B' if bold else '', 9.5)
    for (_label, width), cell in zip(RESULT_COLUMNS, cells):
        pdf.cell(width or pdf.epw - sum(w for _unused, w in RESULT_COLUMNS), 6.5, _nfc(cell), border='B', fill=fill)
    pdf.ln()


def result_pdf(view: OrderView, *, clinic_name: str, tz: ZoneInfo, language: str | None = None) -> bytes:
    """One order's result on A4: the values in the panel's order, flagged ones in bold with their mark; in
    ``language`` (the patient's; None: the clinic's)."""
    with i18n.use(reader_language(language)):
        return _result_pdf(view, clinic_name=clinic_name, tz=tz)


def _result_pdf(view: OrderView, *, clinic_name: str, tz: ZoneInfo) -> bytes:
    pdf = _new_pdf(format='A4')
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(f'{view.service_name} · {view.patient_name}')
    pdf.set_creator(clinic_name)
    pdf.add_page()
    _result_head(pdf, view, clinic_name=clinic_name, tz=tz)
    if view.values:
        pdf.set_fill_color(235, 240, 240)
        _result_row(pdf, tuple(_(label) for label, _width in RESULT_COLUMNS), bold=True, fill=True)
        for value in view.values:
            mark = flag_mark(value.flag)
            _result_row(pdf, (value.name, value.value, mark, value.unit, value.range), bold=bool(mark))
        pdf.ln(1)
        _text(pdf, _(FLAG_LEGEND), size=7.5, height=4)
    if view.result_text:
        pdf.ln(3)
        _text(pdf, view.result_text, size=10, height=5.5)
    pdf.ln(6)
    performed = _('Performed by: {name}').format(name=view.performed_by) if view.performed_by else ''
    _text(pdf, performed, size=9.5, height=5, align=Align.R)
    return bytes(pdf.output())


async def render_result(view: OrderView, **kwargs) -> bytes:
    return await asyncio.to_thread(result_pdf, view, **kwargs)


async def render_prescription(rx: PrintedPrescription, **kwargs) -> bytes:
    return await asyncio.to_thread(prescription_pdf, rx, **kwargs)


async def render_labels(labels: list[Label], **kwargs) -> bytes:
    return await asyncio.to_thread(labels_pdf, labels, **kwargs)


