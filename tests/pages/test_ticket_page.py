"""The patient's live ticket page (``/t/<token>``): no sign-in, follows the call live, in the patient's language;
forged and expired links say so, and too many bad links from one address are refused."""
from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

from nicegui.testing import User
from sqlmodel import update

from models import Invoice, Patient
from models.types import utcnow
from services import billing, checkin, clinic_settings, qr, queue, ticket_links, vietqr
from services.core.clock import local_today
from services.core.db import get_db
from services.core.events import EventsMissed, bus
from tests.conftest import RETRIES, element
from tests.factories import Clinic, make_clinic, on_duty_around_the_clock
from tests.pages.admin.helpers import restore_settings  # noqa: F401 - an autouse fixture


async def walk_in(clinic: Clinic, patient: int = 0) -> checkin.Ticket:
    settings = clinic_settings.current()
    async with get_db().write() as session:
        return await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[patient],
                                     doctor_id=clinic.doctor_ids[0], tz=settings.tz, now=utcnow(), reason='Cough')


def path_of(ticket: checkin.Ticket) -> str:
    settings = clinic_settings.current()
    return ticket_links.ticket_path(ticket_links.make_token(ticket.visit_id, local_today(settings.tz), settings))


async def clinic_with_a_walk_in(user: User) -> tuple[Clinic, checkin.Ticket]:
    await user.open('/login')  # starts the app
    clinic = await make_clinic(get_db())
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids)
    return clinic, await walk_in(clinic)


async def test_the_page_shows_the_number_and_follows_the_call_live(user: User):
    clinic, ticket = await clinic_with_a_walk_in(user)
    other = await walk_in(clinic, 1)
    await user.open(path_of(other))
    await user.should_see(other.label, retries=RETRIES)
    await user.should_see('1 patient ahead of you')
    await user.should_see('Room: R1 · Room 1')
    await user.should_not_see('Lê Thị Hồng')  # the patient ahead: nothing of them
    await user.should_not_see(ticket.label)
    async with get_db().write() as session:
        queue_id = (await queue.queue_for_doctor(session, clinic.doctor_ids[0])).id
        await queue.call_next(session, clinic.doctor_actor, queue_id, tz=clinic_settings.current().tz, now=utcnow())
    await user.should_see('You are next.', retries=RETRIES)  # the one ahead was called: live, no reload
    await user.should_see(f'Now serving: {ticket.label}')
    async with get_db().write() as session:
        await queue.call_next(session, clinic.doctor_actor, queue_id, tz=clinic_settings.current().tz, now=utcnow())
    await user.should_see("It's your turn!", retries=RETRIES)
    await user.should_see(marker='ticket-called')
    await user.should_see('R1')
    await user.should_see('Room 1')


async def test_in_the_patients_language_unless_the_visitor_chose_another(user: User):
    clinic, ticket = await clinic_with_a_walk_in(user)
    async with get_db().write() as session:
        await session.exec(update(Patient).where(Patient.id == clinic.patient_ids[0]).values(language='vi'))
        await session.commit()
    await user.open(path_of(ticket))
    await user.should_see('Quý khách là người tiếp theo.', retries=RETRIES)
    await user.open(path_of(ticket) + '?lang=en')
    await user.should_see('You are next.', retries=RETRIES)


async def test_forged_and_expired_links_say_so_and_bad_links_are_limited_per_address(user: User):
    clinic, ticket = await clinic_with_a_walk_in(user)
    settings = clinic_settings.current()
    await user.open('/t/not-a-real-ticket?lang=en')
    await user.should_see('This link is not valid', retries=RETRIES)
    yesterday = local_today(settings.tz) - timedelta(days=1)
    await user.open(ticket_links.ticket_path(ticket_links.make_token(ticket.visit_id, yesterday, settings)))
    await user.should_see('it has expired', retries=RETRIES)
    for attempt in range(19):
        await user.open(f'/t/forged{attempt}.abc')
    await user.open(path_of(ticket))  # even a good link, once this address sent too many bad ones
    await user.should_see('Too many wrong links', retries=RETRIES)
    await user.should_not_see(ticket.label)


async def test_after_lost_news_the_page_reads_afresh(user: User, monkeypatch):
    """A call committed by another process whose news was lost: ``EventsMissed`` makes the page read again."""
    clinic, ticket = await clinic_with_a_walk_in(user)
    await user.open(path_of(ticket))
    await user.should_see('You are next.', retries=RETRIES)
    with monkeypatch.context() as patch:
        patch.setattr(bus, 'committed', lambda event: None)
        async with get_db().write() as session:
            queue_id = (await queue.queue_for_doctor(session, clinic.doctor_ids[0])).id
            await queue.call_next(session, clinic.doctor_actor, queue_id, tz=clinic_settings.current().tz,
                                  now=utcnow())
    await asyncio.sleep(0.3)
    await user.should_not_see("It's your turn!")  # nobody heard of it
    bus.deliver(EventsMissed())
    await user.should_see("It's your turn!", retries=RETRIES)


async def test_the_bills_total_appears_live_once_the_cashier_bills_the_visit(user: User):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids)
    settings = clinic_settings.current()
    async with get_db().write() as session:
        ticket = await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                                       doctor_id=clinic.doctor_ids[0], tz=settings.tz, now=utcnow(),
                                       service_id=clinic.consultation_id)
    await user.open(path_of(ticket) + '?lang=en')
    await user.should_see('You are next.', retries=RETRIES)
    await user.should_not_see(marker='ticket-bill')
    async with get_db().write() as session:
        await billing.bill_visit(session, clinic.cashier, ticket.visit_id)
    await user.should_see(marker='ticket-due', content='150,000', retries=RETRIES)
    await user.should_not_see(marker='ticket-transfer-qr')  # the clinic has no bank account: no code


async def test_with_the_clinics_bank_account_the_phone_shows_the_transfer_code_for_what_is_due(user: User):
    await user.open('/login')
    clinic = await make_clinic(get_db())
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids)
    clinic_settings.put_in_force(clinic_settings.current().model_copy(update={
        'bank_bin': '970436', 'bank_account': '1023456789', 'bank_account_name': 'PHONG KHAM AN BINH'}))
    settings = clinic_settings.current()
    async with get_db().write() as session:
        ticket = await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[0],
                                       doctor_id=clinic.doctor_ids[0], tz=settings.tz, now=utcnow(),
                                       service_id=clinic.consultation_id)
    await user.open(path_of(ticket) + '?lang=en')
    await user.should_see('You are next.', retries=RETRIES)
    async with get_db().write() as session:
        invoice_id = await billing.bill_visit(session, clinic.cashier, ticket.visit_id)
    async with get_db().read() as session:
        invoice = await session.get(Invoice, invoice_id)
    await user.should_see(marker='ticket-transfer-qr', retries=RETRIES)
    source = element(user, 'ticket-transfer-qr').source
    expected = vietqr.payload('970436', '1023456789', amount=150_000, purpose=vietqr.clean_purpose(invoice.number))
    assert base64.b64decode(source.split(',', 1)[1]).decode('ascii') == qr.svg(expected)
    await user.should_see(f'Transfer note: {vietqr.clean_purpose(invoice.number)}')


async def test_an_open_page_says_the_ticket_expired_when_the_clinic_day_ends(user: User, monkeypatch):
    """Left open on the phone past midnight, with no news from the clinic: the page says so by itself."""
    import pages.ticket
    clinic, ticket = await clinic_with_a_walk_in(user)
    settings = clinic_settings.current()
    claim = ticket_links.read_token(ticket_links.make_token(ticket.visit_id, local_today(settings.tz), settings),
                                    settings)
    clock = {'now': claim.expires_at - timedelta(seconds=0.5)}  # half a second before the day ends
    monkeypatch.setattr(pages.ticket, 'utcnow', lambda: clock['now'])
    await user.open(path_of(ticket))
    await user.should_see('You are next.', retries=RETRIES)
    clock['now'] = claim.expires_at + timedelta(minutes=1)
    await user.should_see('it has expired', retries=RETRIES)
    await user.should_not_see('You are next.')


async def test_phones_in_one_queue_share_one_read_of_it_when_another_patient_is_called(user: User, monkeypatch):
    """Three patients wait with their phones open; the doctor calls the first: the two others see one patient fewer
    ahead, and the queue was read once for all of them (and the staff screens), not once per phone."""
    from services import queue as queue_service
    clinic, first = await clinic_with_a_walk_in(user)
    second, third = await walk_in(clinic, 1), await walk_in(clinic, 2)
    phones = [user, User(user.http_client), User(user.http_client)]
    for phone, ticket in zip(phones, (first, second, third)):
        await phone.open(path_of(ticket))
    await phones[2].should_see('2 patients ahead of you', retries=RETRIES)
    number_shown = phones[2].find(marker='ticket-number').elements.pop()
    await phones[1].should_see('About ')
    reads = []
    load_views = queue_service.load_views

    async def counted(session, queues, **kwargs):
        reads.append([q.id for q in queues])
        return await load_views(session, queues, **kwargs)

    monkeypatch.setattr(queue_service, 'load_views', counted)
    async with get_db().write() as session:
        queue_id = (await queue_service.queue_for_doctor(session, clinic.doctor_ids[0])).id
        await queue_service.call_next(session, clinic.doctor_actor, queue_id, tz=clinic_settings.current().tz,
                                      now=utcnow())
    await phones[0].should_see("It's your turn!", retries=RETRIES)
    await phones[1].should_see('You are next.', retries=RETRIES)
    await phones[1].should_see(f'Now serving: {first.label}')
    await phones[2].should_see('1 patient ahead of you', retries=RETRIES)
    await asyncio.sleep(0.3)
    assert reads.count([queue_id]) == 2, reads  # once shared by the two waiting phones, once by the one called
    assert phones[2].find(marker='ticket-number').elements.pop() is number_shown  # only the line's texts changed
    await phones[1].should_not_see('About ')  # next: no wait time any more (nothing left of a text that went)
