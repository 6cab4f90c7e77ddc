"""Calendar invitations (iCalendar, RFC 5545 / iTIP RFC 5546) for appointments.

One appointment is one calendar event for its whole life: the UID never changes, SEQUENCE is raised on every
reschedule, and a cancellation is sent as ``METHOD:CANCEL`` with the same UID, so the patient's calendar app
updates or removes the event it already has instead of adding a second one.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from icalendar import Calendar, Event, vCalAddress

PRODID = '-//Clinic Flow//Appointments//EN'


def appointment_uid(appointment_uuid: str) -> str:
    """The stable calendar UID of an appointment."""
    return f'{appointment_uuid}@clinic-flow'


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError('naive datetime given; calendar times must be aware')
    return moment.astimezone(timezone.utc)


def _address(email: str, name: str, **params) -> vCalAddress:
    """A mailto: address with its display name (CN); non-ASCII names are kept as UTF-8."""
    address = vCalAddress(f'mailto:{email}')
    if name:
        address.params['CN'] = name
    for key, value in params.items():
        address.params[key.upper().replace('_', '-')] = value
    return address


def appointment_ics(*, uid: str, sequence: int, method: Literal['REQUEST', 'CANCEL'], start_at: datetime,
                    end_at: datetime, summary: str, description: str, location: str, organizer_email: str,
                    organizer_name: str, attendee_email: str, attendee_name: str, stamp: datetime) -> str:
    """One VCALENDAR with one VEVENT, as text (CRLF line endings, lines folded at 75 octets)."""
    if method not in ('REQUEST', 'CANCEL'):
        raise ValueError(f'unsupported iTIP method {method!r}')
    calendar = Calendar()
    calendar.add('prodid', PRODID)
    calendar.add('version', '2.0')
    calendar.add('calscale', 'GREGORIAN')
    calendar.add('method', method)

    event = Event()
    event.add('uid', uid)
    event.add('sequence', sequence)
    event.add('dtstamp', _utc(stamp))
    event.add('dtstart', _utc(start_at))
    event.add('dtend', _utc(end_at))
    event.add('summary', summary)
    event.add('description', description)
    if location:
        event.add('location', location)
    event.add('organizer', _address(organizer_email, organizer_name))
    event.add('attendee', _address(attendee_email, attendee_name, role='REQ-PARTICIPANT',
                                   partstat='NEEDS-ACTION', rsvp='FALSE'))
    event.add('status', 'CANCELLED' if method == 'CANCEL' else 'CONFIRMED')
    event.add('transp', 'OPAQUE')
    calendar.add_component(event)
    return calendar.to_ical().decode('utf-8')
