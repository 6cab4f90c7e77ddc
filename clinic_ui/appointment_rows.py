"""Appointments as table rows: the same columns at reception, on the appointment list and on the doctor's page."""
from __future__ import annotations

from models import AppointmentStatus, BookingSource
from services import appointments, booking, clinic_settings
from services.access import Actor
from services.core.clock import local_time_text, local_today
from services.core.i18n import N_, _

from .widgets import staff_read, translated_columns

COLUMNS = [
    {'name': 'time', 'label': N_('Time'), 'field': 'time'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient'},
    {'name': 'doctor', 'label': N_('Doctor'), 'field': 'doctor'},
    {'name': 'room', 'label': N_('Room'), 'field': 'room'},
    {'name': 'services', 'label': N_('Service'), 'field': 'services'},
    {'name': 'status', 'label': N_('Status'), 'field': 'status'},
    {'name': 'source', 'label': N_('Booked by'), 'field': 'source'},
]
STATUS_LABELS = {
    AppointmentStatus.SCHEDULED: N_('scheduled'), AppointmentStatus.CONFIRMED: N_('confirmed'),
    AppointmentStatus.CHECKED_IN: N_('checked in'), AppointmentStatus.IN_PROGRESS: N_('in progress'),
    AppointmentStatus.COMPLETED: N_('completed'), AppointmentStatus.CANCELLED: N_('cancelled'),
    AppointmentStatus.NO_SHOW: N_('no show'),
}
SOURCE_LABELS = {BookingSource.PHONE: N_('phone'), BookingSource.WEB: N_('web'),
                 BookingSource.IN_PERSON: N_('in person'), BookingSource.WALK_IN: N_('walk in')}


def columns(names_left_out: tuple[str, ...] = ()) -> list[dict]:
    """The columns with their headings in the reader's language (``names_left_out``: columns not shown)."""
    return translated_columns([c for c in COLUMNS if c['name'] not in names_left_out])


def status_label(status: AppointmentStatus) -> str:
    """An appointment's status as the reader says it (``checked in``)."""
    return _(STATUS_LABELS[status])


def format_rows(rows: list[appointments.AppointmentRow]) -> list[dict]:
    tz = clinic_settings.current().tz
    result = []
    for r in rows:
        walk_in = r.source.value == 'walk_in'
        start, end = local_time_text(r.start_at, tz), local_time_text(r.end_at, tz)
        result.append({
            'id': r.id, 'time': _('walk-in {time}').format(time=start) if walk_in else f'{start}–{end}',
            'patient': f'{r.patient_name} · {r.patient_code}', 'patient_name': r.patient_name,
            'doctor': r.doctor_name, 'room': r.room_code, 'services': r.services,
            'status': status_label(r.status), 'source': _(SOURCE_LABELS[r.source]),
            'can_check_in': r.status in booking.CHANGEABLE, 'can_change': r.status in booking.CHANGEABLE,
            'checked_in': r.status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS)})
    return result


async def todays_rows(actor: Actor) -> list[dict]:
    """Today's appointments as table rows (a doctor gets their own)."""
    tz = clinic_settings.current().tz
    rows = await staff_read(lambda s: appointments.list_for_day(s, actor, local_today(tz), tz), touch=False)
    return format_rows(rows or [])
