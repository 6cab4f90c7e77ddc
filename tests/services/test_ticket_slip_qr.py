"""The ticket slip carries the QR code of the patient's live ticket page: it reads back as the link from the
printed page, and the slip grows to hold it (nothing is cut off)."""
from __future__ import annotations

from datetime import datetime

import pypdfium2
import zxingcpp

from services import documents

SLIP = dict(clinic_name='Phòng khám Đa khoa An Bình', ticket='A-012', patient_name='Nguyễn Thị Ánh',
            doctor='Dr. Lê Văn Thịnh', room='P.203 · Tầng 2', issued_at_local=datetime(2026, 11, 24, 9, 30),
            waiting_ahead=3)
LINK = 'https://clinic.example.vn/t/NDIuMTc5NjE0ODgwMA.q1w2e3r4t5y6u7i8o9p0aZ'


def rendered(pdf: bytes):
    page = pypdfium2.PdfDocument(pdf)[0]
    return page.get_size(), page.render(scale=300 / 72).to_pil()


def test_the_slips_qr_code_reads_back_as_the_ticket_link_and_fits_on_the_slip(artifacts_dir):
    pdf = documents.ticket_slip_pdf(**SLIP, link=LINK, language='vi')
    (width, height), image = rendered(pdf)
    image.save(artifacts_dir / 'ticket-slip-qr.png')
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [LINK]
    assert round(width / 72 * 25.4) == 80 and round(height / 72 * 25.4) == documents.SLIP_WITH_QR_MM
    # the code ends above the slip's bottom margin: the lowest dark pixel row is inside the page
    gray = image.convert('L')
    dark_rows = [y for y in range(gray.height) if min(gray.crop((0, y, gray.width, y + 1)).getdata()) < 128]
    assert dark_rows[-1] < gray.height - documents.MARGIN_MM / 25.4 * 300 / 2


def test_without_a_link_the_slip_keeps_its_size_and_has_no_code():
    (_, height), image = rendered(documents.ticket_slip_pdf(**SLIP))
    assert round(height / 72 * 25.4) == documents.SLIP_HEIGHT_MM
    assert zxingcpp.read_barcodes(image) == []
