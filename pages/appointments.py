"""All appointments by day or week, filtered by doctor, status and date range, paged in the database."""
from __future__ import annotations

import math
from datetime import timedelta

from nicegui import ui

from clinic_ui import appointment_rows
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, section_title
from models import AppointmentStatus
from services import appointments, booking, clinic_settings
from services.access import Actor
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import DomainError
from services.core.events import AppointmentChanged
from services.patients import parse_date

PAGE_SIZE = 50
ALL = ''


@staff_page(RECEPTION, '/reception/appointments', title='Appointments')
async def appointments_page(actor: Actor):
    tz = clinic_settings.current().tz
    today = local_today(tz)
    async with get_db().read() as session:
        doctors = await booking.doctors_for(session)
    ui.link('← Reception', '/reception')
    with ui.row().classes('w-full items-end gap-3'):
        period = ui.toggle({'day': 'Day', 'week': 'Week', 'range': 'Dates'}, value='day').props('no-caps') \
            .mark('period')
        start = ui.input('From (dd/mm/yyyy)', value=today.strftime('%d/%m/%Y')).props('outlined dense') \
            .classes('w-40').mark('from')
        end = ui.input('To (dd/mm/yyyy)', value=today.strftime('%d/%m/%Y')).props('outlined dense') \
            .classes('w-40').mark('to')
        end.bind_visibility_from(period, 'value', backward=lambda v: v == 'range')
        doctor = ui.select({ALL: 'All doctors', **{d.id: d.name for d in doctors}}, value=ALL, label='Doctor') \
            .props('outlined dense').classes('w-56')
        status = ui.select({ALL: 'Any status', **{s.value: s.value.replace('_', ' ') for s in AppointmentStatus}},
                           value=ALL, label='Status').props('outlined dense').classes('w-44')
    error = error_text()
    title = section_title('Appointments')
    table = ui.table(columns=appointment_rows.COLUMNS, rows=[], row_key='id').props('flat bordered wrap-cells hide-pagination '
                                                                   'no-data-label="No appointments."') \
        .classes('w-full').mark('appointment-list')
    table.pagination = {'rowsPerPage': 0}
    pager = ui.pagination(1, 1, direction_links=True).props('max-pages=7 boundary-numbers')
    state = {'page': 1}

    def date_range():
        first = parse_date(start.value or '')
        if first is None:
            raise DomainError('Please write the start date as dd/mm/yyyy.')
        if period.value == 'day':
            return first, first
        if period.value == 'week':
            monday = first - timedelta(days=first.weekday())
            return monday, monday + timedelta(days=6)
        last = parse_date(end.value or '')
        if last is None:
            raise DomainError('Please write the end date as dd/mm/yyyy.')
        return first, last

    async def load() -> None:
        error.set_text('')
        try:
            first, last = date_range()
            async with get_db().read() as session:
                rows, total = await appointments.list_range(
                    session, actor, start_day=first, end_day=last, tz=tz, doctor_id=doctor.value or None,
                    status=AppointmentStatus(status.value) if status.value else None,
                    offset=(state['page'] - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        except DomainError as e:
            error.set_text(str(e))
            return
        table.rows = appointment_rows.format_rows(rows)
        span = first.strftime('%d/%m/%Y') + ('' if first == last else f' – {last.strftime("%d/%m/%Y")}')
        title.set_text(f'Appointments {span}: {total}')
        pager.max = max(1, math.ceil(total / PAGE_SIZE))

    async def first_page() -> None:
        state['page'] = 1
        pager.value = 1
        await load()

    async def turn(e) -> None:
        state['page'] = e.value
        await load()

    for element in (period, start, end, doctor, status):
        element.on_value_change(first_page)
    start.props('debounce=500')
    end.props('debounce=500')
    pager.on_value_change(turn)
    await load()
    subscribe(AppointmentChanged, load)
