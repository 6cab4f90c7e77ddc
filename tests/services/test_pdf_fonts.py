"""Fonts prepared once per process (``services.pdf_fonts``) print exactly what fpdf2's own ``add_font`` prints:
the same pixels (poppler's pdftoppm), the same text (pdftotext), in threads too, and glyphs beyond the working set."""
from __future__ import annotations

import random
import re
import shutil
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

import pytest
from fontTools import subset, ttLib
from fpdf import FPDF
from PIL import Image

from services import documents, pdf_fonts, receipts
from tests.factories import TZ

needs_poppler = pytest.mark.skipif(not (shutil.which('pdftotext') and shutil.which('pdftoppm')),
                                   reason='poppler-utils not installed')
CLINIC = receipts.ClinicHeader('Phòng khám Đa khoa Hòa Bình', '12 Lê Lợi, Quận 1, TP. Hồ Chí Minh', '028 3822 1234')
ISSUED = datetime(2026, 11, 23, 7, 5, tzinfo=timezone.utc)
VIETNAMESE = 'Nguyễn Thị Hằng, Đặng, ₫, ư ơ'
BEYOND_WORKING_SET = 'Ωμέγα Жанна →'  # in DejaVu Sans and the wider set, not in the working set
RARE = '∑♥♫'  # in DejaVu Sans only


def plain_pdf(**kwargs) -> FPDF:
    """A document with the fonts loaded the old way: fpdf2's ``add_font`` on the DejaVu files."""
    pdf = FPDF(unit='mm', **kwargs)
    for style, name in pdf_fonts.FONT_FILES.items():
        pdf.add_font(pdf_fonts.FONT, style, str(pdf_fonts.FONT_DIR / name))
    return pdf


def pages(pdf: bytes, tmp_path: Path) -> list[bytes]:
    """The pixels of each page at 100 dpi."""
    folder = tmp_path / f'raster-{len(list(tmp_path.iterdir()))}'
    folder.mkdir()
    (folder / 'doc.pdf').write_bytes(pdf)
    subprocess.run(['pdftoppm', '-r', '100', '-png', str(folder / 'doc.pdf'), str(folder / 'page')], check=True)
    return [Image.open(path).convert('RGB').tobytes() for path in sorted(folder.glob('page*.png'))]


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / 'doc.pdf'
    path.write_bytes(pdf)
    return subprocess.run(['pdftotext', '-enc', 'UTF-8', str(path), '-'], check=True, capture_output=True,
                          text=True).stdout


def one_line(factory, text: str, *, bold: bool = False) -> bytes:
    pdf = factory(format=(150, 30))
    pdf.add_page()
    pdf.set_font(pdf_fonts.FONT, 'B' if bold else '', 12)
    pdf.cell(0, 10, text)
    return bytes(pdf.output())


def embedded_glyphs(pdf: bytes) -> list[set[str]]:
    """The glyph names of each TrueType font embedded in ``pdf``."""
    fonts = []
    for stream in re.findall(rb'stream\r?\n(.*?)\r?\nendstream', pdf, re.S):
        try:
            data = zlib.decompress(stream)
        except zlib.error:
            continue
        if data[:4] == b'\x00\x01\x00\x00':
            fonts.append(set(ttLib.TTFont(BytesIO(data)).getGlyphOrder()))
    return fonts


def receipt(name: str = 'Nguyễn Thị Thu Hằng', layout: str = 'a4') -> bytes:
    data = receipts.sample_receipt(ISSUED)
    data = receipts.ReceiptData(**{**data.__dict__, 'patient_name': name})
    return receipts.receipt_pdf(data, CLINIC, layout=layout, tz=TZ)


@needs_poppler
@pytest.mark.parametrize('layout', ['a4', 'thermal'])
def test_a_receipt_looks_exactly_as_with_fpdf2s_own_font_loading(layout, tmp_path, monkeypatch):
    prepared = receipt(layout=layout)
    monkeypatch.setattr(pdf_fonts, 'new_pdf', plain_pdf)
    plain = receipt(layout=layout)
    assert pages(prepared, tmp_path) == pages(plain, tmp_path)


@needs_poppler
def test_a_ticket_slip_looks_exactly_as_with_fpdf2s_own_font_loading(tmp_path, monkeypatch):
    from tests.services.test_documents import SLIP
    prepared = documents.ticket_slip_pdf(**SLIP)
    monkeypatch.setattr(pdf_fonts, 'new_pdf', plain_pdf)
    assert pages(prepared, tmp_path) == pages(documents.ticket_slip_pdf(**SLIP), tmp_path)


@needs_poppler
@pytest.mark.parametrize('bold', [False, True])
def test_vietnamese_comes_back_out_of_the_pdf_exactly(bold, tmp_path):
    pdf = one_line(pdf_fonts.new_pdf, VIETNAMESE, bold=bold)
    assert text_of(pdf, tmp_path).strip() == VIETNAMESE
    assert pages(pdf, tmp_path) == pages(one_line(plain_pdf, VIETNAMESE, bold=bold), tmp_path)


def codes(ranges) -> set[int]:
    return {code for first, last in ranges for code in range(first, last + 1)}


@needs_poppler
@pytest.mark.parametrize('text', [BEYOND_WORKING_SET, f'{BEYOND_WORKING_SET} {RARE}'])
def test_a_glyph_beyond_the_working_set_still_prints(text, tmp_path):
    assert not {ord(c) for c in BEYOND_WORKING_SET + RARE if c != ' '} & codes(pdf_fonts.WORKING_SET)
    assert not {ord(c) for c in RARE if c != ' '} & codes(pdf_fonts.WIDE_SET)
    pdf = one_line(pdf_fonts.new_pdf, f'{VIETNAMESE} {text}')
    assert text_of(pdf, tmp_path).strip() == f'{VIETNAMESE} {text}'
    assert pages(pdf, tmp_path) == pages(one_line(plain_pdf, f'{VIETNAMESE} {text}'), tmp_path)


def test_each_document_embeds_only_the_glyphs_it_used():
    """A document's used glyphs are its own: the ones before it leave nothing behind."""
    one_line(pdf_fonts.new_pdf, f'{VIETNAMESE} {BEYOND_WORKING_SET} {RARE}')
    one_line(pdf_fonts.new_pdf, 'xyz', bold=True)
    regular, bold = embedded_glyphs(one_line(pdf_fonts.new_pdf, 'abc'))
    glyph = pdf_fonts.prepare()[''].template.cmap
    assert {glyph[ord(c)] for c in 'abc'} <= regular
    assert not {glyph[ord(c)] for c in 'xyzΩЖ♥'} & (regular | bold)
    assert len(regular) < 10 and len(bold) < 10  # .notdef, space and the like; no font of the earlier documents


@needs_poppler
def test_many_documents_in_a_row_each_print_all_their_text(tmp_path):
    for text in (VIETNAMESE, BEYOND_WORKING_SET, RARE, 'Quốc Việt 0123456789', VIETNAMESE):
        assert text_of(one_line(pdf_fonts.new_pdf, text), tmp_path).strip() == text


@needs_poppler
def test_receipts_built_in_two_threads_at_once_are_each_correct(tmp_path):
    names = ['Nguyễn Thị Hằng', 'Đặng Văn Ưng', 'Ζωή Σοφία', 'Жанна Ёлкина', 'Phạm Thu Hà', 'Lưu Bá Ơn']
    expected = {name: pages(receipt(name), tmp_path) for name in names}
    jobs = names * 4
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(receipt, jobs))
    for name, pdf in zip(jobs, built):
        assert ' '.join(text_of(pdf, tmp_path).split()).count(name) == 1, name
    for name, pdf in list(zip(jobs, built))[:len(names)]:
        assert pages(pdf, tmp_path) == expected[name], name


@pytest.mark.parametrize('style', ['', 'B'])
@pytest.mark.parametrize('cut', [0, 1], ids=['working set', 'wider set'])
def test_the_cuts_are_saved_byte_for_byte_as_fonttools_would(style, cut):
    """A document's copy of a cut skips fontTools' unpacking of every glyph on save: whatever glyphs a document
    used, the font embedded is the same, byte for byte, as fontTools' own recomputation gives."""
    prepared = pdf_fonts.prepare()[style].cuts[cut]
    names = sorted(prepared.glyphs)
    rng = random.Random(16)
    for count in (1, 3, 20, 80, 250, len(names)):
        used = rng.sample(names, count)
        assert (subset_like_fpdf2(pdf_fonts._open_cut(prepared), used) ==
                subset_like_fpdf2(ttLib.TTFont(BytesIO(prepared.data), recalcTimestamp=False, lazy=True), used))


def subset_like_fpdf2(font: ttLib.TTFont, glyphs: list[str]) -> bytes:
    """What fpdf2's ``output`` does with a font (fpdf/output.py, ``_add_fonts``)."""
    options = subset.Options(notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += ['FFTM', 'GDEF', 'GPOS', 'GSUB', 'MATH', 'hdmx', 'meta', 'sbix', 'CBDT', 'CBLC', 'EBDT',
                            'EBLC', 'EBSC', 'SVG ', 'CPAL', 'COLR']
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=glyphs)
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()
