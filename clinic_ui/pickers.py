"""Pickers shared by reception, booking and the public booking page: find a patient, choose a slot."""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from nicegui import ui

from services import patients, phones
from services.access import Actor
from services.booking import Slot
from services.core import i18n
from services.core.clock import local_today
from services.core.i18n import _

from .widgets import staff_read

SEARCH_DEBOUNCE_S = 0.1  # the browser sends the text after this much quiet; LatestOnly keeps the database calm
T = TypeVar('T')
DATE_MASK = 'DD/MM/YYYY'  # how people write a date here; the value the code reads is this text ("23/11/1980")


def date_field(label: str, value: str = '') -> ui.input:
    """A date typed as dd/mm/yyyy, or chosen on a calendar (month names in the tab's language). Its value is the
    text ``dd/mm/yyyy``, as typed: read it with ``services.patients.parse_date``."""
    field = ui.input(label, value=value).props('mask="##/##/####"')
    with field.add_slot('append'):
        calendar_label = _('Calendar')
        with ui.button(icon='edit_calendar', color=None).props(f'flat round dense aria-label="{calendar_label}"'):
            with ui.menu() as menu:
                # a range or junk from the socket never reaches the field: only a day the calendar can show
                picker = ui.date(mask=DATE_MASK).bind_value(
                    field, forward=lambda day: day if isinstance(day, str) else field.value,
                    backward=lambda text: text if isinstance(text, str) else None)
    picker.on_value_change(menu.close)
    return field


def _age(born: date | None, today: date) -> str:
    if born is None:
        return ''
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return _('{born} ({years} y)').format(born=born.strftime('%d/%m/%Y'), years=years)


def patient_search(actor: Actor, on_pick: Callable[[patients.PatientHit], Awaitable[None] | None], *,
                   today: date, label: str | None = None, autofocus: bool = False) -> ui.input:
    """A search field with results as you type; picking a result calls ``on_pick(hit)``."""
    label = label or _('Find a patient: name, phone, code (P…) or birth date')
    return PatientSearch(actor, on_pick, today=today, label=label, autofocus=autofocus).field


class LatestOnly(Generic[T]):
    """Search as you type without flooding the database: at most one query in flight, and only the latest text's
    results are shown.

    ``ask(text)`` while a query runs only records ``text``; when the query returns, its results are shown if its
    text is still the latest, otherwise they are dropped and the latest text is queried. Results for an older text
    never replace those of a newer one.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[T]], show: Callable[[str, T], None]) -> None:
        self.fetch, self.show = fetch, show
        self.latest: str | None = None
        self.busy = False

    async def ask(self, text: str) -> None:
        self.latest = text
        if self.busy:
            return  # the query in flight picks it up when it returns
        self.busy = True
        try:
            while True:
                asked = self.latest
                result = await self.fetch(asked)
                if asked == self.latest:
                    break
        finally:
            self.busy = False
        self.show(asked, result)


class PatientSearch:
    """The field, the hits under it (name; code, birth date and age, phone) and a hint when nothing matches."""

    def __init__(self, actor: Actor, on_pick: Callable[[patients.PatientHit], Awaitable[None] | None], *,
                 today: date, label: str, autofocus: bool) -> None:
        self.actor, self.on_pick, self.today = actor, on_pick, today
        with ui.column().classes('w-full gap-1'):
            self.field = ui.input(label).props(f'outlined clearable {"autofocus" if autofocus else ""} '
                                               f'debounce={int(SEARCH_DEBOUNCE_S * 1000)} autocomplete=off '
                                               'name=patient-search') \
                .classes('w-full text-lg').mark('patient-search')
            self.results = ui.list().props('bordered separator').classes('w-full bg-white rounded')
            self.results.visible = False
            self.rows: list[_HitRow] = []
            self.hint = ui.label().classes('text-sm text-slate-500')
        self.query = LatestOnly(self.fetch, self.show_for)
        self.field.on_value_change(lambda e: self.search(e.value))

    async def search(self, text: str | None) -> None:
        await self.query.ask((text or '').strip())

    async def fetch(self, text: str) -> list[patients.PatientHit] | None:
        if len(text) < 2:
            return []
        return await staff_read(lambda session: patients.search(session, self.actor, text), error_label=self.hint)

    def show_for(self, text: str, hits: list[patients.PatientHit] | None) -> None:
        if len(text) < 2:
            self._fill([])
            self.results.visible = False
            self.hint.set_text('')
        elif hits is None:  # refused (the session ended: the tab is on its way to sign-in) or failed
            self._fill([])
            self.results.visible = False
        else:
            self.show(hits)

    def show(self, hits: list[patients.PatientHit]) -> None:
        """The hits in the rows already drawn (more rows only when more hits than ever before): each keystroke
        changes a few texts instead of building the list again."""
        self.results.visible = bool(hits)
        self.hint.set_text('' if hits else _('No patient found. Check the spelling, or register a new patient.'))
        self._fill(hits)

    def _fill(self, hits: list[patients.PatientHit]) -> None:
        while len(self.rows) < len(hits):
            with self.results:
                self.rows.append(_HitRow(self.on_pick))
        for index, row in enumerate(self.rows):
            row.show(hits[index] if index < len(hits) else None, self.today)


class _HitRow:
    """One line of the search's hits: the name; code, birth date and age, phone. Hidden while unused."""

    def __init__(self, on_pick: Callable[[patients.PatientHit], Awaitable[None] | None]) -> None:
        self.hit: patients.PatientHit | None = None
        with ui.item(on_click=lambda: on_pick(self.hit) if self.hit is not None else None).props('clickable') \
                .mark('patient-hit') as self.item:
            with ui.item_section():
                self.name = ui.item_label().classes('text-base font-medium')
                self.details = ui.item_label().props('caption')

    def show(self, hit: patients.PatientHit | None, today: date) -> None:
        self.hit = hit
        self.item.set_visibility(hit is not None)
        self.name.set_text(hit.full_name if hit else '')  # (hidden rows keep nobody's name in the page)
        self.details.set_text(' · '.join(p for p in (hit.code, _age(hit.date_of_birth, today),
                                                     phones.shown(hit.phone)) if p) if hit else '')


SlotLoader = Callable[[date], Awaitable[dict[date, list[Slot]] | None]]


class SlotGrid:
    """Free times of a few days at a time, one row of time buttons per day, with earlier/later buttons.

    ``load(first_day)`` returns the free slots per day (or None when there is nothing to show yet). With several
    doctors ("any doctor") a time is shown once and goes to the first doctor free then.
    """

    def __init__(self, tz: ZoneInfo, on_pick: Callable[[Slot], Awaitable[None] | None], load: SlotLoader, *,
                 days_shown: int = 7, title: str = '') -> None:
        self.tz = tz
        self.on_pick = on_pick
        self.load = load
        self.days_shown = days_shown
        self.start = local_today(tz)
        self.chosen: Slot | None = None
        self.buttons: dict[Slot, ui.button] = {}
        with ui.row().classes('w-full items-center justify-between'):
            with ui.row().classes('items-baseline gap-3'):
                if title:
                    ui.label(title).classes('font-semibold')
                self.week = ui.label().classes('font-semibold')
            with ui.row().classes('gap-0'):
                earlier_label = _('Earlier days')
                self.earlier = ui.button(icon='chevron_left', on_click=lambda: self.move(-days_shown)) \
                    .props(f'flat round aria-label="{earlier_label}"').mark('earlier-days')
                later_label = _('Later days')
                ui.button(icon='chevron_right', on_click=lambda: self.move(days_shown)) \
                    .props(f'flat round aria-label="{later_label}"').mark('later-days')
        self.container = ui.column().classes('w-full gap-3').mark('slot-grid')

    async def reload(self) -> None:
        last = self.start + timedelta(days=self.days_shown - 1)
        self.week.set_text(f'{self.start.strftime("%d/%m")} – {last.strftime("%d/%m/%Y")}')
        self.earlier.set_enabled(self.start > local_today(self.tz))
        self.show(await self.load(self.start) or {})

    async def move(self, days: int) -> None:
        self.start = max(local_today(self.tz), self.start + timedelta(days=days))
        await self.reload()

    def show(self, slots_by_day: dict[date, list[Slot]]) -> None:
        self.container.clear()
        self.buttons.clear()
        self.chosen = None
        with self.container:
            if not slots_by_day:
                return
            if not any(slots_by_day.values()):
                ui.label(_('No free time in these days. Try the next days or another doctor.')) \
                    .classes('text-slate-600')
                return
            for day, slots in slots_by_day.items():
                first_per_time: dict = {}
                for slot in slots:
                    first_per_time.setdefault(slot.start_at, slot)
                with ui.row().classes('w-full items-start gap-2 no-wrap'):
                    ui.label(f'{i18n.weekday(day, "short")} {day:%d/%m}').classes('font-semibold w-20 shrink-0 pt-1')
                    with ui.row().classes('gap-1 grow'):
                        if not first_per_time:
                            ui.label(_('full or closed')).classes('text-slate-400 pt-1')
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
