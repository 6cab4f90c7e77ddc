"""One click, one transaction: when the second half of a step fails, nothing of its first half stays."""
from __future__ import annotations

from nicegui.testing import User
from sqlmodel import select

from models import (
    Appointment,
    AppointmentStatus,
    MedicalRecord,
    Patient,
    QueueTicket,
    RecordStatus,
    TicketStatus,
    Visit,
)
from models.types import utcnow
from services import consultation, queue
from services.core.db import get_db
from tests.clinical import FULL, ward_for
from tests.conftest import RETRIES, sign_in
from tests.factories import NOW, TZ
from tests.pages.reception.helpers import book_today, signed_in_clinic


def fail(*_args, **_kwargs):
    raise RuntimeError('the second half failed')


def expected_failure_logged(caplog) -> None:
    """The injected failure reached the log (for the administrator) and only it: then the log is cleared."""
    assert [r.exc_info[1].args[0] for r in caplog.get_records('call') if r.levelname == 'ERROR'] == \
        ['the second half failed']
    caplog.clear()


async def test_check_in_with_a_corrected_email_keeps_nothing_when_the_check_in_fails(user: User, monkeypatch, caplog):
    clinic = await signed_in_clinic(user)
    appointment = await book_today(clinic)
    async with get_db().read() as session:
        email_before = (await session.get(Patient, clinic.patient_ids[0])).email
    await user.open('/reception')
    await user.should_see("Today's appointments (1)", retries=RETRIES)
    user.find(marker='appointments').trigger('check_in', appointment.id)
    await user.should_see(marker='check-in-dialog', retries=RETRIES)
    user.find(marker='check-in-email').clear().type('new.address@example.test')
    monkeypatch.setattr(queue, 'issue_ticket', fail)  # the ticket cannot be issued
    user.find(marker='confirm-check-in').click()
    await user.should_see('nothing was saved', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.get(Patient, clinic.patient_ids[0])).email == email_before
        assert (await session.get(Appointment, appointment.id)).status == AppointmentStatus.SCHEDULED
        assert (await session.exec(select(Visit))).all() == []
    expected_failure_logged(caplog)


async def test_finishing_a_consultation_keeps_nothing_when_the_patient_cannot_be_moved_on(user: User, monkeypatch,
                                                                                      caplog):
    ward = await ward_for(user)
    async with get_db().write() as session:
        await consultation.save_draft(session, ward.doctor, ward.visit_id, FULL, now=utcnow())
    async with get_db().write() as session:
        ticket = await queue.call_next(session, ward.doctor, (await session.exec(select(QueueTicket.queue_id))).one(),
                                       tz=TZ, now=NOW)
    async with get_db().write() as session:
        await queue.start(session, ward.doctor, ticket.id, now=NOW)
    await sign_in(user, 'doctor', station='Consultation')
    await user.open(f'/consultation/visits/{ward.visit_id}')
    await user.should_see(marker='finish-consultation', retries=RETRIES)
    monkeypatch.setattr(queue, 'finish', fail)  # the queue step fails
    user.find(marker='finish-consultation').click()
    await user.should_see('nothing was saved', retries=RETRIES)
    async with get_db().read() as session:
        assert (await session.exec(select(MedicalRecord))).one().status == RecordStatus.DRAFT
        assert (await session.get(Visit, ward.visit_id)).consultation_ended_at is None
        assert (await session.get(QueueTicket, ticket.id)).status == TicketStatus.IN_SERVICE
    expected_failure_logged(caplog)
