"""The visit open on one screen: who is looking, its latest read, and the panels that show it."""
from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from clinic_ui.widgets import money, staff_read
from services import consultation
from services.access import Actor
from services.core.clock import local_today
from services.core.events import DomainEvent, OrdersChanged, VisitChanged
from services.core.settings import Settings


class Panel(Protocol):
    follows: tuple[type[DomainEvent], ...]  # the changes made elsewhere that it shows as they happen

    def show(self, chart: consultation.Chart) -> None: ...


class OpenVisit:
    """A visit's chart as this doctor sees it now. Panels ``watch`` it; after the doctor's own step the fresh chart
    goes to every panel (``refresh``), after a change made elsewhere only to the panels that follow that kind of
    change (``follow``). The record form is never among them: it is refilled only after signing or amending (by
    the record panel itself), so an update never overwrites what the doctor is typing."""

    def __init__(self, actor: Actor, chart: consultation.Chart, settings: Settings) -> None:
        self.actor = actor
        self.chart = chart
        self.id = chart.visit.id
        self.settings = settings  # the clinic's settings as the chart was opened
        self.panels: list[Panel] = []

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def watch(self, panel: Panel) -> None:
        self.panels.append(panel)

    async def reload(self, *, touch: bool = True) -> bool:
        chart = await staff_read(lambda s: consultation.chart(s, self.actor, self.id, today=local_today(self.tz),
                                                              record_view=False, currency_format=money), touch=touch)
        if chart is not None:
            self.chart = chart
        return chart is not None

    async def refresh(self) -> bool:
        """After the doctor's own step: read the chart again and show it on every panel."""
        if not await self.reload():
            return False
        self.show()
        return True

    async def follow(self, event: OrdersChanged | VisitChanged) -> None:
        """A change made elsewhere (a result from the lab, the visit moving on): shown where it shows."""
        if event.visit_id == self.id and await self.reload(touch=False):
            self.show(type(event))

    async def reread(self) -> None:
        """News from another server process may have been lost: shown as if the orders and the visit changed
        (what is being typed stays)."""
        if await self.reload(touch=False):
            self.show(OrdersChanged)
            self.show(VisitChanged)

    def show(self, changed: type[DomainEvent] | None = None) -> None:
        for panel in self.panels:
            if changed is None or changed in panel.follows:
                panel.show(self.chart)
