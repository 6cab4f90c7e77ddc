"""Lab panels and flags: the range that applies to the patient, values judged (comma decimals, critical limits),
flags worked out by the service whatever the screen sends, the critical alert after the commit only, and the
administrator's panel editing."""
from __future__ import annotations

import asyncio
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from models import AuditLog, Patient, ResultFlag, Sex
from models import ResultValue as ResultValueRow
from services import clinical_pdf, consultation, lab_results, orders
from services.core.boundary import _DEPTH
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.core.events import CriticalResult, OrdersChanged, bus
from services.lab_results import Range, RangeInput
from services.orders import ResultValue
from tests.clinical import make_ward
from tests.factories import NOW, TZ

WBC = Range(Decimal('4.0'), Decimal('10.0'))
POTASSIUM = Range(Decimal('3.5'), Decimal('5.1'), Decimal('2.5'), Decimal('6.5'))


async def add_analyte(db, admin, service_id: int, name: str, unit: str, *ranges: RangeInput) -> int:
    async with db.write() as session:
        analyte = await lab_results.save_analyte(session, admin, service_id, None, name=name, unit=unit)
    for data in ranges:
        async with db.write() as session:
            await lab_results.save_range(session, admin, analyte.id, None, data)
    return analyte.id


async def make_panel(db, ward) -> dict[str, int]:
    """The ward's blood count: WBC for anyone, Hb by sex and childhood, K with critical limits."""
    admin, lab = ward.clinic.admin, ward.clinic.lab_id
    return {
        'WBC': await add_analyte(db, admin, lab, 'WBC', '10^9/L', RangeInput(low='4,0', high='10.0')),
        'Hb': await add_analyte(db, admin, lab, 'Hb', 'g/dL',
                                RangeInput(low='12.5', high='15.5'),
                                RangeInput(sex=Sex.FEMALE, low='12.0', high='16.0'),
                                RangeInput(sex=Sex.MALE, low='13.0', high='17.0'),
                                RangeInput(min_age_years='0', max_age_years='12', low='11.0', high='14.0'),
                                RangeInput(sex=Sex.FEMALE, min_age_years='0', max_age_years='12', low='11.5',
                                           high='14.5')),
        'K': await add_analyte(db, admin, lab, 'K', 'mmol/L',
                               RangeInput(low='3.5', high='5.1', critical_low='2.5', critical_high='6.5')),
    }


async def set_patient(db, patient_id: int, sex: Sex, born: date | None) -> None:
    async with db.write() as session:
        patient = await session.get(Patient, patient_id)
        patient.sex, patient.date_of_birth = sex, born
        session.add(patient)
        await session.commit()


async def ordered_lab(db, ward) -> int:
    async with db.write() as session:
        return (await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id], now=NOW))[0].id


async def panel_of(db, ward, order_id: int) -> dict[str, str]:
    async with db.read() as session:
        view = await orders.order(session, ward.technician, order_id)
    return {row.name: row.reference for row in view.panel}


def test_values_are_judged_with_comma_or_point_and_critical_limits():
    assert lab_results.judge('11.8', WBC) == lab_results.judge('11,8', WBC) == ResultFlag.HIGH
    assert lab_results.judge(' 3,9 ', WBC) == ResultFlag.LOW
    assert lab_results.judge('4.0', WBC) == lab_results.judge('10', WBC) == ResultFlag.NORMAL
    assert lab_results.judge('6.9', POTASSIUM) == ResultFlag.CRITICAL_HIGH
    assert lab_results.judge('2.1', POTASSIUM) == ResultFlag.CRITICAL_LOW
    assert lab_results.judge('5.5', POTASSIUM) == ResultFlag.HIGH
    assert lab_results.judge('haemolysed', POTASSIUM) == ResultFlag.NONE
    assert lab_results.judge('positive', None, marked_abnormal=True) == ResultFlag.ABNORMAL
    assert lab_results.judge('1.2.3', WBC) == ResultFlag.NONE and lab_results.judge('12', None) == ResultFlag.NONE
    assert lab_results.reference_text(WBC) == '4.0–10.0'
    assert lab_results.reference_text(Range(Decimal('150'), Decimal('400'))) == '150–400'
    assert lab_results.reference_text(Range(high=Decimal('5.2'))) == '≤ 5.2'
    assert [lab_results.flag_mark(f) for f in (ResultFlag.HIGH, ResultFlag.CRITICAL_LOW, ResultFlag.NORMAL)] == \
        ['H', 'LL', '']


@pytest.mark.parametrize('sex, born, expected', [
    (Sex.FEMALE, date(1990, 5, 1), '12.0–16.0'),   # sex beats anyone
    (Sex.MALE, date(1990, 5, 1), '13.0–17.0'),
    (Sex.UNKNOWN, date(1990, 5, 1), '12.5–15.5'),  # the range for anyone
    (Sex.UNKNOWN, date(2020, 1, 1), '11.0–14.0'),  # the age band beats anyone
    (Sex.MALE, date(2020, 1, 1), '13.0–17.0'),     # sex alone beats the age band
    (Sex.FEMALE, date(2020, 1, 1), '11.5–14.5'),   # sex and age band beat the rest
    (Sex.FEMALE, date(2014, NOW.month, NOW.day), '12.0–16.0'),  # twelve on the order day: the band ends
    (Sex.UNKNOWN, None, '12.5–15.5'),              # no birth date: age bands never apply
])
async def test_the_most_specific_range_applies_by_sex_and_age_on_the_order_day(db, sex, born, expected):
    ward = await make_ward(db)
    await make_panel(db, ward)
    await set_patient(db, ward.patient_id, sex, born)
    panel = await panel_of(db, ward, await ordered_lab(db, ward))
    assert panel == {'WBC': '4.0–10.0', 'Hb': expected, 'K': '3.5–5.1'}


async def test_record_result_works_out_unit_range_and_flag_itself(db):
    ward = await make_ward(db)
    ids = await make_panel(db, ward)
    await set_patient(db, ward.patient_id, Sex.FEMALE, date(1990, 5, 1))
    order_id = await ordered_lab(db, ward)
    sent = [ResultValue('WBC', '11,8', 'cells', 'whatever', ResultFlag.NORMAL, ids['WBC']),  # lies from the page
            ResultValue('Hb', '', analyte_id=ids['Hb']),                                      # left empty
            ResultValue('k', '4.2'),                                                          # typed by name
            ResultValue('CRP', '12', 'mg/L', '0-5'),                                          # an extra row
            ResultValue('Smear', 'target cells', flag=ResultFlag.ABNORMAL)]
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='', values=sent, complete=True,
                                   now=NOW)
    async with db.read() as session:
        rows = (await session.exec(select(ResultValueRow).where(ResultValueRow.order_id == order_id)
                                   .order_by(ResultValueRow.position))).all()
    assert [(r.name, r.value, r.unit, r.reference, r.flag, r.analyte_id) for r in rows] == [
        ('WBC', '11,8', '10^9/L', '4.0–10.0', ResultFlag.HIGH, ids['WBC']),
        ('K', '4.2', 'mmol/L', '3.5–5.1', ResultFlag.NORMAL, ids['K']),
        ('CRP', '12', 'mg/L', '0-5', ResultFlag.HIGH, None),
        ('Smear', 'target cells', '', '', ResultFlag.ABNORMAL, None)]
    assert rows[0].numeric_value == Decimal('11.8') and rows[3].numeric_value is None
    async with db.read() as session:
        view = await orders.order(session, ward.doctor, order_id)
    assert [v.mark for v in view.values] == ['H', '', 'H', 'A']
    async with db.read() as session:  # the patient's history keeps what was out of range, with its marks
        entry, = await consultation.history(session, ward.patient_id)
    assert [(service, [(v.name, v.value, v.mark) for v in values]) for service, values in entry.results] == \
        [('Blood count', [('WBC', '11,8', 'H'), ('CRP', '12', 'H'), ('Smear', 'target cells', 'A')])]


async def test_a_critical_value_alerts_the_ordering_doctor_only_after_the_commit(db):
    ward = await make_ward(db)
    ids = await make_panel(db, ward)
    order_id = await ordered_lab(db, ward)
    critical, changed = [], []
    bus.subscribe(CriticalResult, critical.append)
    bus.subscribe(OrdersChanged, changed.append)
    potassium = [ResultValue('K', '6.9', analyte_id=ids['K'])]
    with pytest.raises(RuntimeError):  # part of a larger step that fails: nothing is said, nothing stays
        async with db.write() as session:
            session.sync_session.info[_DEPTH] = 1
            await orders.record_result(session, ward.technician, order_id, text='', values=potassium,
                                       complete=False, now=NOW)
            raise RuntimeError('the larger step failed')
    await asyncio.sleep(0.05)
    assert critical == [] and changed == []
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='', values=potassium, complete=False,
                                   now=NOW)
    await asyncio.sleep(0.05)
    assert [(e.order_id, e.visit_id, e.doctor_id) for e in critical] == \
        [(order_id, ward.visit_id, ward.clinic.doctor_ids[0])]
    async with db.read() as session:
        alert = await lab_results.critical_alert(session, ward.doctor, order_id)
        other = await lab_results.critical_alert(session, ward.clinic.admin, order_id)  # not the ordering doctor
    assert alert.message == 'Critical result for Lê Thị Hồng: K 6.9 mmol/L' and other is None
    async with db.write() as session:  # a normal result says nothing
        await orders.record_result(session, ward.technician, order_id, text='', values=[ResultValue('K', '4.0')],
                                   complete=True, now=NOW)
    await asyncio.sleep(0.05)
    assert len(critical) == 1


async def test_panel_editing_is_validated_audited_and_for_admins(db):
    ward = await make_ward(db)
    ids = await make_panel(db, ward)
    admin, lab = ward.clinic.admin, ward.clinic.lab_id
    wrong = [(RangeInput(low='10', high='4'), 'low limit must not be above'),
             (RangeInput(low='3.5', high='5.1', critical_low='4'), 'critical low limit must not be above'),
             (RangeInput(low='3.5', high='5.1', critical_high='5'), 'critical high limit must not be below'),
             (RangeInput(low='abc', high='5'), 'must be a number'),
             (RangeInput(), 'low limit, the high limit or both'),
             (RangeInput(low='1', min_age_years='12', max_age_years='6'), 'maximum age must be above'),
             (RangeInput(low='1', min_age_years='-1'), 'whole number of years')]
    for data, message in wrong:
        async with db.write() as session:
            with pytest.raises(ValidationError, match=message):
                await lab_results.save_range(session, admin, ids['K'], None, data)
    async with db.write() as session:
        with pytest.raises(Conflict, match='already has a range'):
            await lab_results.save_range(session, admin, ids['WBC'], None, RangeInput(low='3', high='9'))
    async with db.write() as session:
        with pytest.raises(Conflict, match='already has a value named'):
            await lab_results.save_analyte(session, admin, lab, None, name='wbc', unit='')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='not a lab test'):
            await lab_results.save_analyte(session, admin, ward.xray_id, None, name='Size', unit='cm')
    for actor in (ward.technician, ward.doctor):
        async with db.write() as session:
            with pytest.raises(PermissionDenied):
                await lab_results.save_analyte(session, actor, lab, None, name='Plt', unit='10^9/L')
    async with db.write() as session:
        await lab_results.move_analyte(session, admin, ids['K'], up=True)
    async with db.write() as session:
        await lab_results.set_analyte_active(session, admin, ids['WBC'], False)
    async with db.read() as session:
        panel = await lab_results.panel(session, admin, lab)
        actions = (await session.exec(select(AuditLog.action).where(AuditLog.action.like('lab_%')))).all()
    assert [(a.name, a.is_active) for a in panel] == [('WBC', False), ('K', True), ('Hb', True)]
    assert [r.who for r in panel[2].ranges] == ['anyone', 'female', 'male', 'anyone, 0–12 y', 'female, 0–12 y']
    panel_view = await panel_of(db, ward, await ordered_lab(db, ward))
    assert list(panel_view) == ['K', 'Hb']  # the order it is entered in, without the deactivated value
    assert {'lab_analyte_saved', 'lab_range_saved', 'lab_analyte_moved', 'lab_analyte_deactivated'} <= set(actions)


async def test_the_printed_result_marks_flagged_values(db, tmp_path):
    ward = await make_ward(db)
    ids = await make_panel(db, ward)
    order_id = await ordered_lab(db, ward)
    async with db.write() as session:
        with pytest.raises(Conflict, match='no result to print'):
            await orders.printable_result(session, ward.doctor, order_id)
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='Haemolysis not seen', complete=True,
                                   values=[ResultValue('WBC', '11.8', analyte_id=ids['WBC']),
                                           ResultValue('K', '6.9', analyte_id=ids['K'])], now=NOW)
    async with db.write() as session:
        view = await orders.printable_result(session, ward.doctor, order_id)
        with pytest.raises(PermissionDenied):
            await orders.printable_result(session, ward.pharmacist, order_id)
    path = tmp_path / 'result.pdf'
    path.write_bytes(clinical_pdf.result_pdf(view, clinic_name='Phòng khám Test', tz=TZ))
    text = subprocess.run(['pdftotext', '-layout', '-enc', 'UTF-8', str(path), '-'], check=True, capture_output=True,
                          text=True).stdout
    lines = [' '.join(line.split()) for line in text.splitlines() if line.strip()]
    assert 'LABORATORY RESULT' in lines and 'Patient: Lê Thị Hồng (P0000001)' in lines
    assert 'WBC 11.8 H 10^9/L 4.0–10.0' in lines and 'K 6.9 HH mmol/L 3.5–5.1' in lines
    async with db.read() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.action == 'result_printed'))).one()
