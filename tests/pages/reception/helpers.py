"""What the reception page tests share: a small clinic with reception signed in, and an appointment today."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from nicegui.testing import User

from models import Appointment, BookingSource
from services import booking
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import sign_in
from tests.factories import Clinic, make_clinic


async def signed_in_clinic(user: User) -> Clinic:
    """Four patients, two doctors; the receptionist is at the reception page."""
    await user.open('/login')  # starts the app (and its database)
    clinic = await make_clinic(get_db(), patients=4)
    await sign_in(user, 'reception', station='Reception')
    return clinic


async def book_today(clinic: Clinic, patient: int = 0) -> Appointment:
    """An appointment today for the first doctor, whatever the time of day the test runs: booked as if it were
    just after midnight (the services take the time as an argument), so the day's first free slot is taken."""
    tz = get_settings().tz
    now = datetime.combine(local_today(tz), time(0, 1), tzinfo=tz).astimezone(timezone.utc)
    async with get_db().read() as session:
        slots = await booking.free_slots(session, service_id=clinic.consultation_id,
                                         doctor_ids=[clinic.doctor_ids[0]], start_day=local_today(tz), days=2,
                                         tz=tz, now=now)
    slot = next(s for day_slots in slots.values() for s in day_slots)
    if slot.start_at.astimezone(tz).date() != local_today(tz):
        pytest.skip('the first doctor has no free slot today')
    async with get_db().write() as session:
        return await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                  service_id=clinic.consultation_id, doctor_id=slot.doctor_id,
                                  start_at=slot.start_at, source=BookingSource.PHONE, tz=tz, now=now)


def first_slot(user: User):
    """The earliest free-time button shown (buttons are made in time order)."""
    return min(user.find(marker='slot').elements, key=lambda button: button.id)
