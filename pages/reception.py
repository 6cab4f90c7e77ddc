"""Reception: today's appointments (booking, walk-ins and check-in build on this station)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.db import get_db
from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.settings import get_settings
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import data_table, section_title
from services import appointments
from services.access import Actor
from services.clock import local_time_text, local_today

COLUMNS = [
    {'name': 'time', 'label': 'Time', 'field': 'time'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'doctor', 'label': 'Doctor', 'field': 'doctor'},
    {'name': 'room', 'label': 'Room', 'field': 'room'},
    {'name': 'services', 'label': 'Service', 'field': 'services'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
    {'name': 'source', 'label': 'Booked by', 'field': 'source'},
]


async def appointment_rows(actor: Actor) -> list[dict]:
    tz = get_settings().tz
    async with get_db().read() as session:
        rows = await appointments.list_for_day(session, actor, local_today(tz), tz)
    return [{'id': r.id, 'time': f'{local_time_text(r.start_at, tz)}–{local_time_text(r.end_at, tz)}',
             'patient': f'{r.patient_name} · {r.patient_code}', 'doctor': r.doctor_name, 'room': r.room_code,
             'services': r.services, 'status': r.status.value.replace('_', ' '),
             'source': r.source.value.replace('_', ' ')} for r in rows]


@staff_page(RECEPTION)
async def reception_page(actor: Actor):
    today = local_today(get_settings().tz)
    rows = await appointment_rows(actor)
    with ui.row().classes('w-full items-baseline justify-between'):
        title = section_title("Today's appointments", len(rows))
        ui.label(today.strftime('%A %d %B %Y')).classes('text-slate-600')
    table = data_table(COLUMNS, rows, empty='No appointments today.', mark='appointments')

    async def refresh() -> None:
        fresh = await appointment_rows(actor)
        table.rows = fresh
        title.set_text(f"Today's appointments ({len(fresh)})")

    subscribe(Topic.APPOINTMENTS, refresh)
