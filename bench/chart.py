"""How long the chart of a patient with 200 past visits takes to open: the service call and the page in a browser.

    .venv/bin/python bench/chart.py [--visits 200] [--database-url postgresql+asyncpg://...] [--screenshots]

Starts the real app (``main.py``) on a fresh demo database (SQLite in a temp folder unless a PostgreSQL URL of an
EMPTY database is given), gives demo patient P0000001 that many past visits (signed record, a completed lab test,
a dispensed two-medicine prescription, a paid invoice each) and an open visit today with the demo doctor, then:

* times ``services.consultation.chart`` (every query plus the audit write), median of 10 runs;
* times the page in headless Chromium: from navigation until the history table shows all visits, median of 5;
* with ``--screenshots``: saves the chart, lab, pharmacy and inventory pages at laptop and tablet size in
  tests/artifacts/ (chart-*.png, lab-*.png, pharmacy-*.png, inventory-*.png).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = 'bench-chart-1'
LAPTOP, TABLET = (1440, 900), (1024, 1366)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_app(url: str, data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(('PYTEST', 'NICEGUI'))},
           'CLINIC_DATA_DIR': str(data_dir), 'CLINIC_PORT': str(port), 'CLINIC_HOST': '127.0.0.1',
           'CLINIC_DEMO': '1', 'CLINIC_DEMO_PATIENTS': '80', 'CLINIC_DEMO_PASSWORD': PASSWORD,
           'CLINIC_DATABASE_URL': url}
    env.pop('CLINIC_STORAGE_SECRET', None)
    log_path = data_dir / 'server.log'
    process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=log_path.open('w'),
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while 'is ready' not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError('the app did not start:\n' + log_path.read_text())
        time.sleep(0.2)
    return process, f'http://127.0.0.1:{port}'


async def seed(url: str, visits: int) -> dict:
    """Past visits for P0000001 and a few open visits today for the pages to show."""
    from sqlmodel import select

    from models import (
        Dispense,
        DispenseItem,
        Doctor,
        Invoice,
        InvoiceStatus,
        MedicalRecord,
        Medicine,
        OrderStatus,
        Patient,
        Prescription,
        PrescriptionItem,
        PrescriptionStatus,
        RecordStatus,
        Service,
        ServiceKind,
        ServiceOrder,
        StockBatch,
        User,
        Visit,
        VisitStatus,
    )
    from services import consultation, orders, prescriptions, users
    from services.consultation import RecordInput
    from services.core.clock import local_today
    from services.core.db import Database
    from services.core.settings import get_settings
    from services.prescriptions import LineInput

    tz = get_settings().tz
    today = local_today(tz)
    now = datetime.now(timezone.utc)
    database = Database(url)
    async with database.write() as session:
        patient = (await session.exec(select(Patient).where(Patient.code == 'P0000001'))).one()
        patient.allergies = 'Penicillin'
        doctor_user = (await session.exec(select(User).where(User.username == 'doctor'))).one()
        doctor = (await session.exec(select(Doctor).where(Doctor.user_id == doctor_user.id))).one()
        pharmacist = (await session.exec(select(User).where(User.username == 'pharmacy'))).one()
        lab = (await session.exec(select(Service).where(Service.kind == ServiceKind.LAB))).first()
        meds = (await session.exec(select(Medicine).order_by(Medicine.id).limit(2))).all()
        batch = (await session.exec(select(StockBatch).where(StockBatch.medicine_id == meds[0].id))).first()
        for number in range(visits):
            day = today - timedelta(days=3 + number * 3)
            visit = Visit(patient_id=patient.id, doctor_id=doctor.id, visit_date=day, status=VisitStatus.CLOSED,
                          checked_in_at=now - timedelta(days=3 + number * 3))
            session.add(visit)
            await session.flush()
            record = MedicalRecord(visit_id=visit.id, patient_id=patient.id, doctor_id=doctor.id,
                                   status=RecordStatus.SIGNED, reason='Follow-up of high blood pressure',
                                   symptoms='Morning headaches', temperature_c=Decimal('36.8'), pulse_bpm=78,
                                   bp_systolic=140 + number % 20, bp_diastolic=88, spo2=98,
                                   weight_kg=Decimal('64.0'), height_cm=Decimal('158.0'),
                                   diagnosis_code='I10', diagnosis='Essential (primary) hypertension',
                                   advice='Low-salt diet', signed_at=now, signed_by_id=doctor_user.id)
            session.add(record)
            await session.flush()
            session.add(ServiceOrder(visit_id=visit.id, service_id=lab.id, ordered_by_id=doctor.id,
                                     status=OrderStatus.COMPLETED, price=lab.price,
                                     result_text='All values within the reference range.'))
            rx = Prescription(visit_id=visit.id, record_id=record.id, doctor_id=doctor.id,
                              status=PrescriptionStatus.DISPENSED, issued_at=now)
            session.add(rx)
            await session.flush()
            dispense = Dispense(prescription_id=rx.id, visit_id=visit.id, pharmacist_id=pharmacist.id)
            session.add(dispense)
            await session.flush()
            for medicine in meds:
                item = PrescriptionItem(prescription_id=rx.id, medicine_id=medicine.id, dose='1 tablet',
                                        times_per_day=1, duration_days=30, quantity=30, dispensed_quantity=30)
                session.add(item)
                await session.flush()
                session.add(DispenseItem(dispense_id=dispense.id, prescription_item_id=item.id,
                                         medicine_id=medicine.id, batch_id=batch.id, quantity=30,
                                         unit_price=medicine.price))
            total = lab.price + sum(30 * m.price for m in meds)
            session.add(Invoice(number=f'BENCH-{visit.id}', patient_id=patient.id, visit_id=visit.id,
                                status=InvoiceStatus.PAID, subtotal=total, total=total, amount_paid=total))
        open_visits = []
        for code in ('P0000001', 'P0000002', 'P0000003'):
            other = (await session.exec(select(Patient).where(Patient.code == code))).one()
            visit = Visit(patient_id=other.id, doctor_id=doctor.id, visit_date=today,
                          status=VisitStatus.IN_CONSULTATION, checked_in_at=now, consultation_started_at=now)
            session.add(visit)
            await session.flush()
            open_visits.append(visit.id)
        await session.commit()
        doctor_actor = users.actor_of(doctor_user)
    chart_visit, pharmacy_visit, lab_visit = open_visits
    async with database.write() as session:  # a chart in progress, for the screenshots
        await consultation.save_draft(session, doctor_actor, chart_visit, RecordInput(
            reason='Headache and dizziness for a week', symptoms='Worse in the morning', temperature_c='36.9',
            pulse_bpm='82', bp_systolic='152', bp_diastolic='94', spo2='98', weight_kg='63.5', height_cm='158',
            preliminary_diagnosis='Uncontrolled hypertension', diagnosis_code='I10'), now=now)
    async with database.write() as session:
        await orders.place(session, doctor_actor, chart_visit, [lab.id], notes='Fasting since last night', now=now)
    for visit_id in (chart_visit, pharmacy_visit):
        for medicine, dose in ((meds[0], '1 tablet'), (meds[1], '1 tablet')):
            async with database.write() as session:
                await prescriptions.add_item(session, doctor_actor, visit_id, LineInput(
                    medicine.id, dose=dose, times_per_day='2', duration_days='7', instructions='After meals'),
                    today=today, now=now)
    async with database.write() as session:
        await consultation.save_draft(session, doctor_actor, pharmacy_visit,
                                      RecordInput(reason='Sore throat', diagnosis_code='J02.9'), now=now)
    async with database.write() as session:
        await consultation.finish(session, doctor_actor, pharmacy_visit, tz=tz, now=now)
    async with database.write() as session:
        await orders.place(session, doctor_actor, lab_visit, [lab.id], now=now)
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        async with database.write() as session:
            chart = await consultation.chart(session, doctor_actor, chart_visit, today=today)
        timings.append(time.perf_counter() - started)
    await database.dispose()
    return {'visit_id': chart_visit, 'history': len(chart.history), 'service_ms': statistics.median(timings) * 1000,
            'service_max_ms': max(timings) * 1000}


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which('chromium')
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 f'--user-data-dir={tempfile.mkdtemp(prefix="chromium-")}'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which('chromedriver')), options=options)
    driver.set_window_size(*LAPTOP)
    return driver


def sign_in(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    driver.delete_all_cookies()
    driver.get(base + '/login')
    field = WebDriverWait(driver, 30).until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'input[name=username]')))
    field.send_keys(username)
    driver.find_element(By.CSS_SELECTOR, 'input[name=password]').send_keys(PASSWORD + Keys.ENTER)
    WebDriverWait(driver, 30).until(lambda d: '/login' not in d.current_url)


def page_timing(driver, base: str, visit_id: int, visits: int) -> list[float]:
    from selenium.webdriver.support.ui import WebDriverWait
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        driver.get(f'{base}/consultation/visits/{visit_id}')
        WebDriverWait(driver, 60, poll_frequency=0.02).until(
            lambda d: f'History ({visits})' in d.find_element('tag name', 'body').text
            and d.execute_script("return document.querySelectorAll('.q-table tbody tr').length") > 0)
        timings.append(time.perf_counter() - started)
    return timings


def screenshots(driver, base: str, visit_id: int) -> list[Path]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    artifacts = ROOT / 'tests' / 'artifacts'
    artifacts.mkdir(parents=True, exist_ok=True)
    saved = []

    def shoot(name: str) -> None:
        for size_name, size in (('laptop', LAPTOP), ('tablet', TABLET)):
            driver.set_window_size(*size)
            time.sleep(0.8)
            path = artifacts / f'{name}-{size_name}.png'
            driver.save_screenshot(str(path))
            saved.append(path)

    driver.get(f'{base}/consultation/visits/{visit_id}')
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
    shoot('chart')
    sign_in(driver, base, 'lab')
    driver.get(base + '/lab')
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
    shoot('lab')
    driver.find_element(By.XPATH, "//button[.//span[text()='Take']]").click()
    time.sleep(1.0)
    shoot('lab-result')
    sign_in(driver, base, 'pharmacy')
    driver.get(base + '/pharmacy')
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
    shoot('pharmacy')
    driver.find_element(By.XPATH, "//button[.//span[text()='Dispense']]").click()
    time.sleep(1.0)
    shoot('pharmacy-dispense')
    driver.get(base + '/pharmacy/inventory')
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.CSS_SELECTOR, '.q-table tbody tr')))
    shoot('inventory')
    return saved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--visits', type=int, default=200)
    parser.add_argument('--database-url', default='')
    parser.add_argument('--screenshots', action='store_true')
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix='clinic-bench-'))
    url = args.database_url or f'sqlite+aiosqlite:///{data_dir / "clinic.db"}'
    os.environ['CLINIC_DATA_DIR'] = str(data_dir)
    os.environ['CLINIC_DATABASE_URL'] = url
    process, base = start_app(url, data_dir)
    try:
        facts = asyncio.run(seed(url, args.visits))
        print(f'database: {url.split(":")[0]}; chart of a patient with {facts["history"]} past visits')
        print(f'service call consultation.chart (queries + audit commit): median {facts["service_ms"]:.0f} ms, '
              f'max {facts["service_max_ms"]:.0f} ms (10 runs)')
        driver = browser()
        try:
            sign_in(driver, base, 'doctor')
            timings = page_timing(driver, base, facts['visit_id'], facts['history'])
            print(f'page in Chromium, navigation until the history is shown: median '
                  f'{statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms (5 runs)')
            if args.screenshots:
                for path in screenshots(driver, base, facts['visit_id']):
                    print(f'screenshot: {path.relative_to(ROOT)}')
        finally:
            driver.quit()
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == '__main__':
    main()
