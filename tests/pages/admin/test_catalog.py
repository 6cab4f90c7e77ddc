"""The catalog page: a room and a medicine, with clear messages before they are saved."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import Medicine, Room, Specialty
from services.core import i18n
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import rows_where, signed_in


async def test_a_new_room_gets_clear_messages_and_is_saved(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=rooms')
    await user.should_see(marker='rooms-table', retries=RETRIES)
    user.find(marker='add-Add room').click()
    await user.should_see('New room', retries=RETRIES)
    user.find(marker='room-code').type('R 1!')
    user.find(marker='room-name').type('Ultrasound')
    user.find(marker='catalog-save').click()
    await user.should_see('The code needs 1 to 20 characters', retries=RETRIES)
    user.find(marker='room-code').clear().type('US1')
    element(user, 'room-kind').set_value('imaging')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    async with get_db().read() as session:
        room = (await session.exec(select(Room).where(Room.code == 'US1'))).one()
    assert room.kind.value == 'imaging'


async def test_a_new_medicines_price_is_read_as_typed(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=medicines')
    await user.should_see(marker='medicines-table', retries=RETRIES)
    user.find(marker='add-medicine-search').click()
    user.find(marker='medicine-code').type('AMOX500')
    user.find(marker='medicine-name').type('Amoxicillin 500 mg')
    user.find(marker='medicine-price').type('1.5')
    user.find(marker='catalog-save').click()
    await user.should_see('too many decimals', retries=RETRIES)
    user.find(marker='medicine-price').clear().type('2,500')
    user.find(marker='medicine-reorder').clear().type('100')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    await rows_where(user, 'medicines-table', lambda rows: any('2,500' in r['price'] for r in rows))


async def test_a_medicine_gets_a_drug_group_from_the_list(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=medicines')
    await user.should_see(marker='medicines-table', retries=RETRIES)
    user.find(marker='add-medicine-search').click()
    user.find(marker='medicine-code').type('AMOX500')
    user.find(marker='medicine-name').type('Moxilen 500 mg')
    user.find(marker='medicine-price').type('2,500')
    element(user, 'medicine-group').set_value('Penicillins')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    async with get_db().read() as session:
        medicine = (await session.exec(select(Medicine).where(Medicine.code == 'AMOX500'))).one()
    assert medicine.drug_group == 'penicillins'


async def test_a_medicine_sold_per_blister_records_its_pack(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=medicines')
    await user.should_see(marker='medicines-table', retries=RETRIES)
    user.find(marker='add-medicine-search').click()
    user.find(marker='medicine-code').type('PARA10')
    user.find(marker='medicine-name').type('Panadol 500 mg blister')
    user.find(marker='medicine-unit').clear().type('blister')
    user.find(marker='medicine-price').type('4,000')
    user.find(marker='medicine-per-pack').clear().type('10')
    user.find(marker='catalog-save').click()
    await user.should_see('A pack of 10 needs the unit inside it', retries=RETRIES)
    user.find(marker='medicine-base-unit').type('tablet')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    async with get_db().read() as session:
        medicine = (await session.exec(select(Medicine).where(Medicine.code == 'PARA10'))).one()
    assert (medicine.unit, medicine.units_per_pack, medicine.base_unit) == ('blister', 10, 'tablet')


async def test_a_room_gets_its_name_in_the_other_language(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=rooms')
    await user.should_see(marker='rooms-table', retries=RETRIES)
    user.find(marker='add-Add room').click()
    await user.should_see('Name in Tiếng Việt', retries=RETRIES)
    user.find(marker='room-code').type('US1')
    user.find(marker='room-name').type('Ultrasound')
    user.find(marker='room-name-vi').type('Phòng siêu âm')
    user.find(marker='catalog-save').click()
    await user.should_see('Saved.', retries=RETRIES)
    async with get_db().read() as session:
        room = (await session.exec(select(Room).where(Room.code == 'US1'))).one()
    assert room.name_translations == {'vi': 'Phòng siêu âm'}
    with i18n.use('vi'):
        assert i18n.pick(room.name, room.name_translations) == 'Phòng siêu âm'
    with i18n.use('en'):
        assert i18n.pick(room.name, room.name_translations) == 'Ultrasound'
    await user.open('/admin/catalog?tab=rooms')
    await rows_where(user, 'rooms-table', lambda rows: any(r['name'] == 'Ultrasound' for r in rows))


async def test_deactivating_a_specialty_warns_first_then_shows_it_deactivated(user: User):
    await signed_in(user)
    await user.open('/admin/catalog?tab=specialties')
    rows = await rows_where(user, 'specialties-table', lambda rows: len(rows) == 2)
    skin = next(r for r in rows if r['name'] == 'Dermatology')
    assert skin['state'] == 'active'
    user.find(marker='specialties-table').trigger('rowClick', [{}, skin, 1])
    await user.should_see(marker='catalog-toggle', retries=RETRIES)
    user.find(marker='catalog-toggle').click()
    await user.should_see('Before you deactivate it: Dr. Trần Văn Minh will have no active specialty left',
                          retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Specialty, skin['id'])).is_active  # warned, nothing changed yet
    user.find(marker='catalog-toggle').click()
    await user.should_see('Deactivated.', retries=RETRIES)
    await rows_where(user, 'specialties-table',
                     lambda rows: any(r['name'] == 'Dermatology' and r['state'] == 'deactivated' for r in rows))
    user.find(marker='specialties-table').trigger('rowClick', [{}, skin, 1])
    await user.should_see('Reactivate', retries=RETRIES)
    user.find(marker='catalog-toggle').click()
    await user.should_see('Reactivated.', retries=RETRIES)
    await rows_where(user, 'specialties-table',
                     lambda rows: any(r['name'] == 'Dermatology' and r['state'] == 'active' for r in rows))
