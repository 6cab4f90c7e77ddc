"""A panel that shows what one read returns, and shows it again on a live update."""
from __future__ import annotations

from typing import Generic, TypeVar

from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from .widgets import staff_read

T = TypeVar('T')


class LivePanel(Generic[T]):
    """A small class for one part of a station: its elements are attributes, ``read(session)`` asks the services
    for what it shows (``return await service(session, self.actor, ...)``), ``show(data)`` updates the elements in
    place.

    ``load()`` reads and shows, as the person's activity (the page opens, a filter is chosen); ``refresh()`` does the
    same for a live update nobody asked for (``live.subscribe(SomethingChanged, panel.refresh)``). A failed read
    leaves the panel as it was (the person has been told, in ``error_label`` when there is one)."""

    error_label: ui.label | None = None

    async def read(self, session: AsyncSession) -> T:
        raise NotImplementedError

    def show(self, data: T) -> None:
        raise NotImplementedError

    async def load(self, *, touch: bool = True) -> None:
        data = await staff_read(self.read, error_label=self.error_label, touch=touch)
        if data is not None:
            self.show(data)

    async def refresh(self) -> None:
        await self.load(touch=False)
