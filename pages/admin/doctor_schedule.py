"""Administration, a doctor's page: the weekly hours per room and the days off, each a table with a form to add."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import error_text, on_row, section_title, staff_action
from services import clinic_settings, doctors_admin
from services.access import Actor
from services.doctors_admin import WEEKDAYS

from .parts import iso_date

REMOVE_SLOT = r'''
<q-td :props="props">
  <q-btn flat dense round icon="delete" color="negative" aria-label="Remove"
         @click="$parent.$emit('remove', props.row.id)" />
</q-td>
'''
TIME_OPTIONS = [f'{h:02d}:{m:02d}' for h in range(5, 23) for m in (0, 15, 30, 45)]


def _table(columns: tuple[tuple[str, str], ...], empty: str, mark: str) -> ui.table:
    """A small table whose rows each have a Remove button (event ``remove``)."""
    table = ui.table(columns=[{'name': key, 'label': label, 'field': key, 'align': 'left'} for key, label in columns]
                     + [{'name': 'remove', 'label': '', 'field': 'id', 'align': 'right'}], rows=[], row_key='id') \
        .props(f'flat bordered dense hide-pagination no-data-label="{empty}"').classes('w-full').mark(mark)
    table.add_slot('body-cell-remove', REMOVE_SLOT)
    return table


class HoursPanel:
    """The doctor's weekly hours, each in a room; add hours for several days at once, remove one block."""

    def __init__(self, actor: Actor, doctor_id: int, rooms: dict[int, str]) -> None:
        self.actor = actor
        self.doctor_id = doctor_id
        with ui.card().classes('gap-2'):
            section_title('Weekly hours')
            self.table = _table((('day', 'Day'), ('time', 'Time'), ('room', 'Room')),
                                'No hours yet: the doctor cannot be booked.', 'hours-table')
            self.days = ui.select(dict(enumerate(WEEKDAYS)), multiple=True, value=[0, 1, 2, 3, 4], label='Days') \
                .props('outlined dense use-chips').classes('w-full').mark('hours-days')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.start = ui.select(TIME_OPTIONS, value='08:00', label='From').props('outlined dense') \
                    .classes('w-28').mark('hours-start')
                self.end = ui.select(TIME_OPTIONS, value='12:00', label='To').props('outlined dense') \
                    .classes('w-28').mark('hours-end')
                self.room = ui.select(rooms, label='Room', value=next(iter(rooms), None)).props('outlined dense') \
                    .classes('grow').mark('hours-room')
            if not rooms:
                ui.link('Add rooms in the catalog first', '/admin/catalog?tab=rooms').classes('text-sm')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button('Add hours', icon='add', on_click=self.add).props('unelevated no-caps').mark('add-hours')
        on_row(self.table, 'remove', self.remove)

    def show(self, detail: doctors_admin.DoctorDetail) -> None:
        self.table.rows = [{'id': h.id, 'day': WEEKDAYS[h.weekday], 'room': h.room,
                            'time': f'{h.start_time:%H:%M}–{h.end_time:%H:%M}'} for h in detail.hours]

    async def add(self) -> None:
        await staff_action(lambda s: doctors_admin.add_hours(
            s, self.actor, self.doctor_id, weekdays=list(self.days.value or []), start=self.start.value or '',
            end=self.end.value or '', room_id=self.room.value), error_label=self.error, success='Hours added.')

    async def remove(self, row: dict) -> None:
        await staff_action(lambda s: doctors_admin.remove_hours(s, self.actor, row['id'],
                                                                tz=clinic_settings.current().tz),
                           error_label=self.error, success='Hours removed.')


class LeavePanel:
    """The doctor's days off and leave; add a period, remove one."""

    def __init__(self, actor: Actor, doctor_id: int) -> None:
        self.actor = actor
        self.doctor_id = doctor_id
        with ui.card().classes('gap-2'):
            section_title('Days off and leave')
            self.table = _table((('days', 'Days'), ('reason', 'Reason')), 'No leave planned.', 'leave-table')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.first_day = ui.input('First day').props('outlined dense type=date').classes('grow') \
                    .mark('leave-start')
                self.last_day = ui.input('Last day').props('outlined dense type=date').classes('grow') \
                    .mark('leave-end')
            self.reason = ui.input('Reason (optional)').props('outlined dense').classes('w-full').mark('leave-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button('Add leave', icon='add', on_click=self.add).props('unelevated no-caps').mark('add-leave')
        on_row(self.table, 'remove', self.remove)

    def show(self, detail: doctors_admin.DoctorDetail) -> None:
        self.table.rows = [{'id': leave.id, 'days': f'{leave.start_date:%d/%m/%Y} – {leave.end_date:%d/%m/%Y}',
                            'reason': leave.reason or '—'} for leave in detail.leaves]

    async def add(self) -> None:
        begin, finish = iso_date(self.first_day.value), iso_date(self.last_day.value)
        if begin is None or finish is None:
            self.error.set_text('Please enter the first and the last day.')
            return
        if await staff_action(lambda s: doctors_admin.add_leave(
                s, self.actor, self.doctor_id, start_date=begin, end_date=finish, reason=self.reason.value or '',
                tz=clinic_settings.current().tz), error_label=self.error, success='Leave added.') is not None:
            for field in (self.first_day, self.last_day, self.reason):
                field.set_value('')

    async def remove(self, row: dict) -> None:
        await staff_action(lambda s: doctors_admin.remove_leave(s, self.actor, row['id']),
                           error_label=self.error, success='Leave removed.')
