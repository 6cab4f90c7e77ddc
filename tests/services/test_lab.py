"""The technicians' worklist: take an order, record results, upload files (checked, stored outside the web root),
send the patient back to the doctor."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from models import AuditLog, OrderStatus, QueueTicket, ResultFile, ResultFlag, ServiceKind, ServiceOrder, TicketStatus
from services import consultation, files, orders, queue
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.orders import ResultValue
from tests.clinical import TODAY, make_ward
from tests.factories import NOW, TZ

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64
PDF = b'%PDF-1.7\n' + b'x' * 64


async def ordered(db, ward) -> int:
    async with db.write() as session:
        created = await orders.place(session, ward.doctor, ward.visit_id, [ward.clinic.lab_id, ward.xray_id],
                                     notes='Fasting', now=NOW)
    return created[0].id


async def uploaded(db, ward, order_id: int, data_dir: Path) -> ResultFile:
    async with db.write() as session:
        return await files.upload(session, ward.technician, order_id, filename='scan.PNG', data=PNG,
                                  max_bytes=1000, data_dir=data_dir, now=NOW)


async def test_worklist_per_station_and_one_technician_per_order(db):
    ward = await make_ward(db)
    order_id = await ordered(db, ward)
    since = NOW - timedelta(hours=12)
    async with db.read() as session:
        lab = await orders.worklist(session, ward.technician, [ServiceKind.LAB], since=since)
        imaging = await orders.worklist(session, ward.technician, [ServiceKind.IMAGING], since=since)
    assert [o.service_name for o in lab] == ['Blood count'] and [o.service_name for o in imaging] == ['Chest X-ray']
    assert lab[0].patient_name == 'Lê Thị Hồng' and lab[0].notes == 'Fasting'
    async with db.write() as session:
        await orders.start(session, ward.technician, order_id, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match='already in progress'):
            await orders.start(session, ward.technician, order_id, now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match='only a pending order'):
            await orders.cancel(session, ward.doctor, order_id, reason='Not needed', now=NOW)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await orders.start(session, ward.pharmacist, order_id, now=NOW)


async def test_results_reach_the_chart(db):
    ward = await make_ward(db)
    order_id = await ordered(db, ward)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='row 1'):
            await orders.record_result(session, ward.technician, order_id, text='',
                                       values=[ResultValue('Hb', '')], complete=True, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='write the result'):
            await orders.record_result(session, ward.technician, order_id, text=' ', values=[], complete=True,
                                       now=NOW)
    async with db.write() as session:
        await orders.record_result(session, ward.technician, order_id, text='Mild anaemia',
                                   values=[ResultValue('Hb', '11.2', 'g/dL', '12-16'), ResultValue('', '')],
                                   complete=True, now=NOW)
    async with db.read() as session:
        chart = await consultation.chart(session, ward.doctor, ward.visit_id, today=TODAY, record_view=False)
    done = next(o for o in chart.orders if o.id == order_id)
    assert done.status == OrderStatus.COMPLETED and done.result_text == 'Mild anaemia'
    assert done.values == [ResultValue('Hb', '11.2', 'g/dL', '12-16', ResultFlag.LOW)]  # judged by its typed range
    assert done.performed_by == 'Lab'
    async with db.write() as session:  # a correction is allowed and audited
        await orders.record_result(session, ward.technician, order_id, text='Mild anaemia (repeat)', values=[],
                                   complete=True, now=NOW)
    async with db.read() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.action == 'result_corrected'))).one()


def test_sniffing_trusts_bytes_not_names():
    assert files.sniff(PNG) == ('image/png', '.png')
    assert files.sniff(b'\xff\xd8\xff\xe0' + b'0' * 10) == ('image/jpeg', '.jpg')
    assert files.sniff(PDF) == ('application/pdf', '.pdf')
    assert files.sniff(b'<html><script>') is None and files.sniff(b'MZ\x90\x00') is None
    assert files.safe_name('../../etc/passwd.png', '.png') == 'passwd.png'
    assert files.safe_name('C:\\scan "1".exe', '.pdf') == 'scan 1.pdf'


async def test_upload_checks_size_and_type_and_stores_outside_the_web_root(db, tmp_path: Path):
    ward = await make_ward(db)
    order_id = await ordered(db, ward)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='Only PNG or JPEG'):
            await files.upload(session, ward.technician, order_id, filename='x.png', data=b'GIF89a....',
                               max_bytes=1000, data_dir=tmp_path, now=NOW)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='at most'):
            await files.upload(session, ward.technician, order_id, filename='big.pdf', data=PDF * 100,
                               max_bytes=1000, data_dir=tmp_path, now=NOW)
    row = await uploaded(db, ward, order_id, tmp_path)
    stored = tmp_path / 'files' / row.storage_key
    assert stored.read_bytes() == PNG and row.filename == 'scan.png' and row.content_type == 'image/png'
    assert list((tmp_path / 'files').iterdir()) == [stored]  # the refused uploads left nothing behind


async def test_result_files_open_for_doctors_only_and_each_opening_is_audited(db, tmp_path: Path):
    ward = await make_ward(db)
    row = await uploaded(db, ward, await ordered(db, ward), tmp_path)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await files.open_file(session, ward.pharmacist, row.id, data_dir=tmp_path)
    async with db.write() as session:
        opened = await files.open_file(session, ward.doctor, row.id, data_dir=tmp_path)
    assert opened.path == tmp_path / 'files' / row.storage_key
    async with db.read() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.action == 'result_file_viewed'))).one()
        assert len((await session.exec(select(ResultFile))).all()) == 1


async def test_cancelled_orders_take_no_results(db):
    ward = await make_ward(db)
    order_id = await ordered(db, ward)
    async with db.write() as session:
        await orders.cancel(session, ward.doctor, order_id, reason='Patient declined', now=NOW)
    async with db.write() as session:
        with pytest.raises(Conflict, match='cancelled'):
            await orders.record_result(session, ward.technician, order_id, text='x', values=[], complete=True,
                                       now=NOW)
    async with db.read() as session:
        order = await session.get(ServiceOrder, order_id)
    assert order.status == OrderStatus.CANCELLED and 'Patient declined' in order.notes


# --- Back to the doctor ----------------------------------------------------------------------------------------------

async def sent_to_the_lab(db, ward) -> QueueTicket:
    """The doctor sends the walk-in patient to the lab: their ticket moves to the lab's queue."""
    async with db.read() as session:
        ticket = (await session.exec(select(QueueTicket))).one()
    async with db.write() as session:
        await queue.transfer(session, ward.doctor, ticket.id, ward.lab_queue_id, tz=TZ, now=NOW)
    return ticket


async def test_the_technician_sends_the_patient_back_to_their_doctors_queue(db):
    ward = await make_ward(db)
    first = await sent_to_the_lab(db, ward)
    async with db.write() as session:
        label = await orders.send_back_to_doctor(session, ward.technician, ward.visit_id, tz=TZ, now=NOW)
    async with db.read() as session:
        back = (await session.exec(select(QueueTicket).order_by(QueueTicket.id.desc()))).first()
    assert back.queue_id == first.queue_id and back.status == TicketStatus.WAITING
    assert label == 'A-002' and back.number == 2


async def test_a_patient_without_a_ticket_goes_back_in_person(db):
    ward = await make_ward(db)
    async with db.write() as session:
        ticket = (await session.exec(select(QueueTicket))).one()
        ticket.status = TicketStatus.DONE
        session.add(ticket)
        await session.commit()
    async with db.write() as session:
        assert await orders.send_back_to_doctor(session, ward.technician, ward.visit_id, tz=TZ, now=NOW) == ''
    async with db.read() as session:
        assert len((await session.exec(select(QueueTicket))).all()) == 1


async def test_only_technicians_send_patients_back(db):
    ward = await make_ward(db)
    await sent_to_the_lab(db, ward)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await orders.send_back_to_doctor(session, ward.pharmacist, ward.visit_id, tz=TZ, now=NOW)
