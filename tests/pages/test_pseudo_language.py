"""Every text a person reads goes through the catalog: each station opened in the pseudo language (every
translated text comes back as ``⟦…⟧``) shows no text that skipped translation.

What is allowed unmarked: what the clinic and its patients typed (every text stored in the database, the clinic's
name), numbers, codes and ticket numbers, currency codes, time zones, example addresses, units, the languages' own
names, and the month and weekday names Babel writes in dates."""
import asyncio
import json
import re
import zoneinfo
from html import unescape

import pytest
import sqlalchemy as sa
from babel import Locale
from nicegui import ui
from nicegui.elements.choice_element import ChoiceElement
from nicegui.testing import User
from sqlmodel import SQLModel, update

from models import User as Account
from services import vietqr
from services.core import i18n
from services.core.db import get_db
from services.core.settings import get_settings
from tests.clinical import ward_for
from tests.conftest import RETRIES, sign_in

MARKED = re.compile(r'⟦[^⟦⟧]*⟧')  # the innermost marked text (a translated text may hold another)
CODES = re.compile(r'https?://\S+|\b[A-Z]{3}\b|[\w.+-]+@[\w.-]+|\b[\w-]+(\.[\w-]+)*\.(com|org|net|vn)\b|\b[A-Z]{1,3}-?\d+\b|\b[A-Z]\d{2}(\.\d)?\b|\b\d+\s?(mg|ml|kg|cm|mmHg|bpm|min|h|g|mL|L)\b')
ALWAYS = {'Clinic', 'Flow', 'ICD', 'SpO', 'BMI', 'mmHg', 'bpm', 'kg', 'cm', 'mg', 'ml', 'VND', 'PDF', 'CSV', 'A4',
          'mm', 'EN', 'VI', 'PostgreSQL', 'SQLite', 'SMTP', 'HTTPS', 'QR', 'ECG', 'ID', 'OK', 'AM', 'PM', 'UTC'}
ALWAYS |= set(vietqr.BANKS.values())  # the banks' own names (VietQR settings)
LOCALE = Locale.parse(i18n.BABEL_LOCALE[i18n.PSEUDO])
DATE_WORDS = {name for kind in (LOCALE.months, LOCALE.days) for context in kind.values()
              for width in context.values() for name in width.values()}

# (account, path): every station and the pages beneath it that need no more than the ward's data
PAGES = [
    ('admin', '/admin'), ('admin', '/admin/staff'), ('admin', '/admin/catalog'), ('admin', '/admin/doctors'),
    ('admin', '/admin/settings'), ('admin', '/admin/displays'), ('admin', '/admin/backup'),
    ('admin', '/admin/dashboard'), ('admin', '/admin/audit'), ('admin', '/admin/vouchers'), ('admin', '/admin/doctors/{doctor}'),
    ('reception', '/reception'), ('reception', '/reception/appointments'), ('reception', '/reception/queues'),
    ('reception', '/reception/patients/new'), ('reception', '/outbox'),
    ('reception', '/reception/patients/{patient}'), ('reception', '/reception/book/{patient}'),
    ('doctor', '/consultation'), ('doctor', '/consultation/visits/{visit}'), ('lab', '/lab'), ('pharmacy', '/pharmacy'), ('pharmacy', '/pharmacy/inventory'),
    ('cashier', '/cashier'), ('cashier', '/cashier/transactions'), ('doctor', '/account/password'),
]


async def stored_texts() -> set[str]:
    """Every text in the database (names, codes, notes, ...): data, shown as typed."""
    texts: set[str] = {get_settings().clinic_name, *i18n.LANGUAGES.values(),  # languages go by their own names
                       *zoneinfo.available_timezones()}
    async with get_db().read() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(sa.select(table))).all():
                for value in row:
                    if isinstance(value, str):
                        texts.add(value)
                    elif isinstance(value, dict):
                        texts.update(v for v in value.values() if isinstance(v, str))
    return {text for text in texts if len(text) >= 2}


def shown_texts(user: User) -> list[str]:
    """The texts of the page's elements: their text, labels, placeholders, options, markup and slot templates."""
    found: list[str] = []
    for element in user.client.elements.values():
        for name in ('text', 'content'):
            value = getattr(element, name, None)
            if isinstance(value, str):
                found.append(re.sub(r'<[^>]+>', ' ', value))
        for name in ('label', 'placeholder', 'hint', 'title', 'no-data-label', 'error-message', 'suffix', 'prefix'):
            value = element.props.get(name)
            if isinstance(value, str):
                found.append(value)
        if isinstance(element, ChoiceElement):
            options = element.options
            found.extend(str(label) for label in (options.values() if isinstance(options, dict) else options))
        if isinstance(element, ui.echart):
            found.append(str(element.options.get('title', {}).get('text', '')))
        if isinstance(element, ui.table):
            found.extend(str(column.get('label', '')) for column in element.columns)
        for slot in element.slots.values():
            if slot.template:
                for bound, label in re.findall(r'(?<![\w-])(:?)(?:aria-)?label="([^"{]*)"', slot.template):
                    label = unescape(label)
                    if not bound:
                        found.append(label)
                    elif label.startswith('"'):  # a bound string literal; else an expression of the row's data
                        found.append(json.loads(label))
                found.extend(re.findall(r'>([^<>{}]+)<', slot.template))
    return found


def untranslated(text: str, data: list[str]) -> list[str]:
    while MARKED.search(text):
        text = MARKED.sub(' ', text)
    for value in data:
        if value in text:
            text = text.replace(value, ' ')
    text = CODES.sub(' ', text)
    return [word for word in re.findall(r'[A-Za-z]{2,}', text) if word not in ALWAYS and word not in DATE_WORDS]


@pytest.mark.parametrize('account, path', PAGES)
async def test_no_text_skips_translation(user: User, account: str, path: str):
    ward = await ward_for(user)
    async with get_db().write() as session:
        await session.exec(update(Account).where(Account.username == account).values(language=i18n.PSEUDO))
        await session.commit()
    await sign_in(user, account)
    await user.open(path.format(doctor=ward.clinic.doctor_ids[0], patient=ward.patient_id, visit=ward.visit_id))
    await user.should_see(marker='station-title', retries=RETRIES)
    await assert_all_translated(user, path)


async def assert_all_translated(user: User, where: str) -> None:
    data = sorted(await stored_texts(), key=len, reverse=True)
    leftovers = {text.strip(): words for text in shown_texts(user) if (words := untranslated(text, data))}
    assert not leftovers, f'{where}: texts not translated: {leftovers}'


async def test_public_pages_skip_no_translation_either(user: User):
    from services import display_keys
    ward = await ward_for(user)
    await user.open('/book?lang=pseudo')
    await user.should_see(marker='online-service', retries=RETRIES)
    await assert_all_translated(user, '/book')
    async with get_db().write() as session:
        row, key = await display_keys.issue(session, ward.clinic.admin, 'TV')
        row.language = i18n.PSEUDO
        session.add(row)
        await session.commit()
    await user.open(f'/board?key={key}')
    await user.should_see(marker='board-foot', retries=RETRIES)
    await assert_all_translated(user, '/board')
    await user.open(f'/book/manage?token={await a_booking_link(ward)}&lang=pseudo')  # the patient's own link
    await user.should_see(marker='manage-booking', retries=RETRIES)
    user.find(marker='manage-move').click()
    await user.should_see(marker='slot', retries=RETRIES)
    await assert_all_translated(user, '/book/manage')
    await user.open('/book/manage?token=garbled&lang=pseudo')
    await user.should_see(marker='manage-problem', retries=RETRIES)
    await assert_all_translated(user, '/book/manage (a bad link)')


async def test_merging_two_records_skips_no_translation(user: User):
    from models import Patient
    from services import patient_merge
    from tests.factories import NOW
    ward = await ward_for(user)
    async with get_db().write() as session:
        await session.exec(update(Account).where(Account.username == 'reception').values(language=i18n.PSEUDO))
        await session.commit()
    await sign_in(user, 'reception')
    keep_id = ward.clinic.patient_ids[1]  # P0000001 has a visit open: the merge with it is refused
    await user.open(f'/reception/patients/{keep_id}')
    await user.should_see(marker='merge-with', retries=RETRIES)
    user.find(marker='merge-with').click()
    await user.should_see(marker='merge-choose', retries=RETRIES)
    await assert_all_translated(user, 'choosing the record to merge')
    user.find(marker='patient-search').type('P0000001')
    await user.should_see(marker='patient-hit', retries=RETRIES)
    user.find(marker='patient-hit').click()
    await user.should_see(marker='merge-refusal', retries=RETRIES)
    await assert_all_translated(user, 'the merge preview')
    async with get_db().write() as session:
        twin = Patient(code='P0000009', full_name='Twin', search_name='twin', phone='0900000009')
        session.add(twin)
        await session.commit()
    async with get_db().write() as session:
        await patient_merge.merge_patients(session, ward.clinic.admin, keep_id, twin.id,
                                           {'full_name': 'keep', 'phone': 'keep', 'email': 'keep'}, now=NOW)
    await user.open(f'/reception/patients/{twin.id}')
    await user.should_see(marker='merged-notice', retries=RETRIES)
    await assert_all_translated(user, 'a merged record')


async def test_the_voucher_page_its_rows_and_dialogs_skip_no_translation(user: User):
    from datetime import date

    from services import vouchers
    ward = await ward_for(user)
    admin = ward.clinic.admin
    async with get_db().write() as session:
        first = await vouchers.create_voucher(session, admin, code='SPRING-10', percent_off=10, max_uses=5,
                                              valid_from=date(2026, 1, 1), description='Spring')
        await vouchers.create_voucher(session, admin, code='LAB-5000', amount_off=5_000,
                                      valid_until=date(2020, 1, 1), service_ids=[ward.clinic.lab_id])
        await vouchers.create_voucher(session, admin, code='LATER-1', amount_off=5_000, valid_from=date(2999, 1, 1))
        await session.exec(update(Account).where(Account.username == 'admin').values(language=i18n.PSEUDO))
        await session.commit()
    await sign_in(user, 'admin')
    await user.open('/admin/vouchers')
    await user.should_see(marker='voucher-table', retries=RETRIES)
    for _ in range(RETRIES):
        if len(next(iter(user.find(marker='voucher-table').elements)).rows) == 3:
            break
        await asyncio.sleep(0.1)
    await assert_all_translated(user, '/admin/vouchers')
    user.find(marker='new-voucher').click()
    await user.should_see(marker='voucher-dialog', retries=RETRIES)
    next(iter(user.find(marker='voucher-kind').elements)).set_value('amount')
    await assert_all_translated(user, '/admin/vouchers: a new voucher')
    user.find(marker='voucher-table').trigger('voucher_action', ['usage', first.id])
    await user.should_see(marker='usage-table', retries=RETRIES)
    await assert_all_translated(user, '/admin/vouchers: its usage')


async def a_booking_link(ward) -> str:
    """The token of the link in the email of a booking next week."""
    from datetime import datetime, time, timedelta

    from models import BookingSource
    from models.types import utcnow
    from services import booking, booking_links
    from services.core.clock import local_today
    settings = get_settings()
    start = datetime.combine(local_today(settings.tz) + timedelta(days=7), time(10), tzinfo=settings.tz)
    async with get_db().write() as session:
        appointment = await booking.book(session, ward.clinic.reception, patient_id=ward.patient_id,
                                         service_id=ward.clinic.consultation_id, doctor_id=ward.clinic.doctor_ids[0],
                                         start_at=start, source=BookingSource.PHONE, tz=settings.tz, now=utcnow())
    return booking_links.make_token(appointment.uuid, appointment.sequence, appointment.start_at, settings)
