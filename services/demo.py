"""Demo data: fill an EMPTY clinic database with a realistic, self-consistent year of clinic life.

What ``load_demo`` writes (all in one transaction):

* six staff accounts, one per role (``admin``, ``reception``, ``doctor``, ``lab``, ``pharmacy``, ``cashier``);
* 5 specialties, 10 doctors, 8 rooms, 31 priced services, weekly working hours and the queues;
* the panels of the lab tests (a full blood count of 18 values, electrolytes with critical limits, ...) with
  reference ranges, some by sex or age; past lab results have their values, judged against those ranges;
* 200 medicines with stock batches and a stock ledger that adds up;
* ``patients`` patients with addresses, and about three past visits each over the last 365 days: appointment or
  walk-in, queue ticket, signed medical record, ordered services, dispensed prescription, invoice and payments;
* about 40 booked appointments for ``today`` (no visits today: reception checks the patients in).

Speed: every row is built as a plain dict with an explicit id (the tables are empty, so ids start at 1) and
inserted with executemany, table by table in foreign-key order. On PostgreSQL the id sequences are then moved past
the inserted ids, so the application's own inserts do not collide.

Deterministic: the same ``seed``, ``today``, ``tz`` and ``patients`` give the same rows (the audit timestamp
excepted).
"""
from __future__ import annotations

import asyncio
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from random import Random
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import models
from models import (
    AllergySeverity,
    AllergyStatus,
    AppointmentStatus,
    BookingSource,
    InvoiceItemKind,
    InvoiceStatus,
    MovementKind,
    OrderStatus,
    Patient,
    PaymentKind,
    PaymentMethod,
    PrescriptionStatus,
    QueueKind,
    RecordStatus,
    Role,
    RoomKind,
    ServiceKind,
    Sex,
    TicketStatus,
    User,
    VisitStatus,
)
from models.types import utcnow

from . import lab_results, phones
from .allergies import groups_of_name
from .core.errors import Conflict
from .security import hash_password
from .text import search_key

INSERT_CHUNK = 5000
HISTORY_DAYS = 365
TODAY_APPOINTMENTS = 40
SLOT_MINUTES = 5  # past visits are laid out on a 5-minute grid

# --------------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------------

# (username, role, full name)
STAFF = [
    ('admin', Role.ADMIN, 'Nguyễn Quang Huy'),
    ('reception', Role.RECEPTIONIST, 'Trần Thị Thu Trang'),
    ('doctor', Role.DOCTOR, 'Nguyễn Thị Lan'),  # the first doctor
    ('lab', Role.TECHNICIAN, 'Lê Văn Khoa'),
    ('pharmacy', Role.PHARMACIST, 'Phạm Thị Ngọc Ánh'),
    ('cashier', Role.CASHIER, 'Hoàng Minh Châu'),
]

GENERAL, PEDIATRICS, DERMATOLOGY, CARDIOLOGY, ENT = range(5)

# (name, description, keywords: complaints that lead to this specialty)
SPECIALTIES = [
    ('General medicine', 'Adult primary care and follow-up of chronic diseases.',
     'fever, cough, headache, fatigue, high blood pressure, diabetes, stomach ache, heartburn, diarrhea, '
     'back pain, burning urination, dizziness, high cholesterol'),
    ('Pediatrics', 'Children from birth to 15 years.',
     'child fever, cough, runny nose, diarrhea, vomiting, rash, wheezing, mouth sores, ear pain, poor appetite'),
    ('Dermatology', 'Skin, hair and nails.',
     'rash, itching, acne, eczema, hives, fungal infection, hair loss, skin lesion, warts, mole'),
    ('Cardiology', 'Heart and blood vessels.',
     'chest pain, palpitations, high blood pressure, shortness of breath, swollen legs, irregular heartbeat, '
     'high cholesterol, fainting'),
    ('Ear-Nose-Throat', 'Ear, nose, throat and sinuses.',
     'sore throat, ear pain, hearing loss, blocked nose, sinusitis, sneezing, nosebleed, hoarseness, '
     'tonsillitis, snoring'),
]

# (full name, specialties: the first is the main one). Doctors i and i+5 share consultation room i.
DOCTORS = [
    ('Nguyễn Thị Lan', [GENERAL]),
    ('Trần Văn Minh', [PEDIATRICS]),
    ('Lê Hoàng Phúc', [DERMATOLOGY]),
    ('Phạm Thu Hà', [CARDIOLOGY, GENERAL]),
    ('Võ Minh Tuấn', [ENT]),
    ('Đặng Ngọc Ánh', [GENERAL]),
    ('Huỳnh Thị Mỹ Dung', [PEDIATRICS, GENERAL]),
    ('Bùi Quốc Việt', [DERMATOLOGY]),
    ('Đỗ Thanh Hương', [CARDIOLOGY]),
    ('Hồ Đức Thắng', [ENT]),
]

# (code, name, kind, floor)
ROOMS = [
    ('R101', 'Consultation room 1', RoomKind.CONSULTATION, '1'),
    ('R102', 'Consultation room 2', RoomKind.CONSULTATION, '1'),
    ('R103', 'Consultation room 3', RoomKind.CONSULTATION, '1'),
    ('R104', 'Consultation room 4', RoomKind.CONSULTATION, '1'),
    ('R105', 'Consultation room 5', RoomKind.CONSULTATION, '1'),
    ('R201', 'Laboratory', RoomKind.LAB, '2'),
    ('R202', 'Imaging (X-ray and ultrasound)', RoomKind.IMAGING, '2'),
    ('R203', 'Procedure room', RoomKind.PROCEDURE, '2'),
    # service points with more than one counter: the lab's second, the pharmacy's and the cashier's windows
    ('R204', 'Laboratory, counter 2', RoomKind.LAB, '2'),
    ('G01', 'Pharmacy, counter 1', RoomKind.PHARMACY, 'G'),
    ('G02', 'Pharmacy, counter 2', RoomKind.PHARMACY, 'G'),
    ('G03', 'Cashier, counter 1', RoomKind.CASHIER, 'G'),
    ('G04', 'Cashier, counter 2', RoomKind.CASHIER, 'G'),
]
# (name, prefix, kind, room code): the window queues, called to a counter by the pharmacist and the cashier
WINDOW_QUEUES = [('Pharmacy', 'R', QueueKind.PHARMACY, 'G01'), ('Cashier', 'K', QueueKind.CASHIER, 'G03')]

# The demo clinic is Vietnamese: the names it typed in Vietnamese beside the English ones (its screens, papers and
# boards show the reader's language), and the complaints that lead to each specialty in Vietnamese too
VIETNAMESE = {
    'General medicine': 'Nội tổng quát', 'Pediatrics': 'Nhi khoa', 'Dermatology': 'Da liễu',
    'Cardiology': 'Tim mạch', 'Ear-Nose-Throat': 'Tai Mũi Họng',
    'Consultation room 1': 'Phòng khám 1', 'Consultation room 2': 'Phòng khám 2', 'Consultation room 3': 'Phòng khám 3',
    'Consultation room 4': 'Phòng khám 4', 'Consultation room 5': 'Phòng khám 5', 'Laboratory': 'Phòng xét nghiệm',
    'Imaging (X-ray and ultrasound)': 'Chẩn đoán hình ảnh (X-quang, siêu âm)', 'Procedure room': 'Phòng thủ thuật',
    'Laboratory, counter 2': 'Phòng xét nghiệm, quầy 2', 'Pharmacy, counter 1': 'Nhà thuốc, quầy 1',
    'Pharmacy, counter 2': 'Nhà thuốc, quầy 2', 'Cashier, counter 1': 'Thu ngân, quầy 1',
    'Cashier, counter 2': 'Thu ngân, quầy 2',
    'Imaging': 'Chẩn đoán hình ảnh', 'Procedures': 'Thủ thuật', 'Pharmacy': 'Nhà thuốc', 'Cashier': 'Thu ngân',
    'General medicine consultation': 'Khám nội tổng quát', 'Pediatric consultation': 'Khám nhi',
    'Dermatology consultation': 'Khám da liễu', 'Cardiology consultation': 'Khám tim mạch',
    'Ear-nose-throat consultation': 'Khám tai mũi họng', 'Complete blood count (CBC)': 'Tổng phân tích tế bào máu',
    'Fasting blood glucose': 'Đường huyết lúc đói', 'HbA1c': 'HbA1c', 'Lipid panel': 'Mỡ máu (bilan lipid)',
    'Liver function (ALT, AST, GGT)': 'Chức năng gan (ALT, AST, GGT)',
    'Kidney function (urea, creatinine)': 'Chức năng thận (ure, creatinin)',
    'Urinalysis': 'Tổng phân tích nước tiểu', 'C-reactive protein (CRP)': 'Protein phản ứng C (CRP)',
    'Dengue NS1 antigen rapid test': 'Test nhanh kháng nguyên NS1 sốt xuất huyết',
    'Influenza A/B rapid test': 'Test nhanh cúm A/B', 'Strep A rapid test': 'Test nhanh liên cầu nhóm A',
    'Chest X-ray': 'X-quang ngực', 'Abdominal ultrasound': 'Siêu âm ổ bụng', 'Thyroid ultrasound': 'Siêu âm tuyến giáp',
    'Echocardiography': 'Siêu âm tim', 'Sinus X-ray': 'X-quang xoang', '12-lead ECG': 'Điện tim 12 chuyển đạo',
    '24-hour Holter ECG': 'Holter điện tim 24 giờ', 'Nebulizer treatment': 'Khí dung',
    'Wound dressing': 'Thay băng vết thương', 'IV fluid infusion': 'Truyền dịch',
    'Ear wax removal': 'Lấy ráy tai', 'Nasal endoscopy': 'Nội soi mũi', 'Cryotherapy of warts': 'Áp lạnh mụn cóc',
    'Skin biopsy': 'Sinh thiết da', 'Basic metabolic panel (electrolytes, glucose)': 'Sinh hóa cơ bản (điện giải, đường huyết)',
}
VIETNAMESE_COMPLAINTS = {
    'General medicine': 'sốt, ho, đau đầu, mệt mỏi, tăng huyết áp, cao huyết áp, tiểu đường, đái tháo đường, đau bụng, '
                        'ợ nóng, tiêu chảy, đau lưng, tiểu buốt, nhiễm trùng tiểu, chóng mặt, mỡ máu cao',
    'Pediatrics': 'trẻ sốt, ho, sổ mũi, tiêu chảy, nôn, phát ban, khò khè, lở miệng, đau tai, biếng ăn',
    'Dermatology': 'phát ban, ngứa, mụn trứng cá, chàm, mề đay, nấm da, rụng tóc, tổn thương da, mụn cóc, nốt ruồi',
    'Cardiology': 'đau ngực, hồi hộp, đánh trống ngực, tăng huyết áp, khó thở, phù chân, loạn nhịp tim, mỡ máu cao, '
                  'ngất',
    'Ear-Nose-Throat': 'đau họng, viêm họng, đau tai, nghe kém, nghẹt mũi, viêm xoang, hắt hơi, chảy máu cam, khàn tiếng, '
                       'viêm amidan, ngáy',
}


def in_vietnamese(name: str) -> dict[str, str]:
    """A demo name's translations (stored beside the name)."""
    return {'vi': VIETNAMESE[name]} if name in VIETNAMESE else {}


# (code, name, kind, specialty or None, minutes, price in VND)
SERVICES = [
    ('KB-GEN', 'General medicine consultation', ServiceKind.CONSULTATION, GENERAL, 15, 150_000),
    ('KB-PED', 'Pediatric consultation', ServiceKind.CONSULTATION, PEDIATRICS, 15, 180_000),
    ('KB-DER', 'Dermatology consultation', ServiceKind.CONSULTATION, DERMATOLOGY, 20, 200_000),
    ('KB-CAR', 'Cardiology consultation', ServiceKind.CONSULTATION, CARDIOLOGY, 20, 300_000),
    ('KB-ENT', 'Ear-nose-throat consultation', ServiceKind.CONSULTATION, ENT, 15, 200_000),
    ('XN-CBC', 'Complete blood count (CBC)', ServiceKind.LAB, None, 30, 120_000),
    ('XN-GLU', 'Fasting blood glucose', ServiceKind.LAB, GENERAL, 20, 50_000),
    ('XN-HBA1C', 'HbA1c', ServiceKind.LAB, GENERAL, 60, 180_000),
    ('XN-LIPID', 'Lipid panel', ServiceKind.LAB, CARDIOLOGY, 60, 250_000),
    ('XN-LIVER', 'Liver function (ALT, AST, GGT)', ServiceKind.LAB, GENERAL, 60, 150_000),
    ('XN-KIDNEY', 'Kidney function (urea, creatinine)', ServiceKind.LAB, GENERAL, 60, 120_000),
    ('XN-URINE', 'Urinalysis', ServiceKind.LAB, GENERAL, 30, 80_000),
    ('XN-CRP', 'C-reactive protein (CRP)', ServiceKind.LAB, None, 30, 150_000),
    ('XN-DENGUE', 'Dengue NS1 antigen rapid test', ServiceKind.LAB, GENERAL, 20, 250_000),
    ('XN-FLU', 'Influenza A/B rapid test', ServiceKind.LAB, PEDIATRICS, 20, 300_000),
    ('XN-STREP', 'Strep A rapid test', ServiceKind.LAB, ENT, 15, 200_000),
    ('CD-CXR', 'Chest X-ray', ServiceKind.IMAGING, None, 15, 200_000),
    ('CD-ABD', 'Abdominal ultrasound', ServiceKind.IMAGING, GENERAL, 20, 300_000),
    ('CD-THY', 'Thyroid ultrasound', ServiceKind.IMAGING, GENERAL, 20, 250_000),
    ('CD-ECHO', 'Echocardiography', ServiceKind.IMAGING, CARDIOLOGY, 30, 500_000),
    ('CD-SINUS', 'Sinus X-ray', ServiceKind.IMAGING, ENT, 15, 200_000),
    ('TT-ECG', '12-lead ECG', ServiceKind.PROCEDURE, CARDIOLOGY, 15, 150_000),
    ('TT-HOLTER', '24-hour Holter ECG', ServiceKind.PROCEDURE, CARDIOLOGY, 30, 1_200_000),
    ('TT-NEB', 'Nebulizer treatment', ServiceKind.PROCEDURE, PEDIATRICS, 20, 100_000),
    ('TT-DRESS', 'Wound dressing', ServiceKind.PROCEDURE, GENERAL, 15, 100_000),
    ('TT-IV', 'IV fluid infusion', ServiceKind.PROCEDURE, GENERAL, 60, 350_000),
    ('TT-EARWAX', 'Ear wax removal', ServiceKind.PROCEDURE, ENT, 15, 150_000),
    ('TT-ENDO', 'Nasal endoscopy', ServiceKind.PROCEDURE, ENT, 20, 400_000),
    ('TT-CRYO', 'Cryotherapy of warts', ServiceKind.PROCEDURE, DERMATOLOGY, 20, 500_000),
    ('TT-BIOPSY', 'Skin biopsy', ServiceKind.PROCEDURE, DERMATOLOGY, 30, 800_000),
    ('XN-BMP', 'Basic metabolic panel (electrolytes, glucose)', ServiceKind.LAB, GENERAL, 60, 220_000),
]

# The lab panels: per service, (name, unit, ranges); a range is (sex, min age, max age, low, high, critical low,
# critical high), None where it does not apply. Adult ranges of common clinical use.
_ANY = (None, None, None)
_CREATININE = ('Creatinine', 'µmol/L', [(Sex.MALE, None, None, '62', '106', None, '500'),
                                         (Sex.FEMALE, None, None, '44', '80', None, '500')])
_UREA = ('Urea', 'mmol/L', [(*_ANY, '2.5', '7.5', None, '30')])
LAB_PANELS = {
    'XN-CBC': [
        ('WBC', '10^9/L', [(*_ANY, '4.0', '10.0', '2.0', '30.0')]),
        ('RBC', '10^12/L', [(Sex.MALE, None, None, '4.5', '5.9', None, None),
                            (Sex.FEMALE, None, None, '4.0', '5.2', None, None)]),
        ('Hb', 'g/dL', [(Sex.MALE, None, None, '13.0', '17.0', '7.0', '20.0'),
                        (Sex.FEMALE, None, None, '12.0', '15.5', '7.0', '20.0'),
                        (None, 0, 12, '11.0', '14.5', '7.0', '20.0')]),
        ('Hct', '%', [(Sex.MALE, None, None, '40', '52', '20', '60'),
                      (Sex.FEMALE, None, None, '36', '46', '20', '60')]),
        ('MCV', 'fL', [(*_ANY, '80', '100', None, None)]),
        ('MCH', 'pg', [(*_ANY, '27', '33', None, None)]),
        ('MCHC', 'g/dL', [(*_ANY, '32', '36', None, None)]),
        ('RDW', '%', [(*_ANY, '11.5', '14.5', None, None)]),
        ('Plt', '10^9/L', [(*_ANY, '150', '400', '20', '1000')]),
        ('MPV', 'fL', [(*_ANY, '7.5', '11.5', None, None)]),
        ('Neut %', '%', [(*_ANY, '40', '75', None, None)]),
        ('Lymph %', '%', [(*_ANY, '20', '45', None, None)]),
        ('Mono %', '%', [(*_ANY, '2', '10', None, None)]),
        ('Eos %', '%', [(*_ANY, '1', '6', None, None)]),
        ('Baso %', '%', [(*_ANY, '0', '1', None, None)]),
        ('Neut #', '10^9/L', [(*_ANY, '2.0', '7.5', '0.5', None)]),
        ('Lymph #', '10^9/L', [(*_ANY, '1.0', '4.0', None, None)]),
        ('ESR', 'mm/h', [(Sex.MALE, None, None, '0', '15', None, None),
                         (Sex.FEMALE, None, None, '0', '20', None, None)]),
    ],
    'XN-GLU': [('Glucose (fasting)', 'mmol/L', [(*_ANY, '3.9', '5.6', '2.5', '25.0')])],
    'XN-KIDNEY': [_UREA, _CREATININE],
    'XN-CRP': [('CRP', 'mg/L', [(*_ANY, None, '5', None, None)])],
    'XN-BMP': [
        ('Na', 'mmol/L', [(*_ANY, '135', '145', '120', '160')]),
        ('K', 'mmol/L', [(*_ANY, '3.5', '5.1', '2.5', '6.5')]),
        ('Cl', 'mmol/L', [(*_ANY, '98', '107', None, None)]),
        ('HCO3', 'mmol/L', [(*_ANY, '22', '29', '10', '40')]),
        ('Glucose', 'mmol/L', [(*_ANY, '3.9', '7.8', '2.5', '25.0')]),
        ('Ca', 'mmol/L', [(*_ANY, '2.15', '2.55', '1.75', '3.25')]),
        _UREA, _CREATININE,
    ],
}
DEMO_HIGH_WBC = '11.8'  # the first full blood count of the demo: a white count above 4.0–10.0

RESULTS = {
    ServiceKind.LAB: ['All values within the reference range.', 'Mildly raised values; see the table.',
                      'Result positive; doctor informed.', 'Result negative.'],
    ServiceKind.IMAGING: ['No abnormality detected.', 'Minor findings, no acute change.',
                          'Findings consistent with the clinical diagnosis.'],
    ServiceKind.PROCEDURE: ['Procedure done without complications.', 'Done; patient tolerated it well.'],
}


@dataclass(frozen=True)
class Diagnosis:
    specialty: int
    code: str  # ICD-10
    name: str
    complaint: str
    medicines: tuple[str, ...] = ()  # generic names
    services: tuple[str, ...] = ()  # service codes that may be ordered
    fever: bool = False
    chronic: bool = False


def _dx(specialty: int, code: str, name: str, complaint: str, medicines: str = '', services: str = '',
        fever: bool = False, chronic: bool = False) -> Diagnosis:
    split = lambda text: tuple(part.strip() for part in text.split(';') if part.strip())  # noqa: E731
    return Diagnosis(specialty, code, name, complaint, split(medicines), split(services), fever, chronic)


DIAGNOSES = [
    _dx(GENERAL, 'J06.9', 'Acute upper respiratory infection', 'Fever, cough and runny nose for 3 days',
        'Paracetamol; Dextromethorphan; Loratadine; Vitamin C', 'XN-CBC; XN-CRP', fever=True),
    _dx(GENERAL, 'I10', 'Essential (primary) hypertension', 'Follow-up of high blood pressure',
        'Amlodipine; Losartan; Bisoprolol; Hydrochlorothiazide', 'XN-KIDNEY; TT-ECG', chronic=True),
    _dx(GENERAL, 'E11.9', 'Type 2 diabetes mellitus without complications', 'Diabetes follow-up, thirst, tiredness',
        'Metformin; Gliclazide', 'XN-GLU; XN-HBA1C; XN-KIDNEY', chronic=True),
    _dx(GENERAL, 'K29.7', 'Gastritis, unspecified', 'Epigastric pain and bloating after meals',
        'Omeprazole; Esomeprazole; Aluminium hydroxide/Magnesium hydroxide; Domperidone', 'CD-ABD'),
    _dx(GENERAL, 'M54.5', 'Low back pain', 'Lower back pain for a week',
        'Paracetamol; Meloxicam; Eperisone; Diclofenac'),
    _dx(GENERAL, 'A09', 'Gastroenteritis and colitis of infectious origin', 'Diarrhoea and vomiting since yesterday',
        'Oral rehydration salts; Diosmectite; Lactobacillus acidophilus', 'XN-CBC; TT-IV', fever=True),
    _dx(GENERAL, 'R51', 'Headache', 'Recurrent headaches in the afternoon', 'Paracetamol; Ibuprofen'),
    _dx(GENERAL, 'N39.0', 'Urinary tract infection, site not specified', 'Burning on urination, frequent urination',
        'Ciprofloxacin; Nitrofurantoin; Cefuroxime', 'XN-URINE'),
    _dx(GENERAL, 'A90', 'Dengue fever', 'High fever and body aches for 2 days',
        'Paracetamol; Oral rehydration salts', 'XN-DENGUE; XN-CBC', fever=True),
    _dx(GENERAL, 'E78.5', 'Hyperlipidaemia, unspecified', 'Health check: high cholesterol',
        'Atorvastatin; Rosuvastatin', 'XN-LIPID; XN-LIVER', chronic=True),
    _dx(GENERAL, 'T14.1', 'Open wound, unspecified body region', 'Cut on the hand while cooking',
        'Paracetamol', 'TT-DRESS'),
    _dx(GENERAL, 'E04.9', 'Nontoxic goitre, unspecified', 'Swelling at the front of the neck', '', 'CD-THY'),
    _dx(PEDIATRICS, 'J06.9', 'Acute upper respiratory infection', 'Child with fever and runny nose',
        'Paracetamol; Cetirizine; Ambroxol', 'XN-FLU; XN-CBC', fever=True),
    _dx(PEDIATRICS, 'J20.9', 'Acute bronchitis, unspecified', 'Cough with phlegm for 5 days',
        'Amoxicillin; Ambroxol; Acetylcysteine; Salbutamol', 'CD-CXR; XN-CBC', fever=True),
    _dx(PEDIATRICS, 'A09', 'Gastroenteritis and colitis of infectious origin', 'Diarrhoea and vomiting',
        'Oral rehydration salts; Diosmectite; Lactobacillus acidophilus; Zinc gluconate', 'XN-CBC', fever=True),
    _dx(PEDIATRICS, 'J45.9', 'Asthma, unspecified', 'Wheezing and shortness of breath at night',
        'Salbutamol; Budesonide; Montelukast', 'TT-NEB'),
    _dx(PEDIATRICS, 'B08.4', 'Hand, foot and mouth disease', 'Fever with mouth sores and spots on hands',
        'Paracetamol; Chlorhexidine', '', fever=True),
    _dx(PEDIATRICS, 'H66.9', 'Otitis media, unspecified', 'Ear pain and fever', 'Amoxicillin; Paracetamol', '',
        fever=True),
    _dx(DERMATOLOGY, 'L30.9', 'Dermatitis, unspecified', 'Itchy red rash on the arms',
        'Hydrocortisone; Cetirizine; Betamethasone'),
    _dx(DERMATOLOGY, 'L70.0', 'Acne vulgaris', 'Acne on the face and back',
        'Adapalene; Benzoyl peroxide; Doxycycline'),
    _dx(DERMATOLOGY, 'B35.4', 'Tinea corporis', 'Ring-shaped itchy patches on the skin',
        'Clotrimazole; Ketoconazole; Terbinafine'),
    _dx(DERMATOLOGY, 'L50.9', 'Urticaria, unspecified', 'Hives after eating seafood',
        'Cetirizine; Loratadine; Fexofenadine'),
    _dx(DERMATOLOGY, 'L20.9', 'Atopic dermatitis, unspecified', 'Dry itchy skin, eczema flare',
        'Hydrocortisone; Urea; Cetirizine'),
    _dx(DERMATOLOGY, 'B07', 'Viral warts', 'Warts on the fingers', 'Salicylic acid', 'TT-CRYO'),
    _dx(DERMATOLOGY, 'L82', 'Seborrhoeic keratosis', 'Dark raised spot on the back, growing', '', 'TT-BIOPSY'),
    _dx(CARDIOLOGY, 'I10', 'Essential (primary) hypertension', 'High blood pressure, morning headaches',
        'Amlodipine; Losartan; Bisoprolol; Enalapril', 'TT-ECG; XN-LIPID; CD-ECHO', chronic=True),
    _dx(CARDIOLOGY, 'R07.4', 'Chest pain, unspecified', 'Chest tightness when climbing stairs',
        'Aspirin; Isosorbide mononitrate', 'TT-ECG; CD-ECHO; XN-LIPID; CD-CXR'),
    _dx(CARDIOLOGY, 'I49.9', 'Cardiac arrhythmia, unspecified', 'Palpitations, irregular heartbeat',
        'Bisoprolol', 'TT-ECG; TT-HOLTER'),
    _dx(CARDIOLOGY, 'I25.1', 'Atherosclerotic heart disease', 'Follow-up of coronary artery disease',
        'Aspirin; Clopidogrel; Atorvastatin; Bisoprolol', 'TT-ECG; CD-ECHO', chronic=True),
    _dx(CARDIOLOGY, 'E78.5', 'Hyperlipidaemia, unspecified', 'High cholesterol on a health check',
        'Atorvastatin; Rosuvastatin', 'XN-LIPID', chronic=True),
    _dx(ENT, 'J02.9', 'Acute pharyngitis, unspecified', 'Sore throat and painful swallowing',
        'Amoxicillin; Paracetamol; Chlorhexidine', 'XN-STREP', fever=True),
    _dx(ENT, 'H66.9', 'Otitis media, unspecified', 'Ear pain and reduced hearing',
        'Amoxicillin/Clavulanate; Ofloxacin; Paracetamol'),
    _dx(ENT, 'J01.9', 'Acute sinusitis, unspecified', 'Blocked nose and facial pain',
        'Amoxicillin/Clavulanate; Fluticasone; Sodium chloride', 'CD-SINUS; TT-ENDO'),
    _dx(ENT, 'J30.4', 'Allergic rhinitis, unspecified', 'Sneezing and runny nose every morning',
        'Cetirizine; Fluticasone; Loratadine; Oxymetazoline'),
    _dx(ENT, 'H61.2', 'Impacted cerumen', 'Blocked ear, reduced hearing', '', 'TT-EARWAX'),
    _dx(ENT, 'J03.9', 'Acute tonsillitis, unspecified', 'Fever and sore throat, swollen tonsils',
        'Amoxicillin; Cefuroxime; Paracetamol', 'XN-STREP; XN-CBC', fever=True),
]

ADVICE = ['Drink plenty of water and rest.', 'Return if symptoms persist beyond 3 days or get worse.',
          'Take the medicines as prescribed and finish the course.', 'Avoid spicy food and alcohol.',
          'Come back for a check-up in two weeks.']
CHRONIC_ADVICE = ['Low-salt diet, 30 minutes of exercise a day, measure blood pressure at home.',
                  'Keep a diet low in sugar and fat; check blood glucose regularly.',
                  'Monthly follow-up; bring your home measurements.']

# (generic, strength, form, price per unit in VND). The unit follows from the form (see FORM_UNITS).
MEDICINE_BASE = [
    ('Paracetamol', '500 mg', 'tablet', 500), ('Paracetamol', '650 mg', 'tablet', 800),
    ('Paracetamol', '250 mg', 'sachet', 2_500), ('Paracetamol', '120 mg/5 ml', 'syrup', 25_000),
    ('Ibuprofen', '400 mg', 'tablet', 1_000), ('Ibuprofen', '100 mg/5 ml', 'suspension', 35_000),
    ('Meloxicam', '7.5 mg', 'tablet', 1_500), ('Diclofenac', '50 mg', 'tablet', 700),
    ('Diclofenac', '1%', 'gel', 45_000), ('Eperisone', '50 mg', 'tablet', 2_000),
    ('Amoxicillin', '500 mg', 'capsule', 1_200), ('Amoxicillin', '250 mg', 'sachet', 3_000),
    ('Amoxicillin/Clavulanate', '625 mg', 'tablet', 8_000),
    ('Amoxicillin/Clavulanate', '250/31.25 mg', 'sachet', 6_000),
    ('Cefuroxime', '500 mg', 'tablet', 9_000), ('Cefuroxime', '125 mg', 'sachet', 7_000),
    ('Azithromycin', '500 mg', 'tablet', 12_000), ('Ciprofloxacin', '500 mg', 'tablet', 2_500),
    ('Doxycycline', '100 mg', 'capsule', 1_500), ('Nitrofurantoin', '100 mg', 'capsule', 3_000),
    ('Dextromethorphan', '15 mg', 'tablet', 800), ('Ambroxol', '30 mg', 'tablet', 900),
    ('Ambroxol', '15 mg/5 ml', 'syrup', 30_000), ('Acetylcysteine', '200 mg', 'sachet', 2_500),
    ('Loratadine', '10 mg', 'tablet', 1_000), ('Cetirizine', '10 mg', 'tablet', 800),
    ('Cetirizine', '5 mg/5 ml', 'syrup', 30_000), ('Fexofenadine', '180 mg', 'tablet', 5_000),
    ('Chlorpheniramine', '4 mg', 'tablet', 300), ('Vitamin C', '500 mg', 'tablet', 700),
    ('Vitamin B1-B6-B12', '100/200/0.2 mg', 'tablet', 1_000), ('Zinc gluconate', '70 mg', 'tablet', 1_200),
    ('Amlodipine', '5 mg', 'tablet', 900), ('Amlodipine', '10 mg', 'tablet', 1_400),
    ('Losartan', '50 mg', 'tablet', 2_500), ('Bisoprolol', '2.5 mg', 'tablet', 2_000),
    ('Bisoprolol', '5 mg', 'tablet', 2_800), ('Enalapril', '5 mg', 'tablet', 900),
    ('Hydrochlorothiazide', '25 mg', 'tablet', 600), ('Metformin', '500 mg', 'tablet', 600),
    ('Metformin', '850 mg', 'tablet', 900), ('Gliclazide', '30 mg', 'modified-release tablet', 2_500),
    ('Atorvastatin', '10 mg', 'tablet', 2_000), ('Atorvastatin', '20 mg', 'tablet', 3_000),
    ('Rosuvastatin', '10 mg', 'tablet', 4_000), ('Aspirin', '81 mg', 'tablet', 500),
    ('Clopidogrel', '75 mg', 'tablet', 6_000), ('Isosorbide mononitrate', '30 mg', 'tablet', 3_500),
    ('Omeprazole', '20 mg', 'capsule', 1_200), ('Esomeprazole', '40 mg', 'tablet', 6_000),
    ('Aluminium hydroxide/Magnesium hydroxide', '400/800 mg', 'sachet', 3_500),
    ('Domperidone', '10 mg', 'tablet', 700), ('Oral rehydration salts', '4.1 g', 'sachet', 2_000),
    ('Diosmectite', '3 g', 'sachet', 3_500), ('Lactobacillus acidophilus', '1 g', 'sachet', 4_000),
    ('Salbutamol', '2 mg', 'tablet', 400), ('Salbutamol', '100 mcg/dose', 'inhaler', 85_000),
    ('Salbutamol', '2.5 mg/2.5 ml', 'nebule', 6_000), ('Budesonide', '0.5 mg/2 ml', 'nebule', 15_000),
    ('Montelukast', '10 mg', 'tablet', 7_000), ('Montelukast', '4 mg', 'sachet', 8_000),
    ('Hydrocortisone', '1%', 'cream', 25_000), ('Betamethasone', '0.05%', 'cream', 30_000),
    ('Clotrimazole', '1%', 'cream', 22_000), ('Ketoconazole', '2%', 'cream', 35_000),
    ('Terbinafine', '250 mg', 'tablet', 9_000), ('Adapalene', '0.1%', 'gel', 120_000),
    ('Benzoyl peroxide', '5%', 'gel', 90_000), ('Salicylic acid', '16.7%', 'solution', 40_000),
    ('Urea', '10%', 'cream', 55_000), ('Fluticasone', '50 mcg/dose', 'nasal spray', 150_000),
    ('Sodium chloride', '0.9%', 'nasal drops', 5_000), ('Oxymetazoline', '0.05%', 'nasal spray', 45_000),
    ('Chlorhexidine', '0.12%', 'mouthwash', 40_000), ('Ofloxacin', '0.3%', 'ear drops', 45_000),
]
FORM_UNITS = {'tablet': 'tablet', 'modified-release tablet': 'tablet', 'capsule': 'capsule', 'sachet': 'sachet',
              'nebule': 'nebule', 'syrup': 'bottle', 'suspension': 'bottle', 'solution': 'bottle',
              'nasal spray': 'bottle', 'nasal drops': 'bottle', 'ear drops': 'bottle', 'mouthwash': 'bottle',
              'cream': 'tube', 'gel': 'tube', 'inhaler': 'inhaler'}
COUNTED_UNITS = {'tablet', 'capsule', 'sachet', 'nebule'}  # prescribed per dose; the rest by the pack
CHILD_FORMS = {'syrup', 'suspension', 'sachet', 'nebule', 'cream', 'gel', 'nasal drops', 'ear drops', 'inhaler',
               'mouthwash', 'nasal spray', 'solution'}
MAKERS = ['Stada', 'Domesco', 'Imexpharm']  # the same product again from another maker (200 medicines in all)
SUPPLIERS = ['Công ty CP Dược Hậu Giang', 'Zuellig Pharma Việt Nam', 'DKSH Việt Nam', 'Sapharco',
             'Codupha', 'Phytopharma']

ALLERGIES = ['Penicillin', 'Aspirin', 'Sulfonamides', 'Seafood', 'Peanuts', 'Cephalosporins', 'Ibuprofen',
             'Dust mites', 'Latex']
# How the demo's allergies are recorded: a drug group, or a substance (the rest).
ALLERGY_GROUPS = {'Penicillin': 'penicillins', 'Cephalosporins': 'cephalosporins', 'Sulfonamides': 'sulfonamides'}
REACTIONS = ['rash', 'hives', 'itching', 'swelling of the lips', 'shortness of breath', 'vomiting']
AVOID_FOR_ALLERGY = {
    'Penicillin': {'Amoxicillin', 'Amoxicillin/Clavulanate'},
    'Cephalosporins': {'Cefuroxime'},
    'Aspirin': {'Aspirin', 'Ibuprofen', 'Diclofenac', 'Meloxicam'},
    'Ibuprofen': {'Ibuprofen', 'Diclofenac', 'Meloxicam'},
}

FAMILY_NAMES = [('Nguyễn', 38), ('Trần', 11), ('Lê', 9.5), ('Phạm', 7), ('Hoàng', 5), ('Huỳnh', 5), ('Phan', 4.5),
                ('Vũ', 3.9), ('Võ', 3.5), ('Đặng', 2.1), ('Bùi', 2), ('Đỗ', 1.4), ('Hồ', 1.3), ('Ngô', 1.3),
                ('Dương', 1), ('Lý', 0.5)]
MIDDLE_NAMES = {Sex.MALE: ['Văn', 'Hữu', 'Minh', 'Quốc', 'Đức', 'Thanh', 'Hoàng', 'Công', 'Gia', 'Ngọc'],
                Sex.FEMALE: ['Thị', 'Ngọc', 'Thu', 'Thanh', 'Minh', 'Thùy', 'Phương', 'Bảo', 'Mỹ', 'Kim']}
GIVEN_NAMES = {Sex.MALE: ['An', 'Bình', 'Dũng', 'Đức', 'Hải', 'Hùng', 'Khánh', 'Long', 'Minh', 'Nam', 'Phúc',
                          'Quân', 'Tâm', 'Tuấn', 'Huy', 'Khoa', 'Sơn', 'Thắng', 'Trung', 'Việt', 'Hiếu', 'Nghĩa',
                          'Kiên', 'Phong', 'Lộc'],
               Sex.FEMALE: ['An', 'Châu', 'Hà', 'Hạnh', 'Hương', 'Khánh', 'Lan', 'Linh', 'Mai', 'Ngân', 'Nhung',
                            'Thảo', 'Trang', 'Vy', 'Yến', 'Hằng', 'Nhi', 'Uyên', 'Loan', 'Thư', 'Hoa', 'Tuyết',
                            'Ánh', 'Diệp', 'Quỳnh']}
MOBILE_PREFIXES = ['090', '091', '093', '094', '096', '097', '098', '032', '033', '034', '035', '036', '037', '038',
                   '039', '070', '076', '077', '078', '079', '081', '082', '083', '084', '085', '086', '088', '089']
EMAIL_DOMAINS = ['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com']
# (city / district, province, streets, wards)
PLACES = [
    ('Quận 1', 'TP. Hồ Chí Minh', ['Lê Lợi', 'Nguyễn Huệ', 'Hai Bà Trưng', 'Pasteur'], ['Phường Bến Nghé',
                                                                                         'Phường Bến Thành']),
    ('Quận 3', 'TP. Hồ Chí Minh', ['Võ Văn Tần', 'Nam Kỳ Khởi Nghĩa', 'Cách Mạng Tháng Tám'],
     ['Phường Võ Thị Sáu', 'Phường 9']),
    ('Quận 10', 'TP. Hồ Chí Minh', ['Ba Tháng Hai', 'Sư Vạn Hạnh', 'Lý Thường Kiệt'], ['Phường 12', 'Phường 14']),
    ('Quận Bình Thạnh', 'TP. Hồ Chí Minh', ['Xô Viết Nghệ Tĩnh', 'Điện Biên Phủ', 'Phan Đăng Lưu'],
     ['Phường 25', 'Phường 3']),
    ('Quận Gò Vấp', 'TP. Hồ Chí Minh', ['Quang Trung', 'Nguyễn Oanh', 'Phan Văn Trị'], ['Phường 10', 'Phường 17']),
    ('TP. Thủ Đức', 'TP. Hồ Chí Minh', ['Võ Văn Ngân', 'Kha Vạn Cân', 'Lê Văn Việt'],
     ['Phường Linh Chiểu', 'Phường Hiệp Phú']),
    ('Quận Tân Bình', 'TP. Hồ Chí Minh', ['Cộng Hòa', 'Trường Chinh', 'Hoàng Văn Thụ'], ['Phường 4', 'Phường 13']),
    ('TP. Biên Hòa', 'Đồng Nai', ['Phạm Văn Thuận', 'Đồng Khởi'], ['Phường Tân Mai', 'Phường Tam Hiệp']),
    ('TP. Thủ Dầu Một', 'Bình Dương', ['Đại lộ Bình Dương', 'Yersin'], ['Phường Phú Cường', 'Phường Hiệp Thành']),
    ('Quận Cầu Giấy', 'Hà Nội', ['Xuân Thủy', 'Trần Duy Hưng'], ['Phường Dịch Vọng', 'Phường Trung Hòa']),
]
INSURERS = ['Bảo Việt', 'Bảo hiểm PVI', 'Prudential Việt Nam', 'Manulife Việt Nam', 'AIA Việt Nam']
DISCOUNTS = [(10, 'Senior citizen'), (5, 'Returning patient'), (20, 'Staff family'), (15, 'Charity programme')]

MORNING = (8 * 60, 12 * 60)
AFTERNOON = (13 * 60 + 30, 17 * 60)


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------

@dataclass
class DemoAccount:
    username: str
    role: Role
    full_name: str


DEMO_ACCOUNTS = [DemoAccount(username, role, full_name) for username, role, full_name in STAFF]


@dataclass
class DemoSummary:
    accounts: list[DemoAccount]
    counts: dict[str, int]  # table name -> rows inserted


async def is_empty(session: AsyncSession) -> bool:
    """True when the clinic has neither staff accounts nor patients."""
    users = (await session.exec(select(func.count()).select_from(User))).one()
    patients = (await session.exec(select(func.count()).select_from(Patient))).one()
    return users == 0 and patients == 0


async def load_demo(session: AsyncSession, *, password: str, today: date, tz: ZoneInfo, patients: int = 2000,
                    seed: int = 7) -> DemoSummary:
    """Fill an empty database with demo data and commit. Raises Conflict if any account or patient exists."""
    if not await is_empty(session):
        raise Conflict('The database already holds staff accounts or patients: demo data can only be loaded '
                       'into an empty clinic database.')
    # one hash (and salt) per account; Argon2 releases the GIL, so hash them side by side
    hashes = await asyncio.gather(*(asyncio.to_thread(hash_password, password) for _ in STAFF))
    builder = _DemoBuilder(Random(seed), today=today, tz=tz)
    accounts = builder.build(patients=patients, password_hashes=hashes)
    builder.add('audit_log', at=utcnow(), user_id=builder.user_ids['admin'], username='admin', action='demo_loaded',
                entity='', entity_id=None, detail=f'{patients} patients, seed {seed}')
    await _insert_all(session, builder.rows)
    await session.commit()
    return DemoSummary(accounts=accounts, counts={name: len(rows) for name, rows in builder.rows.items()})


async def _insert_all(session: AsyncSession, rows: dict[str, list[dict]]) -> None:
    """executemany per table in foreign-key order; then move PostgreSQL id sequences past the explicit ids."""
    for table in models.metadata.sorted_tables:
        table_rows = rows.get(table.name)
        for start in range(0, len(table_rows or ()), INSERT_CHUNK):
            await session.exec(sa.insert(table), params=table_rows[start:start + INSERT_CHUNK])
    if (await session.connection()).dialect.name != 'postgresql':
        return
    for table in models.metadata.sorted_tables:
        if rows.get(table.name) and table.name in _TABLES_WITH_ID:
            await session.exec(sa.text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :value)"),
                               params={'table': table.name, 'value': max(row['id'] for row in rows[table.name])})


# --------------------------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------------------------

@dataclass
class _Batch:
    row: dict
    receipt: dict  # the RECEIPT stock movement; its quantity is set at the end
    received: date
    leftover: int  # what stays on the shelf today
    round_to: int = 1  # round the received quantity up to whole packs
    dispensed: int = 0


@dataclass
class _Medicine:
    id: int
    generic: str
    form: str
    unit: str
    price: int
    name: str
    batches: list[_Batch] = field(default_factory=list)


@dataclass
class _PlannedVisit:
    patient: int  # index into _DemoBuilder.patients
    day: date
    doctor: int  # index into DOCTORS
    diagnosis: Diagnosis
    walk_in: bool
    consult_minutes: int
    units: int  # 5-minute slots taken on the doctor's day
    start_minute: int = 0  # local minutes after midnight when the slot starts


@dataclass
class _PatientInfo:
    id: int
    row: dict
    dob: date
    sex: Sex
    allergies: set[str]
    main_specialty: int


def shifts(weekday: int) -> list[tuple[int, int, tuple[int, int]]]:
    """(doctor index, room index, (start, end) in local minutes) of one weekday.

    Doctors i and i+5 share consultation room i: on Mon/Wed/Fri doctor i works the morning and doctor i+5 the
    afternoon, on Tue/Thu/Sat the other way round; on Sunday only doctors 0-4 work, mornings. So no room is ever
    double-booked and every doctor works mornings and afternoons in the week.
    """
    result = []
    for room in range(5):
        first, second = room, room + 5
        if weekday == 6:
            result.append((first, room, MORNING))
            continue
        morning, afternoon = (first, second) if weekday % 2 == 0 else (second, first)
        result.append((morning, room, MORNING))
        result.append((afternoon, room, AFTERNOON))
    return result


class _DemoBuilder:
    """Builds every demo row as a dict with an explicit id, keyed by table name, in FK-safe order of creation."""

    def __init__(self, rng: Random, *, today: date, tz: ZoneInfo) -> None:
        self.rng = rng
        self.today = today
        self.tz = tz
        self.first_day = today - timedelta(days=HISTORY_DAYS)
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.user_ids: dict[str, int] = {}
        self.doctor_ids: list[int] = []
        self.doctor_user: dict[int, int] = {}  # doctor index -> user id (only the demo doctor account)
        self.room_ids: list[int] = []
        self.service_ids: dict[str, int] = {}
        self.services: dict[str, tuple] = {spec[0]: spec for spec in SERVICES}
        self.queue_ids: list[int] = []  # per doctor index
        self.medicines: list[_Medicine] = []
        self.medicines_by_generic: dict[str, list[_Medicine]] = defaultdict(list)
        self.patients: list[_PatientInfo] = []
        self.counters = {'invoice': 0, 'receipt': 0}
        self.doctor_schedule = {weekday: {doctor: (room, block) for doctor, room, block in shifts(weekday)}
                                for weekday in range(7)}

    # -- helpers ---------------------------------------------------------------------------------------------

    def add_row(self, table: str, **values) -> dict:
        """Append a row and return it (still mutable until insert); tables with an ``id`` key get the next id."""
        rows = self.rows[table]
        if table in _TABLES_WITH_ID:
            values['id'] = len(rows) + 1
        rows.append(values)
        return values

    def add(self, table: str, **values) -> int:
        """Append a row; returns its id (0 for tables keyed otherwise)."""
        return self.add_row(table, **values).get('id', 0)

    def at(self, day: date, minute: float) -> datetime:
        """Clinic-local ``day`` plus ``minute`` minutes after midnight, as an aware UTC datetime."""
        local = datetime.combine(day, time(), tzinfo=self.tz) + timedelta(minutes=minute)
        return local.astimezone(timezone.utc)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    # -- the whole build ------------------------------------------------------------------------------------

    def build(self, *, patients: int, password_hashes: list[str]) -> list[DemoAccount]:
        accounts = self.build_staff(password_hashes)
        self.build_specialties()
        self.build_doctors()
        self.build_rooms()
        self.build_services()
        self.build_lab_panels()
        self.build_working_hours()
        self.build_queues()
        self.build_medicines()
        self.build_patients(patients)
        self.build_history()
        self.build_today_appointments()
        self.finish_stock()
        self.add('number_sequences', name='patient_code', last_value=len(self.patients))
        self.add('number_sequences', name='invoice', last_value=self.counters['invoice'])
        self.add('number_sequences', name='receipt', last_value=self.counters['receipt'])
        return accounts

    # -- staff, clinic set-up -------------------------------------------------------------------------------

    def build_staff(self, password_hashes: list[str]) -> list[DemoAccount]:
        created = self.at(self.first_day - timedelta(days=30), 8 * 60)
        accounts = []
        for (username, role, full_name), password_hash in zip(STAFF, password_hashes):
            self.user_ids[username] = self.add(
                'users', username=username, full_name=full_name, email=f'{username}@clinicflow.example',
                phone=self.mobile(), role=role, password_hash=password_hash, is_active=True,
                must_change_password=False, failed_logins=0, created_at=created)
            accounts.append(DemoAccount(username=username, role=role, full_name=full_name))
        return accounts

    def build_specialties(self) -> None:
        for name, description, keywords in SPECIALTIES:
            keywords = f'{keywords}, {VIETNAMESE_COMPLAINTS[name]}' if name in VIETNAMESE_COMPLAINTS else keywords
            self.add('specialties', name=name, description=description, keywords=keywords,
                     name_translations=in_vietnamese(name))

    def build_doctors(self) -> None:
        phones: list[str] = []
        while len(phones) < len(DOCTORS):
            phone = self.mobile()
            if phone not in phones:
                phones.append(phone)
        for index, (full_name, specialties) in enumerate(DOCTORS):
            user_id = self.user_ids['doctor'] if index == 0 else None
            doctor_id = self.add('doctors', user_id=user_id, full_name=full_name, title='Dr.',
                                 license_number=f'{1000 + 37 * index:06d}/HCM-CCHN', phone=phones[index],
                                 email=f'{search_key(full_name).replace(" ", ".")}@clinicflow.example', is_active=True)
            self.doctor_ids.append(doctor_id)
            if user_id:
                self.doctor_user[index] = user_id
            for specialty in specialties:
                self.add('doctor_specialties', doctor_id=doctor_id, specialty_id=specialty + 1)

    def build_rooms(self) -> None:
        for code, name, kind, floor in ROOMS:
            self.room_ids.append(self.add('clinic_rooms', code=code, name=name, kind=kind, floor=floor,
                                          is_active=True, name_translations=in_vietnamese(name)))

    def build_services(self) -> None:
        for code, name, kind, specialty, minutes, price in SERVICES:
            self.service_ids[code] = self.add(
                'services', code=code, name=name, kind=kind, name_translations=in_vietnamese(name),
                specialty_id=None if specialty is None else specialty + 1, duration_minutes=minutes, price=price,
                description='', is_active=True)
        for index, (_, specialties) in enumerate(DOCTORS):
            offered = [code for code, _, kind, specialty, *_ in SERVICES
                       if specialty in specialties and kind in (ServiceKind.CONSULTATION, ServiceKind.PROCEDURE)]
            for code in offered:
                self.add('doctor_services', doctor_id=self.doctor_ids[index], service_id=self.service_ids[code])

    def build_lab_panels(self) -> None:
        """Each lab test's analytes and ranges; ``self.panels`` keeps them (as rows) to judge the demo results."""
        self.panels: dict[str, list[tuple[dict, list[models.LabReferenceRange]]]] = {}
        self.high_wbc_due = True
        for code, analytes in LAB_PANELS.items():
            for position, (name, unit, ranges) in enumerate(analytes):
                analyte = self.add_row('lab_analytes', service_id=self.service_ids[code], position=position,
                                       name=name, unit=unit, is_active=True)
                kept = []
                for sex, min_age, max_age, *limits in ranges:
                    low, high, critical_low, critical_high = (None if x is None else Decimal(x) for x in limits)
                    row = self.add_row('lab_reference_ranges', analyte_id=analyte['id'], sex=sex,
                                       min_age_years=min_age, max_age_years=max_age, low=low, high=high,
                                       critical_low=critical_low, critical_high=critical_high)
                    kept.append(models.LabReferenceRange(**row))
                self.panels.setdefault(code, []).append((analyte, kept))

    def add_result_values(self, code: str, order_id: int, patient: _PatientInfo, day: date) -> bool:
        """The values of a demo lab result, judged like the lab's; mostly in range (a stream of its own, so the
        rest of the demo does not change with the panels). Returns whether any value is flagged."""
        rng, flagged = Random(order_id), False
        age = lab_results.age_on(patient.dob, day)
        for position, (analyte, ranges) in enumerate(self.panels[code]):
            limits = lab_results.limits_of(lab_results.choose_range(ranges, patient.sex, age))
            low = limits.low if limits.low is not None else Decimal(0)
            high = limits.high if limits.high is not None else low * 2 + 1
            exponent = min((n.as_tuple().exponent for n in (limits.low, limits.high) if n is not None), default=0)
            spread = rng.choice([1.25, 0.8]) if rng.random() < 0.1 else 1  # one value in ten out of range
            number = Decimal(str(rng.uniform(float(low), float(high)) * spread)).quantize(Decimal(1).scaleb(exponent))
            value = str(number)
            if analyte['name'] == 'WBC' and self.high_wbc_due:
                value, self.high_wbc_due = DEMO_HIGH_WBC, False
            flag = lab_results.judge(value, limits)
            flagged = flagged or flag not in (models.ResultFlag.NORMAL, models.ResultFlag.NONE)
            self.add('result_values', order_id=order_id, analyte_id=analyte['id'], position=position,
                     name=analyte['name'], value=value, numeric_value=Decimal(value), unit=analyte['unit'],
                     reference=lab_results.reference_text(limits), flag=flag)
        return flagged

    def build_working_hours(self) -> None:
        for weekday in range(7):
            for doctor, room, (start, end) in shifts(weekday):
                self.add('working_hours', doctor_id=self.doctor_ids[doctor], room_id=self.room_ids[room],
                         weekday=weekday, start_time=_clock(start), end_time=_clock(end))

    def build_queues(self) -> None:
        for index, (full_name, _) in enumerate(DOCTORS):
            self.queue_ids.append(self.add('queues', name=f'Dr. {full_name}', prefix='ABCDEFGHIJ'[index],
                                           kind=QueueKind.DOCTOR, doctor_id=self.doctor_ids[index],
                                           room_id=self.room_ids[index % 5], is_active=True,
                                           name_translations={'vi': f'BS. {full_name}'}))
        for name, prefix, kind, room in [('Laboratory', 'L', QueueKind.LAB, 5), ('Imaging', 'X', QueueKind.IMAGING, 6),
                                         ('Procedures', 'P', QueueKind.PROCEDURE, 7)]:
            self.add('queues', name=name, prefix=prefix, kind=kind, doctor_id=None, room_id=self.room_ids[room],
                     is_active=True, name_translations=in_vietnamese(name))
        codes = [code for code, *_ in ROOMS]
        for name, prefix, kind, room_code in WINDOW_QUEUES:
            self.add('queues', name=name, prefix=prefix, kind=kind, doctor_id=None,
                     room_id=self.room_ids[codes.index(room_code)], is_active=True,
                     name_translations=in_vietnamese(name))

    # -- pharmacy stock ------------------------------------------------------------------------------------

    def build_medicines(self, count: int = 200) -> None:
        rng = self.rng
        expired = set(rng.sample(range(count), 6))  # a few with an expired batch still on the shelf
        soon = set(rng.sample(sorted(set(range(count)) - expired), 20))  # some expiring within 60 days
        low = set(rng.sample(sorted(set(range(count)) - expired - soon), 8))  # end below their reorder level
        for index in range(count):
            generic, strength, form, price = MEDICINE_BASE[index % len(MEDICINE_BASE)]
            round_ = index // len(MEDICINE_BASE)
            name = f'{generic} {strength} {form}' + (f' ({MAKERS[round_ - 1]})' if round_ else '')
            unit = FORM_UNITS[form]
            price = _round_to(price * (1 + 0.08 * round_), 100)
            counted = unit in COUNTED_UNITS
            reorder = rng.randrange(50, 310, 10) if counted else rng.randrange(5, 25)
            medicine_id = self.add('medicines', code=f'M{index + 1:04d}', name=name, generic_name=generic, form=form,
                                   strength=strength, unit=unit, price=price, reorder_level=reorder, is_active=True,
                                   drug_group=next(iter(groups_of_name(generic)), ''))
            medicine = _Medicine(medicine_id, generic, form, unit, price, name)
            self.medicines.append(medicine)
            self.medicines_by_generic[generic].append(medicine)
            pack = 100 if counted else 10
            # the main batch: received before the year of history, valid through today
            received = self.first_day - timedelta(days=rng.randint(10, 200))
            leftover = rng.randint(1, reorder - 1) if index in low else int(reorder * rng.uniform(1.2, 4))
            self.add_batch(medicine, received, received + timedelta(days=rng.randint(730, 1095)), leftover,
                           round_to=1 if index in low else pack)
            if index in low:
                continue
            if index in expired:
                received = self.today - timedelta(days=rng.randint(500, 700))
                self.add_batch(medicine, received, self.today - timedelta(days=rng.randint(3, 60)),
                               rng.randint(3, 40) if counted else rng.randint(1, 6))
            if index in soon:
                received = self.today - timedelta(days=rng.randint(400, 500))
                self.add_batch(medicine, received, self.today + timedelta(days=rng.randint(5, 60)),
                               rng.randint(10, 80) if counted else rng.randint(2, 10))
            if len(medicine.batches) < 3 and self.chance(0.55):  # a restock during the year
                received = self.today - timedelta(days=rng.randint(15, 300))
                self.add_batch(medicine, received, received + timedelta(days=rng.randint(540, 1095)),
                               rng.randint(1, 5) * pack, round_to=pack)

    def add_batch(self, medicine: _Medicine, received: date, expiry: date, leftover: int, round_to: int = 1) -> None:
        rng = self.rng
        supplier = rng.choice(SUPPLIERS)
        batch_no = f'{received:%y%m}-{len(medicine.batches) + 1}{rng.randint(100, 999)}'
        received_at = self.at(received, rng.randint(8 * 60, 16 * 60))
        row = self.add_row('stock_batches', medicine_id=medicine.id, batch_no=batch_no, expiry_date=expiry,
                           supplier=supplier, quantity=0,
                           unit_cost=_round_to(medicine.price * rng.uniform(0.55, 0.75), 10), received_at=received_at)
        receipt = self.add_row('stock_movements', batch_id=row['id'], medicine_id=medicine.id,
                               kind=MovementKind.RECEIPT, quantity=0, reason=f'Goods received from {supplier}',
                               dispense_id=None, user_id=self.user_ids['pharmacy'], at=received_at)
        medicine.batches.append(_Batch(row=row, receipt=receipt, received=received, leftover=leftover,
                                       round_to=round_to))

    def finish_stock(self) -> None:
        """Receipts = dispensed + what is left, so the ledger of every batch sums to its quantity."""
        for medicine in self.medicines:
            for batch in medicine.batches:
                received = _round_up(batch.dispensed + batch.leftover, batch.round_to)
                batch.receipt['quantity'] = received
                batch.row['quantity'] = received - batch.dispensed

    def batch_for(self, medicine: _Medicine, day: date) -> _Batch:
        """First expiry first, among batches received before ``day`` and not expired on it."""
        usable = [b for b in medicine.batches if b.received < day < b.row['expiry_date']]
        return min(usable, key=lambda b: b.row['expiry_date'])

    # -- patients ----------------------------------------------------------------------------------------------

    def build_patients(self, count: int) -> None:
        rng = self.rng
        families, weights = zip(*FAMILY_NAMES)
        national_ids: set[str] = set()
        parent_phones: list[str] = []
        for number in range(1, count + 1):
            sex = Sex.FEMALE if self.chance(0.52) else Sex.MALE
            full_name = ' '.join([rng.choices(families, weights)[0], rng.choice(MIDDLE_NAMES[sex]),
                                  rng.choice(GIVEN_NAMES[sex])])
            age = self.random_age()
            dob = self.today - timedelta(days=365 * age + rng.randint(1, 364) + age // 4)
            if age < 16 and parent_phones and self.chance(0.7):
                phone = rng.choice(parent_phones)  # families share a phone
            elif age >= 80 and self.chance(0.3):
                phone = None
            else:
                phone = self.patient_mobile()
                if 22 <= age <= 55:
                    parent_phones.append(phone)
            email = None
            if age >= 16 and self.chance(0.55):
                email = f'{search_key(full_name).replace(" ", ".")}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}'
            national_id = None
            if age >= 18 and self.chance(0.6):
                while national_id is None or national_id in national_ids:
                    national_id = f'0{rng.randint(1, 96):02d}{rng.randint(0, 999_999_999):09d}'
                national_ids.add(national_id)
            allergies = set(rng.sample(ALLERGIES, rng.choice([1, 1, 1, 2]))) if self.chance(0.1) else set()
            if number == 1:
                allergies = {'Penicillin'}  # the first patient: always one to try the allergy check on
            # the others: "no known allergies" or nobody asked (own random numbers: the rest stays as it was)
            asked = bool(allergies) or Random(f'allergy-{number}').random() < 0.4
            registered = max(self.first_day - timedelta(days=rng.randint(1, 900)), dob)
            created = self.at(registered, rng.randint(7 * 60, 17 * 60))
            row = self.add_row('patients', code=f'P{number:07d}', full_name=full_name,
                               search_name=search_key(full_name), date_of_birth=dob, sex=sex, phone=phone,
                               email=email, national_id=national_id, allergies='',
                               allergy_status=(AllergyStatus.RECORDED if allergies else AllergyStatus.NONE) if asked
                               else AllergyStatus.UNKNOWN, notes='', created_at=created, updated_at=created)
            patient_id = row['id']
            self.add_allergies(patient_id, allergies, created)
            self.patients.append(_PatientInfo(patient_id, row, dob, sex, allergies, self.main_specialty(age)))
            city, province, streets, wards = rng.choice(PLACES)
            self.add('addresses', patient_id=patient_id, kind='home',
                     line1=f'{rng.randint(1, 450)} {rng.choice(streets)}', line2=rng.choice(wards), city=city,
                     province=province, postal_code='', country='Việt Nam', is_primary=True)

    def add_allergies(self, patient_id: int, allergies: set[str], at: datetime) -> None:
        """Structured entries: a drug group (penicillins, ...) or a substance, with a reaction and a severity."""
        rng = Random(f'allergies-{patient_id}')
        for allergy in sorted(allergies):
            severity = rng.choice([AllergySeverity.MILD, AllergySeverity.MODERATE, AllergySeverity.MODERATE,
                                   AllergySeverity.SEVERE])
            group = ALLERGY_GROUPS.get(allergy, '')
            self.add('patient_allergies', patient_id=patient_id, substance='' if group else allergy,
                     drug_group=group, reaction=rng.choice(REACTIONS), severity=severity, is_active=True,
                     recorded_by_id=None, recorded_at=at)

    def random_age(self) -> int:
        band = self.rng.choices([(0, 5), (6, 15), (16, 39), (40, 64), (65, 90)], [10, 12, 35, 30, 13])[0]
        return self.rng.randint(*band)

    def main_specialty(self, age: int) -> int:
        if age < 16:
            return PEDIATRICS
        weights = [45, 0, 15, 20 if age >= 40 else 5, 20]
        return self.rng.choices(range(5), weights)[0]

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f'{self.rng.randint(0, 9_999_999):07d}'

    def patient_mobile(self) -> str:
        """A mobile number as patients' numbers are stored: E.164, and one ``phones`` takes as valid."""
        while (number := phones.to_e164(self.mobile(), 'VN')) is None:
            pass
        return number

    # -- a year of visits -------------------------------------------------------------------------------------

    def build_history(self) -> None:
        planned = self.plan_visits()
        for visit in planned:
            self.add_visit(visit)
        self.number_tickets(planned)

    def plan_visits(self) -> list[_PlannedVisit]:
        """Pick dates, doctors and diagnoses, then lay each doctor's day out without overlaps."""
        rng = self.rng
        booked: dict[tuple[int, date], list[_PlannedVisit]] = defaultdict(list)
        for index, patient in enumerate(self.patients):
            first = max(self.first_day, patient.dob + timedelta(days=1))
            span = (self.today - first).days - 1  # visits end yesterday
            if span < 0:
                continue
            chronic, days_taken = None, set()
            for _ in range(rng.choices(range(9), [8, 18, 20, 17, 13, 10, 7, 4, 3])[0]):
                day = first + timedelta(days=rng.randint(0, span))
                specialty = patient.main_specialty if self.chance(0.65) else self.other_specialty(patient)
                diagnosis = chronic if chronic and self.chance(0.6) else self.diagnosis_for(specialty)
                if diagnosis.chronic:
                    chronic = diagnosis
                visit = self.plan_slot(booked, index, day, first, diagnosis, days_taken)
                if visit is not None:
                    booked[(visit.doctor, visit.day)].append(visit)
                    days_taken.add(visit.day)
        planned = []
        for (doctor, day), visits in booked.items():
            self.lay_out_day(doctor, day, visits)
            planned.extend(visits)
        planned.sort(key=lambda v: (v.day, v.start_minute, v.doctor))
        return planned

    def other_specialty(self, patient: _PatientInfo) -> int:
        age = (self.today - patient.dob).days // 365
        return self.main_specialty(age) if age >= 16 else self.rng.choice([PEDIATRICS, PEDIATRICS, DERMATOLOGY, ENT])

    def diagnosis_for(self, specialty: int) -> Diagnosis:
        return self.rng.choice([d for d in DIAGNOSES if d.specialty == specialty])

    def plan_slot(self, booked: dict, patient: int, day: date, first: date, diagnosis: Diagnosis,
                  days_taken: set[date]) -> _PlannedVisit | None:
        """A doctor of the diagnosis' specialty with time left that day (or a nearby day); None if all full.

        A patient sees at most one doctor a day.
        """
        rng = self.rng
        consult_minutes = rng.randint(10, 25)
        service_minutes = self.services[_consultation_code(diagnosis.specialty)][4]
        units = math.ceil(max(consult_minutes, service_minutes) / SLOT_MINUTES)
        for shift in [0, 1, -1, 2, -2, 3, -3]:
            candidate = day + timedelta(days=shift)
            if not first <= candidate < self.today or candidate in days_taken:
                continue
            working = self.doctor_schedule[candidate.weekday()]
            doctors = [d for d in working if diagnosis.specialty in DOCTORS[d][1]]
            rng.shuffle(doctors)
            for doctor in doctors:
                _, (start, end) = working[doctor]
                used = sum(v.units for v in booked[(doctor, candidate)])
                if (used + units) * SLOT_MINUTES <= end - start - 15:
                    return _PlannedVisit(patient, candidate, doctor, diagnosis, self.chance(0.3), consult_minutes,
                                         units)
        return None

    def lay_out_day(self, doctor: int, day: date, visits: list[_PlannedVisit]) -> None:
        """Spread the visits over the doctor's block with random gaps, in 5-minute slots, never overlapping."""
        rng = self.rng
        _, (start, end) = self.doctor_schedule[day.weekday()][doctor]
        free = (end - start) // SLOT_MINUTES - sum(v.units for v in visits)
        cuts = sorted(rng.randint(0, free) for _ in visits)
        rng.shuffle(visits)
        position, previous_cut = 0, 0
        for visit, cut in zip(visits, cuts):
            position += cut - previous_cut
            previous_cut = cut
            visit.start_minute = start + position * SLOT_MINUTES
            position += visit.units

    def add_visit(self, plan: _PlannedVisit) -> None:
        rng = self.rng
        patient = self.patients[plan.patient]
        doctor_id = self.doctor_ids[plan.doctor]
        room_index, _ = self.doctor_schedule[plan.day.weekday()][plan.doctor]
        consult_code = _consultation_code(plan.diagnosis.specialty)
        slot = plan.start_minute
        consult_start = slot + rng.randint(0, plan.units * SLOT_MINUTES - plan.consult_minutes)
        consult_end = consult_start + plan.consult_minutes
        checked_in = slot - rng.randint(10, 60 if plan.walk_in else 30)
        if patient.row['created_at'] > self.at(plan.day, checked_in):  # registered at this visit
            patient.row['created_at'] = patient.row['updated_at'] = self.at(plan.day, checked_in - 3)

        appointment_id = None
        if not plan.walk_in:
            appointment_id = self.add_past_appointment(plan, patient, room_index, consult_code)
        visit_row = self.add_row('visits', patient_id=patient.id, appointment_id=appointment_id, doctor_id=doctor_id,
                            visit_date=plan.day, status=VisitStatus.CLOSED, is_walk_in=plan.walk_in,
                            checked_in_at=self.at(plan.day, checked_in),
                            consultation_started_at=self.at(plan.day, consult_start),
                            consultation_ended_at=self.at(plan.day, consult_end), closed_at=None,
                            checked_in_by_id=self.user_ids['reception'])
        visit_id = visit_row['id']
        age = (plan.day - patient.dob).days // 365
        self.add('queue_tickets', queue_id=self.queue_ids[plan.doctor], service_date=plan.day, number=0,
                 visit_id=visit_id, patient_id=patient.id, status=TicketStatus.DONE,
                 priority=1 if age >= 75 else 0, priority_reason='Elderly' if age >= 75 else '',
                 appointment_at=self.at(plan.day, slot) if appointment_id else None,
                 room_id=self.room_ids[room_index], transferred_from_id=None, call_count=1,
                 created_at=self.at(plan.day, checked_in), called_at=self.at(plan.day, consult_start - 1),
                 started_at=self.at(plan.day, consult_start), finished_at=self.at(plan.day, consult_end))
        record_id = self.add_record(plan, patient, visit_id, age, consult_start, consult_end)

        lines: list[tuple] = [(InvoiceItemKind.CONSULTATION, consult_code, None, None, 1,
                               self.services[consult_code][5])]
        ready = consult_end + rng.randint(3, 10)  # minutes: when the patient is done with services
        if plan.diagnosis.services and self.chance(0.42):
            ready, order_lines = self.add_orders(plan, visit_id, consult_end)
            lines += order_lines
        if plan.diagnosis.medicines and self.chance(0.68):
            ready, medicine_lines = self.add_prescription(plan, patient, visit_id, record_id, age, consult_end, ready)
            lines += medicine_lines
        self.add_invoice(plan, patient, visit_row, age, lines, ready)

    def add_past_appointment(self, plan: _PlannedVisit, patient: _PatientInfo, room_index: int,
                             consult_code: str) -> int:
        rng = self.rng
        source = rng.choice([BookingSource.PHONE, BookingSource.WEB, BookingSource.IN_PERSON])
        booked_on = plan.day - timedelta(days=rng.randint(0, 14))
        booked_at = self.at(booked_on, rng.randint(7 * 60, 20 * 60))
        start = self.at(plan.day, plan.start_minute)
        if booked_at >= start:
            booked_at = start - timedelta(hours=rng.randint(2, 20))
        appointment_id = self.add(
            'appointments', uuid=self.uuid(), patient_id=patient.id, doctor_id=self.doctor_ids[plan.doctor],
            room_id=self.room_ids[room_index], start_at=start,
            end_at=self.at(plan.day, plan.start_minute + self.services[consult_code][4]),
            status=AppointmentStatus.COMPLETED, source=source, reason=plan.diagnosis.complaint, notes='',
            cancel_reason='', sequence=0,
            created_by_id=None if source == BookingSource.WEB else self.user_ids['reception'],
            created_at=booked_at, updated_at=self.at(plan.day, plan.start_minute + plan.units * SLOT_MINUTES))
        self.add('appointment_services', appointment_id=appointment_id, service_id=self.service_ids[consult_code])
        return appointment_id

    def add_record(self, plan: _PlannedVisit, patient: _PatientInfo, visit_id: int, age: int, start: int,
                   end: int) -> int:
        rng = self.rng
        diagnosis = plan.diagnosis
        advice = rng.choice(CHRONIC_ADVICE if diagnosis.chronic else ADVICE)
        return self.add(
            'medical_records', visit_id=visit_id, patient_id=patient.id, doctor_id=self.doctor_ids[plan.doctor],
            status=RecordStatus.SIGNED, reason=diagnosis.complaint, symptoms=diagnosis.complaint,
            **self.vitals(age, patient.sex, diagnosis),
            preliminary_diagnosis=diagnosis.name, diagnosis_code=diagnosis.code, diagnosis=diagnosis.name,
            advice=advice, notes='', created_at=self.at(plan.day, start), updated_at=self.at(plan.day, end),
            signed_at=self.at(plan.day, end), signed_by_id=self.doctor_user.get(plan.doctor))

    def vitals(self, age: int, sex: Sex, diagnosis: Diagnosis) -> dict:
        rng = self.rng
        fever = diagnosis.fever and self.chance(0.8)
        temperature = rng.uniform(38.0, 39.6) if fever else rng.uniform(36.3, 37.2)
        if age == 0:
            weight, height = rng.uniform(3.5, 10), rng.uniform(50, 76)
        elif age < 16:
            weight, height = (2 * age + 8) * rng.uniform(0.85, 1.2), (75 + 6 * age) * rng.uniform(0.95, 1.05)
        elif sex == Sex.MALE:
            weight, height = rng.uniform(52, 88), rng.uniform(158, 180)
        else:
            weight, height = rng.uniform(43, 72), rng.uniform(148, 168)
        high_bp = diagnosis.code in ('I10', 'I25.1') or (age >= 60 and self.chance(0.3))
        systolic = rng.randint(140, 175) if high_bp else rng.randint(100, 135)
        diastolic = rng.randint(88, 105) if high_bp else rng.randint(62, 85)
        pulse = rng.randint(90, 130) if age < 6 else rng.randint(62, 95)
        return {'temperature_c': Decimal(f'{temperature:.1f}'), 'pulse_bpm': pulse + (12 if fever else 0),
                'bp_systolic': systolic if age >= 12 else None, 'bp_diastolic': diastolic if age >= 12 else None,
                'spo2': rng.randint(92, 97) if diagnosis.code == 'J45.9' else rng.randint(96, 100),
                'weight_kg': Decimal(f'{weight:.1f}'), 'height_cm': Decimal(f'{height:.1f}')}

    def add_orders(self, plan: _PlannedVisit, visit_id: int, consult_end: int) -> tuple[int, list[tuple]]:
        """1-2 completed lab / imaging / procedure orders (a lab panel's values with them); returns when the last
        one is done, and invoice lines."""
        rng = self.rng
        codes = rng.sample(plan.diagnosis.services, min(len(plan.diagnosis.services), rng.choice([1, 1, 2])))
        lines, clock = [], consult_end
        for code in codes:
            _, name, kind, _, minutes, price = self.services[code]
            started = clock + rng.randint(3, 20)
            clock = started + minutes
            order_id = self.add(
                'service_orders', visit_id=visit_id, service_id=self.service_ids[code],
                ordered_by_id=self.doctor_ids[plan.doctor], status=OrderStatus.COMPLETED, price=price, notes='',
                result_text=rng.choice(RESULTS[kind]), performed_by_id=self.user_ids['lab'],
                ordered_at=self.at(plan.day, consult_end - 1), started_at=self.at(plan.day, started),
                completed_at=self.at(plan.day, clock))
            if code in self.panels:
                flagged = self.add_result_values(code, order_id, self.patients[plan.patient], plan.day)
                self.rows['service_orders'][-1]['result_text'] = \
                    'Values outside the reference range are flagged.' if flagged else RESULTS[kind][0]
            lines.append((InvoiceItemKind.SERVICE, code, order_id, None, 1, price))
        return clock + rng.randint(2, 10), lines

    def add_prescription(self, plan: _PlannedVisit, patient: _PatientInfo, visit_id: int, record_id: int, age: int,
                         consult_end: int, ready: int) -> tuple[int, list[tuple]]:
        """A prescription of 1-3 medicines, dispensed in full from stock; returns when done, and invoice lines."""
        rng = self.rng
        avoid = set().union(*(AVOID_FOR_ALLERGY.get(allergy, set()) for allergy in patient.allergies))
        generics = [g for g in plan.diagnosis.medicines if g not in avoid and self.medicines_by_generic.get(g)]
        if not generics:
            return ready, []
        generics = rng.sample(generics, min(len(generics), rng.choice([1, 2, 2, 3])))
        doctor_id = self.doctor_ids[plan.doctor]
        prescription_id = self.add('prescriptions', visit_id=visit_id, record_id=record_id, doctor_id=doctor_id,
                                   status=PrescriptionStatus.DISPENSED, notes='',
                                   created_at=self.at(plan.day, consult_end - 2),
                                   issued_at=self.at(plan.day, consult_end))
        dispensed_at = self.at(plan.day, ready + rng.randint(2, 10))
        dispense_id = self.add('dispenses', prescription_id=prescription_id, visit_id=visit_id,
                               pharmacist_id=self.user_ids['pharmacy'], notes='', at=dispensed_at)
        lines = []
        for generic in generics:
            medicine = self.pick_medicine(generic, age)
            dose, times, days, quantity, instructions = self.dosage(medicine, plan.diagnosis, age)
            item_id = self.add('prescription_items', prescription_id=prescription_id, medicine_id=medicine.id,
                               dose=dose, times_per_day=times, duration_days=days, quantity=quantity,
                               instructions=instructions, dispensed_quantity=quantity)
            batch = self.batch_for(medicine, plan.day)
            batch.dispensed += quantity
            dispense_item_id = self.add('dispense_items', dispense_id=dispense_id, prescription_item_id=item_id,
                                        medicine_id=medicine.id, batch_id=batch.row['id'], quantity=quantity,
                                        unit_price=medicine.price, substitution_note='')
            self.add('stock_movements', batch_id=batch.row['id'], medicine_id=medicine.id,
                     kind=MovementKind.DISPENSE, quantity=-quantity, reason=f'Prescription {prescription_id}',
                     dispense_id=dispense_id, user_id=self.user_ids['pharmacy'], at=dispensed_at)
            lines.append((InvoiceItemKind.MEDICINE, medicine.name, None, dispense_item_id, quantity, medicine.price))
        return ready + rng.randint(12, 20), lines

    def pick_medicine(self, generic: str, age: int) -> _Medicine:
        options = self.medicines_by_generic[generic]
        suited = [m for m in options if (m.form in CHILD_FORMS) == (age < 12)]
        return self.rng.choice(suited or options)

    def dosage(self, medicine: _Medicine, diagnosis: Diagnosis, age: int) -> tuple[str, int, int, int, str]:
        """(dose, times per day, days, quantity, instructions)."""
        rng = self.rng
        days = 30 if diagnosis.chronic else rng.choice([3, 5, 5, 7, 7, 10])
        times = rng.choice([1, 2]) if diagnosis.chronic else rng.choice([2, 2, 3])
        instructions = rng.choice(['After meals', 'After meals', 'Before meals', 'In the morning', 'At bedtime'])
        if medicine.unit in COUNTED_UNITS:
            per_dose = 2 if medicine.unit == 'tablet' and age >= 16 and self.chance(0.1) else 1
            return (f'{per_dose} {medicine.unit}', times, days, per_dose * times * days, instructions)
        if medicine.unit == 'tube':
            return ('Apply a thin layer', times, days, rng.choice([1, 1, 2]), 'On the affected skin')
        if medicine.unit == 'inhaler':
            return ('2 puffs', times, days, 1, 'When short of breath; max 8 puffs a day')
        if medicine.form in ('syrup', 'suspension'):
            return ('5 ml', times, days, rng.choice([1, 1, 2]), instructions)
        return (_PACK_DOSES.get(medicine.form, 'As directed'), times, days, 1, '')

    def add_invoice(self, plan: _PlannedVisit, patient: _PatientInfo, visit_row: dict, age: int,
                    lines: list[tuple], ready: int) -> None:
        """Invoice with its items, optional discount / insurance, and 1-2 payments (a few recent ones partial)."""
        rng = self.rng
        created = self.at(plan.day, ready)
        subtotal = sum(quantity * price for *_, quantity, price in lines)
        discount, reason, insurance, insurer, policy = 0, '', 0, '', ''
        if age >= 60 and self.chance(0.3) or self.chance(0.04):
            percent, reason = (10, 'Senior citizen') if age >= 60 else rng.choice(DISCOUNTS[1:])
            discount = _round_to(subtotal * percent / 100, 1000)
            reason = f'{reason} ({percent}%)'
        if age >= 16 and self.chance(0.12):
            insurer, policy = rng.choice(INSURERS), f'HD-{rng.randint(10_000_000, 99_999_999)}'
            insurance = min(_round_to(subtotal * rng.uniform(0.3, 0.8), 1000), subtotal - discount - 1000)
            insurance = max(insurance, 0)
        total = subtotal - discount - insurance
        partial = (self.today - plan.day).days <= 7 and self.chance(0.08) and total >= 20_000
        self.counters['invoice'] += 1
        invoice_row = self.add_row(
            'invoices', number=f'INV-{plan.day.year}-{self.counters["invoice"]:06d}', patient_id=patient.id,
            visit_id=visit_row['id'], status=InvoiceStatus.PARTIALLY_PAID if partial else InvoiceStatus.PAID,
            subtotal=subtotal, discount_amount=discount, discount_reason=reason,
            discount_approved_by_id=self.user_ids['admin'] if discount else None, insurance_amount=insurance,
            insurer=insurer, insurance_policy_no=policy, voucher_code=None, total=total, amount_paid=0,
            void_reason='', created_by_id=self.user_ids['cashier'], created_at=created, updated_at=created)
        invoice_id = invoice_row['id']
        for kind, code_or_name, order_id, dispense_item_id, quantity, price in lines:
            description = self.services[code_or_name][1] if kind != InvoiceItemKind.MEDICINE else code_or_name
            self.add('invoice_items', invoice_id=invoice_id, kind=kind, description=description,
                     service_order_id=order_id, dispense_item_id=dispense_item_id,
                     service_id=self.service_ids.get(code_or_name) if kind != InvoiceItemKind.MEDICINE else None,
                     quantity=quantity, unit_price=price, line_total=quantity * price)
        paid_to = _round_to(total * rng.uniform(0.3, 0.7), 1000) if partial else total
        paid_at = ready + rng.randint(1, 5)
        for amount in self.split_payment(paid_to):
            self.add_payment(invoice_id, plan.day, paid_at, amount)
            paid_at += rng.randint(1, 3)
        invoice_row['amount_paid'] = paid_to
        invoice_row['updated_at'] = self.at(plan.day, paid_at)
        if partial:
            visit_row['status'] = VisitStatus.AWAITING_PAYMENT
        elif (self.today - plan.day).days > 2 or self.chance(0.5):
            visit_row['closed_at'] = self.at(plan.day, paid_at + rng.randint(1, 10))
        else:
            visit_row['status'] = VisitStatus.PAID

    def split_payment(self, amount: int) -> list[int]:
        if amount <= 0:
            return []
        if amount >= 200_000 and self.chance(0.12):
            first = _round_to(amount * self.rng.uniform(0.3, 0.7), 10_000)
            if 0 < first < amount:
                return [first, amount - first]
        return [amount]

    def add_payment(self, invoice_id: int, day: date, minute: int, amount: int) -> None:
        rng = self.rng
        method = rng.choices([PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER,
                              PaymentMethod.E_WALLET], [55, 15, 15, 15])[0]
        tendered, change, reference = None, 0, ''
        if method == PaymentMethod.CASH:
            tendered = _round_up(amount, rng.choice([10_000, 50_000, 100_000]))
            change = tendered - amount
        elif method == PaymentMethod.CARD:
            reference = f'POS {rng.randint(100_000, 999_999)}'
        elif method == PaymentMethod.BANK_TRANSFER:
            reference = f'FT{day:%y%m%d}{rng.randint(10_000, 99_999)}'
        else:
            reference = f'{rng.choice(["MoMo", "ZaloPay", "VNPay"])} {rng.randint(10**9, 10**10 - 1)}'
        self.counters['receipt'] += 1
        self.add('payments', invoice_id=invoice_id, kind=PaymentKind.PAYMENT, method=method, amount=amount,
                 tendered=tendered, change_due=change, reference=reference, reason='',
                 receipt_number=f'R-{self.counters["receipt"]:06d}', cashier_id=self.user_ids['cashier'],
                 received_at=self.at(day, minute))

    def number_tickets(self, planned: list[_PlannedVisit]) -> None:
        """Number each doctor's tickets 1, 2, 3 ... per day in check-in order; record the day counters."""
        tickets: dict[tuple[int, date], list[dict]] = defaultdict(list)
        for ticket in self.rows['queue_tickets']:
            tickets[(ticket['queue_id'], ticket['service_date'])].append(ticket)
        for (queue_id, day), day_tickets in sorted(tickets.items(), key=lambda item: (item[0][1], item[0][0])):
            day_tickets.sort(key=lambda t: (t['created_at'], t['id']))
            for number, ticket in enumerate(day_tickets, start=1):
                ticket['number'] = number
            self.add('queue_day_counters', queue_id=queue_id, service_date=day, last_number=len(day_tickets))

    # -- today --------------------------------------------------------------------------------------------------

    def build_today_appointments(self) -> None:
        """About 40 booked appointments today on a 20-minute grid inside each doctor's block: no overlaps."""
        rng = self.rng
        slots = [(doctor, room, minute)
                 for doctor, room, (start, end) in shifts(self.today.weekday())
                 for minute in range(start, end - 19, 20)]
        children = [p for p in self.patients if (self.today - p.dob).days < 16 * 365 and p.dob < self.today]
        adults = [p for p in self.patients if (self.today - p.dob).days >= 16 * 365]
        rng.shuffle(children)
        rng.shuffle(adults)
        chosen = rng.sample(slots, min(TODAY_APPOINTMENTS, len(slots)))
        for doctor, room, minute in sorted(chosen, key=lambda slot: (slot[2], slot[0])):
            specialty = DOCTORS[doctor][1][0]
            pool = children if specialty == PEDIATRICS and children else adults or children
            if not pool:
                break
            patient = pool.pop()
            code = _consultation_code(specialty)
            source = rng.choice([BookingSource.PHONE, BookingSource.WEB, BookingSource.IN_PERSON])
            booked_at = self.at(self.today - timedelta(days=rng.randint(1, 10)), rng.randint(7 * 60, 20 * 60))
            appointment_id = self.add(
                'appointments', uuid=self.uuid(), patient_id=patient.id, doctor_id=self.doctor_ids[doctor],
                room_id=self.room_ids[room], start_at=self.at(self.today, minute),
                end_at=self.at(self.today, minute + self.services[code][4]),
                status=rng.choice([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED]), source=source,
                reason=self.diagnosis_for(specialty).complaint, notes='', cancel_reason='', sequence=0,
                created_by_id=None if source == BookingSource.WEB else self.user_ids['reception'],
                created_at=booked_at, updated_at=booked_at)
            self.add('appointment_services', appointment_id=appointment_id, service_id=self.service_ids[code])
            if specialty == GENERAL and self.chance(0.3):
                self.add('appointment_services', appointment_id=appointment_id, service_id=self.service_ids['XN-CBC'])


_TABLES_WITH_ID = {table.name for table in models.metadata.sorted_tables if 'id' in table.c}
_PACK_DOSES = {'nasal spray': '2 sprays each nostril', 'nasal drops': '3 drops each nostril',
               'ear drops': '4 drops in the ear', 'mouthwash': 'Rinse with 15 ml', 'solution': 'Apply to the wart'}


def _consultation_code(specialty: int) -> str:
    return next(code for code, _, kind, spec, *_ in SERVICES if kind == ServiceKind.CONSULTATION and spec == specialty)


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _round_to(value: float, step: int) -> int:
    return int(round(value / step)) * step


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step
