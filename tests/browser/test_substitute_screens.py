"""The dispense dialog's substitutes in Chromium on the pharmacy's tablet (1280×800), in English and Vietnamese: a
prescription of paracetamol (an equivalent sold per blister of 10 is in stock, another is out of stock) and of
amoxicillin (only another strength in the catalog: the dialog says why there is no substitute). The screenshots go
to tests/artifacts/substitutes-*.png to be looked at.

Skipped when Chromium is missing, unless CLINIC_REQUIRE_BROWSER=1 (CI)."""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TABLET = (1280, 800)


async def prepare(database_url: str) -> None:
    """The factory ward on the app's database, two more paracetamols and a weaker amoxicillin, and the
    prescription (paracetamol 15 tablets, amoxicillin 30 capsules) waiting at the pharmacy."""
    from models import Medicine
    from models.types import utcnow
    from services.core.db import Database
    from services.prescriptions import LineInput
    from tests.clinical import TODAY, add_stock, make_ward, prescribed_and_finished
    database = Database(database_url)
    try:
        ward = await make_ward(database)
        async with database.write() as session:
            blister = Medicine(code='P10', name='Panadol 500 mg (vỉ 10 viên)', generic_name='paracetamol',
                               strength='0.5 g', unit='blister', base_unit='tablet', units_per_pack=10, price=4_000)
            session.add_all([blister,
                             Medicine(code='EFF', name='Efferalgan 500 mg', generic_name='Paracetamol',
                                      strength='500mg', unit='tablet', price=900),
                             Medicine(code='AMX250', name='Amoxicillin 250 mg capsule', generic_name='Amoxicillin',
                                      strength='250 mg', unit='capsule', price=800)])
            await session.commit()
        await add_stock(database, blister.id, 'PN01', TODAY + timedelta(days=400), 12)
        await prescribed_and_finished(database, ward, [
            LineInput(ward.paracetamol, dose='1 tablet', times_per_day='3', duration_days='5'),
            LineInput(ward.amoxicillin, dose='1 capsule', times_per_day='3', duration_days='10')], now=utcnow())
    finally:
        await database.dispose()


@pytest.fixture(scope='module')
def app() -> Iterator[DemoApp]:
    demo = DemoApp(CLINIC_DEMO='0')
    demo.start()
    try:
        asyncio.run(prepare(demo.env['CLINIC_DATABASE_URL']))
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def tablet(artifacts_dir) -> Iterator:
    driver = chromium(TABLET)
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': TABLET[0], 'height': TABLET[1], 'deviceScaleFactor': 1, 'mobile': False})
    try:
        yield driver
    finally:
        driver.save_screenshot(str(artifacts_dir / 'substitutes-last-screen.png'))
        driver.quit()


def wait(driver, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def click(driver, xpath: str) -> None:
    for attempt in range(10):
        try:
            element = wait(driver).until(EC.element_to_be_clickable((By.XPATH, xpath)))
            driver.execute_script('arguments[0].scrollIntoView({block: "center"})', element)
            element.click()
            return
        except StaleElementReferenceException:
            if attempt == 9:
                raise
            time.sleep(0.2)


def open_the_prescription(driver, base: str) -> None:
    from tests.factories import PASSWORD
    driver.get(base + '/logout')
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'input[name=username]'))).send_keys('pharmacy')
    driver.find_element(By.CSS_SELECTOR, 'input[name=password]').send_keys(PASSWORD + '\n')
    click(driver, "//tr[contains(., 'Lê Thị Hồng')]//button")
    wait(driver).until(EC.visibility_of_element_located((By.CSS_SELECTOR, '.q-dialog .q-card')))


@pytest.mark.parametrize('language, texts', [
    ('en', {'panel': 'Substitute… (1 equivalent in stock)', 'option': 'Panadol 500 mg (vỉ 10 viên)',
            'chosen': 'Substitute: Panadol 500 mg (vỉ 10 viên), 15 tablet = 2 blister of 10 (rounded up: 20 tablet)',
            'out': 'OUT OF STOCK',
            'why': 'No equivalent: Amoxicillin is in the catalog only in other strengths or dose units: '
                   'Amoxicillin 250 mg capsule (250 mg, capsule).'}),
    ('vi', {'panel': 'Thay thế… (1 thuốc tương đương còn hàng)', 'option': 'Panadol 500 mg (vỉ 10 viên)',
            'chosen': 'Thay thế: Panadol 500 mg (vỉ 10 viên), 15 tablet = 2 blister loại 10 '
                      '(làm tròn lên: 20 tablet)',
            'out': 'HẾT HÀNG',
            'why': 'Không có thuốc tương đương: danh mục chỉ có Amoxicillin với hàm lượng hoặc đơn vị liều khác: '
                   'Amoxicillin 250 mg capsule (250 mg, capsule).'}),
])
def test_the_substitutes_and_why_there_is_none(app, tablet, artifacts_dir, language, texts):
    app.speaks('pharmacy', language)
    open_the_prescription(tablet, app.url)
    card = tablet.find_element(By.CSS_SELECTOR, '.q-dialog .q-card')
    wait(tablet).until(lambda d: texts['why'] in card.text)  # amoxicillin short: its substitutes are open
    tablet.execute_script('arguments[0].scrollIntoView({block: "center"})',
                          card.find_element(By.XPATH, f".//*[normalize-space(text())='{texts['why']}']"))
    tablet.save_screenshot(str(artifacts_dir / f'substitutes-none-{language}-tablet.png'))
    item = "//div[contains(concat(' ', @class, ' '), ' q-item ')"  # not q-item-type: the expansion itself
    option = f"{item} and .//*[starts-with(normalize-space(text()), '{texts['option']}')]]"
    for _attempt in range(3):  # the panel opens on a click (a click while the dialog settles may be lost)
        click(tablet, f"{item} and .//*[normalize-space(text())='{texts['panel']}']]")
        try:
            WebDriverWait(tablet, 3).until(EC.element_to_be_clickable((By.XPATH, option)))
            break
        except TimeoutException:
            continue
    click(tablet, option)
    wait(tablet).until(lambda d: texts['chosen'] in card.text)
    assert texts['out'] in card.text  # the equivalent out of stock is listed after, not to be chosen
    tablet.execute_script('arguments[0].scrollIntoView({block: "center"})', card.find_element(
        By.XPATH, f".//*[normalize-space(text())='{texts['chosen']}']"))
    tablet.save_screenshot(str(artifacts_dir / f'substitutes-list-{language}-tablet.png'))
    width = tablet.execute_script('const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]', card)
    assert width[0] >= 0 and width[1] <= TABLET[0], width
