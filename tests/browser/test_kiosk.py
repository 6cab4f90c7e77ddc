"""The self check-in kiosk in a real browser at tablet size (1280x800), against the real app (python main.py, the
Vietnamese demo clinic with its clock in the morning): the QR code of a booking's email typed as a USB scanner
types it (text + Enter into the focused input) checks the patient in and shows the ticket with a QR code; a forged
and yesterday's code are refused and change nothing. Screenshots in Vietnamese and English go to
tests/artifacts/."""
from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium, morning_timezone

if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

from tests.browser.test_journeys import wait  # noqa: E402

TABLET = (1280, 800)
SECRET = 'kiosk-journey-secret'


@dataclass
class App:
    url: str
    database_url: str
    tz: ZoneInfo
    key: str = ''
    appointments: list[int] = field(default_factory=list)

    def settings(self):
        from pydantic import SecretStr

        from services.core.settings import get_settings
        return get_settings().model_copy(update={'timezone': self.tz.key, 'storage_secret': SecretStr(SECRET)})


async def prepare(app: App) -> None:
    """Two patients booked with the demo doctor today (the doctor on duty around the clock), and a kiosk key."""
    from sqlmodel import select

    from models import BookingSource, Doctor, Patient, User
    from models.types import utcnow
    from services import booking, display_keys, users
    from services.core.db import Database
    from tests.factories import on_duty_around_the_clock
    database = Database(app.database_url)
    try:
        async with database.read() as session:
            people = {u.username: users.actor_of(u) for u in (await session.exec(select(User))).all()}
            doctor = (await session.exec(select(Doctor).where(Doctor.user_id == people['doctor'].user_id))).one()
            patients = (await session.exec(select(Patient.id).order_by(Patient.id.desc()).limit(2))).all()
        await on_duty_around_the_clock(database, [doctor.id])
        now = utcnow()
        async with database.read() as session:
            service = await booking.consultation_service_for(session, doctor.id)
            slots = await booking.free_slots(session, service_id=service.id, doctor_ids=[doctor.id],
                                             start_day=now.astimezone(app.tz).date(), days=1, tz=app.tz,
                                             now=now + timedelta(minutes=5))
        free = [s for day in slots.values() for s in day]
        for patient_id, slot in zip(patients, free):
            async with database.write() as session:
                appointment = await booking.book(session, people['reception'], patient_id=patient_id,
                                                 service_id=service.id, doctor_id=doctor.id, start_at=slot.start_at,
                                                 source=BookingSource.PHONE, tz=app.tz, now=now,
                                                 settings=app.settings())
                app.appointments.append(appointment.id)
        async with database.write() as session:
            __, app.key = await display_keys.issue(session, people['admin'], 'Entrance tablet',
                                                   purpose=display_keys.KIOSK)
    finally:
        await database.dispose()


@pytest.fixture(scope='module')
def app() -> Iterator[App]:
    zone = morning_timezone()
    demo = DemoApp(patients=40, CLINIC_TIMEZONE=zone, CLINIC_LANGUAGE='vi', CLINIC_STORAGE_SECRET=SECRET)
    demo.start()
    try:
        running = App(demo.url, demo.env['CLINIC_DATABASE_URL'], ZoneInfo(zone))
        asyncio.run(prepare(running))
        assert len(running.appointments) == 2, 'the demo doctor has no two free times left today'
        yield running
    finally:
        demo.stop()


@pytest.fixture
def tablet():
    driver = chromium(TABLET)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': TABLET[0], 'height': TABLET[1], 'deviceScaleFactor': 1, 'mobile': False})
    try:
        yield driver
    finally:
        driver.quit()


def code(app: App, appointment_id: int, days_ago: int = 0) -> str:
    from models.types import utcnow
    from services import checkin_codes
    day = utcnow().astimezone(app.tz).date() - timedelta(days=days_ago)
    return checkin_codes.make_code(appointment_id, day, app.settings())


def scan(driver, text: str) -> None:
    """A USB scanner: keystrokes into whatever has the focus (the kiosk keeps its scanner input focused), then
    Enter."""
    wait(driver, 10).until(lambda d: d.execute_script(
        'return !!(document.activeElement && document.activeElement.closest(".kiosk-scanner"))'))
    driver.switch_to.active_element.send_keys(text + Keys.ENTER)


def see(driver, text: str, seconds: float = 20):
    contains = f'contains(normalize-space(.), "{text}")'
    return wait(driver, seconds).until(EC.visibility_of_element_located(
        (By.XPATH, f'//*[{contains} and not(.//*[{contains}])]')))


def tap(driver, label: str) -> None:
    wait(driver, 20).until(EC.element_to_be_clickable(
        (By.XPATH, f'//button[.//span[normalize-space()="{label}"]]'))).click()


def shot(driver, artifacts, name: str) -> None:
    time.sleep(0.5)
    path = artifacts / f'{name}.png'
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def qr_on_screen(driver) -> list[str]:
    """The QR codes a phone's camera would read from the screen."""
    import zxingcpp
    from PIL import Image
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png()))
    return [found.text for found in zxingcpp.read_barcodes(image)]


def visits_of(app: App, appointment_id: int) -> int:
    async def count() -> int:
        from sqlmodel import func, select

        from models import Visit
        from services.core.db import Database
        database = Database(app.database_url)
        try:
            async with database.read() as session:
                return (await session.exec(select(func.count()).select_from(Visit)
                                           .where(Visit.appointment_id == appointment_id))).one()
        finally:
            await database.dispose()
    return asyncio.run(count())


def test_a_patient_checks_in_with_the_qr_code_of_their_email_and_bad_codes_are_refused(app, tablet, artifacts_dir):
    first, second = app.appointments
    tablet.get(f'{app.url}/kiosk?key={app.key}')
    see(tablet, 'Xin chào! Quý khách tự làm thủ tục khám tại đây.')
    shot(tablet, artifacts_dir, 'kiosk-start-vi')

    good = code(app, first)
    forged = code(app, first + 1000).split('.')[0] + '.' + good.split('.')[1]
    scan(tablet, forged)
    see(tablet, 'Mã này không phải mã làm thủ tục của phòng khám')
    shot(tablet, artifacts_dir, 'kiosk-refused-vi')
    scan(tablet, code(app, first, days_ago=1))
    see(tablet, 'Mã làm thủ tục này đã hết hạn')
    scan(tablet, 'chỉ là chữ')  # garbage from a scanner set to another layout
    see(tablet, 'Mã này không phải mã làm thủ tục của phòng khám')
    assert visits_of(app, first) == 0

    scan(tablet, good)
    see(tablet, 'Đây có phải lịch hẹn hôm nay của quý khách?')
    shot(tablet, artifacts_dir, 'kiosk-confirm-vi')
    tap(tablet, 'Đúng, làm thủ tục')
    number = wait(tablet, 20).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.kiosk-ticket'))).text
    assert number.startswith(('A-', 'B-', 'C-')) or '-' in number
    see(tablet, 'Quét mã để theo dõi lượt của quý khách trên điện thoại')
    wait(tablet, 10).until(lambda d: qr_on_screen(d))
    [link] = qr_on_screen(tablet)
    assert link.startswith(app.url + '/t/')
    shot(tablet, artifacts_dir, 'kiosk-ticket-vi')
    assert visits_of(app, first) == 1
    tap(tablet, 'In số thứ tự')  # the slip, printed from a hidden frame: the kiosk stays on its page
    frame = wait(tablet, 10).until(lambda d: d.execute_script(
        'const f = document.getElementById("kiosk-print"); return f && f.src'))
    answer = tablet.execute_async_script(
        'const done = arguments[1]; fetch(arguments[0]).then(r => done([r.status, r.headers.get("content-type")]));',
        frame)
    assert answer == [200, 'application/pdf']
    framed = ('try { return document.getElementById("kiosk-print").contentWindow.location.href; }'
              'catch (e) { return "refused: " + e; }')  # a refused frame shows an error page of another origin
    loaded = wait(tablet, 10).until(lambda d: (href := d.execute_script(framed)) not in (None, 'about:blank') and href)
    assert loaded == frame, loaded
    assert tablet.current_url.endswith(f'/kiosk?key={app.key}')
    tap(tablet, 'Xong')
    see(tablet, 'Xin chào!')
    assert number not in tablet.find_element(By.TAG_NAME, 'body').text

    scan(tablet, good)  # the same code again: already checked in, nothing more
    see(tablet, 'Quý khách đã làm thủ tục rồi')
    assert visits_of(app, first) == 1
    tap(tablet, 'Về màn hình đầu')

    tap(tablet, 'English')
    see(tablet, 'Welcome! Check in for your appointment here.')
    shot(tablet, artifacts_dir, 'kiosk-start-en')
    # the camera: what BarcodeDetector reads goes to the server as the scanner's text does
    tablet.execute_script('emitEvent("kiosk_code", arguments[0])', code(app, second))
    see(tablet, 'Is this your appointment today?')
    shot(tablet, artifacts_dir, 'kiosk-confirm-en')
    tap(tablet, 'Yes, check me in')
    see(tablet, 'Scan to follow your turn on your phone')
    wait(tablet, 10).until(lambda d: qr_on_screen(d))
    shot(tablet, artifacts_dir, 'kiosk-ticket-en')
    assert visits_of(app, second) == 1
    tap(tablet, 'Done')
    see(tablet, 'Xin chào!')  # the next patient starts in the kiosk's own language
    tap(tablet, 'English')
    tap(tablet, 'Phone number and date of birth')
    see(tablet, 'Date of birth (day / month / year)')
    shot(tablet, artifacts_dir, 'kiosk-phone-en')
