"""The audit log page lists who did what, newest first."""
from __future__ import annotations

from nicegui.testing import User

from tests.pages.admin.helpers import rows_where, signed_in


async def test_the_audit_log_shows_the_administrators_sign_in(user: User):
    await signed_in(user)
    await user.open('/admin/audit')
    rows = await rows_where(user, 'audit-table', lambda rows: any(r['action'] == 'Login' for r in rows))
    assert rows[0]['who'] == 'admin'
