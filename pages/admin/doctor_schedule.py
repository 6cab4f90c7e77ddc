"""Administration, a doctor's page: the weekly hours per room and the days off, each a table with a form to add."""
from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui

from clinic_ui.widgets import error_text, on_row, section_title, staff_action
from services import clinic_settings, doctors_admin
from services.access import Actor
from services.core import i18n
from services.core.i18n import N_, _

from .parts import iso_date

REMOVE_SLOT = r'''
<q-td :props="props">
  <q-btn flat dense round icon="delete" color="negative" :aria-label="props.row.remove"
         @click="$parent.$emit('remove', props.row.id)" />
</q-td>
'''
TIME_OPTIONS = [f'{h:02d}:{m:02d}' for h in range(5, 23) for m in (0, 15, 30, 45)]
A_MONDAY = date(2024, 1, 1)


def weekday_name(weekday: int) -> str:
    """Monday is 0, in the reader's language."""
    return i18n.weekday(A_MONDAY + timedelta(days=weekday))


def _table(columns: tuple[tuple[str, str], ...], empty: str, mark: str) -> ui.table:
    """A small table whose rows each have a Remove button (event ``remove``); ``columns`` and ``empty`` are marked
    with ``N_``."""
    table = ui.table(columns=[{'name': key, 'label': _(label), 'field': key, 'align': 'left'}
                              for key, label in columns]
                     + [{'name': 'remove', 'label': '', 'field': 'id', 'align': 'right'}], rows=[], row_key='id') \
        .props(f'flat bordered dense hide-pagination no-data-label="{_(empty)}"').classes('w-full').mark(mark)
    table.add_slot('body-cell-remove', REMOVE_SLOT)
    return table


class HoursPanel:
    """The doctor's weekly hours, each in a room; add hours for several days at once, remove one block."""

    def __init__(self, actor: Actor, doctor_id: int, rooms: dict[int, str]) -> None:
        self.actor = actor
        self.doctor_id = doctor_id
        with ui.card().classes('gap-2'):
            section_title(_('Weekly hours'))
            self.table = _table((('day', N_('Day')), ('time', N_('Time')), ('room', N_('Room'))),
                                N_('No hours yet: the doctor cannot be booked.'), 'hours-table')
            self.days = ui.select({day: weekday_name(day) for day in range(7)}, multiple=True, value=[0, 1, 2, 3, 4],
                                  label=_('Days')) \
                .props('outlined dense use-chips').classes('w-full').mark('hours-days')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.start = ui.select(TIME_OPTIONS, value='08:00', label=_('From')).props('outlined dense') \
                    .classes('w-28').mark('hours-start')
                self.end = ui.select(TIME_OPTIONS, value='12:00', label=_('To')).props('outlined dense') \
                    .classes('w-28').mark('hours-end')
                self.room = ui.select(rooms, label=_('Room'), value=next(iter(rooms), None)).props('outlined dense') \
                    .classes('grow').mark('hours-room')
            if not rooms:
                ui.link(_('Add rooms in the catalog first'), '/admin/catalog?tab=rooms').classes('text-sm')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Add hours'), icon='add', on_click=self.add).props('unelevated no-caps').mark('add-hours')
        on_row(self.table, 'remove', self.remove)

    def show(self, detail: doctors_admin.DoctorDetail) -> None:
        self.table.rows = [{'id': h.id, 'day': weekday_name(h.weekday), 'room': h.room, 'remove': _('Remove'),
                            'time': f'{h.start_time:%H:%M}–{h.end_time:%H:%M}'} for h in detail.hours]

    async def add(self) -> None:
        await staff_action(lambda s: doctors_admin.add_hours(
            s, self.actor, self.doctor_id, weekdays=list(self.days.value or []), start=self.start.value or '',
            end=self.end.value or '', room_id=self.room.value), error_label=self.error, success=_('Hours added.'))

    async def remove(self, row: dict) -> None:
        await staff_action(lambda s: doctors_admin.remove_hours(s, self.actor, row['id'],
                                                                tz=clinic_settings.current().tz),
                           error_label=self.error, success=_('Hours removed.'))


class LeavePanel:
    """The doctor's days off and leave; add a period, remove one."""

    def __init__(self, actor: Actor, doctor_id: int) -> None:
        self.actor = actor
        self.doctor_id = doctor_id
        with ui.card().classes('gap-2'):
            section_title(_('Days off and leave'))
            self.table = _table((('days', N_('Days')), ('reason', N_('Reason'))), N_('No leave planned.'),
                                'leave-table')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.first_day = ui.input(_('First day')).props('outlined dense type=date').classes('grow') \
                    .mark('leave-start')
                self.last_day = ui.input(_('Last day')).props('outlined dense type=date').classes('grow') \
                    .mark('leave-end')
            self.reason = ui.input(_('Reason (optional)')).props('outlined dense').classes('w-full') \
                .mark('leave-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Add leave'), icon='add', on_click=self.add).props('unelevated no-caps').mark('add-leave')
        on_row(self.table, 'remove', self.remove)

    def show(self, detail: doctors_admin.DoctorDetail) -> None:
        self.table.rows = [{'id': leave.id, 'days': f'{leave.start_date:%d/%m/%Y} – {leave.end_date:%d/%m/%Y}',
                            'reason': leave.reason or '—', 'remove': _('Remove')} for leave in detail.leaves]

    async def add(self) -> None:
        begin, finish = iso_date(self.first_day.value), iso_date(self.last_day.value)
        if begin is None or finish is None:
            self.error.set_text(_('Please enter the first and the last day.'))
            return
        if await staff_action(lambda s: doctors_admin.add_leave(
                s, self.actor, self.doctor_id, start_date=begin, end_date=finish, reason=self.reason.value or '',
                tz=clinic_settings.current().tz), error_label=self.error, success=_('Leave added.')) is not None:
            for field in (self.first_day, self.last_day, self.reason):
                field.set_value('')

    async def remove(self, row: dict) -> None:
        await staff_action(lambda s: doctors_admin.remove_leave(s, self.actor, row['id']),
                           error_label=self.error, success=_('Leave removed.'))
