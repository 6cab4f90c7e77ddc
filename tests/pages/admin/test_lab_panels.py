"""The lab panels tab: the administrator adds a value to a lab test's panel and its reference range, with a clear
message for a range that cannot be right."""
from __future__ import annotations

from decimal import Decimal

from nicegui.testing import User
from sqlmodel import select

from models import LabAnalyte, LabReferenceRange, Sex
from services.core.db import get_db
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import rows_where, signed_in


async def test_the_admin_adds_a_value_and_its_range_to_a_lab_panel(user: User):
    clinic = await signed_in(user)
    await user.open('/admin/catalog?tab=lab')
    rows = await rows_where(user, 'lab-panels-table', lambda rows: len(rows) == 1)
    assert rows[0]['name'] == 'Blood count' and rows[0]['values'] == '—'
    user.find(marker='lab-panels-table').trigger('rowClick', [{}, rows[0], 0])
    await user.should_see(marker='panel-dialog', retries=RETRIES)
    user.find(marker='analyte-name').type('Hb')
    user.find(marker='analyte-unit').type('g/dL')
    user.find(marker='add-analyte').click()
    await user.should_see(marker='add-range-0', retries=RETRIES)
    user.find(marker='add-range-0').click()
    await user.should_see(marker='range-dialog', retries=RETRIES)
    element(user, 'range-sex').set_value('female')
    user.find(marker='range-low').type('16')
    user.find(marker='range-high').type('12')
    user.find(marker='range-save').click()
    await user.should_see('The low limit must not be above the high limit.', retries=RETRIES)
    user.find(marker='range-low').clear().type('12,0')
    user.find(marker='range-high').clear().type('15.5')
    user.find(marker='range-critical-low').type('7')
    user.find(marker='range-save').click()
    await user.should_see(marker='range-text', content='female: 12.0–15.5 · critical < 7', retries=RETRIES)
    async with get_db().read() as session:
        analyte = (await session.exec(select(LabAnalyte).where(LabAnalyte.service_id == clinic.lab_id))).one()
        saved = (await session.exec(select(LabReferenceRange))).one()
    assert (analyte.name, analyte.unit) == ('Hb', 'g/dL')
    assert (saved.sex, saved.low, saved.high, saved.critical_low) == (Sex.FEMALE, Decimal('12'), Decimal('15.5'),
                                                                     Decimal('7'))


async def test_values_move_and_ranges_are_removed_from_the_panel(user: User):
    clinic = await signed_in(user)
    async with get_db().write() as session:
        wbc, hb = (LabAnalyte(service_id=clinic.lab_id, position=position, name=name, unit='')
                   for position, name in enumerate(('WBC', 'Hb')))
        session.add_all([wbc, hb])
        await session.flush()
        session.add(LabReferenceRange(analyte_id=wbc.id, low=Decimal('4'), high=Decimal('10')))
        await session.commit()
    await user.open('/admin/catalog?tab=lab')
    rows = await rows_where(user, 'lab-panels-table', lambda rows: rows and rows[0]['values'] == 2)
    user.find(marker='lab-panels-table').trigger('rowClick', [{}, rows[0], 0])
    await user.should_see(marker='range-text', content='anyone: 4.0–10.0', retries=RETRIES)
    user.find(marker='move-down-0').click()
    user.find(marker='delete-range').click()
    await user.should_see('Range removed.', retries=RETRIES)
    await user.should_not_see(marker='range-text', retries=RETRIES)
    async with get_db().read() as session:
        order = (await session.exec(select(LabAnalyte.name).order_by(LabAnalyte.position))).all()
    assert order == ['Hb', 'WBC']
