"""Appointments as table rows: the same columns at reception, on the appointment list and on the doctor's page."""
from __future__ import annotations

from models import AppointmentStatus
from services import appointments, booking, clinic_settings
from services.access import Actor
from services.core.clock import local_time_text, local_today

from .widgets import staff_read

COLUMNS = [
    {'name': 'time', 'label': 'Time', 'field': 'time'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'doctor', 'label': 'Doctor', 'field': 'doctor'},
    {'name': 'room', 'label': 'Room', 'field': 'room'},
    {'name': 'services', 'label': 'Service', 'field': 'services'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
    {'name': 'source', 'label': 'Booked by', 'field': 'source'},
]


def format_rows(rows: list[appointments.AppointmentRow]) -> list[dict]:
    tz = clinic_settings.current().tz
    result = []
    for r in rows:
        walk_in = r.source.value == 'walk_in'
        result.append({
            'id': r.id, 'time': 'walk-in ' + local_time_text(r.start_at, tz) if walk_in else
            f'{local_time_text(r.start_at, tz)}–{local_time_text(r.end_at, tz)}',
            'patient': f'{r.patient_name} · {r.patient_code}', 'patient_name': r.patient_name,
            'doctor': r.doctor_name, 'room': r.room_code, 'services': r.services,
            'status': r.status.value.replace('_', ' '), 'source': r.source.value.replace('_', ' '),
            'can_check_in': r.status in booking.CHANGEABLE, 'can_change': r.status in booking.CHANGEABLE,
            'checked_in': r.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS)})
    return result


async def todays_rows(actor: Actor) -> list[dict]:
    """Today's appointments as table rows (a doctor gets their own)."""
    tz = clinic_settings.current().tz
    rows = await staff_read(lambda s: appointments.list_for_day(s, actor, local_today(tz), tz), touch=False)
    return format_rows(rows or [])
