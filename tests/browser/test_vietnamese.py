"""The demo clinic in Vietnamese, in a real browser: every station at tablet (1280x800), laptop (1440x900) and TV
(1920x1080) size, the waiting-room board and /book on a phone. Each screen must show no English text of the
catalog (a text whose Vietnamese differs from the English) and no button, tab or column heading whose text is cut
or runs out of its box. Screenshots go to tests/artifacts/vi-*.png to be looked at."""
from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium, morning_timezone
from tests.conftest import ROOT

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.test_journeys import screenshot, sign_in, wait
from tests.browser.test_screens import (  # noqa: F401 - browser, artifacts: the module's fixtures
    App,
    actors,
    artifacts,
    browser,
    in_clinic_time,
    step,
    viewport,
)

TABLET, LAPTOP, TV, PHONE = (1280, 800), (1440, 900), (1920, 1080), (390, 844)
SIZES = {'tablet': TABLET, 'laptop': LAPTOP, 'tv': TV}

# (account, path, name): the stations and the screens beneath them
SCREENS = [
    ('reception', '/reception', 'reception'), ('reception', '/reception/appointments', 'appointments'),
    ('reception', '/reception/queues', 'queues'), ('reception', '/reception/patients/{patient}', 'patient'),
    ('reception', '/reception/book/{patient}', 'booking'),
    ('doctor', '/consultation', 'worklist'), ('doctor', '/consultation/visits/{visit}', 'chart'),
    ('lab', '/lab', 'lab'), ('pharmacy', '/pharmacy', 'pharmacy'), ('pharmacy', '/pharmacy/inventory', 'inventory'),
    ('cashier', '/cashier', 'cashier'), ('cashier', '/cashier/transactions', 'transactions'),
    ('admin', '/admin', 'admin'), ('admin', '/admin/catalog', 'catalog'), ('admin', '/admin/staff', 'staff'),
    ('admin', '/admin/doctors', 'doctors'), ('admin', '/admin/settings', 'settings'),
    ('admin', '/admin/dashboard', 'dashboard'), ('admin', '/admin/displays', 'displays'),
    ('admin', '/admin/audit', 'audit'), ('admin', '/account/password', 'account'),
]

# Texts that read the same in both languages, or are data (the demo's past prescriptions were typed "1 tablet")
SAME = {'Email', 'OK', 'Holter', 'HbA1c', 'SpO₂', 'ICD-10', 'PDF', 'CSV', 'A4', '80 mm', 'Tiếng Việt', 'English',
        '1 tablet'}

CUT_TEXT = '''
const cut = [];
for (const el of document.querySelectorAll(
        '.q-btn__content, .q-tab__label, th, .q-field__label, .q-item__label, .q-toolbar__title, .q-chip__content')) {
  const box = el.getBoundingClientRect();
  if (!box.width || !el.offsetParent || !el.innerText.trim()) continue;
  const style = getComputedStyle(el);
  const clipped = el.scrollWidth > el.clientWidth + 1 && style.overflow !== 'visible';
  const outside = box.right > window.innerWidth + 1;
  if (clipped || outside) cut.push(el.innerText.trim().slice(0, 60));
}
return cut;
'''


def english_texts() -> list[str]:
    """The catalog's English texts whose Vietnamese reads differently: none may show on a Vietnamese screen. Only
    texts of two words or more without placeholders (a single word may be a name or a code)."""
    from babel.messages.pofile import read_po
    with open(ROOT / 'assets' / 'locales' / 'vi' / 'LC_MESSAGES' / 'messages.po', 'rb') as po_file:
        catalog = read_po(po_file, locale='vi')
    texts = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or '{' in message.id:
            continue
        if message.string and message.string != message.id and len(message.id.split()) >= 2 \
                and message.id not in SAME:
            texts.append(message.id)
    return sorted(texts, key=len, reverse=True)


@pytest.fixture(scope='module')
def app() -> Iterator[App]:
    """The demo clinic (Vietnamese), its clock in the morning, one walk-in with the first doctor."""
    zone = morning_timezone()
    demo = DemoApp(patients=80, CLINIC_TIMEZONE=zone, CLINIC_LANGUAGE='vi')
    demo.start()
    try:
        running = App(demo.url, demo.env['CLINIC_DATABASE_URL'], ZoneInfo(zone))
        asyncio.run(in_clinic_time(running, prepare))
        running.names['board_key'] = (demo.data_dir / 'demo_board_key').read_text().strip()
        yield running
    finally:
        demo.stop()


async def prepare(app: App, database) -> None:
    from sqlmodel import select

    from models import Doctor, Patient, User, Visit
    from models.types import utcnow
    from services import checkin
    people = await actors(database)
    async with database.read() as session:
        doctor_user = (await session.exec(select(User).where(User.username == 'doctor'))).one()
        doctor = (await session.exec(select(Doctor).where(Doctor.user_id == doctor_user.id))).one()
        patient = (await session.exec(select(Patient).order_by(Patient.id.desc()))).first()
    await step(database, lambda s: checkin.walk_in(s, people['reception'], patient_id=patient.id,
                                                   doctor_id=doctor.id, tz=app.tz, now=utcnow(),
                                                   reason='Sốt, ho 3 ngày'))
    async with database.read() as session:
        app.ids['visit'] = (await session.exec(select(Visit.id).where(Visit.patient_id == patient.id)
                                               .order_by(Visit.id.desc()))).first()
    app.ids['patient'] = patient.id


def problems_on_screen(driver, english: list[str]) -> tuple[list[str], list[str]]:
    """English texts of the catalog shown, and texts cut or out of the window."""
    shown = driver.execute_script('return document.body.innerText')
    leftovers = []
    for text in english:
        if re.search(rf'(?<![\w]){re.escape(text)}(?![\w])', shown):
            leftovers.append(text)
            shown = shown.replace(text, ' ')
    return leftovers, driver.execute_script(CUT_TEXT)


@pytest.mark.parametrize('account, path, name', SCREENS)
def test_every_station_in_vietnamese_at_every_size(app, browser, artifacts, account, path, name):
    if app.names.get('signed_in') != account:
        browser.get(app.url + '/logout')
        sign_in(browser, app.url, account)
        wait(browser).until(lambda d: '/login' not in d.current_url)  # signed in: on the station
        app.names['signed_in'] = account
    address = app.url + path.format(**app.ids)
    browser.get(address)
    wait(browser).until(lambda d: d.current_url.split('?')[0] == address)
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-page')))
    wait(browser).until(lambda d: d.execute_script('return document.readyState') == 'complete')
    browser.execute_script('return new Promise(r => setTimeout(r, 1000))')  # the page's first live read
    english = english_texts()
    found: dict[str, tuple[list[str], list[str]]] = {}
    for size_name, size in SIZES.items():
        viewport(browser, size)
        browser.execute_script('return new Promise(r => setTimeout(r, 400))')
        screenshot(browser, artifacts, f'vi-{name}-{size_name}', size)
        leftovers, cut = problems_on_screen(browser, english)
        if leftovers or cut:
            found[size_name] = (leftovers, cut)
    viewport(browser, TABLET)
    assert not found, f'{path}: English left or text cut: {found}'


def test_the_board_and_booking_in_vietnamese(app, browser, artifacts):
    english = english_texts()
    browser.get(f'{app.url}/board?key={app.names["board_key"]}')
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.board-card')))
    viewport(browser, TV)
    screenshot(browser, artifacts, 'vi-board-tv', TV)
    assert 'ĐANG PHỤC VỤ' in browser.find_element(By.TAG_NAME, 'body').text.upper()  # captions in capitals
    assert problems_on_screen(browser, english) == ([], [])
    viewport(browser, PHONE)
    browser.get(f'{app.url}/book')
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-page .q-field')))
    screenshot(browser, artifacts, 'vi-book-phone', PHONE)
    assert problems_on_screen(browser, english) == ([], [])
    viewport(browser, TABLET)


async def both_languages_key(app: App, database) -> None:
    from services import display_keys
    people = await actors(database)
    __, key = await step(database, lambda s: display_keys.issue(s, people['admin'], 'Sảnh chờ / Lobby',
                                                               language=display_keys.BOTH))
    app.names['both_key'] = key


def test_a_board_in_both_languages_shows_each_in_turn_and_announces_each_call_twice(app, browser, artifacts):
    """Vietnamese first, then English, in turn; a call is said in Vietnamese and then in English, each with its
    own voice, after one chime."""
    asyncio.run(in_clinic_time(app, both_languages_key))
    viewport(browser, TV)
    browser.get(f'{app.url}/board?key={app.names["both_key"]}')
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.board-card')))
    shown = lambda: browser.execute_script('return document.querySelector(".board").dataset.show')  # noqa: E731
    text = lambda: browser.find_element(By.TAG_NAME, 'body').text.upper()  # noqa: E731
    assert shown() == 'vi' and 'ĐANG PHỤC VỤ' in text() and 'NOW SERVING' not in text()
    screenshot(browser, artifacts, 'vi-board-both-vi', TV)
    browser.execute_script('clinicBoard.configure({rotateSeconds: 1})')  # the test does not wait 10 s
    wait(browser, 10).until(lambda d: shown() == 'en')
    assert 'NOW SERVING' in text() and 'ĐANG PHỤC VỤ' not in text()
    screenshot(browser, artifacts, 'vi-board-both-en', TV)
    doctor = chromium(TABLET)  # the doctor calls from their own laptop, in Vietnamese
    try:
        sign_in(doctor, app.url, 'doctor')
        wait(doctor).until(lambda d: '/consultation' in d.current_url)
        wait(doctor).until(EC.element_to_be_clickable(
            (By.XPATH, '//button[.//span[normalize-space()="Gọi số tiếp theo"]]'))).click()
        said = lambda: browser.execute_script('return clinicBoard.log.map(e => [e.text, e.voice])')  # noqa: E731
        wait(browser, 40).until(lambda d: len(said()) >= 2)
    finally:
        doctor.quit()
    first, second = said()[:2]
    assert first[0].startswith('Xin mời số A') and first[1] == 'vi-VN'
    assert second[0].startswith('Number A') and second[1] == 'en-US'
    viewport(browser, TABLET)
