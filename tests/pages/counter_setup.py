"""Setups shared by the page tests of the counter stations (lab, pharmacy, cashier): a clinic in the app's
database, opened in NiceGUI's simulated user."""
from __future__ import annotations

import asyncio

from nicegui.testing import User

from services import billing
from services.core.db import get_db
from tests.conftest import RETRIES, element, sign_in
from tests.factories import Clinic, make_clinic
from tests.services.test_billing import make_visit


async def cashier_clinic(user: User, username: str = 'cashier') -> Clinic:
    """``make_clinic`` in the app's database, signed in as ``username``."""
    await user.open('/login')
    clinic = await make_clinic(get_db(), patients=4)
    await sign_in(user, username)
    return clinic


async def billed_visit(clinic: Clinic, **visit) -> int:
    """A visit (``make_visit``) billed by the cashier: its invoice's id."""
    visit_id = await make_visit(get_db(), clinic, **visit)
    async with get_db().write() as session:
        return await billing.bill_visit(session, clinic.cashier, visit_id)


async def rows_when_filled(user: User, marker: str) -> list[dict]:
    """The rows of the table with this marker, as soon as it has some (a page reads after drawing its panels)."""
    for _ in range(RETRIES):
        rows = element(user, marker).rows
        if rows:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f'the table {marker!r} stayed empty')
