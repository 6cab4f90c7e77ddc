"""The merge dialog of two records of one person, in a real browser on a reception tablet (1280x800), in Vietnamese
and in English: screenshots go to tests/artifacts/merge-preview-*.png to be looked at; the dialog must fit the
window (its confirm button visible without scrolling the page) and show both records side by side."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import date

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.test_journeys import click_text, screenshot, sign_in, wait

TABLET = (1280, 800)


@pytest.fixture(scope='module')
def app() -> Iterator[tuple[DemoApp, dict[str, int]]]:
    demo = DemoApp(patients=40)
    demo.start()
    try:
        ids = asyncio.run(twins(demo.env['CLINIC_DATABASE_URL']))
        yield demo, ids
    finally:
        demo.stop()


async def twins(url: str) -> dict[str, int]:
    """A demo patient with finished visits only, and the same person registered again with another phone."""
    from sqlmodel import select

    from models import Patient, Visit, VisitStatus
    from services.core.db import Database
    from services.text import search_key
    database = Database(url)
    try:
        async with database.write() as session:
            busy = select(Visit.patient_id).where(Visit.status.not_in(
                (VisitStatus.PAID, VisitStatus.CLOSED, VisitStatus.CANCELLED)))
            keep = (await session.exec(select(Patient).join(Visit, Visit.patient_id == Patient.id).where(
                Patient.id.not_in(busy), Patient.date_of_birth.is_not(None)).order_by(Patient.id))).first()
            other = Patient(code='P0009999', full_name=keep.full_name.upper(), search_name=search_key(keep.full_name),
                            date_of_birth=keep.date_of_birth, phone='+84987000111', email='second.record@example.vn',
                            sex=keep.sex, notes='Đăng ký lại tại quầy, quên mã bệnh nhân')
            session.add(other)
            await session.flush()
            session.add(Visit(patient_id=other.id, visit_date=date(2026, 10, 5), status=VisitStatus.CLOSED))
            await session.commit()
            return {'keep': keep.id, 'other': other.id}
    finally:
        await database.dispose()


@pytest.mark.parametrize('language, merge_label', [('vi', 'Gộp với…'), ('en', 'Merge with…')])
def test_the_merge_preview_on_a_tablet(app, artifacts_dir, language, merge_label):
    demo, ids = app
    base = demo.url
    demo.speaks('reception', language)
    browser = chromium(TABLET)
    try:
        sign_in(browser, base, 'reception')
        wait(browser).until(EC.title_contains('Reception' if language == 'en' else 'Lễ tân'))
        browser.get(f'{base}/reception/patients/{ids["keep"]}')
        wait(browser).until(EC.visibility_of_element_located((By.XPATH, f"//*[text()='{merge_label}']")))
        screenshot(browser, artifacts_dir, f'merge-patient-page-{language}-tablet', TABLET)
        click_text(browser, merge_label)
        twin = wait(browser).until(EC.element_to_be_clickable(
            (By.XPATH, "//*[contains(@class,'q-item')][.//*[contains(text(),'P0009999')]]")))
        screenshot(browser, artifacts_dir, f'merge-choose-{language}-tablet', TABLET)
        twin.click()
        confirm = wait(browser).until(EC.visibility_of_element_located(
            (By.XPATH, "//button[.//*[starts-with(normalize-space(text()),'Gộp vào') or "
                       "starts-with(normalize-space(text()),'Merge into')]]")))
        path = screenshot(browser, artifacts_dir, f'merge-preview-{language}-tablet', TABLET)
        assert path.exists()
        box = browser.execute_script('const r = arguments[0].getBoundingClientRect(); return [r.bottom, r.right];',
                                     confirm)
        assert box[0] <= TABLET[1] and box[1] <= TABLET[0], f'the confirm button is out of the window: {box}'
        radios = browser.find_elements(By.CSS_SELECTOR, '.q-dialog .q-radio')
        assert len(radios) >= 4  # name, phone, email, notes differ: two choices each
        if language == 'en':  # the last run merges: the survivor's page, then the merged record's page
            confirm.click()
            wait(browser).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, '.q-dialog')))
            wait(browser).until(EC.url_to_be(f'{base}/reception/patients/{ids["keep"]}'))
            browser.get(f'{base}/reception/patients/{ids["other"]}')
            wait(browser).until(EC.visibility_of_element_located(
                (By.XPATH, "//*[contains(text(),'This record was merged into')]")))
            screenshot(browser, artifacts_dir, 'merge-merged-record-en-tablet', TABLET)
    finally:
        browser.quit()
