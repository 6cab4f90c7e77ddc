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
