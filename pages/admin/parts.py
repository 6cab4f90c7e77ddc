"""Small parts of several administration screens: a pager for lists paged in the database, a day typed in a date
field, a table's state badge (its row says ``active``: true or false, and ``state``: the text shown)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from services.core.i18n import _

PAGE_SIZE = 50
STATE_SLOT = r'''
<q-td :props="props">
  <q-badge :color="props.row.active ? 'positive' : 'grey-6'" :label="props.row.state" />
</q-td>'''


def iso_date(text: str | None) -> date | None:
    """The day of a date field (``2026-11-23``), or None when it is empty or not a day."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


class Pager:
    """The position in a list paged in the database (``1–50 of 120``) with earlier / later buttons; ``load`` reads
    the page at ``offset`` and calls ``show``."""

    def __init__(self, load: Callable[[], Awaitable[None]], size: int = PAGE_SIZE) -> None:
        self.load = load
        self.size = size
        self.offset = 0
        with ui.row().classes('w-full items-center justify-end gap-2'):
            self.position = ui.label().classes('text-sm text-slate-600')
            self.earlier = ui.button(icon='chevron_left', on_click=lambda: self.move(-1)).props('flat round dense')
            self.later = ui.button(icon='chevron_right', on_click=lambda: self.move(1)).props('flat round dense')

    def show(self, shown: int, total: int) -> None:
        self.position.set_text(_('{first}–{last} of {total}').format(first=self.offset + 1 if shown else 0,
                                                                    last=self.offset + shown, total=total))
        self.earlier.set_enabled(self.offset > 0)
        self.later.set_enabled(self.offset + shown < total)

    async def move(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * self.size)
        await self.load()

    async def restart(self) -> None:
        """Back to the first page (the search or a filter changed)."""
        self.offset = 0
        await self.load()
