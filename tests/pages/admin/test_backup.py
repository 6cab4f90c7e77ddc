"""The backup page: back up now, and download the backup (both audited)."""
from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlmodel import select

from models import AuditLog
from services.core.db import get_db
from tests.conftest import RETRIES, TEST_DATABASE_URL, element
from tests.pages.admin.helpers import signed_in


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith('sqlite'), reason='SQLite backups only (pg_dump on PostgreSQL)')
async def test_backup_page_backs_up_and_offers_the_download(user: User):
    await signed_in(user)
    await user.open('/admin/backup')
    await user.should_see('Backups (0)', retries=RETRIES)
    user.find(marker='backup-now').click()
    await user.should_see('Backups (1)', retries=RETRIES)
    name = element(user, 'backups-table').rows[0]['name']
    response = await user.http_client.get(f'/admin/backups/{name}')
    assert response.status_code == 200 and response.content.startswith(b'SQLite format 3')
    async with get_db().read() as session:
        actions = set((await session.exec(select(AuditLog.action))).all())
    assert {'backup_created', 'backup_downloaded'} <= actions
