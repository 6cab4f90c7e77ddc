"""The follow-up visit: the doctor's free times a week, two weeks, a month or three months on; one click books it
(with a reminder email the day before)."""
from __future__ import annotations

from datetime import timedelta

from nicegui import ui

from clinic_ui.widgets import section_title, staff_action, staff_read
from models.types import utcnow
from services import booking, consultation
from services.core import i18n
from services.core.clock import local_today
from services.core.i18n import N_, _

from .visit import OpenVisit

WHEN = {7: N_('in 1 week'), 14: N_('in 2 weeks'), 30: N_('in 1 month'), 90: N_('in 3 months')}
DAYS_SHOWN = 4
TIMES_PER_DAY = 6


class FollowUpPanel:
    follows = ()

    def __init__(self, visit: OpenVisit) -> None:
        self.visit = visit
        with ui.card().classes('w-full gap-3'):
            section_title(_('Follow-up visit'))
            with ui.row().classes('items-center gap-2') as self.form:
                self.when = ui.select({days: _(text) for days, text in WHEN.items()}, value=14, label=_('When')) \
                    .props('outlined dense').classes('w-40').mark('follow-in')
                ui.button(_('Show free times'), icon='event', on_click=self.find_times).props('outline no-caps') \
                    .mark('find-slots')
            self.times = ui.row().classes('w-full gap-1')
            self.booked = ui.label('').classes('text-positive').mark('follow-up-booked')
        visit.watch(self)

    def show(self, chart: consultation.Chart) -> None:
        self.form.set_visibility(chart.can_edit)

    async def find_times(self) -> None:
        visit = self.visit
        if visit.chart.visit.doctor_id is None:
            return
        start = local_today(visit.tz) + timedelta(days=int(self.when.value))
        found = await staff_read(lambda s: consultation.follow_up_times(s, visit.actor, visit.id, start_day=start,
                                                                        days=DAYS_SHOWN, tz=visit.tz, now=utcnow()))
        if found is None:
            return
        if found.service_id is None:
            ui.notify(_('This doctor has no consultation service on the price list.'), type='warning')
            return
        self._show_times(found)

    def _show_times(self, found: consultation.FollowUpTimes) -> None:
        self.times.clear()
        with self.times:
            shown = 0
            for _day, slots in sorted(found.slots.items()):
                for slot in slots[:TIMES_PER_DAY]:
                    start = slot.start_at.astimezone(self.visit.tz)
                    ui.button(f'{i18n.weekday(start, "short")} {start:%d/%m %H:%M}',
                              on_click=lambda s=slot: self.book(s, found.service_id)) \
                        .props('outline dense no-caps').mark('follow-slot')
                    shown += 1
            if not shown:
                ui.label(_('No free time in those days: try another week.')).classes('text-sm text-slate-500')

    async def book(self, slot: booking.Slot, service_id: int) -> None:
        visit = self.visit
        follow_up = await staff_action(lambda s: consultation.book_follow_up(
            s, visit.actor, visit.id, service_id=service_id, start_at=slot.start_at, settings=visit.settings,
            now=utcnow()))
        if follow_up is None:
            return
        when = follow_up.appointment.start_at.astimezone(visit.tz)
        booked = _('Follow-up booked for {weekday} {day} {time}.').format(
            weekday=i18n.weekday(when), day=f'{when:%d/%m/%Y}', time=f'{when:%H:%M}')
        reminder = {'email': _('A reminder email goes out the day before.'),
                    'sms': _('A reminder SMS goes out the day before.'),
                    'zalo': _('A Zalo reminder goes out the day before.')}.get(
            follow_up.channel, _('(No email address nor valid phone: no reminder.)'))
        self.booked.set_text(f'{booked} {reminder}')
        self.times.clear()
