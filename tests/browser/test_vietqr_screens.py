"""The cashier's invoice with its VietQR code in a real browser at 1440x900, in Vietnamese: the code on the screen is
read back from the screenshot (as a phone would) and carries the balance due. The screenshot goes to
tests/artifacts/vietqr-cashier-vi.png to be looked at."""
from __future__ import annotations

import asyncio
import io
import os

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, DemoApp, chromium

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get('CLINIC_REQUIRE_BROWSER') == '1':
        raise RuntimeError('Chromium and chromedriver are required (apt-get install chromium chromium-driver)')
    pytest.skip('Chromium / chromedriver not installed', allow_module_level=True)

import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

from tests.browser.test_journeys import screenshot, sign_in, wait  # noqa: E402

DESKTOP = (1440, 900)
BANK = {'CLINIC_BANK_BIN': '970436', 'CLINIC_BANK_ACCOUNT': '1023456789',
        'CLINIC_BANK_ACCOUNT_NAME': 'PHONG KHAM DA KHOA AN BINH'}


async def _partly_paid(url: str):
    """A bill of the demo clinic with part of it paid: (id, number, balance). Made here, at whatever hour the test
    runs (the demo's own bills of the day may all be paid by then): a walk-in for a consultation, billed, 50,000
    paid in cash."""
    from zoneinfo import ZoneInfo

    from sqlmodel import select

    from models import Doctor, Invoice, Patient, Role, Service, User
    from models.types import utcnow
    from services import billing, checkin
    from services.access import Actor
    from services.billing import Tender
    from services.core.db import Database
    from tests.factories import on_duty_around_the_clock
    from tests.services.test_billing import CASH
    database = Database(url)
    tz = ZoneInfo('Asia/Ho_Chi_Minh')
    try:
        async with database.read() as session:
            def actor(user: User) -> Actor:
                return Actor(user.id, user.username, user.full_name, user.role)
            reception = actor((await session.exec(select(User).where(User.role == Role.RECEPTIONIST))).first())
            cashier = actor((await session.exec(select(User).where(User.role == Role.CASHIER))).first())
            doctor_id = (await session.exec(select(Doctor.id).where(Doctor.is_active).order_by(Doctor.id))).first()
            patient_id = (await session.exec(select(Patient.id).order_by(Patient.id.desc()))).first()
            service_id = (await session.exec(select(Service.id).where(Service.is_active).order_by(Service.id))).first()
        await on_duty_around_the_clock(database, [doctor_id])
        async with database.write() as session:
            ticket = await checkin.walk_in(session, reception, patient_id=patient_id, doctor_id=doctor_id, tz=tz,
                                           now=utcnow(), service_id=service_id)
        async with database.write() as session:
            invoice_id = await billing.bill_visit(session, cashier, ticket.visit_id)
        async with database.write() as session:
            await billing.pay(session, cashier, invoice_id, [Tender(CASH, 50_000)])
        async with database.read() as session:
            invoice = await session.get(Invoice, invoice_id)
            return invoice.id, invoice.number, invoice.total - invoice.amount_paid
    finally:
        await database.dispose()


def test_the_cashier_sees_a_code_a_phone_can_read(artifacts_dir):
    from services import vietqr
    app = DemoApp(patients=400, **BANK)
    app.start()
    driver = chromium(DESKTOP)
    try:
        invoice_id, number, balance = asyncio.run(_partly_paid(app.env['CLINIC_DATABASE_URL']))
        app.speaks('cashier', 'vi')
        sign_in(driver, app.url, 'cashier')
        wait(driver).until(lambda d: '/login' not in d.current_url)
        driver.get(f'{app.url}/cashier/invoices/{invoice_id}')
        wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, 'body'), 'Vietcombank (970436)'))
        wait(driver).until(lambda d: d.execute_script(
            "const i = document.querySelector('.nicegui-image img, img'); return i && i.complete"))
        path = screenshot(driver, artifacts_dir, 'vietqr-cashier-vi', DESKTOP)
        codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(path.read_bytes())))
        assert [code.text for code in codes] == [
            vietqr.payload('970436', '1023456789', amount=balance, purpose=number)]
        body = driver.find_element(By.TAG_NAME, 'body').text
        assert number in body and 'PHONG KHAM DA KHOA AN BINH' in body
    finally:
        driver.quit()
        app.stop()
