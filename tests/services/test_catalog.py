"""The catalog: prices that never alter past invoices, prices as typed, codes, deactivating instead of deleting,
the keywords that lead a complaint to a specialty."""
from __future__ import annotations

import pytest
from sqlmodel import select

from models import (
    AuditLog,
    BookingSource,
    DoctorService,
    Invoice,
    InvoiceItem,
    InvoiceItemKind,
    Room,
    Service,
    ServiceKind,
    Specialty,
)
from services import booking, catalog, doctors_admin
from services.core import i18n
from services.core.errors import Conflict, ValidationError
from services.core.money import parse_money
from tests.factories import NOW, TZ, local, make_clinic


async def audit_actions(db) -> set[str]:
    async with db.read() as session:
        return set((await session.exec(select(AuditLog.action))).all())


async def test_a_price_change_never_alters_past_invoices(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        invoice = Invoice(number='INV-2026-000001', patient_id=clinic.patient_ids[0], subtotal=150_000,
                          total=150_000)
        session.add(invoice)
        await session.flush()
        session.add(InvoiceItem(invoice_id=invoice.id, kind=InvoiceItemKind.CONSULTATION,
                                description='General consultation', service_id=clinic.consultation_id,
                                unit_price=150_000, line_total=150_000))
        await session.commit()
    async with db.write() as session:
        await catalog.save_service(session, clinic.admin, clinic.consultation_id, code='C1',
                                   name='General consultation', kind='consultation', duration_minutes=20,
                                   price=parse_money('180,000', 0))
    async with db.read() as session:
        item = (await session.exec(select(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id))).one()
        stored_invoice = await session.get(Invoice, invoice.id)
        page = await catalog.list_services(session, clinic.admin, search='general')
    assert (item.unit_price, item.line_total, stored_invoice.total) == (150_000, 150_000, 150_000)
    assert page.rows[0].price == 180_000 and page.rows[0].duration_minutes == 20
    async with db.read() as session:
        change = (await session.exec(select(AuditLog).where(AuditLog.action == 'service_updated'))).one()
    assert "price 150000 -> 180000" in change.detail


@pytest.mark.parametrize('text, exponent, expected', [('150,000', 0, 150_000), ('12.50', 2, 1250), ('0', 0, 0)])
def test_a_typed_price_is_read_into_minor_units(text, exponent, expected):
    assert parse_money(text, exponent) == expected


@pytest.mark.parametrize('text, message', [('', 'enter the price'), ('abc', 'must be a number'),
                                           ('-5', 'cannot be negative'), ('1.5', 'too many decimals')])
def test_a_price_that_cannot_be_read_gets_a_clear_message(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_money(text, 0, 'price')


async def test_the_catalog_refuses_a_taken_code_and_bad_values(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(Conflict, match='R1 is already used by the room "Room 1"'):
            await catalog.save_room(session, clinic.admin, None, code='r1', name='Another', kind='consultation')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='duration'):
            await catalog.save_service(session, clinic.admin, None, code='X1', name='X', kind='lab',
                                       duration_minutes=0, price=100)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='code needs'):
            await catalog.save_medicine(session, clinic.admin, None, code='bad code!', name='X', unit='tablet',
                                        price=100, reorder_level=5)


async def test_a_room_in_a_doctors_weekly_hours_stays_active(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(Conflict, match='weekly hours of Dr. Nguyễn Thị Lan'):
            await catalog.set_room_active(session, clinic.admin, clinic.room_ids[0], False)


async def test_a_medicine_is_deactivated_instead_of_deleted(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        medicine = await catalog.save_medicine(session, clinic.admin, None, code='PARA500', name='Paracetamol 500 mg',
                                               unit='tablet', price=1_500, reorder_level='200')
    async with db.write() as session:
        await catalog.set_medicine_active(session, clinic.admin, medicine.id, False)
    async with db.read() as session:
        page = await catalog.list_medicines(session, clinic.admin, search='para')
    assert page.total == 1 and not page.rows[0].is_active
    assert {'medicine_created', 'medicine_deactivated'} <= await audit_actions(db)


async def test_a_medicines_drug_group_is_kept_for_the_allergy_check(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        known = await catalog.save_medicine(session, clinic.admin, None, code='MOX', name='Moxilen 500 mg',
                                            unit='capsule', price=1_500, reorder_level='0', drug_group='Penicillin')
        typed = await catalog.save_medicine(session, clinic.admin, None, code='LORA', name='Loratadine 10 mg',
                                            unit='tablet', price=800, reorder_level='0',
                                            drug_group=' Antihistamines ')
    assert known.drug_group == 'penicillins' and typed.drug_group == 'Antihistamines'
    with pytest.raises(ValidationError, match='drug group'):
        async with db.write() as session:
            await catalog.save_medicine(session, clinic.admin, known.id, code='MOX', name='Moxilen 500 mg',
                                        unit='capsule', price=1_500, reorder_level='0', drug_group='x' * 61)


async def test_a_specialtys_keywords_lead_a_complaint_to_it(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        specialty = await catalog.save_specialty(session, clinic.admin, None, name='Cardiology',
                                                 keywords='Chest pain;  palpitations\nchest pain')
    async with db.read() as session:
        found = await booking.specialties_for_complaint(session, 'palpitations at night')
    assert specialty.keywords == 'chest pain, palpitations' and [s.name for s in found] == ['Cardiology']
    assert 'specialty_created' in await audit_actions(db)


async def test_a_room_named_in_vietnamese_reads_in_the_readers_language(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        room = await catalog.save_room(session, clinic.admin, None, code='US1', name='Ultrasound', kind='imaging',
                                       name_translations={'vi': '  Phòng   siêu âm ', 'en': ''})
    async with db.read() as session:
        rooms = await catalog.list_rooms(session, clinic.admin)
    stored = next(r for r in rooms if r.id == room.id)
    assert stored.name_translations == {'vi': 'Phòng siêu âm'}
    with i18n.use('vi'):
        assert i18n.pick(stored.name, stored.name_translations) == 'Phòng siêu âm'
    with i18n.use('en'):
        assert i18n.pick(stored.name, stored.name_translations) == 'Ultrasound'
    async with db.write() as session:  # saved without translations: they stay as they were
        await catalog.save_room(session, clinic.admin, room.id, code='US1', name='Ultrasound room', kind='imaging')
    async with db.read() as session:
        assert (await session.get(Room, room.id)).name_translations == {'vi': 'Phòng siêu âm'}


async def test_a_name_in_an_unknown_language_is_refused(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='"fr" is not a language the clinic can use'):
            await catalog.save_specialty(session, clinic.admin, None, name='Cardiology',
                                         name_translations={'fr': 'Cardiologie'})
        with pytest.raises(ValidationError, match='The name in Tiếng Việt can have at most 120 characters'):
            await catalog.save_service(session, clinic.admin, None, code='X1', name='X-ray', kind='imaging',
                                       duration_minutes=10, price=0, name_translations={'vi': 'x' * 121})


async def test_a_deactivated_specialty_leaves_booking_but_stays_in_history(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        skin = (await session.exec(select(Specialty).where(Specialty.name == 'Dermatology'))).one()
        derm = Service(code='DERM', name='Skin consultation', kind=ServiceKind.CONSULTATION, duration_minutes=15,
                       price=200_000, specialty_id=skin.id)
        session.add(derm)
        await session.flush()
        session.add(DoctorService(doctor_id=clinic.doctor_ids[1], service_id=derm.id))
        await session.commit()
    async with db.write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0], service_id=derm.id,
                           doctor_id=clinic.doctor_ids[1], start_at=local(24, 9), source=BookingSource.PHONE,
                           tz=TZ, now=NOW)
    async with db.read() as session:
        assert [s.name for s in await booking.specialties_for_complaint(session, 'an itching rash')] == ['Dermatology']
        assert derm.id in [s.id for s in await booking.bookable_services(session)]
        warning = await catalog.specialty_deactivation_warning(session, clinic.admin, skin.id, now=NOW)
    assert warning == ('Dr. Trần Văn Minh will have no active specialty left (complaints will no longer suggest them). '
                       '1 upcoming appointment is for a service of this specialty: it stays booked.')
    async with db.write() as session:
        await catalog.set_specialty_active(session, clinic.admin, skin.id, False, now=NOW)
    async with db.read() as session:
        assert await booking.specialties_for_complaint(session, 'an itching rash') == []
        assert derm.id not in [s.id for s in await booking.bookable_services(session)]  # reception and /book
        assert [o.specialties for o in await booking.doctors_for(session, service_id=clinic.consultation_id)] \
            == ['General medicine', '']
        assert [s.name for s in await catalog.list_specialties(session, clinic.admin, active_only=True)] \
            == ['General medicine']
        rows = {r.id: r.specialties for r in await doctors_admin.list_doctors(session, clinic.admin)}
        audit = (await session.exec(select(AuditLog).where(AuditLog.action == 'specialty_deactivated'))).one()
    assert rows[clinic.doctor_ids[1]] == 'Dermatology'  # the doctor's record still names it
    assert 'Trần Văn Minh will have no active specialty left' in audit.detail
    with pytest.raises(ValidationError, match='Dermatology: this specialty is deactivated'):
        async with db.write() as session:  # no new link to it ...
            await doctors_admin.set_offer(session, clinic.admin, clinic.doctor_ids[0],
                                          specialty_ids=[skin.id], service_ids=[clinic.consultation_id])
    async with db.write() as session:  # ... but the doctor who has it keeps it when other things change
        await doctors_admin.set_offer(session, clinic.admin, clinic.doctor_ids[1], specialty_ids=[skin.id],
                                      service_ids=[clinic.consultation_id, derm.id])
    async with db.write() as session:
        await catalog.set_specialty_active(session, clinic.admin, skin.id, True, now=NOW)
    async with db.read() as session:
        assert [s.name for s in await booking.specialties_for_complaint(session, 'rash')] == ['Dermatology']
        assert derm.id in [s.id for s in await booking.bookable_services(session)]
