"""The vouchers page in a real browser against the real app (python main.py, demo data), in Vietnamese and English,
at laptop (1440x900) and tablet (1280x800) size: the list with vouchers of every kind and state, the form of a new
voucher and a voucher's usage. Screenshots go to tests/artifacts/vouchers-*.png to be looked at; each screen is
checked for what it must show and that nothing sticks out of the window sideways."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import timedelta

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

from tests.browser.test_journeys import screenshot, sign_in, wait  # noqa: E402

LAPTOP, TABLET = (1440, 900), (1280, 800)
SIZES = {'laptop': LAPTOP, 'tablet': TABLET}


async def issue_vouchers(database_url: str) -> None:
    """Vouchers of every kind and state, one of them used on a bill of the demo."""
    from sqlmodel import select

    from models import Invoice, InvoiceItem, InvoiceItemKind, InvoiceStatus, Patient, Service, User
    from services import billing, clinic_settings, users, vouchers
    from services.core.clock import local_today
    from services.core.db import Database

    database = Database(database_url)
    try:
        async with database.read() as session:
            admin = users.actor_of((await session.exec(select(User).where(User.username == 'admin'))).one())
            cashier = users.actor_of((await session.exec(select(User).where(User.username == 'cashier'))).first()
                                     or (await session.exec(select(User).where(User.username == 'admin'))).one())
            services = (await session.exec(select(Service.id).where(Service.is_active).order_by(Service.id))).all()
            patients = (await session.exec(select(Patient.id).order_by(Patient.id).limit(2))).all()
        open_bills = []
        async with database.write() as session:  # two bills waiting for payment, one line each
            for n, patient_id in enumerate(patients):
                invoice = Invoice(number=f'INV-2099-{n + 1:06d}', patient_id=patient_id, status=InvoiceStatus.UNPAID,
                                  subtotal=300_000, total=300_000)
                session.add(invoice)
                await session.flush()
                session.add(InvoiceItem(invoice_id=invoice.id, kind=InvoiceItemKind.OTHER, description='Khám',
                                        unit_price=300_000, line_total=300_000))
                open_bills.append(invoice.id)
            await session.commit()
        today = local_today(clinic_settings.current().tz)
        made = [dict(code='TET-2027', percent_off=15, max_uses=500, valid_from=today,
                     valid_until=today + timedelta(days=60), description='Tết Đinh Mùi 2027'),
                dict(code='XN-MAU-50K', amount_off=50_000, max_uses=3, service_ids=services[2:5],
                     description='Xét nghiệm máu cho người cao tuổi'),
                dict(code='OLD-SPRING', percent_off=10, valid_until=today - timedelta(days=3)),
                dict(code='NEXT-MONTH', amount_off=100_000, valid_from=today + timedelta(days=30), max_uses=20),
                dict(code='STAFF-2026', percent_off=100, max_uses=1_000, service_ids=services[:1],
                     description='Khám miễn phí cho nhân viên')]
        for n in range(24):
            made.append(dict(code=vouchers.generate_code(), amount_off=20_000 + 5_000 * n, max_uses=1 + n % 4,
                             description='Chiến dịch tiêm chủng' if n % 3 == 0 else ''))
        for values in reversed(made):
            async with database.write() as session:
                await vouchers.create_voucher(session, admin, **values)
        async with database.write() as session:
            stopped = (await vouchers.list_vouchers(session, admin, search='STAFF-2026'))[0][0]
            await vouchers.set_voucher_active(session, admin, stopped.id, False)
        for invoice_id in open_bills[:2]:
            async with database.write() as session:
                await billing.apply_voucher(session, cashier, invoice_id, 'tet-2027', today=today)
    finally:
        await database.dispose()


@pytest.fixture(scope='module')
def app() -> Iterator[DemoApp]:
    demo = DemoApp(patients=30)
    demo.start()
    try:
        asyncio.run(issue_vouchers(demo.env['CLINIC_DATABASE_URL']))
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope='module')
def browser():
    driver = chromium(LAPTOP)
    try:
        yield driver
    finally:
        driver.quit()


def viewport(driver, size: tuple[int, int]) -> None:
    driver.set_window_size(*size)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': size[0], 'height': size[1], 'deviceScaleFactor': 1, 'mobile': False})


def see(driver, text: str) -> None:
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), text))


def shots(driver, name: str) -> None:
    artifacts = ROOT / 'tests' / 'artifacts'
    artifacts.mkdir(parents=True, exist_ok=True)
    for size_name, size in SIZES.items():
        viewport(driver, size)
        screenshot(driver, artifacts, f'vouchers-{name}-{size_name}', size)
        width, scroll = driver.execute_script('return [window.innerWidth, document.documentElement.scrollWidth]')
        assert scroll <= width, f'{name} at {size_name}: the page is {scroll} px wide in a {width} px window'
        for card in driver.find_elements(By.CSS_SELECTOR, '.q-dialog .q-card'):
            rect = driver.execute_script('const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]',
                                         card)
            assert rect[0] >= 0 and rect[1] <= width, (name, size_name, rect)
    viewport(driver, LAPTOP)


def close_dialog(driver) -> None:
    driver.find_element(By.TAG_NAME, 'body').send_keys(Keys.ESCAPE)
    wait(driver).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))


WORDS = {  # language: (page title, new voucher, usage, uses taken on TET-2027, the whole bill, used up)
    'vi': ('Phiếu giảm giá (29)', 'Phiếu giảm giá mới', 'Lịch sử dùng', 'Đã dùng 2/500 lượt', 'Toàn bộ hóa đơn'),
    'en': ('Vouchers (29)', 'New voucher', 'Usage', '2 of 500 uses taken', 'The whole bill'),
}


@pytest.mark.parametrize('language', ['vi', 'en'])
def test_the_vouchers_page_its_form_and_a_vouchers_usage(app, browser, language):
    title, new, usage, taken, whole = WORDS[language]
    app.speaks('admin', language)
    viewport(browser, LAPTOP)
    browser.get(app.url + '/logout')
    sign_in(browser, app.url, 'admin')
    wait(browser).until(lambda d: '/login' not in d.current_url)
    browser.get(app.url + '/admin/vouchers')
    see(browser, title)
    see(browser, 'TET-2027')
    see(browser, whole)
    assert '2 / 500' in browser.find_element(By.XPATH, "//tr[contains(., 'TET-2027')]").text
    shots(browser, f'list-{language}')

    browser.find_element(By.XPATH, f"//button[contains(., '{new}')]").click()
    card = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))
    card.find_element(By.XPATH, ".//button[contains(., 'Tạo mã') or contains(., 'Generate')]").click()
    wait(browser).until(lambda d: len(card.find_element(By.CSS_SELECTOR, 'input').get_attribute('value')) == 14)
    card.find_elements(By.CSS_SELECTOR, 'input')[1].send_keys('15')
    card.find_elements(By.CSS_SELECTOR, 'input')[-1].send_keys('Tết 2027')
    shots(browser, f'new-{language}')
    close_dialog(browser)

    button = browser.find_element(By.XPATH, f"//tr[contains(., 'TET-2027')]//button[contains(., '{usage}')]")
    button.click()
    see(browser, taken)
    shots(browser, f'usage-{language}')
    close_dialog(browser)
