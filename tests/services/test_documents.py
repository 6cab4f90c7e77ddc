"""The ticket slip PDF: 80 mm wide, Vietnamese printed exactly (checked with poppler's pdftotext / pdftoppm)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from services import documents

needs_poppler = pytest.mark.skipif(shutil.which('pdftotext') is None, reason='poppler-utils not installed')

SLIP = dict(clinic_name='Phòng khám Đa khoa An Bình', ticket='A-012', patient_name='Nguyễn Thị Ánh',
            doctor='Dr. Lê Văn Thịnh', room='P.203 · Tầng 2', issued_at_local=datetime(2026, 11, 24, 9, 30),
            waiting_ahead=3)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / 'slip.pdf'
    path.write_bytes(pdf)
    return subprocess.run(['pdftotext', '-layout', '-enc', 'UTF-8', str(path), '-'], check=True,
                          capture_output=True, text=True).stdout


def lines_of(text: str) -> list[str]:
    return [' '.join(line.split()) for line in unicodedata.normalize('NFC', text).splitlines() if line.strip()]


@needs_poppler
def test_the_slip_prints_vietnamese_names_and_the_ticket_number_exactly(tmp_path):
    pdf = documents.ticket_slip_pdf(**SLIP)
    assert pdf.startswith(b'%PDF-')
    lines = lines_of(pdf_text(pdf, tmp_path))
    assert 'A-012' in lines
    assert 'Nguyễn Thị Ánh' in lines
    assert 'Doctor: Dr. Lê Văn Thịnh' in lines
    assert 'Room: P.203 · Tầng 2' in lines
    assert 'Issued: Tue 24 Nov 2026, 09:30' in lines
    assert 'Patients ahead of you: 3' in lines
    assert 'Phòng khám Đa khoa An Bình' in ' '.join(lines)  # may wrap at the slip's width


@needs_poppler
def test_the_slip_is_80_mm_wide_and_renders_to_png(tmp_path, artifacts_dir):
    pdf_path = tmp_path / 'slip.pdf'
    pdf_path.write_bytes(documents.ticket_slip_pdf(**SLIP))
    info = subprocess.run(['pdfinfo', str(pdf_path)], check=True, capture_output=True, text=True).stdout
    size = next(line for line in info.splitlines() if line.startswith('Page size:')).split()
    assert float(size[2]) == pytest.approx(80 / 25.4 * 72, abs=0.1)
    assert any(line.split() == ['Pages:', '1'] for line in info.splitlines())
    if shutil.which('pdftoppm') is None:
        pytest.skip('pdftoppm not installed')
    subprocess.run(['pdftoppm', '-png', '-r', '150', '-singlefile', str(pdf_path), str(tmp_path / 'slip')],
                   check=True)
    png = (tmp_path / 'slip.png').read_bytes()
    assert png.startswith(b'\x89PNG')
    assert int.from_bytes(png[16:20], 'big') == pytest.approx(80 / 25.4 * 150, abs=2)  # width in pixels
    shutil.copy(tmp_path / 'slip.png', artifacts_dir / 'ticket-slip.png')


@needs_poppler
def test_decomposed_input_and_no_waiting_count(tmp_path):
    decomposed = unicodedata.normalize('NFD', 'Trần Hữu Phước')  # e.g. typed on a Mac
    pdf = documents.ticket_slip_pdf(**{**SLIP, 'patient_name': decomposed, 'waiting_ahead': None, 'room': ''})
    lines = lines_of(pdf_text(pdf, tmp_path))
    assert 'Trần Hữu Phước' in lines
    assert not any(line.startswith(('Patients ahead', 'Room:')) for line in lines)


@needs_poppler
async def test_slips_built_at_the_same_time_in_threads_are_all_correct(tmp_path):
    slips = await asyncio.gather(*[documents.render_ticket_slip(**{**SLIP, 'ticket': f'B-{n:03d}'})
                                   for n in range(1, 5)])
    for n, pdf in enumerate(slips, start=1):
        assert f'B-{n:03d}' in lines_of(pdf_text(pdf, tmp_path))


def test_fonts_are_prepared_once_per_process():
    first = documents.prepare_fonts()
    assert documents.prepare_fonts() is first
    assert all(path.exists() and path.stat().st_size < 400_000 for path in first.values())
    started = time.perf_counter()
    for _ in range(3):
        documents.ticket_slip_pdf(**SLIP)
    per_slip = (time.perf_counter() - started) / 3
    assert per_slip < 0.5  # generous for slow CI; ~0.03 s measured on 2 cores
