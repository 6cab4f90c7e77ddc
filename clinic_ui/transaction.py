"""One service call in its own transaction, for code without a staff session to check: the public pages (the
waiting-room board, sign-in and first set-up) and staff file downloads (their person is checked by the route).

Unlike ``widgets.run_action`` nothing is turned into a message on a screen: an error reaches the caller, so a
public page shows its problem (``routes``) and a download answers with its status, as they did before."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from services.core.db import get_db

T = TypeVar('T')


async def read(query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``await read(lambda s: service(s, ...))``: a read transaction, never committed."""
    async with get_db().read() as session:
        return await query(session)


async def write(action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``await write(lambda s: service(s, ...))``: a write transaction (the service, an ``@action``, commits)."""
    async with get_db().write() as session:
        return await action(session)
