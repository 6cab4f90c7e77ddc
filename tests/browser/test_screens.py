"""Every screen new or changed in this wave, in a real browser against the real app (python main.py, demo data), at
tablet (1280x800), laptop (1440x900) and TV (1920x1080) sizes: the screenshots go to tests/artifacts/screens-*.png to
be looked at, and each screen is checked for what it must show. Last, a board of eight queues with long doctors'
names and three-digit numbers, measured in the page: no number wraps, no name is cut.

The state each screen needs is made through the services on the app's own database (one server and one browser
for the module); the clock of the clinic is set to a morning, so doctors are on duty whenever this runs.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium, morning_timezone
from tests.conftest import ROOT

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.test_journeys import click_text, screenshot, sign_in, wait

TABLET, LAPTOP, TV = (1280, 800), (1440, 900), (1920, 1080)
SIZES = {'tablet': TABLET, 'laptop': LAPTOP, 'tv': TV}
LONG_NAMES = ['Dr. Nguyễn Thị Phương Thảo-Hoàng', 'Dr. Tôn Nữ Hoàng Bảo Ngọc-Trâm', 'Dr. Huỳnh Thị Phương Thảo',
              'Dr. Trần Nguyễn Minh Khôi-Nguyên', 'Dr. Đặng Ngọc Ánh Dương-Quỳnh', 'Dr. Lê Hoàng Phúc Thịnh']


# -- the app and its state ---------------------------------------------------------------------------------------

@dataclass
class App:
    url: str
    database_url: str
    tz: ZoneInfo
    ids: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope='module')
def app() -> Iterator[App]:
    """The real app on a free port with a fresh demo database, its clinic clock in the morning."""
    zone = morning_timezone()
    demo = DemoApp(patients=120, CLINIC_TIMEZONE=zone)
    demo.start()
    try:
        running = App(demo.url, demo.env['CLINIC_DATABASE_URL'], ZoneInfo(zone))
        asyncio.run(in_clinic_time(running, prepare))
        yield running
    finally:
        demo.stop()


async def in_clinic_time(app: App, work) -> None:
    """Run ``work(app, database)`` with this process's clinic settings on the app's clock."""
    from services import clinic_settings
    from services.core.db import Database
    from services.core.settings import get_settings
    database = Database(app.database_url)
    clinic_settings.put_in_force(get_settings().model_copy(update={'timezone': app.tz.key}))
    try:
        await work(app, database)
    finally:
        clinic_settings.put_in_force(None)
        await database.dispose()


async def step(database, work):
    """One service call in its own transaction."""
    async with database.write() as session:
        result = await work(session)
        await session.commit()
        return result


async def actors(database) -> dict:
    from sqlmodel import select

    from models import User
    from services import users
    async with database.read() as session:
        return {u.username: users.actor_of(u) for u in (await session.exec(select(User))).all()}


async def prepare(app: App, database) -> None:
    """Six walk-ins with the demo doctor, each left where a screen needs them:
    red   -- penicillin allergy; a full blood count sent to the lab, resulted with flags: back with results ready
    green -- "no known allergies"; a test ordered and not resulted (finishing asks what to do)
    amber -- allergies never asked
    rx    -- allergic to amoxicillin, prescribed it anyway with a reason: at the pharmacy
    bill  -- consultation finished: at the cashier, billed
    lab   -- a blood count and a CRP ordered and sent: waiting at the lab"""
    from sqlmodel import select

    from models import (
        AllergyStatus,
        Appointment,
        AppointmentStatus,
        Doctor,
        Medicine,
        Patient,
        PatientAllergy,
        Service,
        User,
        Visit,
    )
    from models.types import utcnow
    from services import allergies, billing, booking, checkin, consultation, orders, prescriptions, queue
    from services.allergies import AllergyInput
    from services.core.clock import local_today
    from services.orders import ResultValue
    from services.prescriptions import LineInput
    from tests.clinical import FULL

    who = await actors(database)
    doctor, reception, technician = who['doctor'], who['reception'], who['lab']
    tz = app.tz
    async with database.read() as session:
        doctor_id = (await session.exec(select(Doctor.id).join(User, User.id == Doctor.user_id)
                                        .where(User.username == 'doctor'))).one()
        service = {s.code: s.id for s in (await session.exec(select(Service))).all()}
        amoxicillin = (await session.exec(select(Medicine.id).where(Medicine.generic_name == 'Amoxicillin')
                                          .order_by(Medicine.id))).first()
        allergic = set((await session.exec(select(PatientAllergy.patient_id))).all())
        patients = (await session.exec(select(Patient).order_by(Patient.id))).all()
        busy = set((await session.exec(select(Visit.patient_id).where(Visit.closed_at.is_(None)))).all())
    free = [p for p in patients if p.id not in busy]
    chosen = {'red': next(p for p in free if p.id in allergic),
              'green': next(p for p in free if p.allergy_status == AllergyStatus.NONE and p.id not in allergic)}
    rest = iter(p for p in free if p.allergy_status == AllergyStatus.UNKNOWN and p.id not in allergic)
    for name in ('amber', 'rx', 'bill', 'lab'):
        chosen[name] = next(rest)
    app.names = {name: p.full_name for name, p in chosen.items()}
    app.ids['doctor_id'] = doctor_id

    async def walk_in(name: str) -> int:
        """Walk in with the demo doctor, called and in the consultation room; returns the visit."""
        now = utcnow()
        ticket = await step(database, lambda s: checkin.walk_in(s, reception, patient_id=chosen[name].id,
                                                                doctor_id=doctor_id, tz=tz, now=now,
                                                                reason='Fever and cough'))
        while True:  # patients of the demo checked in before: they did not come
            called = await step(database, lambda s: queue.call_next(s, doctor, queue_id_of[0], tz=tz, now=utcnow()))
            if called.visit_id == ticket.visit_id:
                break
            await step(database, lambda s, t=called: queue.skip(s, doctor, t.id, now=utcnow()))
        await step(database, lambda s: queue.start(s, doctor, called.id, now=utcnow()))
        app.ids[name] = ticket.visit_id
        return ticket.visit_id

    async with database.read() as session:
        queue_id_of = [(await queue.queue_for_doctor(session, doctor_id)).id]

    async def record(visit_id: int) -> None:
        await step(database, lambda s: consultation.save_draft(s, doctor, visit_id, FULL, now=utcnow()))

    # red: results with flags, back to the doctor
    visit = await walk_in('red')
    await record(visit)
    placed = await step(database, lambda s: orders.place(s, doctor, visit, [service['XN-CBC']], now=utcnow()))
    await step(database, lambda s: consultation.send_to_services(s, doctor, visit, tz=tz, now=utcnow()))

    # green: "no known allergies", a test still open
    await step(database, lambda s: allergies.record_no_known_allergies(s, doctor, chosen['green'].id, now=utcnow()))
    visit = await walk_in('green')
    await record(visit)
    await step(database, lambda s: orders.place(s, doctor, visit, [service['XN-CRP']], now=utcnow()))

    # amber: nobody asked
    await walk_in('amber')

    # rx: prescribed despite the allergy, at the pharmacy
    await step(database, lambda s: allergies.add_allergy(s, doctor, chosen['rx'].id, AllergyInput(
        substance='Amoxicillin', reaction='Hives and swollen lips'), now=utcnow()))
    visit = await walk_in('rx')
    await record(visit)
    line = LineInput(amoxicillin, dose='1 capsule', times_per_day='3', duration_days='5', instructions='After meals')
    await step(database, lambda s: prescriptions.add_item(
        s, doctor, visit, line, today=local_today(tz), now=utcnow(),
        allergy_override_reason='Tolerated amoxicillin last year without a reaction; the patient agrees'))
    await step(database, lambda s: consultation.finish(s, doctor, visit, tz=tz, now=utcnow()))

    # bill: at the cashier, billed
    visit = await walk_in('bill')
    await record(visit)
    await step(database, lambda s: consultation.finish(s, doctor, visit, tz=tz, now=utcnow()))
    app.ids['invoice'] = await step(database, lambda s: billing.bill_visit(s, who['cashier'], visit, now=utcnow()))

    # lab: waiting at the lab with two tests
    visit = await walk_in('lab')
    await step(database, lambda s: orders.place(s, doctor, visit, [service['XN-CBC'], service['XN-CRP']],
                                                now=utcnow()))
    await step(database, lambda s: consultation.send_to_services(s, doctor, visit, tz=tz, now=utcnow()))

    # two of the morning's booked patients did not come (the dashboard counts them)
    async with database.read() as session:
        past = (await session.exec(select(Appointment.id).where(
            Appointment.status.in_([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED]),
            Appointment.start_at <= utcnow()).order_by(Appointment.start_at.desc()).limit(2))).all()
    for appointment_id in past:
        await step(database, lambda s, a=appointment_id: booking.mark_no_show(s, reception, a, now=utcnow()))
    app.ids['no_shows'] = len(past)

    # red: last, the results (so that the patient, back in the doctor's queue, waits there with them)
    order_id = placed[0].id
    async with database.read() as session:
        panel = await orders_panel(session, order_id)
    values = [ResultValue(row.name, value, analyte_id=row.analyte_id) for row, value in zip(panel, CBC_VALUES)]
    await step(database, lambda s: orders.record_result(s, technician, order_id, text='Mild leukocytosis.',
                                                        values=values, complete=True, now=utcnow()))


async def orders_panel(session, order_id: int):
    from services import lab_results
    return await lab_results.order_panel(session, order_id)


# a full blood count with a high WBC, a low Hb and Plt, the rest in range (in the demo panel's order)
CBC_VALUES = ['13.2', '4.6', '10.9', '41', '88', '29', '33', '12.8', '128', '9.1', '78', '15', '6', '2', '0.5',
              '10.3', '2.0', '0.4']


# -- the browser ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def browser():
    driver = chromium(TABLET)
    viewport(driver, TABLET)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope='module')
def artifacts() -> Path:
    path = ROOT / 'tests' / 'artifacts'
    path.mkdir(parents=True, exist_ok=True)
    return path


def as_user(driver, app: App, username: str, title: str) -> None:
    """Signed in as ``username`` on their station (the one browser changes hands between the tests)."""
    if app.names.get('signed_in') == username:
        driver.get(app.url + '/')
    else:
        driver.get(app.url + '/logout')
        sign_in(driver, app.url, username)
        app.names['signed_in'] = username
    wait(driver).until(EC.title_contains(title))


def see(driver, text: str, seconds: float = 30) -> None:
    try:
        wait(driver, seconds).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), text))
    except Exception:
        driver.save_screenshot(str(ROOT / 'tests' / 'artifacts' / 'screens-failed.png'))
        raise


def viewport(driver, size: tuple[int, int]) -> None:
    """Exactly this many CSS pixels for the page, as on the device (the window's own bars do not count)."""
    driver.set_window_size(*size)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': size[0], 'height': size[1], 'deviceScaleFactor': 1, 'mobile': False})


def shots(driver, artifacts: Path, name: str) -> None:
    """The screen at tablet, laptop and TV size (back to the tablet after)."""
    for size_name, size in SIZES.items():
        viewport(driver, size)
        screenshot(driver, artifacts, f'screens-{name}-{size_name}', size)
    viewport(driver, TABLET)


def into_view(driver, text: str) -> None:
    element = wait(driver).until(EC.presence_of_element_located(
        (By.XPATH, f"//*[normalize-space(text())='{text}' or starts-with(normalize-space(text()), '{text} (')]")))
    driver.execute_script('arguments[0].scrollIntoView({block: "start"}); window.scrollBy(0, -70)', element)


def click_in_row(driver, text: str) -> None:
    """Click the button of the table row showing ``text`` (live tables redraw their rows: retry a stale one)."""
    for attempt in range(5):
        try:
            button = wait(driver).until(EC.element_to_be_clickable((By.XPATH, f"//tr[contains(., '{text}')]//button")))
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', button)
            button.click()
            return
        except StaleElementReferenceException:
            if attempt == 4:
                raise
            time.sleep(0.2)


def dialog(driver):
    return wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))


def close_dialog(driver) -> None:
    driver.find_element(By.TAG_NAME, 'body').send_keys(Keys.ESCAPE)
    wait(driver).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))


def fits_in_window(driver, css: str) -> None:
    """The element is inside the window sideways (a dialog on a tablet)."""
    left, right, width = driver.execute_script(
        'const r = document.querySelector(arguments[0]).getBoundingClientRect();'
        'return [r.left, r.right, window.innerWidth]', css)
    assert left >= 0 and right <= width, (css, left, right, width)


# -- the screens ---------------------------------------------------------------------------------------------------

def test_reception_where_is_everyone_and_the_walk_in_dialog(app, browser, artifacts):
    as_user(browser, app, 'reception', 'Reception')
    see(browser, 'Where is everyone (')
    see(browser, app.names['lab'])
    into_view(browser, 'Where is everyone')
    body = browser.find_element(By.TAG_NAME, 'body').text
    assert 'results ready' in body or 'Back with' in body, 'the patient back with results should show'
    shots(browser, artifacts, 'reception-where-is-everyone')
    browser.execute_script('window.scrollTo(0, 0)')
    click_text(browser, 'Walk-in')
    card = dialog(browser)
    wait(browser).until(lambda d: len(card.find_elements(By.CSS_SELECTOR, '.q-list .q-item')) >= 3)
    assert 'Dr.' in card.text or 'Nguyễn Thị Lan' in card.text
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'reception-walk-in')
    close_dialog(browser)


def test_doctor_worklist_with_results_ready(app, browser, artifacts):
    as_user(browser, app, 'doctor', 'Consultation')
    see(browser, 'results ready')
    see(browser, app.names['red'])
    shots(browser, artifacts, 'worklist-results-ready')


def chip(driver, text: str):
    return wait(driver).until(EC.visibility_of_element_located(
        (By.XPATH, f"//div[contains(@class,'q-chip') and contains(normalize-space(.), '{text}')]")))


def test_chart_with_recorded_allergies_results_flags_and_the_allergy_dialogs(app, browser, artifacts):
    as_user(browser, app, 'doctor', 'Consultation')
    browser.get(f'{app.url}/consultation/visits/{app.ids["red"]}')
    see(browser, app.names['red'])
    recorded = chip(browser, 'Allerg')
    assert 'bg-red-1' in recorded.get_attribute('class'), recorded.get_attribute('class')
    shots(browser, artifacts, 'chart-allergy-recorded')
    into_view(browser, 'Lab, imaging and procedures')
    high = browser.find_element(By.XPATH, "//*[contains(@class,'text-red-700') and starts-with(text(), 'WBC: 13.2')]")
    low = browser.find_element(By.XPATH, "//*[contains(@class,'text-blue-700') and starts-with(text(), 'Hb: 10.9')]")
    assert high.text.split('(')[0].strip().endswith('H') and low.text.split('(')[0].strip().endswith('L')
    shots(browser, artifacts, 'chart-results-flags')

    browser.execute_script('window.scrollTo(0, 0)')
    click_text(browser, 'Allergies…')
    card = dialog(browser)
    wait(browser).until(lambda d: 'Add allergy' in card.text)
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'chart-allergy-editor')
    close_dialog(browser)

    search = browser.find_element(By.XPATH, "//label[.//div[normalize-space(text())='Find a medicine (name or code)']]"
                                            "//input")
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', search)
    search.send_keys('amoxicillin')
    hit = wait(browser).until(EC.element_to_be_clickable(
        (By.XPATH, "//div[contains(@class,'q-item') and starts-with(normalize-space(.), 'Amoxicillin')]")))
    hit.click()
    for label, value in (('Dose', '1 capsule'), ('Times a day', '3'), ('Days', '5')):
        browser.find_element(By.XPATH, f"//label[.//div[normalize-space(text())='{label}']]//input").send_keys(value)
    click_text(browser, 'Add to prescription')
    card = dialog(browser)
    wait(browser).until(lambda d: 'Prescribe anyway' in card.text)
    assert '⚠' in card.text
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'chart-allergy-override')
    close_dialog(browser)


def test_chart_with_no_known_allergies_and_results_pending(app, browser, artifacts):
    as_user(browser, app, 'doctor', 'Consultation')
    browser.get(f'{app.url}/consultation/visits/{app.ids["green"]}')
    see(browser, app.names['green'])
    green = chip(browser, 'No known allergies')
    assert 'bg-green-1' in green.get_attribute('class'), green.get_attribute('class')
    shots(browser, artifacts, 'chart-no-known-allergies')
    click_text(browser, 'Finish consultation')
    card = dialog(browser)
    wait(browser).until(lambda d: 'Results are still pending' in card.text)
    assert '1 ordered test has no result yet.' in card.text
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'chart-results-pending')
    click_text(browser, 'Back to the chart')


def test_chart_with_allergies_not_recorded(app, browser, artifacts):
    as_user(browser, app, 'doctor', 'Consultation')
    browser.get(f'{app.url}/consultation/visits/{app.ids["amber"]}')
    see(browser, app.names['amber'])
    amber = chip(browser, 'Allergies not recorded')
    assert 'bg-amber-1' in amber.get_attribute('class'), amber.get_attribute('class')
    shots(browser, artifacts, 'chart-allergies-not-recorded')


def test_lab_service_point_and_the_result_dialog(app, browser, artifacts):
    as_user(browser, app, 'lab', 'Lab & imaging')
    see(browser, 'Calling patients')
    see(browser, app.names['lab'])
    point = browser.find_element(By.XPATH, "//div[contains(@class,'q-card')][.//*[text()='Calling patients']]")
    assert 'L-' in point.text and 'waiting' in point.text
    shots(browser, artifacts, 'lab-service-point')
    click_in_row(browser, app.names['red'])
    card = dialog(browser)
    wait(browser).until(lambda d: 'Save correction' in card.text)
    flags = [e.text for e in card.find_elements(By.CSS_SELECTOR, '.text-red-700, .text-blue-700')]
    assert 'H' in flags and 'L' in flags, flags
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'lab-result-dialog')
    close_dialog(browser)


def test_pharmacy_service_point_and_the_dispense_dialog(app, browser, artifacts):
    as_user(browser, app, 'pharmacy', 'Pharmacy')
    see(browser, app.names['rx'])
    point = browser.find_element(By.XPATH, "//div[contains(@class,'q-card')][.//*[contains(text(), 'R · ')]]")
    assert 'R-' in point.text, point.text
    shots(browser, artifacts, 'pharmacy-service-point')
    click_in_row(browser, app.names['rx'])
    card = dialog(browser)
    wait(browser).until(lambda d: 'I have checked this with the patient/doctor' in card.text)
    assert 'Amoxicillin' in card.text and 'Tolerated amoxicillin' in card.text
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'pharmacy-dispense-acknowledge')
    close_dialog(browser)


def test_cashier_service_point_and_the_invoice_with_defer(app, browser, artifacts):
    as_user(browser, app, 'cashier', 'Cashier')
    see(browser, app.names['bill'])
    point = browser.find_element(By.XPATH, "//div[contains(@class,'q-card')][.//*[contains(text(), 'K · ')]]")
    assert 'K-' in point.text, point.text
    shots(browser, artifacts, 'cashier-service-point')
    browser.get(f'{app.url}/cashier/invoices/{app.ids["invoice"]}')
    see(browser, 'Defer payment…')
    see(browser, app.names['bill'])
    shots(browser, artifacts, 'cashier-invoice-defer')
    click_text(browser, 'Defer payment…')
    card = dialog(browser)
    wait(browser).until(lambda d: 'Defer payment' in card.text)
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'cashier-defer-dialog')
    close_dialog(browser)


def test_admin_board_stations_lab_panels_and_no_shows(app, browser, artifacts):
    as_user(browser, app, 'admin', 'Administration')
    browser.get(app.url + '/admin/settings')
    see(browser, 'Calls on the waiting-room board')
    into_view(browser, 'Calls on the waiting-room board')
    assert browser.find_elements(By.XPATH, "//div[contains(@class,'q-checkbox')][.//*[text()=\"Doctors' rooms\"]]")
    shots(browser, artifacts, 'admin-board-stations')

    browser.get(app.url + '/admin/catalog?tab=lab')
    see(browser, 'Complete blood count (CBC)')
    shots(browser, artifacts, 'admin-lab-panels')
    row = wait(browser).until(EC.element_to_be_clickable(
        (By.XPATH, "//tr[contains(., 'Complete blood count (CBC)')]")))
    row.click()
    card = dialog(browser)
    wait(browser).until(lambda d: 'Panel · ' in card.text and 'WBC' in card.text)
    fits_in_window(browser, '.q-dialog .q-card')
    shots(browser, artifacts, 'admin-lab-panel-editor')
    close_dialog(browser)

    browser.get(app.url + '/admin/dashboard')
    see(browser, 'No-show rate')
    wait(browser).until(EC.text_to_be_present_in_element(
        (By.XPATH, "//div[contains(@class,'q-card')][.//*[text()='No-show rate']]"), f'{app.ids["no_shows"]} of '))
    assert app.ids['no_shows'] > 0
    time.sleep(1)  # the charts draw
    shots(browser, artifacts, 'admin-dashboard-no-shows')


# -- the board under stress -------------------------------------------------------------------------------------

async def crowd_the_board(app: App, database) -> None:
    """Eight queues (six doctors with long names, the lab, imaging), numbers past 100, one called in each."""
    from sqlmodel import select

    from models import Patient, Queue, QueueDayCounter, QueueKind, Visit
    from models.types import utcnow
    from services import checkin, display_keys, queue
    from services.core.clock import local_today

    who = await actors(database)
    admin, reception = who['admin'], who['reception']
    tz, day = app.tz, local_today(app.tz)
    async with database.read() as session:
        stations = {q.kind: q for q in (await session.exec(select(Queue).where(Queue.doctor_id.is_(None)))).all()}
        busy = set((await session.exec(select(Visit.patient_id).where(Visit.closed_at.is_(None)))).all())
        people = iter([p for p in (await session.exec(select(Patient.id).order_by(Patient.id.desc()))).all()
                       if p not in busy])
    async with database.read() as session:
        takers = [d.id for d in await checkin.walk_in_doctors(session, reception, tz=tz, now=utcnow())
                  if d.takes_walk_ins and d.id != app.ids['doctor_id']][:6]  # the demo doctor keeps queue A
        chosen = [await queue.queue_for_doctor(session, doctor_id) for doctor_id in takers]
    assert len(chosen) == 6, 'six doctors should take walk-ins in the morning'
    lab, imaging = stations[QueueKind.LAB], stations[QueueKind.IMAGING]
    async with database.write() as session:
        for index, row in enumerate([*chosen, lab, imaging]):
            if index < len(LONG_NAMES):
                row = await session.get(Queue, row.id)
                row.name = LONG_NAMES[index]
                session.add(row)
            counter = (await session.exec(select(QueueDayCounter).where(QueueDayCounter.queue_id == row.id,
                                                                        QueueDayCounter.service_date == day))).first()
            counter = counter or QueueDayCounter(queue_id=row.id, service_date=day, last_number=0)
            counter.last_number = max(counter.last_number, 100 + 3 * index)
            session.add(counter)
        await session.commit()
    for row in chosen:  # five walk-ins each, past 100
        for _ in range(5):
            await step(database, lambda s, q=row: checkin.walk_in(s, reception, patient_id=next(people),
                                                                  doctor_id=q.doctor_id, tz=tz, now=utcnow()))
    for station in (lab, imaging):  # patients sent on from the doctors' queues
        for source in chosen[:3]:
            async with database.read() as session:
                view = await queue.queue_view(session, admin, source.id, tz=tz, now=utcnow())
            ticket = view.waiting[-1]
            await step(database, lambda s, t=ticket, q=station: queue.transfer(s, admin, t.id, q.id, tz=tz,
                                                                                now=utcnow()))
    for row in [*chosen, lab, imaging]:  # the morning's first numbers did not come: a three-digit one is called
        while True:
            called = await step(database, lambda s, q=row: queue.call_next(s, admin, q.id, tz=tz, now=utcnow()))
            if called is None or int(called.label.rsplit('-', 1)[1]) > 100:
                break
            await step(database, lambda s, t=called: queue.skip(s, admin, t.id, now=utcnow()))
            await step(database, lambda s, t=called: queue.mark_no_show(s, admin, t.id, now=utcnow()))
    _, key = await step(database, lambda s: display_keys.issue(s, admin, 'Screens TV',
                                                               queue_ids=[q.id for q in [*chosen, lab, imaging]]))
    app.names['board_key'] = key


MEASURE = '''
const lines = (el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight));
return [...document.querySelectorAll(arguments[0])].map((el) => ({
  text: el.textContent, lines: lines(el), fits: el.scrollWidth <= el.clientWidth + 1,
  hidden: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1}));
'''


def test_a_board_of_eight_queues_with_long_names_and_three_digit_numbers_reads_from_across_the_room(
        app, browser, artifacts):
    asyncio.run(in_clinic_time(app, crowd_the_board))
    viewport(browser, TV)
    try:
        browser.get(f'{app.url}/board?key={app.names["board_key"]}')
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '.board-card')) == 8)
        prompt = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.board-sound-prompt')))
        prompt.click()  # someone taps the TV once: the sound is on, and the prompt no longer hides the last row
        wait(browser).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.board-sound-prompt')))
        time.sleep(1)  # the fonts size themselves to the cards
        path = artifacts / 'screens-board-eight-queues-tv.png'
        browser.save_screenshot(str(path))
        now = browser.execute_script(MEASURE, '.board-now')
        assert all(len(m['text']) >= 5 and m['text'][-3:].isdigit() and int(m['text'][-3:]) > 100 for m in now), now
        for selector in ('.board-now', '.board-next', '.board-room'):
            measured = browser.execute_script(MEASURE, selector)
            assert len(measured) == 8, (selector, measured)
            assert all(m['lines'] == 1 and m['fits'] for m in measured), (selector, measured)
        names = browser.execute_script(MEASURE, '.board-who')
        assert {m['text'] for m in names} >= set(LONG_NAMES), names
        assert all(m['lines'] <= 2 and not m['hidden'] for m in names), names
        patients = browser.execute_script(MEASURE, '.board-name')
        assert all(not m['hidden'] for m in patients), patients
    finally:
        viewport(browser, TABLET)
