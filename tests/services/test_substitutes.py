"""Substitutes at the pharmacy: only equivalent medicines (same active ingredient and strength, in any pack), the
quantity converted and rounded up to whole units sold, the reason when there is none, and the stock taken in the
substitute's own unit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models import DispenseItem, Medicine, PrescriptionItem, StockBatch
from services import catalog, pharmacy
from services.core.errors import ValidationError
from services.pharmacy import DispenseLine
from services.prescriptions import LineInput
from services.substitutes import ingredient_key, refusal, strength_key
from tests.clinical import TODAY, add_stock, make_ward, prescribed_and_finished
from tests.factories import NOW


def test_strengths_are_compared_as_amounts():
    assert strength_key('500mg') == strength_key('500 mg') == strength_key('0.5 g') == strength_key('0,5 G') \
        == strength_key('500000 mcg') == strength_key('500000 µg')
    assert strength_key('250 mg/5 ml') == strength_key('50mg/ml')
    assert strength_key('500 mg + 125 mg') == strength_key('0.5 g + 125mg')
    assert strength_key('500 mg') != strength_key('250 mg')
    assert strength_key('500 mg') != strength_key('500 mg/5 ml')
    assert strength_key('1000 IU') == strength_key('1000 UI') == strength_key('1000 đvqt')
    assert strength_key('') == ''
    assert strength_key('Forte  X') == strength_key('forte x')  # not an amount: compared as text


def test_active_ingredients_are_compared_without_accents_case_or_separators():
    assert ingredient_key(' PARACETAMOL ') == ingredient_key('paracetamol')
    assert ingredient_key('Amoxicillin/Clavulanic acid') == ingredient_key('amoxicillin + clavulanic  acid') \
        == ingredient_key('Amoxicillin và Clavulanic acid')
    assert ingredient_key('Acetaminophen') != ingredient_key('Paracetamol')  # no synonyms
    assert ingredient_key('Vitamin B1') != ingredient_key('Vitamin B12')


def test_a_refusal_says_what_differs():
    tablet = Medicine(code='A', name='Para A', generic_name='Paracetamol', strength='500 mg', unit='tablet', price=1)
    blister = Medicine(code='B', name='Para B', generic_name='paracetamol', strength='0.5 g', unit='blister',
                       base_unit='Tablet', units_per_pack=10, price=1)
    assert refusal(tablet, blister) == ''
    assert 'its strength is 650 mg, not 500 mg' in refusal(tablet, Medicine(
        name='Para 650', generic_name='Paracetamol', strength='650 mg', unit='tablet', price=1))
    assert 'its active ingredient is "Ibuprofen"' in refusal(tablet, Medicine(
        name='Ibu', generic_name='Ibuprofen', strength='500 mg', unit='tablet', price=1))
    assert 'counted in capsule, not in tablet' in refusal(tablet, Medicine(
        name='Para caps', generic_name='Paracetamol', strength='500 mg', unit='capsule', price=1))
    assert 'has no active ingredient recorded' in refusal(Medicine(name='X', unit='tablet', price=1), tablet)


async def add_medicine(db, **values) -> int:
    async with db.write() as session:
        medicine = Medicine(**{'price': 1_000, **values})
        session.add(medicine)
        await session.commit()
        return medicine.id


async def paracetamol_rx(db, ward, days: str = '5') -> tuple[int, int]:
    """Paracetamol, 1 tablet 4 times a day for ``days`` days: the prescription's id and its line's."""
    rx = await prescribed_and_finished(db, ward, [LineInput(ward.paracetamol, dose='1 tablet', times_per_day='4',
                                                            duration_days=days)])
    async with db.read() as session:
        return rx, (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0].item.id


async def plan_line(db, ward, rx: int) -> pharmacy.PlanLine:
    async with db.read() as session:
        return (await pharmacy.plan(session, ward.pharmacist, rx, today=TODAY)).lines[0]


async def test_only_equivalents_are_offered_in_stock_first_with_the_conversion(db):
    ward = await make_ward(db)
    blister = await add_medicine(db, code='P10', name='Panadol 500 mg (blister of 10)', generic_name='PARACETAMOL',
                                 strength='0,5 g', unit='blister', base_unit='tablet', units_per_pack=10)
    empty = await add_medicine(db, code='P1', name='Efferalgan 500 mg', generic_name='Paracétamol',
                               strength='500mg', unit='tablet')
    await add_medicine(db, code='P650', name='Paracetamol 650 mg', generic_name='Paracetamol', strength='650 mg',
                       unit='tablet')
    await add_medicine(db, code='OLD', name='Old paracetamol', generic_name='Paracetamol', strength='500 mg',
                       unit='tablet', is_active=False)
    await add_medicine(db, code='IBU', name='Ibuprofen 500 mg', generic_name='Ibuprofen', strength='500 mg',
                       unit='tablet')
    await add_stock(db, blister, 'B1', TODAY + timedelta(days=300), 6)
    rx, _ = await paracetamol_rx(db, ward)  # 20 tablets
    line = await plan_line(db, ward, rx)
    options = line.substitutes.options
    assert [(o.id, o.on_hand) for o in options] == [(blister, 6), (empty, 0)]  # in stock first; no 650 mg, no
    assert line.substitutes.reason == ''                                       # inactive, no other ingredient
    assert line.substitutes.conversion(20, 'tablet', options[0]) == '20 tablet = 2 blister of 10'
    assert line.substitutes.conversion(15, 'tablet', options[0]) == \
        '15 tablet = 2 blister of 10 (rounded up: 20 tablet)'
    assert line.substitutes.conversion(20, 'tablet', options[1]) == '20 tablet'  # nothing to convert


async def test_a_substitute_is_taken_from_stock_in_its_own_unit_rounded_up(db):
    ward = await make_ward(db)
    blister = await add_medicine(db, code='P10', name='Panadol 500 mg (blister of 10)', generic_name='Paracetamol',
                                 strength='500 mg', unit='blister', base_unit='tablet', units_per_pack=10,
                                 price=4_000)
    await add_stock(db, blister, 'B1', TODAY + timedelta(days=300), 6)
    rx, item_id = await paracetamol_rx(db, ward)  # 20 tablets owed
    async with db.write() as session:
        await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 15, blister, 'Patient asked '
                                                                            'for Panadol')], today=TODAY, now=NOW)
    async with db.read() as session:
        given = (await session.exec(select(DispenseItem))).one()
        batch = (await session.exec(select(StockBatch).where(StockBatch.medicine_id == blister))).one()
        item = await session.get(PrescriptionItem, item_id)
    assert (given.medicine_id, given.quantity, given.unit_price) == (blister, 2, 4_000)  # 15 tablets -> 2 blisters
    assert batch.quantity == 4 and item.dispensed_quantity == 15
    with pytest.raises(ValidationError, match='needs a note'):  # the substitution note rule still holds
        async with db.write() as session:
            await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 5, blister, '')],
                                    today=TODAY, now=NOW)


async def test_a_substitute_that_is_not_equivalent_is_refused_with_the_reason(db):
    ward = await make_ward(db)
    stronger = await add_medicine(db, code='P650', name='Paracetamol 650 mg', generic_name='Paracetamol',
                                  strength='650 mg', unit='tablet')
    await add_stock(db, stronger, 'S1', TODAY + timedelta(days=300), 100)
    rx, item_id = await paracetamol_rx(db, ward)
    with pytest.raises(ValidationError, match='its strength is 650 mg, not 500 mg'):
        async with db.write() as session:
            await pharmacy.dispense(session, ward.pharmacist, rx, [DispenseLine(item_id, 20, stronger, 'Out of '
                                                                                'stock')], today=TODAY, now=NOW)
    async with db.read() as session:
        assert (await session.exec(select(DispenseItem))).all() == []
        assert (await session.exec(select(StockBatch.quantity).where(StockBatch.medicine_id == stronger))).one() \
            == 100


async def test_each_reason_when_there_is_no_equivalent_to_give(db):
    ward = await make_ward(db)
    rx, _ = await paracetamol_rx(db, ward)
    assert (await plan_line(db, ward, rx)).substitutes.reason == \
        'No other medicine in the catalog contains Paracetamol 500 mg.'
    await add_medicine(db, code='P650', name='Paracetamol 650 mg', generic_name='paracetamol', strength='650 mg',
                       unit='tablet')
    assert (await plan_line(db, ward, rx)).substitutes.reason == (
        'No equivalent: Paracetamol is in the catalog only in other strengths or dose units: '
        'Paracetamol 650 mg (650 mg, tablet).')
    await add_medicine(db, code='EFF', name='Efferalgan 500 mg', generic_name='Paracetamol', strength='500mg',
                       unit='tablet')
    line = await plan_line(db, ward, rx)
    assert line.substitutes.reason == 'The equivalent medicines are all out of stock: Efferalgan 500 mg.'
    assert [o.name for o in line.substitutes.options] == ['Efferalgan 500 mg']
    async with db.write() as session:
        await catalog.save_medicine(session, ward.clinic.admin, ward.paracetamol, code='M1',
                                    name='Paracetamol 500 mg tablet', unit='tablet', price=500, reorder_level=50,
                                    generic_name='', strength='500 mg')
    assert (await plan_line(db, ward, rx)).substitutes.reason == (
        'Paracetamol 500 mg tablet has no active ingredient recorded, so no equivalent can be checked. An '
        'administrator can record it in Administration → Catalog & prices → Medicines (Generic name).')


async def test_the_catalog_records_the_pack_and_refuses_a_pack_without_its_unit(db):
    ward = await make_ward(db)
    async with db.write() as session:
        box = await catalog.save_medicine(session, ward.clinic.admin, None, code='BOX', name='Para box', unit='box',
                                          price=40_000, reorder_level='', generic_name='Paracetamol',
                                          strength='500 mg', units_per_pack='100', base_unit=' tablet ')
    assert (box.units_per_pack, box.base_unit) == (100, 'tablet')
    for per_pack, base, message in (('10', '', 'needs the unit inside it'), ('0', 'tablet', 'from 1 to 100000'),
                                    ('2.5', 'tablet', 'from 1 to 100000'), ('10', 'box', 'needs the unit inside')):
        with pytest.raises(ValidationError, match=message):
            async with db.write() as session:
                await catalog.save_medicine(session, ward.clinic.admin, None, code='BAD', name='Bad', unit='box',
                                            price=1, reorder_level=0, units_per_pack=per_pack, base_unit=base)
