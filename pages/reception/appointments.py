"""All appointments by day or week, filtered by doctor, status and date range, paged in the database."""
from __future__ import annotations

import math
from datetime import date, timedelta

from nicegui import ui

from clinic_ui import appointment_rows
from clinic_ui.live import subscribe
from clinic_ui.pickers import date_field
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import error_text, section_title, staff_read
from models import AppointmentStatus
from services import appointments, booking, clinic_settings
from services.access import Actor
from services.core import i18n
from services.core.clock import local_today
from services.core.errors import DomainError
from services.core.events import AppointmentChanged
from services.core.i18n import N_, _
from services.patients import parse_date

PAGE_SIZE = 50
ALL = ''


@staff_page(RECEPTION, '/reception/appointments', title=N_('Appointments'))
async def appointments_page(actor: Actor):
    doctors = await staff_read(lambda s: booking.doctors_for(s))
    ui.link(_('← Reception'), '/reception')
    filters = Filters(doctors or [])
    listing = AppointmentList(actor, filters)
    filters.on_change(listing.first_page)
    await listing.load()
    subscribe(AppointmentChanged, listing.refresh)


class Filters:
    """A day, a week or dates; a doctor; a status."""

    def __init__(self, doctors: list[booking.DoctorOption]) -> None:
        today = local_today(clinic_settings.current().tz).strftime('%d/%m/%Y')
        with ui.row().classes('w-full items-end gap-3'):
            self.period = ui.toggle({'day': _('Day'), 'week': _('Week'), 'range': _('Dates')}, value='day') \
                .props('no-caps').mark('period')
            self.start = date_field(_('From (dd/mm/yyyy)'), today).props('outlined dense').classes('w-44') \
                .mark('from')
            self.end = date_field(_('To (dd/mm/yyyy)'), today).props('outlined dense').classes('w-44').mark('to')
            self.end.bind_visibility_from(self.period, 'value', backward=lambda v: v == 'range')
            self.doctor = ui.select({ALL: _('All doctors'), **{d.id: d.name for d in doctors}}, value=ALL,
                                    label=_('Doctor')).props('outlined dense').classes('w-56')
            self.status = ui.select({ALL: _('Any status'), **{s.value: appointment_rows.status_label(s)
                                                              for s in AppointmentStatus}},
                                    value=ALL, label=_('Status')).props('outlined dense').classes('w-44')
        self.start.props('debounce=500')
        self.end.props('debounce=500')

    def on_change(self, handler) -> None:
        for element in (self.period, self.start, self.end, self.doctor, self.status):
            element.on_value_change(handler)

    def date_range(self) -> tuple[date, date]:
        first = parse_date(self.start.value or '')
        if first is None:
            raise DomainError(_('Please write the start date as dd/mm/yyyy.'))
        if self.period.value == 'day':
            return first, first
        if self.period.value == 'week':
            monday = first - timedelta(days=first.weekday())
            return monday, monday + timedelta(days=6)
        last = parse_date(self.end.value or '')
        if last is None:
            raise DomainError(_('Please write the end date as dd/mm/yyyy.'))
        return first, last


class AppointmentList:
    """The appointments the filters select, a page at a time, live."""

    def __init__(self, actor: Actor, filters: Filters) -> None:
        self.actor, self.filters = actor, filters
        self.page = 1
        self.error = error_text()
        self.title = section_title(_('Appointments'))
        no_data = _('No appointments.')
        self.table = ui.table(columns=appointment_rows.columns(), rows=[], row_key='id') \
            .props(f'flat bordered wrap-cells hide-pagination no-data-label="{no_data}"') \
            .classes('w-full').mark('appointment-list')
        self.table.pagination = {'rowsPerPage': 0}
        self.pager = ui.pagination(1, 1, direction_links=True).props('max-pages=7 boundary-numbers')
        self.pager.on_value_change(self.turn)

    async def first_page(self) -> None:
        self.page = 1
        self.pager.value = 1
        await self.load()

    async def turn(self, e) -> None:
        self.page = e.value
        await self.load()

    async def refresh(self) -> None:
        await self.load(touch=False)

    async def load(self, *, touch: bool = True) -> None:
        self.error.set_text('')
        try:
            first, last = self.filters.date_range()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        f = self.filters
        answer = await staff_read(lambda s: appointments.list_range(
            s, self.actor, start_day=first, end_day=last, tz=clinic_settings.current().tz,
            doctor_id=f.doctor.value or None, status=AppointmentStatus(f.status.value) if f.status.value else None,
            offset=(self.page - 1) * PAGE_SIZE, limit=PAGE_SIZE), error_label=self.error, touch=touch)
        if answer is not None:
            self.show(first, last, *answer)

    def show(self, first: date, last: date, rows: list[appointments.AppointmentRow], total: int) -> None:
        self.table.rows = appointment_rows.format_rows(rows)
        span = first.strftime('%d/%m/%Y') + ('' if first == last else f' – {last.strftime("%d/%m/%Y")}')
        self.title.set_text(_('Appointments {span}: {total}').format(span=span, total=i18n.number(total)))
        self.pager.max = max(1, math.ceil(total / PAGE_SIZE))
