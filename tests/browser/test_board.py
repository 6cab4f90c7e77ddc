"""The board in a real browser against the real app (python main.py, demo data): a doctor calls in one Chromium,
the TV board in another changes at once and announces the call; the server is killed and restarted and the board
recovers by itself. Screenshots at 1920x1080 go to tests/artifacts/."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

from tests.browser.support import DemoApp as App
from tests.browser.support import chromium
from tests.browser.test_journeys import sign_in, wait

TV = (1920, 1080)



async def _prepare(database_url: str) -> str:
    """Three walk-ins for the first doctor (queue A) and a display key for every queue."""
    from sqlmodel import select

    from models import Doctor, Patient, User
    from models.types import utcnow
    from services import checkin, display_keys, users
    from services.core.db import Database
    from services.core.settings import get_settings
    from tests.factories import on_duty_around_the_clock

    database = Database(database_url)
    try:
        async with database.read() as session:
            reception = users.actor_of((await session.exec(select(User).where(User.username == 'reception'))).one())
            admin = users.actor_of((await session.exec(select(User).where(User.username == 'admin'))).one())
            doctor = (await session.exec(select(Doctor).join(User, User.id == Doctor.user_id)
                                         .where(User.username == 'doctor'))).one()
            patients = (await session.exec(select(Patient.id).order_by(Patient.id).limit(3))).all()
        await on_duty_around_the_clock(database, [doctor.id])  # walk-ins whatever the hour the test runs
        for patient_id in patients:
            async with database.write() as session:
                await checkin.walk_in(session, reception, patient_id=patient_id, doctor_id=doctor.id,
                                      tz=get_settings().tz, now=utcnow())
        async with database.write() as session:
            _, key = await display_keys.issue(session, admin, 'Waiting room TV')
        return key
    finally:
        await database.dispose()


@pytest.fixture(scope='module')
def app():
    app = App()
    app.start()
    try:
        yield app
    finally:
        app.stop()


def click(driver, label: str, seconds: float = 15) -> None:
    """Click the button with this label (the worklist redraws its buttons after each step: retry if stale)."""
    xpath = f'//button[.//span[normalize-space()="{label}"]]'
    deadline = time.monotonic() + seconds
    while True:
        try:
            wait(driver, seconds).until(EC.element_to_be_clickable((By.XPATH, xpath))).click()
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise


def tv_screen(driver) -> None:
    """Exactly 1920x1080 CSS pixels, like a full-HD TV in kiosk mode."""
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': TV[0], 'height': TV[1], 'deviceScaleFactor': 1, 'mobile': False})


def shot(driver, artifacts: Path, name: str) -> Path:
    path = artifacts / f'{name}.png'
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, f'{name}: the screenshot looks empty'
    return path


def allow_the_sound(tv, artifacts: Path) -> None:
    """Browsers block sound until someone touches the page: the prompt says so, and a tap turns it on."""
    prompt = wait(tv).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.board-sound-prompt')))
    assert 'turn on the sound' in prompt.text
    time.sleep(0.5)
    shot(tv, artifacts, 'board-tv-sound-prompt')
    prompt.click()
    wait(tv).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.board-sound-prompt')))
    assert tv.execute_script('return clinicBoard.soundAllowed()')


def call_and_see_it_at_once(doctor, tv, artifacts: Path) -> None:
    call = wait(doctor).until(EC.element_to_be_clickable(
        (By.XPATH, '//button[.//span[normalize-space()="Call next"]]')))
    time.sleep(0.5)  # let the sound unlock settle
    clicked = time.monotonic()
    call.click()
    wait(tv, 5).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.board-call'), 'A-001'))
    seen = time.monotonic() - clicked
    assert seen < 2, f'the board took {seen:.2f} s'
    now = tv.find_elements(By.CSS_SELECTOR, '.board-now')
    assert any(element.text == 'A-001' for element in now)
    assert tv.find_elements(By.CSS_SELECTOR, '.board-card.board-flash[data-queue="A"]')  # the called queue flashes
    wait(tv, 10).until(lambda d: d.execute_script('return clinicBoard.log.length') >= 1)
    assert tv.execute_script('return clinicBoard.log[0].text').startswith('Number A 1, please go to ')
    shot(tv, artifacts, 'board-tv-called')


def announce_two_calls_one_after_the_other(doctor, tv) -> None:
    """A recall, a skip and the next call: announced one after the other, never at once."""
    click(doctor, 'Recall')
    wait(doctor).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), '(2×)'))
    click(doctor, 'Skip')
    wait(doctor).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Skipped'))
    click(doctor, 'Call next')
    wait(tv, 5).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.board-call'), 'A-002'))
    wait(tv, 30).until(lambda d: d.execute_script(
        'return clinicBoard.log.length >= 3 && clinicBoard.log.every(e => e.end)'))
    log = tv.execute_script('return clinicBoard.log')
    assert [entry['text'].split(',')[0] for entry in log] == ['Number A 1', 'Number A 1', 'Number A 2']
    assert all(later['start'] >= earlier['end'] for earlier, later in zip(log, log[1:]))
    assert tv.find_elements(By.CSS_SELECTOR, '.board-card.board-flash[data-queue="A"]')  # kept through updates


def look_at_the_send_to_dialog(doctor, artifacts: Path) -> None:
    shot(doctor, artifacts, 'worklist-laptop')
    click(doctor, 'Send to…')  # one dialog for every card: the other queues to send the patient to
    wait(doctor).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Send A-002'))
    time.sleep(0.5)
    shot(doctor, artifacts, 'worklist-send-to-laptop')
    click(doctor, 'Cancel')
    wait(doctor).until(EC.invisibility_of_element_located((By.XPATH, '//*[contains(text(), "Send A-002")]')))


def restart_the_server(app, tv, artifacts: Path) -> None:
    """The server dies: the TV says it is reconnecting; the server comes back: the board recovers by itself."""
    app.kill()
    wait(tv, 10).until(lambda d: d.execute_script(
        'return document.getElementById("popup").getAttribute("aria-hidden") === "false"'))
    time.sleep(2)
    shot(tv, artifacts, 'board-tv-reconnecting')
    assert 'Reconnecting' in tv.find_element(By.ID, 'popup').text
    app.start()
    restarted = time.monotonic()
    wait(tv, 30).until(lambda d: d.execute_script(
        'return document.getElementById("popup").getAttribute("aria-hidden") === "true"'
        ' && !!document.querySelector(".board-card")'))
    wait(tv, 10).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.board-call'), 'A-002'))
    recovered = time.monotonic() - restarted
    assert recovered < 15, f'the board took {recovered:.1f} s to recover'


def call_again_untouched(app, doctor, tv, artifacts: Path) -> None:
    """Live again: the next call arrives without anybody touching the TV."""
    doctor.get(f'{app.url}/consultation')
    click(doctor, 'Skip', 20)
    wait(doctor).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Skipped: called, did not come (2)'))
    click(doctor, 'Call next')
    wait(tv, 5).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.board-call'), 'A-003'))
    shot(tv, artifacts, 'board-tv-after-restart')


def test_a_call_reaches_the_tv_at_once_with_chime_and_voice_and_the_board_survives_a_server_restart(
        app, artifacts_dir):
    key = asyncio.run(_prepare(app.env['CLINIC_DATABASE_URL']))
    tv = chromium(TV)
    doctor = chromium((1440, 900))
    try:
        tv_screen(tv)
        tv.get(f'{app.url}/board?key={key}')
        wait(tv).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.board-card'), 'A-001'))
        allow_the_sound(tv, artifacts_dir)
        sign_in(doctor, app.url, 'doctor')
        call_and_see_it_at_once(doctor, tv, artifacts_dir)
        announce_two_calls_one_after_the_other(doctor, tv)
        look_at_the_send_to_dialog(doctor, artifacts_dir)
        restart_the_server(app, tv, artifacts_dir)
        call_again_untouched(app, doctor, tv, artifacts_dir)
    finally:
        tv.quit()
        doctor.quit()


def test_a_wrong_key_shows_no_board(app):
    tv = chromium(TV)
    try:
        tv.get(f'{app.url}/board?key=wrong')
        wait(tv).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'not valid'))
        assert not tv.find_elements(By.CSS_SELECTOR, '.board-card')
    finally:
        tv.quit()
