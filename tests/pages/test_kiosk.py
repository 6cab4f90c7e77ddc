"""The self check-in kiosk as the tablet shows it (NiceGUI's simulated user, real app and database): the code a
scanner types, the phone and date of birth keypad, the ticket, bad input, the idle return, the language switch,
and the admin's kiosk keys and walk-in setting."""
import asyncio
from datetime import date

from nicegui.testing import User
from sqlmodel import func, select

from models import Patient, Visit
from services import checkin_codes, display_keys, ticket_links
from services.core.clock import local_today
from services.core.db import get_db
from services.core.settings import get_settings
from tests.conftest import RETRIES, element, sign_in
from tests.factories import make_clinic
from tests.pages.reception.helpers import book_today

BORN = date(1980, 5, 17)


async def kiosk_clinic(user: User, *, purpose=display_keys.KIOSK, language=None):
    await user.open('/login')  # starts the app (and its database)
    clinic = await make_clinic(get_db(), patients=3)
    async with get_db().write() as session:
        __, key = await display_keys.issue(session, clinic.admin, 'Entrance tablet', purpose=purpose,
                                           language=language)
        patient = await session.get(Patient, clinic.patient_ids[0])
        patient.date_of_birth = BORN
        session.add(patient)
        await session.commit()
    return clinic, key


async def visits() -> int:
    async with get_db().read() as session:
        return (await session.exec(select(func.count()).select_from(Visit))).one()


async def scan(user: User, text: str) -> None:
    """What a USB scanner does: types the text into the focused input, then Enter; the kiosk takes it (the input
    is emptied for the next code)."""
    scanner = user.find(marker='kiosk-scanner')
    scanner.type(text)
    scanner.trigger('keydown.enter')
    for _ in range(RETRIES):
        try:
            if not any(e.value for e in user.find(marker='kiosk-scanner').elements):
                return
        except AssertionError:  # the next screen is shown
            return
        await asyncio.sleep(0.1)


def keypad(user: User, digits: str) -> None:
    for digit in digits:
        user.find(marker=f'kiosk-key-{digit}').click()


async def test_a_scanned_code_checks_in_and_shows_the_ticket_with_its_qr_code(user: User):
    clinic, key = await kiosk_clinic(user)
    appointment = await book_today(clinic)
    await user.open(f'/kiosk?key={key}')
    await user.should_see(marker='kiosk-welcome')
    code = checkin_codes.make_code(appointment.id, local_today(get_settings().tz), get_settings())
    await scan(user, code)
    await user.should_see(marker='kiosk-initials', content='L. T. H.', retries=RETRIES)
    await user.should_see(marker='kiosk-doctor', content='Dr. Nguyễn Thị Lan')
    await user.should_not_see('Lê Thị Hồng')
    user.find(marker='kiosk-check-in').click()
    user.find(marker='kiosk-check-in').click()  # an impatient second tap
    await user.should_see(marker='kiosk-ticket-number', content='A-001', retries=RETRIES)
    await user.should_not_see(marker='kiosk-error', content='already')
    qr_image = element(user, 'kiosk-ticket-qr')
    assert qr_image.props['src'].startswith('data:image/svg+xml;base64,')
    assert await visits() == 1
    # the slip of this ticket, with the kiosk's key and the ticket's token only
    async with get_db().read() as session:
        visit = (await session.exec(select(Visit))).one()
    token = ticket_links.make_token(visit.id, visit.visit_date, get_settings())
    response = await user.http_client.get('/kiosk/slip.pdf', params={'key': key, 't': token})
    assert response.status_code == 200 and response.content.startswith(b'%PDF')
    refused = await user.http_client.get('/kiosk/slip.pdf', params={'key': 'wrong', 't': token})
    assert refused.status_code == 403
    forged = await user.http_client.get('/kiosk/slip.pdf', params={'key': key, 't': token[:-4] + 'AAAA'})
    assert forged.status_code == 400
    # done: back to the start, nothing of the patient left
    user.find(marker='kiosk-done').click()
    await user.should_see(marker='kiosk-welcome')
    await user.should_not_see('A-001')
    # the same code again: already checked in, nothing more happens
    await scan(user, code)
    await user.should_see(content='already checked in', retries=RETRIES)
    await user.should_not_see(marker='kiosk-check-in')
    assert await visits() == 1


async def test_garbage_forged_and_yesterdays_codes_get_a_clear_message_and_change_nothing(user: User):
    clinic, key = await kiosk_clinic(user)
    appointment = await book_today(clinic)
    await user.open(f'/kiosk?key={key}')
    today = local_today(get_settings().tz)
    good = checkin_codes.make_code(appointment.id, today, get_settings())
    forged = checkin_codes.make_code(appointment.id + 7, today, get_settings()).split('.')[0] + '.' + \
        good.split('.')[1]
    for bad in ('8934567890123', 'hello world', forged, '\x02' + forged):
        await scan(user, bad)
        await user.should_see(marker='kiosk-error', content='not a check-in code of this clinic', retries=RETRIES)
        await user.should_not_see(marker='kiosk-check-in')
    yesterday = checkin_codes.make_code(appointment.id, date.fromordinal(today.toordinal() - 1), get_settings())
    await scan(user, yesterday)
    await user.should_see(marker='kiosk-error', content='expired', retries=RETRIES)
    assert await visits() == 0


async def test_phone_and_birth_date_on_the_keypad_find_the_appointment_and_a_miss_says_nothing_more(user: User):
    clinic, key = await kiosk_clinic(user)
    await book_today(clinic)
    await user.open(f'/kiosk?key={key}')
    user.find(marker='kiosk-by-phone').click()
    await user.should_see(marker='kiosk-key-1')
    keypad(user, '0999999999')
    user.find(marker='kiosk-key-next').click()
    keypad(user, '17051980')
    await user.should_see(marker='kiosk-birth', content='17/05/1980')
    user.find(marker='kiosk-find').click()
    await user.should_see(marker='kiosk-error', content='We found no appointment today', retries=RETRIES)
    user.find(marker='kiosk-phone').click()
    for _ in range(10):
        user.find(marker='kiosk-key-back').click()
    keypad(user, '0901234500')
    user.find(marker='kiosk-find').click()
    await user.should_see(marker='kiosk-initials', content='L. T. H.', retries=RETRIES)
    user.find(marker='kiosk-check-in').click()
    await user.should_see(marker='kiosk-ticket-number', content='A-001', retries=RETRIES)


async def test_the_kiosk_returns_to_the_start_in_its_language_when_left_idle(user: User, monkeypatch):
    from pages import kiosk as kiosk_page
    monkeypatch.setattr(kiosk_page, 'IDLE_S', 0.5)
    monkeypatch.setattr(kiosk_page, 'IDLE_CHECK_S', 0.2)
    __, key = await kiosk_clinic(user, language='vi')
    await user.open(f'/kiosk?key={key}')
    await user.should_see(content='Xin chào! Quý khách tự làm thủ tục khám tại đây.')
    user.find(marker='kiosk-lang-en').click()
    await user.should_see(content='Welcome! Check in for your appointment here.')
    user.find(marker='kiosk-by-phone').click()
    keypad(user, '0901234500')
    await user.should_see(marker='kiosk-phone', content='0901234500')
    await user.should_see(marker='kiosk-welcome', retries=RETRIES)
    await user.should_not_see('0901234500')
    await user.should_see(content='Xin chào!', retries=RETRIES)  # the kiosk's own language again
    await scan(user, 'not a code')  # a refusal left on the start screen goes too
    await user.should_see(marker='kiosk-error', content='Mã này không phải', retries=RETRIES)
    for _ in range(RETRIES):
        if not element(user, 'kiosk-error').text:
            break
        await asyncio.sleep(0.1)
    assert element(user, 'kiosk-error').text == ''


async def test_a_board_key_does_not_open_the_kiosk(user: User):
    __, key = await kiosk_clinic(user, purpose=display_keys.BOARD)
    await user.open(f'/kiosk?key={key}')
    await user.should_see(marker='kiosk-invalid')
    await user.open('/kiosk?key=made-up')
    await user.should_see(marker='kiosk-invalid')


async def test_the_admin_issues_a_kiosk_key_and_allows_walk_ins(user: User):
    from services import clinic_settings
    await user.open('/login')
    await make_clinic(get_db())
    await sign_in(user, 'admin')
    await user.open('/admin/displays')
    await user.should_see('New display', retries=RETRIES)
    user.find(marker='display-name').type('Entrance tablet')
    user.find(marker='display-purpose').elements.pop().value = display_keys.KIOSK
    user.find(marker='issue-key').click()
    await user.should_see(marker='display-url', content='/kiosk?key=', retries=RETRIES)
    key = user.find(marker='display-url').elements.pop().text.split('key=')[1]
    for _ in range(RETRIES):  # the list of keys reads again once the address is shown
        purposes = [row['purpose'] for row in user.find(marker='display-keys').elements.pop().rows]
        if purposes:
            break
        await asyncio.sleep(0.1)
    assert purposes == ['Self check-in kiosk']
    async with get_db().read() as session:
        assert await display_keys.verify(session, key, purpose=display_keys.KIOSK) is not None
        assert await display_keys.verify(session, key) is None  # not a board's
    await user.open('/admin/settings')
    await user.should_see(marker='kiosk-walk-ins', retries=RETRIES)
    assert not clinic_settings.current().kiosk_walk_ins
    user.find(marker='kiosk-walk-ins').elements.pop().value = True
    user.find(marker='save-kiosk').click()
    for _ in range(RETRIES):
        if clinic_settings.current().kiosk_walk_ins:
            break
        await asyncio.sleep(0.1)
    assert clinic_settings.current().kiosk_walk_ins


async def test_a_known_patient_takes_a_walk_in_ticket_when_the_clinic_allows_it(user: User, monkeypatch):
    from services import clinic_settings
    from tests.factories import on_duty_around_the_clock
    clinic, key = await kiosk_clinic(user)
    await on_duty_around_the_clock(get_db(), clinic.doctor_ids)
    monkeypatch.setattr(clinic_settings, '_in_force', get_settings().model_copy(update={'kiosk_walk_ins': True}))
    await user.open(f'/kiosk?key={key}')
    await user.should_see(marker='kiosk-walk-in-note', content='to take a ticket')
    user.find(marker='kiosk-by-phone').click()
    keypad(user, '0901234500')
    user.find(marker='kiosk-key-next').click()
    keypad(user, '17051980')
    user.find(marker='kiosk-find').click()
    await user.should_see(marker='kiosk-walk-in', retries=RETRIES)
    user.find(marker=f'kiosk-doctor-{clinic.doctor_ids[1]}').click()
    await user.should_see(marker='kiosk-ticket-number', retries=RETRIES)
    assert await visits() == 1
