"""The public side of the real app (python main.py, demo data) in headless Chromium: the pages work under the
Content-Security-Policy, X-Forwarded-For from an untrusted peer does not make new visitors, and the data folder
is the owner's only."""
from __future__ import annotations

import asyncio
import io
import stat
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.support import chromium
from tests.browser.test_board import App, _prepare
from tests.browser.test_journeys import PHONE, TABLET, choose_option, click_text, sign_in, wait


@pytest.fixture(scope='module')
def app():
    app = App()
    app.start()
    try:
        yield app
    finally:
        app.stop()


async def latest_visit(app) -> int:
    from sqlmodel import func, select

    from models import QueueTicket
    from services.core.db import Database
    database = Database(app.env['CLINIC_DATABASE_URL'])
    try:
        async with database.read() as session:
            return (await session.exec(select(func.max(QueueTicket.visit_id)))).one()
    finally:
        await database.dispose()


def shows_a_pdf(driver) -> bool:
    """Chromium's PDF viewer: a dark grey viewer around a white page. An error or "blocked" page is neither."""
    from PIL import Image
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert('L')
    histogram, pixels = image.histogram(), image.width * image.height
    return sum(histogram[:64]) / pixels > 0.3 and sum(histogram[240:]) / pixels > 0.05


def csp_violations(driver) -> list[str]:
    return [entry['message'] for entry in driver.get_log('browser')
            if 'Content Security Policy' in entry['message'] or 'Content-Security-Policy' in entry['message']]


def settle(driver, seconds: float = 1.5) -> None:
    """Give late scripts, styles and the websocket time to be loaded (and refused, if the policy were wrong)."""
    time.sleep(seconds)


def test_sign_in_reception_and_the_board_work_under_the_content_security_policy(app):
    key = asyncio.run(_prepare(app.env['CLINIC_DATABASE_URL']))
    driver = chromium(TABLET, console=True)
    try:
        sign_in(driver, app.url, 'reception')
        wait(driver).until(EC.title_contains('Reception'))
        wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
        settle(driver)
        assert csp_violations(driver) == []
        driver.get(f'{app.url}/reception/tickets/{asyncio.run(latest_visit(app))}.pdf')  # the ticket slip prints
        time.sleep(2)
        assert shows_a_pdf(driver)  # the policy does not keep Chromium's PDF viewer from showing the slip
        driver.get(f'{app.url}/board?key={key}')
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'A-001'))
        settle(driver)
        assert csp_violations(driver) == []
        driver.delete_all_cookies()  # signed out: the sign-in page shows again
        sign_in(driver, app.url, 'admin')
        wait(driver).until(EC.title_contains('Administration'))
        driver.get(f'{app.url}/admin/dashboard')
        wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, 'canvas')))  # charts draw
        settle(driver)
        assert csp_violations(driver) == []
        policy_works = driver.execute_script('try { eval("1"); return "eval"; } catch (e) { return "blocked"; }')
        assert policy_works == 'eval'  # Vue's template compiler needs it: the check above would catch a mistake
        driver.get(f'{app.url}/book')
        wait(driver).until(EC.title_contains('Book an appointment'))
        framed = driver.execute_script(
            'const f = document.createElement("iframe"); f.src = "/login"; document.body.appendChild(f);'
            'return new Promise(r => setTimeout(() => { let ok; try { ok = !!f.contentDocument.body.innerText; }'
            ' catch (e) { ok = false; } r(ok); }, 1500));')
        assert framed is False  # frame-ancestors 'none': not even the app itself can frame a page
    finally:
        driver.quit()


SLOT = (By.XPATH, "//button[contains(@class,'q-btn--outline') and contains(normalize-space(.), ':')]")


def click_first_slot(driver) -> None:
    """The slot grid re-renders when it has loaded: retry a button that went stale meanwhile."""
    for attempt in range(5):
        try:
            wait(driver).until(EC.element_to_be_clickable(SLOT)).click()
            return
        except StaleElementReferenceException:
            if attempt == 4:
                raise
            time.sleep(0.3)


def test_x_forwarded_for_from_an_untrusted_peer_does_not_make_new_visitors(app):
    """Holds from "new addresses" written into X-Forwarded-For by the visitor themselves: the 4th is refused."""
    driver = chromium(PHONE)
    messages = []
    next_week = (datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')).date() + timedelta(days=7)).strftime('%a %d/%m')
    try:
        driver.execute_cdp_cmd('Network.enable', {})
        for number in range(4):
            driver.execute_cdp_cmd('Network.setExtraHTTPHeaders',
                                   {'headers': {'X-Forwarded-For': f'198.51.100.{number + 1}'}})
            driver.get(app.url + '/book')
            wait(driver).until(EC.title_contains('Book an appointment'))
            choose_option(driver, 'Consultation')
            click_text(driver, 'chevron_right', tag='button')  # next week: free whatever the hour
            wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), next_week))
            click_first_slot(driver)
            wait(driver).until(lambda d: 'kept for you' in d.find_element(By.TAG_NAME, 'body').text
                               or 'Too many slots' in d.find_element(By.TAG_NAME, 'body').text)
            messages.append('refused' if 'Too many slots' in driver.find_element(By.TAG_NAME, 'body').text
                            else 'held')
    finally:
        driver.quit()
    assert messages == ['held', 'held', 'held', 'refused']


def test_the_data_folder_the_database_and_the_secret_are_the_owners_only(app):
    private = [app.data_dir, app.data_dir / 'storage_secret', app.data_dir / 'sessions']
    if not app.env['CLINIC_DATABASE_URL'].startswith('postgresql'):
        private.append(app.data_dir / 'clinic.db')
    private += [path for path in (app.data_dir / 'sessions').iterdir()]
    for path in private:
        assert path.exists(), path
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f'{path}: {oct(path.stat().st_mode)}'
