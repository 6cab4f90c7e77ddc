"""A new clinic's first run in Chromium (laptop, 1440×900): the app started without demo data, as the README says
(``python main.py``), asks for the administrator; the administrator signs in, fills the clinic's settings, creates
a room, a specialty, a service with its price and duration, a doctor (account, then the doctor's specialty,
service and weekly hours), a medicine with stock, and books a new patient at reception: the booking is on
reception's list of today's appointments.

Skipped when Chromium is missing, unless CLINIC_REQUIRE_BROWSER=1 (CI)."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium, morning_timezone

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

LAPTOP = (1440, 900)
ADMIN_PASSWORD = 'first-admin-1'
DIALOG = "//div[contains(@class,'q-dialog')]"


@pytest.fixture
def fresh_app() -> Iterator[DemoApp]:
    """The real app on an empty database, no demo data; its clock reads about 09:30 in the clinic, so that the
    doctor's morning hours still have slots today."""
    app = DemoApp(CLINIC_DEMO='0', CLINIC_TIMEZONE=morning_timezone(9.5))
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture
def laptop(artifacts_dir) -> Iterator[webdriver.Chrome]:
    """Chromium at 1440×900; the last screen it showed (the failing step's, if any) is kept in tests/artifacts/."""
    driver = chromium(LAPTOP)
    try:
        yield driver
    finally:
        driver.save_screenshot(str(artifacts_dir / 'first-run-last-screen.png'))
        driver.quit()


def wait(driver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def sees(driver, text: str, where: str = 'body') -> None:
    """Wait until ``text`` is shown (in the element of CSS selector ``where``)."""
    wait(driver).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, where), text))


def click(driver, xpath: str) -> None:
    """Click what ``xpath`` finds once it is clickable; a live page may re-render it, so retry a stale one."""
    for attempt in range(10):
        try:
            element = wait(driver).until(EC.element_to_be_clickable((By.XPATH, xpath)))
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', element)
            element.click()
            return
        except (StaleElementReferenceException, ElementClickInterceptedException):
            if attempt == 9:
                raise
            time.sleep(0.2)


def button(driver, text: str, scope: str = '') -> None:
    click(driver, f"{scope}//button[.//span[normalize-space(text())='{text}']]")


def field(driver, label: str, scope: str = ''):
    return wait(driver).until(EC.visibility_of_element_located((By.XPATH, (
        f"{scope}//label[.//div[contains(@class,'q-field__label') and normalize-space(text())='{label}']]"
        "//*[self::input or self::textarea]"))))


def fill(driver, label: str, value: str, scope: str = '') -> None:
    element = field(driver, label, scope)
    element.send_keys(Keys.CONTROL, 'a')  # replace what is there (clear() leaves Vue's model as it was)
    element.send_keys(Keys.DELETE, value)


def choose(driver, label: str, *options: str, scope: str = '') -> None:
    """Open the select ``label`` and pick the options starting with ``options`` (several: a multiple select)."""
    select = f"{scope}//label[.//div[contains(@class,'q-field__label') and normalize-space(text())='{label}']]"
    click(driver, select)
    for option in options:
        click(driver, f"//div[contains(@class,'q-menu')]//div[contains(@class,'q-item') and "
                      f"starts-with(normalize-space(.), '{option}')]")
    closed = EC.invisibility_of_element_located((By.CSS_SELECTOR, '.q-menu'))
    try:
        wait(driver, 1.5).until(closed)
    except TimeoutException:  # a multiple select stays open: a click on it closes it (not Escape: a dialog too)
        driver.find_element(By.XPATH, select).click()
        wait(driver).until(closed)


def saved(driver) -> None:
    """The dialog said "Saved." and closed."""
    sees(driver, 'Saved.')
    wait(driver).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.q-dialog')))


def create_the_administrator(driver, base: str) -> None:
    driver.get(base)
    sees(driver, 'Create the administrator account')
    assert '/setup' in driver.current_url
    fill(driver, 'Full name', 'Đỗ Minh Châu')
    fill(driver, 'User name', 'chau')
    fill(driver, 'Password (at least 8 characters)', ADMIN_PASSWORD)
    fill(driver, 'Repeat the password', ADMIN_PASSWORD)
    button(driver, 'Create account')
    wait(driver).until(EC.title_contains('Administration'))


def sign_in(driver, base: str) -> None:
    driver.get(base + '/logout')
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'input[name=username]'))).send_keys('chau')
    driver.find_element(By.CSS_SELECTOR, 'input[name=password]').send_keys(ADMIN_PASSWORD + '\n')
    wait(driver).until(EC.title_contains('Administration'))
    sees(driver, 'Đỗ Minh Châu', 'header')


def fill_the_settings(driver, base: str) -> None:
    driver.get(base + '/admin/settings')
    fill(driver, 'Clinic name', 'Phòng khám Hòa An')
    fill(driver, 'Address', '12 Lê Lợi, Quận 1, TP. Hồ Chí Minh')
    fill(driver, 'Phone', '028 3823 4567')
    click(driver, "(//button[.//span[normalize-space(text())='Save']])[1]")
    sees(driver, 'Saved.')
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, 'header .text-xs').text == 'Phòng khám Hòa An')
    # the header shows the new name at once


def add_to_the_catalog(driver, base: str, tab: str, add: str, fields: dict[str, str], row: str) -> None:
    driver.get(f'{base}/admin/catalog?tab={tab}')
    button(driver, add)
    for label, value in fields.items():
        fill(driver, label, value, DIALOG)
    button(driver, 'Save', DIALOG)
    saved(driver)
    sees(driver, row, '.q-tab-panel:not([style*="display: none"]) .q-table')


def create_the_doctor(driver, base: str) -> None:
    driver.get(base + '/admin/staff')
    button(driver, 'New account')
    fill(driver, 'Full name', 'Nguyễn Thị Lan', DIALOG)
    fill(driver, 'User name (for signing in)', 'lan', DIALOG)
    choose(driver, 'Role', 'Doctor', scope=DIALOG)
    fill(driver, 'License number (doctors)', 'CCHN-0001', DIALOG)
    button(driver, 'Create account', DIALOG)
    sees(driver, 'Temporary password for Nguyễn Thị Lan', '.q-dialog')
    button(driver, 'Done', DIALOG)
    driver.get(base + '/admin/doctors')
    click(driver, "//table//td[contains(normalize-space(.),'Nguyễn Thị Lan')]")
    sees(driver, 'Weekly hours')
    choose(driver, 'Specialties', 'General medicine')
    choose(driver, 'Services the doctor provides (what patients can book)', 'General consultation (20 min)')
    click(driver, "//div[contains(@class,'q-card') and .//div[normalize-space(text())='Specialties and services']]"
                  "//button[.//span[normalize-space(text())='Save']]")
    sees(driver, 'Saved.')
    choose(driver, 'Days', 'Saturday', 'Sunday')  # Monday to Friday are chosen already: every day of the week
    button(driver, 'Add hours')
    sees(driver, 'Hours added.')
    sees(driver, 'P101', '.q-table')


def receive_stock(driver, base: str) -> None:
    driver.get(base + '/pharmacy/inventory')
    click(driver, "//tr[.//td[normalize-space(.)='PARA500']]//button[.//span[normalize-space(text())='Goods in']]")
    fill(driver, 'Batch number *', 'B2401', DIALOG)
    fill(driver, 'Expiry (dd/mm/yyyy) *', '31/12/2030', DIALOG)
    fill(driver, 'Quantity *', '500', DIALOG)
    fill(driver, 'Unit cost', '900', DIALOG)
    button(driver, 'Receive', DIALOG)
    sees(driver, 'Goods received.')
    wait(driver).until(EC.text_to_be_present_in_element(
        (By.XPATH, "//tr[.//td[normalize-space(.)='PARA500']]"), '500 tablet'))


def book_a_new_patient_today(driver, base: str, artifacts: Path) -> None:
    driver.get(base + '/reception/patients/new')
    fill(driver, 'Full name *', 'Lê Thị Hồng')
    fill(driver, 'Phone', '0901234567')
    button(driver, 'Register patient')
    wait(driver).until(EC.title_contains('Patient'))
    button(driver, 'Book appointment')
    wait(driver).until(EC.title_contains('Book an appointment'))
    choose(driver, 'Service', 'General consultation · 20 min')
    # today's second free time: the first may be within minutes of the booking lead time, and pass meanwhile
    click(driver, "(//button[contains(@class,'q-btn--outline') and contains(normalize-space(.), ':')])[2]")
    sees(driver, 'Chosen:')
    fill(driver, 'Reason for the visit', 'Sốt, ho')
    driver.save_screenshot(str(artifacts / 'first-run-booking-laptop.png'))
    button(driver, 'Book appointment')
    sees(driver, 'Upcoming appointments (1)')
    driver.get(base + '/reception')
    sees(driver, "Today's appointments (1)")
    wait(driver).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.q-table'), 'Lê Thị Hồng'))
    driver.save_screenshot(str(artifacts / 'first-run-reception-today-laptop.png'))


def test_a_new_clinic_is_set_up_in_the_browser_and_takes_its_first_booking(fresh_app, laptop, artifacts_dir):
    base = fresh_app.url
    started = time.monotonic()
    create_the_administrator(laptop, base)
    sign_in(laptop, base)
    fill_the_settings(laptop, base)
    add_to_the_catalog(laptop, base, 'rooms', 'Add room', {'Code (on tickets and the board, e.g. R101)': 'P101',
                                                           'Name (e.g. Consultation room 1)': 'Phòng khám 101'},
                       'Phòng khám 101')
    add_to_the_catalog(laptop, base, 'specialties', 'Add specialty', {'Name': 'General medicine'},
                       'General medicine')
    add_to_the_catalog(laptop, base, 'services', 'Add service', {
        'Code (e.g. CONS-GEN)': 'KHAM', 'Name': 'General consultation', 'Duration (minutes)': '20',
        'Price (VND)': '150,000'}, '150,000')
    create_the_doctor(laptop, base)
    add_to_the_catalog(laptop, base, 'medicines', 'Add medicine', {
        'Code': 'PARA500', 'Name (e.g. Paracetamol 500 mg)': 'Paracetamol 500 mg', 'Price per unit (VND)': '1,500'},
        'Paracetamol 500 mg')
    receive_stock(laptop, base)
    book_a_new_patient_today(laptop, base, artifacts_dir)
    assert time.monotonic() - started < 90
