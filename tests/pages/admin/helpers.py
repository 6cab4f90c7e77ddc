"""What the administration page tests share: the factory clinic with someone signed in, tables that follow the
database, and the settings put back after a test that saved some."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from nicegui.testing import User

from services import clinic_settings
from services.core.db import get_db
from tests.conftest import RETRIES, element, sign_in
from tests.factories import Clinic, make_clinic


async def signed_in(user: User, username: str = 'admin') -> Clinic:
    """The factory clinic, with ``username`` signed in on its station."""
    await user.open('/login')  # starts the app, and so the database
    clinic = await make_clinic(get_db())
    await sign_in(user, username)
    return clinic


async def rows_where(user: User, marker: str, check: Callable[[list[dict]], bool]) -> list[dict]:
    """Wait until the table's rows pass ``check`` (they update after the database answered)."""
    await user.should_see(marker=marker, retries=RETRIES)
    for _ in range(RETRIES):
        rows = element(user, marker).rows
        if check(rows):
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f'{marker}: {element(user, marker).rows}')


@pytest.fixture(autouse=True)
def restore_settings():
    """The settings in force go back to the start-up ones after each test of a module that imports this."""
    yield
    clinic_settings.put_in_force(None)
