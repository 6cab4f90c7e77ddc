"""Consultation: the doctor's own list for today (call-next and the consultation record build on this)."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.events import Topic, subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import CONSULTATION
from clinic_ui.widgets import data_table, section_title
from models import Role
from services.access import Actor

from .reception import COLUMNS, appointment_rows


@staff_page(CONSULTATION)
async def consultation_page(actor: Actor):
    rows = await appointment_rows(actor)
    heading = 'My appointments today' if actor.role == Role.DOCTOR else "All doctors' appointments today"
    title = section_title(heading, len(rows))
    if actor.role == Role.DOCTOR and not rows:
        ui.label('No appointments booked with you today.').classes('text-slate-600')
    columns = [c for c in COLUMNS if c['name'] != 'doctor' or actor.role != Role.DOCTOR]
    table = data_table(columns, rows, empty='No appointments today.', mark='my-appointments')

    async def refresh() -> None:
        fresh = await appointment_rows(actor)
        table.rows = fresh
        title.set_text(f'{heading} ({len(fresh)})')

    subscribe(Topic.APPOINTMENTS, refresh)
