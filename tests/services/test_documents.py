"""The ticket slip PDF: 80 mm wide, Vietnamese printed exactly (checked with poppler's pdftotext / pdftoppm)."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models import PrescriptionStatus
from services import clinical_pdf, documents, pdf_fonts
from services.core import i18n
from services.pharmacy import Label
from services.prescriptions import ItemView, PrintedPrescription
from tests.services.vietnamese import vietnamese  # noqa: F401 - the fixture of the tests marked with it

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
    first = pdf_fonts.prepare()
    assert pdf_fonts.prepare() is first
    assert all(len(prepared.cuts[0].data) < 100_000 for prepared in first.values())
    started = time.perf_counter()
    for _ in range(3):
        documents.ticket_slip_pdf(**SLIP)
    per_slip = (time.perf_counter() - started) / 3
    assert per_slip < 0.5  # generous for slow CI; ~0.015 s measured on 2 cores


# --- in the patient's language ------------------------------------------------------------------------------------

TZ = ZoneInfo('Asia/Ho_Chi_Minh')


def item(name: str, unit: str, dose: str, times: int | None, days: int | None, quantity: int) -> ItemView:
    return ItemView(id=1, medicine_id=1, medicine_name=name, unit=unit, dose=dose, times_per_day=times,
                    duration_days=days, quantity=quantity, instructions='', dispensed_quantity=0, on_hand=0,
                    warnings=[])


RX = PrintedPrescription(
    number='RX-000042', issued_at=datetime(2026, 11, 30, 2, 15, tzinfo=timezone.utc), patient_name='Nguyễn Thị Ánh',
    patient_code='P0000001', age='34 years', sex='female', diagnosis='J02 Viêm họng cấp', doctor_name='Dr. Lê Văn Thịnh',
    advice='Uống nhiều nước ấm.', status=PrescriptionStatus.ISSUED,
    items=[item('Paracetamol 500 mg', 'tablet', '1 tablet', 3, 5, 15),
           item('Siro ho Bảo Thanh 125 ml', 'bottle', '10 ml', 3, None, 1)])
LABEL = Label(patient_name='Nguyễn Thị Ánh', medicine_name='Amoxicillin 500 mg', quantity=21, unit='capsule',
              dosage='1 capsule, 3 times a day, for 7 days', instructions='Uống sau ăn', batch_no='AMX-01',
              expiry_date=date(2027, 6, 30), dispensed_at=datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc),
              substitution_note='')


@needs_poppler
@pytest.mark.usefixtures('vietnamese')
def test_a_vietnamese_patients_slip_is_in_vietnamese_whoever_prints_it(tmp_path):
    with i18n.use('en'):  # the receptionist reads English
        lines = lines_of(pdf_text(documents.ticket_slip_pdf(**SLIP, language='vi'), tmp_path))
    assert 'Số thứ tự của quý khách' in lines and 'A-012' in lines
    assert 'Bác sĩ: Dr. Lê Văn Thịnh' in lines and 'Phòng: P.203 · Tầng 2' in lines
    assert 'Số người trước quý khách: 3' in lines
    assert any(line.startswith('Giờ lấy số: 09:30') for line in lines)
    with i18n.use('vi'):  # and an English-reading patient's slip stays English for a Vietnamese receptionist
        assert 'Your number' in lines_of(pdf_text(documents.ticket_slip_pdf(**SLIP, language='en'), tmp_path))


@needs_poppler
@pytest.mark.usefixtures('vietnamese')
def test_the_prescription_and_labels_print_in_the_patients_language(tmp_path, artifacts_dir):
    with i18n.use('en'):
        pdf = clinical_pdf.prescription_pdf(RX, clinic_name='Phòng khám Đa khoa An Bình', clinic_address='12 Lê Lợi',
                                            clinic_phone='028 3823 0000', tz=TZ, language='vi')
        text = ' '.join(lines_of(pdf_text(pdf, tmp_path)))
        assert 'ĐƠN THUỐC' in text and 'Bệnh nhân: Nguyễn Thị Ánh (P0000001), 34 tuổi, nữ' in text
        assert 'Chẩn đoán: J02 Viêm họng cấp' in text and 'Lời dặn: Uống nhiều nước ấm.' in text
        assert 'Số lượng: 15 viên 1 viên, ngày 3 lần, trong 5 ngày' in text
        assert 'Số lượng: 1 chai 10 ml, ngày 3 lần' in text and 'Bác sĩ: Dr. Lê Văn Thịnh' in text
        (artifacts_dir / 'prescription-vi.pdf').write_bytes(pdf)
        subprocess.run(['pdftoppm', '-png', '-r', '80', '-singlefile', str(artifacts_dir / 'prescription-vi.pdf'),
                        str(artifacts_dir / 'prescription-vi')], check=True)
        english = ' '.join(lines_of(pdf_text(clinical_pdf.prescription_pdf(
            RX, clinic_name='Clinic', clinic_address='', clinic_phone='', tz=TZ, language='en'), tmp_path)))
        assert 'PRESCRIPTION' in english and '34 years, female' in english
        assert 'Quantity: 15 tablet 1 tablet, 3 times a day, for 5 days' in english
        labels = ' '.join(lines_of(pdf_text(clinical_pdf.labels_pdf([LABEL], clinic_name='Phòng khám', tz=TZ,
                                                                     language='vi'), tmp_path)))
    assert 'Amoxicillin 500 mg × 21 viên nang' in labels and '1 viên nang, ngày 3 lần, trong 7 ngày' in labels
    assert 'Lô AMX-01 · HSD 30/06/2027' in labels


@pytest.mark.usefixtures('vietnamese')
def test_the_dosage_is_one_sentence_in_the_readers_language():
    assert clinical_pdf.dosage_text('2 tablet', 1, 3) == '2 tablet, once a day, for 3 days'
    assert clinical_pdf.dosage_text('1 capsule', 3, None) == '1 capsule, 3 times a day'
    assert clinical_pdf.dosage_text('apply thinly', None, None) == 'apply thinly'
    with i18n.use('vi'):
        assert clinical_pdf.dosage_text('1 tablet', 3, 5) == '1 viên, ngày 3 lần, trong 5 ngày'
        assert clinical_pdf.dosage_text('', None, 7) == 'trong 7 ngày'
        assert clinical_pdf.unit_text('sachet') == 'gói' and clinical_pdf.unit_text('vial') == 'vial'


async def test_labels_and_slips_find_the_patients_language(db):
    from models import Patient, Visit
    from services import pharmacy
    from services.pharmacy import DispenseLine
    from services.prescriptions import LineInput
    from tests.clinical import TODAY, make_ward, prescribed_and_finished
    from tests.factories import NOW
    ward = await make_ward(db)
    rx = await prescribed_and_finished(db, ward, [LineInput(ward.paracetamol, dose='1 tablet', times_per_day='2',
                                                            duration_days='1')])
    async with db.write() as session:
        plan = await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)
        dispense = await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(plan.lines[0].item.id, 2)],
                                           today=TODAY, now=NOW)
    async with db.read() as session:
        assert await documents.dispense_language(session, dispense.id, clinic='en') == 'en'
    async with db.write() as session:
        patient = await session.get(Patient, (await session.get(Visit, ward.visit_id)).patient_id)
        patient.language = 'vi'
        await session.commit()
    async with db.read() as session:
        assert await documents.dispense_language(session, dispense.id, clinic='en') == 'vi'
        assert await documents.patient_language(session, patient_code=patient.code, clinic='en') == 'vi'
        assert await documents.patient_language(session, patient_id=patient.id) == 'vi'
        assert await documents.patient_language(session, patient_code='nobody', clinic='vi') == 'vi'
