"""Printed documents (PDF, fpdf2): the ticket slip a patient gets at check-in.

Language. Everything a patient receives (slip, prescription, labels, receipts, emails) is written in the
patient's language (``reader_language``), whoever prints it: the document is built inside ``i18n.use(...)``.

Fonts. fpdf2's core fonts cannot print Vietnamese ("ễ"), so we embed DejaVu Sans (``assets/fonts``). The full
DejaVu files hold ~6,200 glyphs plus large layout tables; fpdf2 parses them on every ``add_font`` and subsets them
on every ``output`` (in place, so a parsed font cannot be shared between documents). That costs ~80 ms a slip.
We pay the expensive part once per process instead: on first use (or ``prepare_fonts()`` at start-up) the fonts
are cut down to the scripts a slip needs (Latin incl. Vietnamese, Greek, Cyrillic, punctuation, currency signs;
~1,800 glyphs, no layout tables since we do no text shaping) and written to a private temp folder. Each slip then
loads those small fonts: ~25-30 ms a slip instead of ~80 ms, with no fpdf2 internals touched.

Building a PDF is still CPU work: from the event loop call ``render_ticket_slip`` (a worker thread).
"""
from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import threading
import unicodedata
from datetime import datetime
from pathlib import Path

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Dispense, Patient, Visit

from .core import i18n
from .core.i18n import _

FONT_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'fonts'
FONT_FILES = {'': 'DejaVuSans.ttf', 'B': 'DejaVuSans-Bold.ttf'}  # fpdf2 style -> file
FONT = 'DejaVu'
# Unicode blocks kept in the per-process fonts (first, last code point).
KEPT_RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1, Latin Extended-A/B
    (0x0300, 0x036F),  # combining diacritics
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x04FF),  # Cyrillic
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese: ạ ả ấ ầ ẩ ẫ ậ ... ỹ)
    (0x2000, 0x206F),  # punctuation: dashes, quotes, bullet, ellipsis
    (0x20A0, 0x20CF),  # currency signs (₫, €)
    (0x2100, 0x214F),  # letterlike symbols (№, ℃)
    (0x2190, 0x21FF),  # arrows
    (0x2212, 0x2212),  # minus sign
    (0x25A0, 0x25FF),  # geometric shapes
)

SLIP_WIDTH_MM = 80
SLIP_HEIGHT_MM = 105
MARGIN_MM = 4

_font_paths: dict[str, Path] | None = None
_font_lock = threading.Lock()


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


def _reduce_font(source: Path, target: Path) -> None:
    font = ttLib.TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ['GSUB', 'GPOS', 'GDEF', 'MATH', 'kern', 'FFTM']
    options.notdef_outline = True
    options.glyph_names = True
    options.name_IDs = ['*']  # keep the licence and font names
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for first, last in KEPT_RANGES for code in range(first, last + 1)])
    subsetter.subset(font)
    font.save(target)


def prepare_fonts() -> dict[str, Path]:
    """Cut the slip fonts down once per process (~0.4 s); later calls return the cached paths at once.
    (Rebuilt if the temp files vanished, e.g. a /tmp cleaner on a server that runs for weeks.)"""
    global _font_paths  # noqa: PLW0603
    with _font_lock:
        if _font_paths is None or not all(path.exists() for path in _font_paths.values()):
            folder = Path(tempfile.mkdtemp(prefix='clinic-fonts-'))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            paths = {}
            for style, name in FONT_FILES.items():
                paths[style] = folder / name
                _reduce_font(FONT_DIR / name, paths[style])
            _font_paths = paths
        return _font_paths


def _new_slip_pdf() -> FPDF:
    pdf = FPDF(unit='mm', format=(SLIP_WIDTH_MM, SLIP_HEIGHT_MM))
    for style, path in prepare_fonts().items():
        pdf.add_font(FONT, style, str(path))
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
                    issued_at_local: datetime, waiting_ahead: int | None, language: str | None = None) -> bytes:
    """The patient's own queue slip, 80 mm wide (thermal receipt printers), as PDF bytes, in ``language`` (the
    patient's: ``reader_language``; None: the clinic's)."""
    with i18n.use(reader_language(language)):
        pdf = _new_slip_pdf()
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
        return bytes(pdf.output())


async def render_ticket_slip(**fields) -> bytes:
    """``ticket_slip_pdf`` in a worker thread, so other staff's screens keep moving meanwhile."""
    return await asyncio.to_thread(ticket_slip_pdf, **fields)
