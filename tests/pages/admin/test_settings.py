"""The settings page: the clinic's name, checked, saved, shown everywhere and audited."""
from __future__ import annotations

from nicegui.testing import User

from services import clinic_settings
from tests.conftest import RETRIES, element
from tests.pages.admin.helpers import restore_settings, rows_where, signed_in  # noqa: F401 - an autouse fixture


async def test_settings_change_the_clinic_name_everywhere(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='clinic-name-input', retries=RETRIES)
    user.find(marker='clinic-name-input').clear()
    user.find(marker='save-clinic').click()
    await user.should_see('Please enter the clinic name.', retries=RETRIES)
    user.find(marker='clinic-name-input').type('Phòng khám Hòa An')
    user.find(marker='clinic-phone').type('abc')
    user.find(marker='save-clinic').click()
    await user.should_see('6 to 15 digits', retries=RETRIES)
    user.find(marker='clinic-phone').clear().type('028 3823 4567')
    user.find(marker='save-clinic').click()
    await user.should_see('Saved.', retries=RETRIES)
    assert clinic_settings.current().clinic_name == 'Phòng khám Hòa An'
    await user.should_see(marker='clinic-name', content='Phòng khám Hòa An', retries=RETRIES)  # this page's header
    await user.open('/admin')
    await user.should_see(marker='clinic-name', content='Phòng khám Hòa An', retries=RETRIES)
    await user.open('/admin/audit')
    await user.should_see(marker='audit-table', retries=RETRIES)
    element(user, 'audit-kind').set_value('settings')
    await rows_where(user, 'audit-table', lambda rows: any(
        r['detail'] == 'clinic_name: "Clinic Flow" -> "Phòng khám Hòa An"' for r in rows))


async def test_the_administrator_chooses_which_stations_call_through_the_board(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='board-station-lab', retries=RETRIES)
    assert element(user, 'board-station-doctor').value and not element(user, 'board-station-pharmacy').value
    for kind in clinic_settings.BOARD_STATIONS:
        element(user, f'board-station-{kind}').set_value(False)
    user.find(marker='save-board-stations').click()
    await user.should_see('Please choose at least one service point', retries=RETRIES)
    element(user, 'board-station-doctor').set_value(True)
    element(user, 'board-station-pharmacy').set_value(True)
    user.find(marker='save-board-stations').click()
    await user.should_see('Saved.', retries=RETRIES)
    assert clinic_settings.current().board_kinds == ('doctor', 'pharmacy')
    await user.open('/admin/settings')  # the page shows what is saved
    await user.should_see(marker='board-station-lab', retries=RETRIES)
    assert element(user, 'board-station-pharmacy').value and not element(user, 'board-station-lab').value


async def test_the_administrator_sets_the_sms_gateway_and_its_key_is_never_shown_back(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='sms-url', retries=RETRIES)
    user.find(marker='sms-url').type('sms.example.vn')
    user.find(marker='save-messaging').click()
    await user.should_see('must be a web address', retries=RETRIES)
    assert clinic_settings.current().sms_url == ''  # nothing saved
    user.find(marker='sms-url').clear().type('https://sms.example.vn/api/send')
    user.find(marker='sms-api-key').type('key-123456')
    user.find(marker='sms-sender').type('ANBINH')
    element(user, 'turn-near-count').set_value(2)
    user.find(marker='save-messaging').click()
    await user.should_see('Saved.', retries=RETRIES)
    settings = clinic_settings.current()
    assert (settings.sms_url, settings.sms_sender, settings.turn_near_count) == \
        ('https://sms.example.vn/api/send', 'ANBINH', 2)
    assert settings.sms_api_key.get_secret_value() == 'key-123456'
    await user.open('/admin/settings')
    await user.should_see(marker='sms-api-key', retries=RETRIES)
    assert element(user, 'sms-api-key').value == '••••••••'  # a saved key shows as dots, never itself
    user.find(marker='sms-sender').clear().type('AN BINH')
    user.find(marker='save-messaging').click()
    await user.should_see('Saved.', retries=RETRIES)
    assert clinic_settings.current().sms_api_key.get_secret_value() == 'key-123456'  # the dots kept it


async def test_the_administrator_sets_the_zalo_apps_keys_and_the_page_says_the_token_renews_by_itself(user: User):
    await signed_in(user)
    await user.open('/admin/settings')
    await user.should_see(marker='zalo-renewal', content='enter a new one here', retries=RETRIES)
    user.find(marker='zalo-url').type('https://business.openapi.zalo.me/message/template')
    user.find(marker='zalo-app-id').type('my app')
    user.find(marker='save-messaging').click()
    await user.should_see('The Zalo app ID is the number', retries=RETRIES)
    user.find(marker='zalo-app-id').clear().type('4291763606161179100')
    user.find(marker='zalo-secret-key').type('app-secret')
    user.find(marker='zalo-refresh-token').type('refresh-from-zalo')
    user.find(marker='save-messaging').click()
    await user.should_see('Saved.', retries=RETRIES)
    settings = clinic_settings.current()
    assert (settings.zalo_app_id, settings.zalo_secret_key.get_secret_value(),
            settings.zalo_refresh_token.get_secret_value()) == ('4291763606161179100', 'app-secret', 'refresh-from-zalo')
    await user.open('/admin/settings')
    await user.should_see(marker='zalo-renewal', content='renewed by itself when it is due', retries=RETRIES)
    assert element(user, 'zalo-secret-key').value == element(user, 'zalo-refresh-token').value == '••••••••'
