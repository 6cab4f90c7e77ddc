"""Patient records at reception: search as you type, create, edit, duplicate warnings."""
from datetime import date

import pytest

from models import Sex
from services import patients
from services.core.errors import Conflict, PermissionDenied, ValidationError
from services.patients import PatientInput
from tests.factories import make_clinic

TODAY = date(2026, 11, 23)


async def create(db, actor, **fields):
    data = PatientInput(**{'full_name': 'Nguyễn Văn Bình', 'phone': '0912 345 678', **fields})
    async with db.write() as session:
        return await patients.create(session, actor, data, today=TODAY)


async def find(db, actor, text):
    async with db.read() as session:
        return [hit.full_name for hit in await patients.search(session, actor, text)]


async def test_search_ignores_accents_case_and_word_order_of_typing(db):
    clinic = await make_clinic(db, patients=4)
    assert await find(db, clinic.reception, 'nguyen van') == ['Nguyễn Văn An']
    assert await find(db, clinic.reception, 'NGUYỄN an') == ['Nguyễn Văn An']
    assert await find(db, clinic.reception, 'duc') == ['Phạm Văn Đức']
    assert await find(db, clinic.reception, 'hong le') == ['Lê Thị Hồng']
    assert await find(db, clinic.reception, 'nobody here') == []


async def test_search_by_phone_code_and_birth_date(db):
    clinic = await make_clinic(db, patients=4)
    created = await create(db, clinic.reception, full_name='Đặng Thu Thảo', phone='+84 98 765 4321',
                           date_of_birth=date(1990, 2, 3))
    assert await find(db, clinic.reception, '4321') == ['Đặng Thu Thảo']
    assert await find(db, clinic.reception, created.code.lower()) == ['Đặng Thu Thảo']
    assert await find(db, clinic.reception, '03/02/1990') == ['Đặng Thu Thảo']
    assert await find(db, clinic.reception, '1990-02-03') == ['Đặng Thu Thảo']


async def test_new_patients_get_the_next_free_code_and_clean_data(db):
    clinic = await make_clinic(db, patients=3)  # P0000001..P0000003 exist without a sequence
    patient = await create(db, clinic.reception, full_name='  trần   THỊ mai ', phone='0912-345-678',
                           email='Mai@Example.TEST', sex=Sex.FEMALE)
    assert patient.code == 'P0000004'
    assert patient.full_name == 'trần THỊ mai' and patient.search_name == 'tran thi mai'
    assert patient.phone == '+84912345678' and patient.email == 'mai@example.test'


@pytest.mark.parametrize('fields, message', [
    ({'full_name': '  '}, 'full name'),
    ({'phone': '', 'date_of_birth': None}, 'phone number or a date of birth'),
    ({'phone': '12ab'}, 'not a valid phone number'),
    ({'phone': '123456'}, '"123456" is not a valid phone number'),
    ({'phone': '0123 456 7890'}, 'not a valid phone number'),  # a retired 11-digit mobile prefix
    ({'phone': '0281234567'}, 'not a valid phone number'),  # a Hồ Chí Minh City landline lacks a digit
    ({'phone': '0912345678', 'preferred_channel': 'email'}, 'need an email address'),
    ({'phone': '', 'date_of_birth': date(1990, 1, 1), 'email': 'a@example.test', 'preferred_channel': 'sms'},
     'need a phone number'),
    ({'phone': '0912345678', 'preferred_channel': 'fax'}, 'not one of the choices'),
    ({'date_of_birth': date(2030, 1, 1)}, 'cannot be in the future'),
    ({'email': 'not an email'}, 'valid email'),
    ({'full_name': 'x' * 121}, 'at most 120'),
])
async def test_bad_patient_input_is_refused_with_a_clear_message(db, fields, message):
    clinic = await make_clinic(db, patients=0)
    with pytest.raises(ValidationError, match=message):
        await create(db, clinic.reception, **fields)
    async with db.read() as session:
        assert await patients.count(session) == 0  # nothing half-saved


async def test_likely_duplicates_are_found_before_creating(db):
    clinic = await make_clinic(db, patients=0)
    await create(db, clinic.reception, full_name='Võ Minh Tuấn', phone='0987000111', date_of_birth=date(1985, 5, 5))
    async with db.read() as session:
        same_person = PatientInput(full_name='vo minh tuan', phone='', date_of_birth=date(1985, 5, 5))
        same_phone = PatientInput(full_name='Võ Thị Lan', phone='0987 000 111')
        stranger = PatientInput(full_name='Võ Minh Tuấn', phone='0911222333', date_of_birth=date(1990, 1, 1))
        assert [h.full_name for h in await patients.likely_duplicates(session, clinic.reception, same_person)] \
            == ['Võ Minh Tuấn']
        assert len(await patients.likely_duplicates(session, clinic.reception, same_phone)) == 1
        assert await patients.likely_duplicates(session, clinic.reception, stranger) == []


async def test_edit_refuses_a_stale_form_and_a_taken_national_id(db):
    clinic = await make_clinic(db, patients=0)
    first = await create(db, clinic.reception, national_id='079123456789')
    second = await create(db, clinic.reception, full_name='Bùi Thị Yến', phone='0909090909')
    async with db.write() as session:
        with pytest.raises(Conflict, match='already belongs'):
            await patients.update(session, clinic.reception, second.id,
                                  PatientInput(full_name='Bùi Thị Yến', phone='0909090909',
                                               national_id='079123456789'), today=TODAY)
    async with db.write() as session:
        with pytest.raises(Conflict, match='changed this patient meanwhile'):
            await patients.update(session, clinic.reception, first.id,
                                  PatientInput(full_name='Nguyễn Văn Bình', phone='0912345678'), today=TODAY,
                                  expected_updated_at=second.updated_at)
    async with db.write() as session:
        updated = await patients.update(session, clinic.reception, first.id,
                                        PatientInput(full_name='Nguyễn Văn Bình', phone='0912345679',
                                                     address='12 Lê Lợi, Quận 1, TP.HCM'),
                                        today=TODAY, expected_updated_at=first.updated_at)
        assert updated.phone == '+84912345679'
        assert await patients.primary_address(session, first.id) == '12 Lê Lợi, Quận 1, TP.HCM'


async def test_only_reception_registers_patients(db):
    clinic = await make_clinic(db, patients=0)
    with pytest.raises(PermissionDenied):
        await create(db, clinic.cashier)


async def test_search_puts_what_was_typed_first_at_the_counter(db):
    clinic = await make_clinic(db, patients=4)
    for name, phone in (('Trần Thị An', '0911 000 111'), ('Lê Trần Anh', '0911 000 222'),
                        ('Trần Văn Bảo', '0922 111 000'), ('Võ Thị Trâm', '0933 000 333')):
        await create(db, clinic.reception, full_name=name, phone=phone)
    # names that start with the text first, then the names with a word that does; never the middle of a word
    assert await find(db, clinic.reception, 'tran') == ['Trần Thị An', 'Trần Văn Bảo', 'Lê Trần Anh']
    assert await find(db, clinic.reception, 'tran an') == ['Trần Thị An', 'Lê Trần Anh']
    assert await find(db, clinic.reception, 'an') == ['Lê Trần Anh', 'Nguyễn Văn An', 'Trần Thị An']
    # a phone number that ends with the digits before one that only contains them
    assert await find(db, clinic.reception, '000') == ['Trần Văn Bảo', 'Lê Trần Anh', 'Trần Thị An',
                                                       'Võ Thị Trâm']


async def test_percent_and_underscore_typed_are_letters_not_wildcards(db):
    clinic = await make_clinic(db, patients=4)
    await create(db, clinic.reception, full_name='Nguyễn 100% Khỏe')
    await create(db, clinic.reception, full_name='Lê A_B')
    assert await find(db, clinic.reception, '%') == []
    assert await find(db, clinic.reception, '%_') == []
    assert await find(db, clinic.reception, '100%') == ['Nguyễn 100% Khỏe']
    assert await find(db, clinic.reception, '%k') == []
    assert await find(db, clinic.reception, 'nguyen %') == []
    assert await find(db, clinic.reception, 'a_b') == ['Lê A_B']
    assert await find(db, clinic.reception, 'a_') == ['Lê A_B']
    assert await find(db, clinic.reception, 'n_') == []
