"""The patient follows their turn on their own phone, in real browsers against the real app (demo data): reception
checks them in and its screen shows the ticket's QR code; the phone (390×844) opens the link the code holds; the
doctor calls and the phone shows the room within a second, chiming after the first tap; the doctor sends the patient
to the lab and the phone follows to the lab's queue. Two phones, one in Vietnamese and one in English; screenshots of
each step go to tests/artifacts/ticket-*.png."""
from __future__ import annotations

import asyncio
import io
import re
import time

import zxingcpp
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.test_journeys import LAPTOP, PHONE, wait
from tests.browser.test_patient_path import (
    DIALOG,
    Clinic,
    button,
    click,
    doctor_orders_a_blood_count_and_waits,
    reception_books_for_today,
    row,
    shot,
)
from tests.browser.test_patient_path import clinic as journey_clinic  # noqa: F401 - the journey's fixture

CALLED = "//*[contains(@class,'ticket-called')]"


def reception_checks_in_and_shows_the_code(clinic: Clinic, reception) -> str:
    """The check-in's ticket dialog shows the QR code: it holds the link written under it."""
    reception.get(clinic.url + '/reception')
    wait(reception).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "input[placeholder='Filter…']"))) \
        .send_keys(clinic.cast.code)
    click(reception, button('Check in', row(clinic.cast.code)))
    click(reception, button('Check in', DIALOG))
    code = wait(reception).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .ticket-qr')))
    link = reception.find_element(By.CSS_SELECTOR, '.q-dialog .ticket-link').text
    wait(reception).until(lambda d: d.execute_script('return arguments[0].querySelector("img")?.complete', code))
    shot(reception, clinic.artifacts, 'ticket-01-reception-qr-tablet')
    image = Image.open(io.BytesIO(code.screenshot_as_png))
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [link]
    assert link.startswith(clinic.url + '/t/')
    click(reception, button('Done', DIALOG))
    return link


def open_the_phone(clinic: Clinic, link: str, language: str):
    phone = clinic.open(None, PHONE, link.removeprefix(clinic.url) + f'?lang={language}')
    phone.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                          {'width': PHONE[0], 'height': PHONE[1], 'deviceScaleFactor': 1, 'mobile': True})
    phone.execute_cdp_cmd('Emulation.setTouchEmulationEnabled', {'enabled': True})
    wait(phone).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.ticket-number')))
    prompt = wait(phone).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.ticket-sound-prompt')))
    shot(phone, clinic.artifacts, f'ticket-02-phone-waiting-{language}')
    prompt.click()  # the first tap: from now on the phone may chime
    wait(phone).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.ticket-sound-prompt')))
    assert phone.execute_script('return clinicTicket.soundOn()')
    return phone


def text_of(driver, testid: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'.{testid}').text


def doctor_calls_and_the_phones_show_the_room_at_once(clinic: Clinic, doctor, phones: dict) -> None:
    waits = {language: WebDriverWait(phone, 5, poll_frequency=0.02) for language, phone in phones.items()}
    click(doctor, "//button[.//span[normalize-space()='Call next']]")
    start = time.monotonic()
    waits['en'].until(EC.visibility_of_element_located((By.XPATH, CALLED)))
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, f'the phone showed the call after {elapsed:.2f} s'
    waits['vi'].until(EC.visibility_of_element_located((By.XPATH, CALLED)))
    assert text_of(phones['en'], 'ticket-headline') == "It's your turn!"
    assert text_of(phones['vi'], 'ticket-headline') == 'Đến lượt quý khách!'
    assert text_of(phones['en'], 'ticket-room').split('\n') == ['R101', 'Consultation room 1']
    assert text_of(phones['vi'], 'ticket-room').split('\n') == ['R101', 'Phòng khám 1']  # its Vietnamese name
    for language, phone in phones.items():
        assert text_of(phone, 'ticket-number') == 'A-001'
        assert phone.execute_script('return clinicTicket.alerts.length') == 1  # chimed (and vibrated) once
        fits = phone.execute_script('return document.documentElement.scrollWidth <= window.innerWidth')
        assert fits, f'{language}: the called card is wider than the phone'
        time.sleep(4)  # the pulse ends
        shot(phone, clinic.artifacts, f'ticket-03-phone-called-{language}')
    print(f'the phone showed the call {elapsed * 1000:.0f} ms after the click')


def the_phones_follow_to_the_lab(clinic: Clinic, phones: dict) -> None:
    for language, phone in phones.items():
        WebDriverWait(phone, 10).until(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, '.ticket-number'), 'L-001'))
        shot(phone, clinic.artifacts, f'ticket-04-phone-at-the-lab-{language}')
    assert text_of(phones['en'], 'ticket-headline') == 'Please go to the laboratory'
    assert text_of(phones['vi'], 'ticket-headline') == 'Mời quý khách đến phòng xét nghiệm'
    assert text_of(phones['en'], 'ticket-room') == 'Room: R201 · Laboratory'
    assert text_of(phones['en'], 'ticket-ahead') == 'You are next.'


async def _bill_the_visit(url: str, code: str, day) -> None:
    """The cashier bills what the visit has so far (the consultation, the blood count), as the app's services do."""
    from sqlmodel import select

    from models import Patient, User, Visit
    from services import billing, users
    from services.core.db import Database

    database = Database(url)
    try:
        async with database.write() as session:
            cashier = users.actor_of((await session.exec(select(User).where(User.username == 'cashier'))).one())
            visit_id = (await session.exec(select(Visit.id).join(Patient, Patient.id == Visit.patient_id)
                                           .where(Patient.code == code, Visit.visit_date == day))).one()
            await billing.bill_visit(session, cashier, visit_id)
    finally:
        await database.dispose()


def the_bill_shows_with_its_total(clinic: Clinic, phones: dict) -> None:
    """Billed by another process here (the test's): read again on opening the page, its total shows."""
    asyncio.run(_bill_the_visit(clinic.database_url, clinic.cast.code, clinic.today()))
    for language, phone in phones.items():
        phone.refresh()
        due = wait(phone).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.ticket-due')))
        assert re.search(r'\d{3}[.,]000', due.text), due.text
        phone.execute_script('arguments[0].scrollIntoView({block: "center"})', due)
        shot(phone, clinic.artifacts, f'ticket-05-phone-bill-{language}')
        assert phone.execute_script('return document.documentElement.scrollWidth <= window.innerWidth')


def test_the_patient_follows_their_turn_on_their_phone_from_check_in_to_the_lab(journey_clinic):  # noqa: F811
    clinic = journey_clinic
    reception = reception_books_for_today(clinic)
    link = reception_checks_in_and_shows_the_code(clinic, reception)
    phones = {language: open_the_phone(clinic, link, language) for language in ('en', 'vi')}
    assert 'A-001' in phones['en'].title and 'A-001' in phones['vi'].title
    doctor = clinic.open('doctor', LAPTOP, '/consultation')
    doctor_calls_and_the_phones_show_the_room_at_once(clinic, doctor, phones)
    click(doctor, button('Start consultation'))
    wait(doctor).until(EC.url_contains('/consultation/visits/'))
    for phone in phones.values():
        WebDriverWait(phone, 10).until(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, '.ticket-headline'), 'You are being seen' if phone is phones['en']
            else 'Quý khách đang được khám'))
    doctor_orders_a_blood_count_and_waits(clinic, doctor, reception)
    the_phones_follow_to_the_lab(clinic, phones)
    the_bill_shows_with_its_total(clinic, phones)
