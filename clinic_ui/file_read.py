"""The one way a download (``@staff_file``: a PDF, a CSV) reads what it sends."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from services.core.db import get_db

T = TypeVar('T')


async def file_read(read: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``read(session)`` in one read transaction: ``await file_read(lambda s: service(s, actor, ...))``.

    A download has no screen to show a message on: a domain error goes up, to the download itself (which may answer
    it in its own words) or to ``@staff_file``, which answers it with its status (404 for an unknown id)."""
    async with get_db().read() as session:
        return await read(session)
