"""Settings saved on the settings page are data: the start-up settings never change, and a change is in force
only once it committed."""
import pytest

from services import clinic_settings
from services.core.errors import ValidationError
from services.core.settings import get_settings
from tests.factories import make_clinic


@pytest.fixture(autouse=True)
def start_up_settings_only():
    clinic_settings.put_in_force(None)
    yield
    clinic_settings.put_in_force(None)


async def test_a_saved_name_is_in_force_after_commit_and_the_start_up_settings_stay(db):
    clinic = await make_clinic(db)
    start_up = get_settings().clinic_name
    async with db.write() as session:
        await clinic_settings.save_clinic(session, clinic.admin, name='Phòng khám An Bình', address='', phone='')
    assert clinic_settings.current().clinic_name == 'Phòng khám An Bình'
    assert get_settings().clinic_name == start_up


async def test_a_change_that_does_not_commit_is_never_in_force(db):
    clinic = await make_clinic(db)
    before = clinic_settings.current()
    async with db.write() as session:
        await clinic_settings.save_clinic.__wrapped__(session, clinic.admin, name='Never saved', address='',
                                                      phone='')
        await session.rollback()
    assert clinic_settings.current() is before
    async with db.write() as session:
        with pytest.raises(ValidationError):
            await clinic_settings.save_region(session, clinic.admin, timezone='Mars/Base', currency='VND',
                                              language='en')
    assert clinic_settings.current() is before
