"""Journeys in a real browser: the real app (python main.py, demo data) driven by headless Chromium.

Screenshots are kept in tests/artifacts/ to look at. Skipped when Chromium is missing, unless
CLINIC_REQUIRE_BROWSER=1 (CI), where a missing browser fails.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, PASSWORD, DemoApp, chromium

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TABLET, LAPTOP, PHONE = (1280, 800), (1440, 900), (390, 844)


@pytest.fixture(scope='module')
def server() -> Iterator[str]:
    """The real app on a free port with a fresh demo database (SQLite, or PostgreSQL when testing on it)."""
    app = DemoApp(patients=120)
    app.start()
    try:
        yield app.url
    finally:
        app.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium(TABLET)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def sign_in(driver, base: str, username: str, password: str = PASSWORD) -> None:
    driver.get(base + '/login')
    field = wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'input[name=username]')))
    field.send_keys(username)
    driver.find_element(By.CSS_SELECTOR, 'input[name=password]').send_keys(password + Keys.ENTER)


def screenshot(driver, artifacts: Path, name: str, size: tuple[int, int]) -> Path:
    driver.set_window_size(*size)
    time.sleep(0.6)  # let the layout settle after resizing
    path = artifacts / f'{name}.png'
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, f'{name}: the screenshot looks empty'
    return path


def test_receptionist_signs_in_on_a_tablet_and_sees_todays_appointments(server, browser, artifacts_dir):
    browser.get(server)
    wait(browser).until(EC.title_contains('Sign in'))
    screenshot(browser, artifacts_dir, 'login-phone', PHONE)
    browser.set_window_size(*TABLET)
    sign_in(browser, server, 'reception', 'wrong-password')
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '[role=alert]'),
                                                         'Wrong user name or password.'))
    sign_in(browser, server, 'reception')
    wait(browser).until(EC.title_contains('Reception'))
    table = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
    assert table.text.strip(), 'the appointments table is empty'
    page = browser.find_element(By.TAG_NAME, 'body').text
    assert "Today's appointments" in page
    assert any(ch in page for ch in 'ễắơưđảạ'), 'Vietnamese names should show with their diacritics'
    assert 'Pharmacy' not in browser.find_element(By.CSS_SELECTOR, 'aside').get_attribute('textContent')
    screenshot(browser, artifacts_dir, 'reception-tablet', TABLET)


def test_doctor_signs_in_on_a_laptop_and_a_typed_url_is_refused(server, browser, artifacts_dir):
    browser.set_window_size(*LAPTOP)
    sign_in(browser, server, 'doctor')
    wait(browser).until(EC.title_contains('Consultation'))
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'My appointments today'))
    screenshot(browser, artifacts_dir, 'consultation-laptop', LAPTOP)
    browser.get(server + '/cashier')
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'cannot open Cashier'))
    browser.get(server + '/logout')
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'You have signed out.'))
    browser.get(server + '/consultation')
    wait(browser).until(EC.title_contains('Sign in'))


@pytest.mark.parametrize('username, title', [('admin', 'Administration'), ('pharmacy', 'Pharmacy'),
                                             ('cashier', 'Cashier'), ('lab', 'Lab & imaging')])
def test_every_demo_role_lands_on_its_station(server, browser, artifacts_dir, username, title):
    sign_in(browser, server, username)
    wait(browser).until(EC.title_contains(title))
    screenshot(browser, artifacts_dir, f'{username}-tablet', TABLET)


def click_text(driver, text: str, tag: str = 'button') -> None:
    """Click the first ``tag`` showing ``text``; live pages may re-render it meanwhile, so retry a stale one (or
    one that something moving over it caught, e.g. a closing menu)."""
    locator = (By.XPATH, f"//{tag}[.//*[normalize-space(text())='{text}'] or normalize-space(text())='{text}']")
    for attempt in range(5):
        try:
            element = wait(driver).until(EC.element_to_be_clickable(locator))
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', element)
            element.click()
            return
        except (StaleElementReferenceException, ElementClickInterceptedException):
            if attempt == 4:
                raise
            time.sleep(0.2)


def choose_option(driver, label: str, option_index: int = 0) -> None:
    """Open the Quasar select whose label is ``label`` and pick one of its options."""
    field = wait(driver).until(EC.element_to_be_clickable(
        (By.XPATH, f"//label[.//div[contains(@class,'q-field__label') and normalize-space(text())='{label}']]")))
    field.click()
    options = wait(driver).until(EC.visibility_of_all_elements_located((By.CSS_SELECTOR, '.q-menu .q-item')))
    options[option_index].click()


def test_reception_journey_find_book_and_check_in(server, browser, artifacts_dir):
    sign_in(browser, server, 'reception')
    wait(browser).until(EC.title_contains('Reception'))
    browser.find_element(By.CSS_SELECTOR, 'input[name=patient-search]').send_keys('nguyen van')
    hit = wait(browser).until(EC.element_to_be_clickable(
        (By.XPATH, "//div[contains(@class,'q-item') and .//div[starts-with(normalize-space(text()),'Nguyễn Văn')]]")))
    screenshot(browser, artifacts_dir, 'reception-search-tablet', TABLET)
    hit.click()
    wait(browser).until(EC.title_contains('Patient'))
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Past visits'))
    screenshot(browser, artifacts_dir, 'patient-tablet', TABLET)
    click_text(browser, 'Book appointment')
    wait(browser).until(EC.title_contains('Book an appointment'))
    choose_option(browser, 'Service')
    slot = wait(browser).until(EC.element_to_be_clickable((By.XPATH, "//button[contains(@class,'q-btn--outline') "
                                                                      "and contains(normalize-space(.), ':')]")))
    slot.click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Chosen:'))
    screenshot(browser, artifacts_dir, 'booking-tablet', TABLET)
    click_text(browser, 'Book appointment')
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Upcoming appointments (1)'))
    browser.get(server + '/reception')
    click_text(browser, 'Check in')
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, '.q-dialog'), 'Priority'))
    screenshot(browser, artifacts_dir, 'check-in-dialog-tablet', TABLET)
    browser.find_elements(By.XPATH, "//div[contains(@class,'q-dialog')]//button[.//*[text()='Check in']]")[0].click()
    number = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .text-6xl')))
    assert number.text[0].isalpha() and number.text[1] == '-', number.text
    screenshot(browser, artifacts_dir, 'ticket-dialog-tablet', TABLET)


def test_patient_books_online_from_a_phone(server, browser, artifacts_dir):
    browser.set_window_size(*PHONE)
    browser.get(server + '/book')
    wait(browser).until(EC.title_contains('Book an appointment'))
    choose_option(browser, 'Consultation')
    wait(browser).until(EC.presence_of_element_located((By.XPATH, "//button[contains(normalize-space(.), ':')]")))
    click_text(browser, 'chevron_right', tag='button')  # next week: free whatever the hour
    next_week = datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')).date() + timedelta(days=7)
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), next_week.strftime('%a %d/%m')))
    slot = wait(browser).until(EC.element_to_be_clickable((By.XPATH, "//button[contains(@class,'q-btn--outline')"
                                                                      " and contains(normalize-space(.), ':')]")))
    slot.click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'kept for you'))
    field = {label: browser.find_element(By.XPATH, f"//label[.//div[normalize-space(text())='{label}']]//input")
             for label in ('Full name', 'Phone', 'Email (the confirmation is sent here)', 'Date of birth (dd/mm/yyyy)')}
    field['Phone'].click()  # a quick patient starts with another field while the form still scrolls into view
    time.sleep(0.8)
    assert browser.switch_to.active_element == field['Phone']  # the form's own focus never takes the cursor away
    for label, value in (('Full name', 'Đinh Thị Quỳnh'), ('Phone', '0933111222'),
                         ('Email (the confirmation is sent here)', 'quynh@example.test'),
                         ('Date of birth (dd/mm/yyyy)', '12/03/1995')):
        field[label].send_keys(value)
    assert field['Full name'].get_attribute('value') == 'Đinh Thị Quỳnh'
    screenshot(browser, artifacts_dir, 'online-booking-form-phone', PHONE)
    click_text(browser, 'Book')
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Your appointment is booked'))
    screenshot(browser, artifacts_dir, 'online-booking-done-phone', PHONE)


def test_signing_out_in_one_tab_takes_the_other_tab_to_sign_in(server, browser):
    sign_in(browser, server, 'pharmacy')
    wait(browser).until(EC.title_contains('Pharmacy'))
    first = browser.current_window_handle
    browser.switch_to.new_window('tab')
    browser.get(server + '/pharmacy')
    wait(browser).until(EC.title_contains('Pharmacy'))
    second = browser.current_window_handle
    browser.switch_to.window(first)
    click_text(browser, 'Sign out')
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'You have signed out.'))
    browser.switch_to.window(second)  # nobody touched it: the server sent it to the sign-in page
    wait(browser).until(EC.title_contains('Sign in'))
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'You have signed out.'))
