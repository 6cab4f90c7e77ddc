"""Booking at reception: service, free time, reason, then back on the patient's page."""
from datetime import timedelta

from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlmodel import select

from models import Appointment, BookingSource, DoctorService, DoctorSpecialty, Service, ServiceKind, Specialty
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element
from tests.pages.reception.helpers import first_slot, signed_in_clinic


async def choose_a_time_next_week(user: User, service_id: int) -> None:
    """The service first (no times before it), then next week, so the test does not depend on the hour."""
    await user.should_see(marker='service', retries=RETRIES)
    await user.should_see('Choose the service first.', retries=RETRIES)
    element(user, 'service').set_value(service_id)
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='later-days').click()
    next_week = local_today(get_settings().tz) + timedelta(days=7)
    await user.should_see(next_week.strftime('%d/%m') + ' –', retries=RETRIES)
    await user.should_see(marker='slot', retries=RETRIES)
    UserInteraction(user, {first_slot(user)}, None).click()
    await user.should_see('Chosen:', retries=RETRIES)


async def test_booking_from_the_patient_page(user: User):
    clinic = await signed_in_clinic(user)
    await user.open(f'/reception/book/{clinic.patient_ids[1]}')
    await choose_a_time_next_week(user, clinic.consultation_id)
    user.find(marker='reason').type('Ho kéo dài')
    user.find(marker='confirm-booking').click()
    await user.should_see(marker='patient-heading', content='Phạm Văn Đức', retries=RETRIES)
    await user.should_see('Upcoming appointments (1)', retries=RETRIES)
    async with get_db().read() as session:
        appointment = (await session.exec(select(Appointment))).one()
    assert appointment.reason == 'Ho kéo dài' and appointment.source == BookingSource.PHONE


async def cardiology_and_general_consultations(clinic) -> tuple[int, int]:
    """A cardiologist's consultation ("chest pain") and the general consultation of General medicine ("fever")."""
    async with get_db().write() as session:
        general = (await session.exec(select(Specialty).where(Specialty.name == 'General medicine'))).one()
        consultation = await session.get(Service, clinic.consultation_id)
        consultation.specialty_id = general.id
        cardiology = Specialty(name='Cardiology', keywords='chest pain, palpitations')
        session.add_all([consultation, cardiology])
        await session.flush()
        heart = Service(code='K1', name='Cardiology consultation', kind=ServiceKind.CONSULTATION,
                        specialty_id=cardiology.id, duration_minutes=20, price=300_000)
        session.add(heart)
        await session.flush()
        session.add_all([DoctorSpecialty(doctor_id=clinic.doctor_ids[0], specialty_id=cardiology.id),
                         DoctorService(doctor_id=clinic.doctor_ids[0], service_id=heart.id)])
        await session.commit()
        return heart.id, consultation.id


async def complain(user: User, words: str, then_see: str) -> None:
    user.find(marker='complaint').clear()
    await user.should_see('Choose the service first.', retries=RETRIES)
    user.find(marker='complaint').type(words)
    await user.should_see(then_see, retries=RETRIES)


async def test_the_service_follows_the_complaint_when_it_changes(user: User):
    clinic = await signed_in_clinic(user)
    heart, general = await cardiology_and_general_consultations(clinic)
    await user.open(f'/reception/book/{clinic.patient_ids[0]}')
    await user.should_see(marker='complaint', retries=RETRIES)
    user.find(marker='complaint').type('chest pain')
    await user.should_see('Suggested specialty: Cardiology', retries=RETRIES)
    assert element(user, 'service').value == heart
    await complain(user, 'fever', 'Suggested specialty: General medicine')
    assert element(user, 'service').value == general  # not the cardiology consultation any more
    await complain(user, 'broken shoelace', 'No specialty matches these words')
    assert element(user, 'service').value is None


async def test_a_service_chosen_by_hand_stays_when_the_complaint_changes(user: User):
    clinic = await signed_in_clinic(user)
    heart, _ = await cardiology_and_general_consultations(clinic)
    await user.open(f'/reception/book/{clinic.patient_ids[0]}')
    await user.should_see(marker='complaint', retries=RETRIES)
    user.find(marker='complaint').type('chest pain')
    await user.should_see('Suggested specialty: Cardiology', retries=RETRIES)
    assert element(user, 'service').value == heart
    element(user, 'service').set_value(clinic.long_service_id)  # the receptionist knows better
    await user.should_see(marker='slot', retries=RETRIES)
    user.find(marker='complaint').type(' and fever')
    await user.should_see('Suggested specialty: Cardiology, General medicine', retries=RETRIES)
    assert element(user, 'service').value == clinic.long_service_id
