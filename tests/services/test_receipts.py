"""Receipt PDFs: every figure and a Vietnamese name come out of pdftotext; the A4 page and 80 mm slip render to PNG
(tests/artifacts/) to look at; a receipt read from the database shows the figures as of that receipt."""
from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from models import OutboxMessage, Patient
from services import billing, receipts
from services.billing import Tender
from services.core import i18n
from services.core.settings import Settings
from tests.factories import NOW, TZ, make_clinic
from tests.services.test_billing import CARD, CASH, bill, make_visit
from tests.services.vietnamese import vietnamese  # noqa: F401 - the fixture of the tests marked with it

CLINIC = receipts.ClinicHeader('Phòng khám Đa khoa Hòa Bình', '12 Lê Lợi, Quận 1, TP. Hồ Chí Minh', '028 3822 1234')
needs_poppler = pytest.mark.skipif(not (shutil.which('pdftotext') and shutil.which('pdftoppm')),
                                   reason='poppler-utils not installed')


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / 'receipt.pdf'
    path.write_bytes(pdf)
    text = subprocess.run(['pdftotext', '-layout', str(path), '-'], capture_output=True, text=True,
                          check=True).stdout
    return ' '.join(text.replace('\f', ' \f ').split(' ')).replace('\n', ' ')  # wrapped lines joined


def flat(text: str) -> str:
    return ' '.join(text.split())


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack('>II', path.read_bytes()[16:24])


@needs_poppler
@pytest.mark.parametrize('layout', ['a4', 'thermal'])
def test_the_sample_receipt_prints_every_figure(layout, tmp_path, artifacts_dir):
    data = receipts.sample_receipt(datetime(2026, 11, 23, 7, 5, tzinfo=timezone.utc))
    pdf = receipts.receipt_pdf(data, CLINIC, layout=layout, tz=TZ)
    text = pdf_text(pdf, tmp_path)
    for expected in ('Phòng khám Đa khoa Hòa Bình', 'RECEIPT', 'No. R-000124', '23/11/2026 14:05', 'INV-2026-000123',
                     'Nguyễn Thị Thu Hằng', 'P0001234', 'Trần Văn Đức', 'Siro ho Bảo Thanh', '364,500', '-36,450',
                     'Bảo Việt', 'HD-12345678', '-131,220', '196,830', 'Cash', '100,000', '200,000', 'Card',
                     'POS 481516', '96,830', 'Balance due'):
        assert expected in flat(text), expected
    assert re.search(r'21 x 2,500 52,500', flat(text)) or re.search(r'21 2,500 52,500', flat(text))
    assert data.total == 364_500 - 36_450 - 131_220 == 196_830
    prefix = artifacts_dir / f'receipt-{layout}'
    (artifacts_dir / f'receipt-{layout}.pdf').write_bytes(pdf)
    subprocess.run(['pdftoppm', '-png', '-r', '110', '-singlefile', str(artifacts_dir / f'receipt-{layout}.pdf'),
                    str(prefix)], check=True)
    width, height = png_size(prefix.with_suffix('.png'))
    if layout == 'thermal':  # 80 mm wide, as long as its content: taller than wide, shorter than A4
        assert abs(width - 80 / 25.4 * 110) < 3 and width * 1.5 < height < 297 / 25.4 * 110
    else:
        assert abs(width - 210 / 25.4 * 110) < 3 and abs(height - 297 / 25.4 * 110) < 3


@needs_poppler
def test_a_logo_and_many_lines_fit(tmp_path, artifacts_dir):
    from PIL import Image, ImageDraw
    logo = tmp_path / 'logo.png'
    image = Image.new('RGB', (400, 120), 'white')
    ImageDraw.Draw(image).rectangle((10, 10, 390, 110), outline=(15, 118, 110), width=8)
    image.save(logo)
    data = receipts.sample_receipt(NOW)
    lines = [receipts.ReceiptLine(f'Thuốc điều trị số {n} — viên nén bao phim dài tên để xuống dòng', 3, 1_000, 3_000)
             for n in range(60)]
    data = receipts.ReceiptData(**{**data.__dict__, 'lines': lines})
    clinic = receipts.ClinicHeader(CLINIC.name, CLINIC.address, CLINIC.phone, logo)
    for layout in ('a4', 'thermal'):
        pdf = receipts.receipt_pdf(data, clinic, layout=layout, tz=TZ)
        text = pdf_text(pdf, tmp_path)
        assert 'Thuốc điều trị số 59' in flat(text) and 'Balance due' in text
        if layout == 'a4':
            assert text.count('\f') >= 2  # several pages, no row cut in half
    (artifacts_dir / 'receipt-long-thermal.pdf').write_bytes(pdf)


def test_dollars_print_with_cents():
    data = receipts.sample_receipt(NOW)
    assert receipts.format_amount(12_345, 2) == '123.45' and receipts.format_amount(-5, 2) == '-0.05'
    assert receipts.format_amount(data.total, 0) == '196,830'
    pdf = receipts.receipt_pdf(data, receipts.ClinicHeader('Clinic', currency='USD', exponent=2), layout='a4', tz=TZ)
    assert pdf.startswith(b'%PDF')


async def paid_twice_then_refunded(db):
    """A bill of 200,000, a quarter insured, paid 60,000 in cash (100,000 given) then 90,000 by card, of which
    15,000 is refunded: (clinic, invoice id, first receipt, second receipt, refund receipt)."""
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic, medicines=((2, 25_000),)))  # 200,000
    async with db.write() as session:
        await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(25), insurer='PVI',
                                    policy_no='P-42', now=NOW)  # 50,000: the patient pays 150,000
    async with db.write() as session:
        first = await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 60_000, tendered=100_000)],
                                  now=NOW)
    async with db.write() as session:
        second = await billing.pay(session, clinic.cashier, invoice_id, [Tender(CARD, 90_000, reference='POS 9')],
                                   now=NOW)
    async with db.read() as session:
        card = (await billing.invoice_view(session, clinic.cashier, invoice_id)).payments[1]
    async with db.write() as session:
        refund = await billing.refund(session, clinic.cashier, card.id, 15_000, 'Overcharged', now=NOW)
    return clinic, invoice_id, first.receipt_number, second.receipt_number, refund


async def test_receipts_from_the_database_show_the_figures_as_of_then(db):
    clinic, invoice_id, first, second, refund = await paid_twice_then_refunded(db)
    async with db.read() as session:
        one = await receipts.receipt_data(session, clinic.cashier, first)
        two = await receipts.receipt_data(session, clinic.cashier, second)
        back = await receipts.receipt_data(session, clinic.cashier, refund)
        numbers = await receipts.receipts_of_invoice(session, clinic.cashier, invoice_id)
    assert numbers == ['R-000001', 'R-000002', 'R-000003']
    assert (one.paid_before, one.paid_total, one.balance, one.change_due) == (0, 60_000, 90_000, 40_000)
    assert (two.paid_before, two.paid_total, two.balance) == (60_000, 150_000, 0)
    assert back.is_refund and back.refund_of == 'R-000002' and back.refunded_total == 15_000


@needs_poppler
async def test_receipts_from_the_database_print_their_figures(db, tmp_path):
    clinic, invoice_id, first, _, refund = await paid_twice_then_refunded(db)
    async with db.read() as session:
        one = await receipts.receipt_data(session, clinic.cashier, first)
        back = await receipts.receipt_data(session, clinic.cashier, refund)
        bill_of = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
    text = flat(pdf_text(receipts.receipt_pdf(one, CLINIC, layout='thermal', tz=TZ), tmp_path))
    assert 'Lê Thị Hồng' in text and '90,000' in text and 'PVI, policy' in text and 'P-42' in text and '-50,000' in text
    text = pdf_text(receipts.receipt_pdf(back, CLINIC, layout='a4', tz=TZ), tmp_path)
    assert 'REFUND RECEIPT' in text and 'Overcharged' in text and '15,000' in text and 'R-000002' in text
    text = pdf_text(receipts.receipt_pdf(bill_of, CLINIC, layout='a4', tz=TZ), tmp_path)
    assert 'INVOICE' in text and 'not a receipt' in text and '150,000' in text


# --- in the patient's language ------------------------------------------------------------------------------------

@needs_poppler
@pytest.mark.parametrize('layout', ['a4', 'thermal'])
@pytest.mark.usefixtures('vietnamese')
def test_a_vietnamese_patients_receipt_is_in_vietnamese_whoever_prints_it(layout, tmp_path,
                                                                           artifacts_dir):
    data = dataclasses.replace(receipts.sample_receipt(datetime(2026, 11, 23, 7, 5, tzinfo=timezone.utc)),
                               language='vi')
    with i18n.use('en'):  # the cashier reads English
        pdf = receipts.receipt_pdf(data, CLINIC, layout=layout, tz=TZ)
    text = flat(pdf_text(pdf, tmp_path))
    for expected in ('BIÊN LAI', 'Số: R-000124', 'Bệnh nhân', 'Nguyễn Thị Thu Hằng', 'Thu ngân', 'TỔNG CỘNG',
                     '196.830 ₫', '364.500', '-36.450', 'Tiền mặt', 'Thẻ', 'Tổng đã trả', 'Còn phải trả',
                     'Xin cảm ơn. Vui lòng giữ lại biên lai này.'):
        assert expected in text, expected
    assert 'RECEIPT' not in text and 'Balance due' not in text
    (artifacts_dir / f'receipt-vi-{layout}.pdf').write_bytes(pdf)
    subprocess.run(['pdftoppm', '-png', '-r', '80', '-singlefile', str(artifacts_dir / f'receipt-vi-{layout}.pdf'),
                    str(artifacts_dir / f'receipt-vi-{layout}')], check=True)


@needs_poppler
@pytest.mark.usefixtures('vietnamese')
def test_an_english_patients_receipt_stays_english_for_a_vietnamese_cashier(tmp_path):
    data = dataclasses.replace(receipts.sample_receipt(NOW), language='en')
    with i18n.use('vi'):
        text = flat(pdf_text(receipts.receipt_pdf(data, CLINIC, layout='a4', tz=TZ), tmp_path))
    assert 'RECEIPT' in text and 'Balance due' in text and '₫196,830' in text and 'BIÊN LAI' not in text


@needs_poppler
@pytest.mark.usefixtures('vietnamese')
def test_without_a_language_of_their_own_a_patient_gets_the_clinics(tmp_path):
    clinic = dataclasses.replace(CLINIC, language='vi')
    with i18n.use('en'):
        text = flat(pdf_text(receipts.receipt_pdf(receipts.sample_receipt(NOW), clinic, layout='a4', tz=TZ),
                             tmp_path))
    assert 'BIÊN LAI' in text and '196.830 ₫' in text


@pytest.mark.usefixtures('vietnamese')
async def test_the_receipt_and_its_email_follow_the_patients_language(db):
    clinic, invoice_id, first, _second, refund = await paid_twice_then_refunded(db)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.language = 'vi'
        await session.commit()
    settings = Settings(clinic_name='Phòng khám An Bình', clinic_phone='028 3823 0000', language='en',
                        timezone='Asia/Ho_Chi_Minh')
    async with db.read() as session:
        assert (await receipts.receipt_data(session, clinic.cashier, first)).language == 'vi'
    with i18n.use('en'):
        async with db.write() as session:
            await receipts.email_receipt(session, clinic.cashier, first, to='hong@example.test', settings=settings)
            await receipts.email_receipt(session, clinic.cashier, refund, to='hong@example.test', settings=settings)
    async with db.read() as session:
        paid, refunded = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert paid.subject == f'Biên lai {first} từ Phòng khám An Bình'
    body = flat(paid.body_text)  # Babel keeps the amount and its sign together (a no-break space)
    assert 'Kính gửi Lê Thị Hồng,' in body
    assert 'Cảm ơn quý khách đã thanh toán 60.000 ₫' in body and '(tổng cộng 150.000 ₫)' in body
    assert 'Còn phải trả: 90.000 ₫.' in body and 'Trân trọng,' in body
    assert refunded.subject.startswith('Biên lai hoàn tiền') and 'đã hoàn lại 15.000 ₫' in flat(refunded.body_text)
