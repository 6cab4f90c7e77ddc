"""The display keys of the waiting-room boards: issued on the page (the board's address shown once), revoked."""
from nicegui.testing import User
from sqlmodel import select

from models import DisplayKey
from services import display_keys
from tests.conftest import RETRIES, sign_in
from tests.factories import make_clinic


async def test_admin_issues_and_revokes_a_display_key(db, user: User):
    await make_clinic(db)
    await sign_in(user, 'admin')
    await user.open('/admin/displays')
    await user.should_see('New display', retries=RETRIES)
    user.find(marker='display-name').type('Ground floor TV')
    user.find(marker='issue-key').click()
    await user.should_see(marker='display-url', retries=RETRIES)
    url = user.find(marker='display-url').elements.pop().text
    key = url.split('key=')[1]
    async with db.read() as session:
        row = (await session.exec(select(DisplayKey))).one()
        assert row.key_hash == display_keys.hash_key(key) and row.name == 'Ground floor TV'
        assert (await display_keys.verify(session, key)) is not None
    user.find(marker='display-keys').trigger('key_action', ['revoke', row.id])
    await user.should_see('Key revoked.', retries=RETRIES)
    async with db.read() as session:
        assert await display_keys.verify(session, key) is None


async def test_each_display_has_its_language_chosen_when_issued_and_changed_later(db, user: User):
    await make_clinic(db)
    await sign_in(user, 'admin')
    await user.open('/admin/displays')
    await user.should_see('New display', retries=RETRIES)
    user.find(marker='display-name').type('Ground floor TV')
    user.find(marker='display-language').elements.pop().value = 'both'
    user.find(marker='issue-key').click()
    await user.should_see(marker='display-url', retries=RETRIES)
    async with db.read() as session:
        row = (await session.exec(select(DisplayKey))).one()
    assert row.language == 'both'
    await user.should_see('Both, one after the other')
    user.find(marker='display-keys').trigger('key_action', ['language', row.id])
    await user.should_see(marker='display-language-choice', retries=RETRIES)
    user.find(marker='display-language-choice').elements.pop().value = 'en'
    user.find(marker='display-language-save').click()
    await user.should_see('The board now speaks this language.', retries=RETRIES)
    async with db.read() as session:
        assert (await session.get(DisplayKey, row.id)).language == 'en'


async def test_a_display_language_outside_the_list_is_refused_and_nothing_changes(db):
    import pytest

    from services.core.errors import ValidationError
    clinic = await make_clinic(db)
    async with db.write() as session:
        row, _key = await display_keys.issue(session, clinic.admin, 'TV', language='vi')
    for wrong in ('fr', 'VI ', 'both,en'):
        with pytest.raises(ValidationError, match="board's language"):
            async with db.write() as session:
                await display_keys.set_language(session, clinic.admin, row.id, wrong)
    async with db.read() as session:
        assert (await session.get(DisplayKey, row.id)).language == 'vi'
