"""The first read of a page about one thing named in its address (a doctor, a patient, a visit)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from services.core.errors import DomainError

from .widgets import staff_read

T = TypeVar('T')


async def read_subject(read: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
    """``staff_read(read)`` for what the page is about. When it cannot be shown (an unknown id typed into the
    address, no permission) its domain error is raised again in the page function: the frame then shows the
    problem card in place of the page, as for any error while a page is built, rather than a message over an
    empty page. None when the session ended (the tab is on its way to sign-in)."""
    async def kept(session: AsyncSession) -> T | DomainError:
        try:
            return await read(session)
        except DomainError as error:
            return error

    found = await staff_read(kept)
    if isinstance(found, DomainError):
        raise found
    return found
