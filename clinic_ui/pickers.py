"""Pickers shared by reception, booking and the public booking page: find a patient, choose a slot."""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import date
from zoneinfo import ZoneInfo

from nicegui import ui

from services import patients
from services.access import Actor
from services.booking import Slot

from .db import get_db

SEARCH_DEBOUNCE_S = 0.3


def _age(born: date | None, today: date) -> str:
    if born is None:
        return ''
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return f'{born.strftime("%d/%m/%Y")} ({years} y)'


def patient_search(actor: Actor, on_pick: Callable[[patients.PatientHit], Awaitable[None] | None], *,
                   today: date, label: str = 'Find a patient: name, phone, code (P…) or birth date',
                   autofocus: bool = False) -> ui.input:
    """A search field with results as you type; picking a result calls ``on_pick(hit)``."""
    with ui.column().classes('w-full gap-1'):
        field = ui.input(label).props(f'outlined clearable {"autofocus" if autofocus else ""} '
                                      f'debounce={int(SEARCH_DEBOUNCE_S * 1000)} autocomplete=off name=patient-search') \
            .classes('w-full text-lg').mark('patient-search')
        results = ui.list().props('bordered separator').classes('w-full bg-white rounded')
        results.visible = False
        hint = ui.label().classes('text-sm text-slate-500')

    async def show(text: str) -> None:
        results.clear()
        text = (text or '').strip()
        if len(text) < 2:
            results.visible = False
            hint.set_text('')
            return
        async with get_db().read() as session:
            hits = await patients.search(session, actor, text)
        results.visible = bool(hits)
        hint.set_text('' if hits else 'No patient found. Check the spelling, or register a new patient.')
        with results:
            for hit in hits:
                with ui.item(on_click=lambda h=hit: on_pick(h)).props('clickable').mark('patient-hit'):
                    with ui.item_section():
                        ui.item_label(hit.full_name).classes('text-base font-medium')
                        ui.item_label(' · '.join(p for p in (hit.code, _age(hit.date_of_birth, today),
                                                             hit.phone or '') if p)).props('caption')

    field.on_value_change(lambda e: show(e.value))
    return field


class SlotGrid:
    """Free times per day, one row of time buttons per day; the chosen one is highlighted.

    With several doctors ("any doctor") a time is shown once and goes to the first doctor free then.
    """

    def __init__(self, tz: ZoneInfo, on_pick: Callable[[Slot], Awaitable[None] | None]) -> None:
        self.tz = tz
        self.on_pick = on_pick
        self.chosen: Slot | None = None
        self.buttons: dict[Slot, ui.button] = {}
        self.container = ui.column().classes('w-full gap-3').mark('slot-grid')

    def show(self, slots_by_day: dict[date, list[Slot]]) -> None:
        self.container.clear()
        self.buttons.clear()
        self.chosen = None
        with self.container:
            if not any(slots_by_day.values()):
                ui.label('No free time in these days. Try the next days or another doctor.') \
                    .classes('text-slate-600')
                return
            for day, slots in slots_by_day.items():
                first_per_time: dict = {}
                for slot in slots:
                    first_per_time.setdefault(slot.start_at, slot)
                with ui.row().classes('w-full items-start gap-2 no-wrap'):
                    ui.label(day.strftime('%a %d/%m')).classes('font-semibold w-20 shrink-0 pt-1')
                    with ui.row().classes('gap-1 grow'):
                        if not first_per_time:
                            ui.label('full or closed').classes('text-slate-400 pt-1')
                        for slot in first_per_time.values():
                            button = ui.button(slot.start_at.astimezone(self.tz).strftime('%H:%M'),
                                               on_click=lambda s=slot: self._pick(s)) \
                                .props('outline no-caps dense').classes('px-2 min-w-[4.2rem]').mark('slot')
                            self.buttons[slot] = button

    async def _pick(self, slot: Slot) -> None:
        if self.chosen in self.buttons:
            self.buttons[self.chosen].props(remove='unelevated', add='outline')
        self.chosen = slot
        self.buttons[slot].props(remove='outline', add='unelevated')
        result = self.on_pick(slot)
        if inspect.isawaitable(result):
            await result
