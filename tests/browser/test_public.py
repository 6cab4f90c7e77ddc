"""The public side of the real app (python main.py, demo data) in headless Chromium: the pages work under the
Content-Security-Policy, X-Forwarded-For from an untrusted peer does not make new visitors, and the data folder
is the owner's only."""
from __future__ import annotations

import asyncio
import io
import re
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

CLINIC_PHONE = '0283 123 4567'


@pytest.fixture(scope='module')
def app():
    app = App(CLINIC_CLINIC_PHONE=CLINIC_PHONE, CLINIC_CLINIC_ADDRESS='12 Lê Lợi, Quận 1, TP. Hồ Chí Minh')
    app.env['CLINIC_PUBLIC_URL'] = app.url  # the links in the emails lead back to this app
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


async def emailed_link(app, address: str) -> str:
    """The link to manage the booking, from the newest email queued for ``address``."""
    from sqlmodel import select

    from models import OutboxMessage
    from services.core.db import Database
    database = Database(app.env['CLINIC_DATABASE_URL'])
    try:
        async with database.read() as session:
            email = (await session.exec(select(OutboxMessage).where(OutboxMessage.to_address == address)
                                        .order_by(OutboxMessage.id.desc()))).first()
    finally:
        await database.dispose()
    return re.search(r'https?://\S+/book/manage\?token=\S+', email.body_text).group(0)


FORM_IN_VIEW = """
    const card = document.querySelector('input[autocomplete=name]').closest('.q-card');
    const top = card.getBoundingClientRect().top;
    return [top, window.innerHeight, document.activeElement.getAttribute('autocomplete')];
"""


@pytest.mark.parametrize('language', ['vi', 'en'])
def test_booking_on_a_phone_then_cancelling_through_the_emailed_link(app, artifacts_dir, language):
    """390x844: choosing a time brings the details form into view (its first field ready), the confirmation gives
    the clinic's phone to tap, and the link in the confirmation email opens the booking, which the patient cancels."""
    from services.core import i18n
    from services.core.i18n import _
    with i18n.use(language):
        words = {text: _(text) for text in ('Consultation', 'Book', 'Your appointment is booked',
                                            'Move to another time', 'Move to this time',
                                            'Cancel the appointment',
                                            'Your appointment has been cancelled')}
    address = f'phone-{language}@example.test'
    driver = chromium(PHONE)
    next_week = datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')).date() + timedelta(days=7)
    try:
        driver.get(f'{app.url}/book?lang={language}')
        choose_option(driver, words['Consultation'])
        wait(driver).until(EC.presence_of_element_located(SLOT))
        click_text(driver, 'chevron_right', tag='button')  # next week: free whatever the hour
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), next_week.strftime('%d/%m')))
        time.sleep(0.5)
        driver.save_screenshot(str(artifacts_dir / f'book-phone-times-{language}.png'))
        scrolled_before = driver.execute_script('return window.scrollY')
        click_first_slot(driver)
        wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, 'input[autocomplete=name]')))
        time.sleep(1.2)  # the smooth scroll
        top, height, focused = driver.execute_script(FORM_IN_VIEW)
        assert top + driver.execute_script('return window.scrollY') - scrolled_before > height  # was below the fold
        assert 0 <= top < height / 4, (top, height)  # and came up near the top of the screen
        assert focused == 'name'  # the cursor in its first field
        driver.save_screenshot(str(artifacts_dir / f'book-phone-form-{language}.png'))
        phone_number = {'vi': '0933111222', 'en': '0933111333'}[language]  # two people, so each gets the email
        for selector, value in (('input[autocomplete=name]', 'Đinh Thị Quỳnh'),
                                ('input[autocomplete=tel]', phone_number), ('input[autocomplete=email]', address),
                                ('input[inputmode=numeric]', '12/03/1995')):
            driver.find_element(By.CSS_SELECTOR, selector).send_keys(value)
        click_text(driver, words['Book'])
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), words['Your appointment is booked']))
        phone = wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, 'a[href^="tel:"]')))
        assert phone.text == CLINIC_PHONE and phone.get_attribute('href') == 'tel:02831234567'
        time.sleep(1.2)
        driver.save_screenshot(str(artifacts_dir / f'book-phone-confirmation-{language}.png'))

        link = asyncio.run(emailed_link(app, address))
        assert f'lang={language}' in link  # the booking's language
        driver.get(link)
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), words['Move to another time']))
        time.sleep(0.5)
        driver.save_screenshot(str(artifacts_dir / f'book-phone-manage-{language}.png'))
        click_text(driver, words['Move to another time'])  # the other times of the same doctor: one chosen ...
        click_first_slot(driver)
        body = (By.TAG_NAME, 'body')
        wait(driver).until(EC.text_to_be_present_in_element(body, words['Move to this time']))
        time.sleep(1.2)
        driver.save_screenshot(str(artifacts_dir / f'book-phone-manage-move-{language}.png'))
        click_text(driver, words['Cancel the appointment'])  # ... but cancelled instead
        in_dialog = ("//div[contains(@class,'q-dialog')]"
                     f"//button[normalize-space(.)='{words['Cancel the appointment']}']")
        confirm = wait(driver).until(EC.element_to_be_clickable((By.XPATH, in_dialog)))
        confirm.click()
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'),
                                                            words['Your appointment has been cancelled']))
        time.sleep(0.5)
        driver.save_screenshot(str(artifacts_dir / f'book-phone-cancelled-{language}.png'))
    finally:
        driver.quit()


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
