"""The cashier's drawer in a real browser at tablet size (1280x800), in English and Vietnamese: the count by notes
with the difference, the closed day with its sheet, and the administrator's list with the reopen button.
Screenshots go to tests/artifacts/drawer-*.png to be looked at."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium
from tests.conftest import ROOT

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

from tests.browser.test_journeys import click_text, screenshot, sign_in, wait  # noqa: E402

TABLET = (1280, 800)
ZONE = 'Asia/Ho_Chi_Minh'
# What each language calls the parts of the drawer the test works with
WORDS = {
    'en': {'day': 'Day', 'notes': 'Count by notes', 'reason': 'Reason for a difference', 'close': 'Close my day',
           'closed': 'Closed at', 'difference': 'difference', 'reopen': 'Reopen', 'days': "Cashiers' days"},
    'vi': {'day': 'Ngày', 'notes': 'Đếm theo mệnh giá', 'reason': 'Lý do chênh lệch', 'close': 'Chốt ca',
           'closed': 'Đã chốt ca lúc', 'difference': 'chênh lệch', 'reopen': 'Mở lại', 'days': 'Ca của các thu ngân'},
}


@pytest.fixture(scope='module')
def app() -> Iterator[DemoApp]:
    demo = DemoApp(patients=60, CLINIC_TIMEZONE=ZONE)
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope='module')
def browser():
    driver = chromium(TABLET)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': TABLET[0], 'height': TABLET[1], 'deviceScaleFactor': 1, 'mobile': False})
    try:
        yield driver
    finally:
        driver.quit()


def field(driver, label: str):
    """The first input whose label reads ``label``."""
    return wait(driver, 10).until(EC.element_to_be_clickable(
        (By.XPATH, f"(//label[.//div[contains(@class,'q-field__label') and normalize-space(text())='{label}']]"
                   f"//input)[1]")))


def open_drawer(driver, app: DemoApp, username: str, language: str, day: str) -> None:
    app.speaks(username, language)
    driver.get(app.url + '/logout')
    sign_in(driver, app.url, username)
    wait(driver).until(lambda d: '/login' not in d.current_url)
    driver.get(app.url + '/cashier/transactions')
    box = field(driver, WORDS[language]['day'])
    box.send_keys(Keys.CONTROL, 'a')
    box.send_keys(day + Keys.ENTER)


def see(driver, text: str) -> None:
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), text))


@pytest.mark.parametrize('language, days_ago', [('en', 1), ('vi', 2)])
def test_the_drawer_counted_closed_and_reopened_in_each_language(app, browser, language, days_ago):
    artifacts = ROOT / 'tests' / 'artifacts'
    words = WORDS[language]
    day = (datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=days_ago)).strftime('%d/%m/%Y')
    open_drawer(browser, app, 'cashier', language, day)
    header = wait(browser).until(EC.element_to_be_clickable(
        (By.XPATH, f"//div[contains(@class,'q-item')][.//*[normalize-space(text())='{words['notes']}']]")))
    header.click()
    notes = browser.find_elements(By.CSS_SELECTOR, '.q-expansion-item input')
    assert len(notes) == 9
    for index, count in ((0, '3'), (2, '4'), (5, '7')):  # 500,000 x 3, 100,000 x 4, 10,000 x 7
        notes[index].send_keys(count)
    see(browser, words['difference'])
    field(browser, words['reason']).send_keys('Thiếu tiền lẻ' if language == 'vi' else 'Short of small notes')
    screenshot(browser, artifacts, f'drawer-count-{language}', TABLET)
    click_text(browser, words['close'])
    see(browser, words['closed'])
    browser.execute_script('window.scrollTo(0, 0)')
    screenshot(browser, artifacts, f'drawer-closed-{language}', TABLET)
    open_drawer(browser, app, 'admin', language, day)
    see(browser, words['days'])
    element = browser.find_element(By.XPATH, f"//*[normalize-space(text())=\"{words['days']}\"]")
    browser.execute_script('arguments[0].scrollIntoView({block: "start"})', element)
    screenshot(browser, artifacts, f'drawer-admin-{language}', TABLET)
    click_text(browser, words['reopen'])
    card = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))
    card.find_element(By.TAG_NAME, 'input').send_keys('Recount' if language == 'en' else 'Đếm lại')
    screenshot(browser, artifacts, f'drawer-reopen-{language}', TABLET)
