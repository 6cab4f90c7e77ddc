"""Administration, clinic settings: one panel per group of settings, each saved on its own."""
from __future__ import annotations

import time

from nicegui import events, ui

from clinic_ui.widgets import KeyedList, error_text, section_title, staff_action
from services import clinic_settings, vietqr, zalo_tokens
from services.access import Actor
from services.clinic_settings import LANGUAGES
from services.core import i18n
from services.core.i18n import _
from services.core.settings import CURRENCY_EXPONENTS, Settings

PASSWORD_UNCHANGED = '••••••••'
LOGO_URL = '/admin/settings/logo'


def _saved(changed: list[str] | None) -> None:
    if changed == []:
        ui.notify(_('Nothing changed.'))
    elif changed:
        ui.notify(_('Saved.'), type='positive')


def _save_button(on_click, mark: str) -> None:
    with ui.row().classes('w-full justify-end'):
        ui.button(_('Save'), on_click=on_click).props('unelevated no-caps').mark(mark)


class ClinicPanel:
    """The clinic's name, address and phone (on receipts, tickets and emails), and its logo."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('The clinic'))
            ui.label(_('Printed on receipts and tickets, and used in emails to patients.')) \
                .classes('text-sm text-slate-600')
            self.name = ui.input(_('Clinic name'), value=settings.clinic_name).props('outlined dense') \
                .classes('w-full').mark('clinic-name-input')
            self.address = ui.input(_('Address'), value=settings.clinic_address).props('outlined dense') \
                .classes('w-full').mark('clinic-address')
            self.phone = ui.input(_('Phone'), value=settings.clinic_phone).props('outlined dense').classes('w-full') \
                .mark('clinic-phone')
            self.error = error_text()
            _save_button(self.save, 'save-clinic')
            ui.separator()
            LogoPanel(actor, settings)

    async def save(self) -> None:
        _saved(await staff_action(lambda s: clinic_settings.save_clinic(
            s, self.actor, name=self.name.value or '', address=self.address.value or '',
            phone=self.phone.value or ''), error_label=self.error))


class LogoPanel:
    """The logo printed on receipts: upload one, remove it."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        self.data_dir = settings.data_dir
        ui.label(_('Logo (PNG or JPEG, at most 2 MB)')).classes('font-medium')
        with ui.row().classes('w-full items-center gap-3'):
            self.image = ui.image(f'{LOGO_URL}?v={time.time():.0f}' if settings.clinic_logo else '') \
                .classes('w-24 h-24 object-contain border rounded')
            self.state = ui.label(_('A logo is set.') if settings.clinic_logo else _('No logo yet.')) \
                .classes('text-sm text-slate-600').mark('logo-state')
            self.remove_button = ui.button(_('Remove logo'), icon='delete', on_click=self.remove) \
                .props('flat no-caps color=negative').mark('remove-logo')
        self.error = error_text()
        self.uploader = ui.upload(on_upload=self.upload, auto_upload=True,
                                  max_file_size=clinic_settings.LOGO_MAX_BYTES,
                                  on_rejected=lambda: self.error.set_text(_('The logo can be at most 2 MB.'))) \
            .props('accept="image/png,image/jpeg" flat bordered').classes('w-full').mark('logo-upload')
        self.uploader.props['label'] = _('Choose a logo')
        self.show_logo(bool(settings.clinic_logo))

    def show_logo(self, shown: bool) -> None:
        self.image.set_visibility(shown)
        self.remove_button.set_visibility(shown)

    async def remove(self) -> None:
        if await staff_action(lambda s: clinic_settings.remove_logo(s, self.actor), error_label=self.error,
                              success=_('Logo removed.')) is not None:
            self.state.set_text(_('No logo: receipts print the clinic name only.'))
            self.show_logo(False)

    async def upload(self, event: events.UploadEventArguments) -> None:
        data = await event.file.read()
        saved = await staff_action(lambda s: clinic_settings.save_logo(s, self.actor, data=data,
                                                                       data_dir=self.data_dir),
                                   error_label=self.error, success=_('Logo saved.'))
        if saved is not None:
            self.state.set_text(_('Logo saved ({size} KB). It is printed on receipts.').format(
                size=len(data) // 1024 or 1))
            self.image.set_source(f'{LOGO_URL}?v={time.time():.0f}')
            self.show_logo(True)
        self.uploader.reset()


class RegionPanel:
    """Time zone, currency, and the language of the board's announcements."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('Region and language'))
            self.timezone = ui.select(clinic_settings.timezone_names(), value=settings.timezone, label=_('Time zone'),
                                      with_input=True).props('outlined dense').classes('w-full').mark('timezone')
            self.currency = ui.select(sorted(CURRENCY_EXPONENTS), value=settings.currency, label=_('Currency')) \
                .props('outlined dense').classes('w-full').mark('currency')
            ui.label(_('Set the currency before entering prices: amounts are kept in its smallest unit.')) \
                .classes('text-xs text-slate-600')
            self.language = ui.select(LANGUAGES, value=settings.language if settings.language in LANGUAGES else 'en',
                                      label=_('Language of the waiting-room announcements')) \
                .props('outlined dense').classes('w-full').mark('language')
            self.error = error_text()
            _save_button(self.save, 'save-region')

    async def save(self) -> None:
        _saved(await staff_action(lambda s: clinic_settings.save_region(
            s, self.actor, timezone=self.timezone.value or '', currency=self.currency.value or '',
            language=self.language.value or ''), error_label=self.error))


class BoardStationsPanel:
    """Which service points call their patients through the waiting-room board (shown and announced there)."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('Calls on the waiting-room board'))
            ui.label(_('The stations whose calls appear on the board and are announced aloud. The others call their '
                       'patients at their own window.')).classes('text-sm text-slate-600')
            self.boxes = {kind: ui.checkbox(_(name), value=kind in settings.board_kinds).mark(f'board-station-{kind}')
                          for kind, name in clinic_settings.BOARD_STATIONS.items()}
            self.error = error_text()
            _save_button(self.save, 'save-board-stations')

    async def save(self) -> None:
        kinds = [kind for kind, box in self.boxes.items() if box.value]
        _saved(await staff_action(lambda s: clinic_settings.save_board_stations(s, self.actor, kinds=kinds),
                                  error_label=self.error))


class MailPanel:
    """The email server (SMTP) and a test email through it."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('Email server (SMTP)'))
            ui.label(_('Appointment confirmations and reminders go out through it. Leave the server empty to keep '
                       'emails waiting in the outbox.')).classes('text-sm text-slate-600')
            self._server_fields(settings)
            self.error = error_text()
            _save_button(self.save, 'save-smtp')
            ui.separator()
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                self.test_to = ui.input(_('Send a test email to'), placeholder='you@example.com') \
                    .props('outlined dense').classes('grow').mark('test-email-to')
                self.test_button = ui.button(_('Send test email'), icon='send', on_click=self.send_test) \
                    .props('flat no-caps').mark('send-test-email')
            ui.label(_('The test uses the saved settings: save first.')).classes('text-xs text-slate-600')

    def _server_fields(self, settings: Settings) -> None:
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.host = ui.input(_('Server'), value=settings.smtp_host, placeholder='smtp.example.com') \
                .props('outlined dense').classes('grow').mark('smtp-host')
            self.port = ui.input(_('Port'), value=str(settings.smtp_port)).props('outlined dense inputmode=numeric') \
                .classes('w-24').mark('smtp-port')
        with ui.row().classes('w-full gap-2 no-wrap'):
            self.username = ui.input(_('User name'), value=settings.smtp_username).props('outlined dense') \
                .classes('grow').mark('smtp-username')
            self.password = ui.input(_('Password'), password=True,
                                     value=PASSWORD_UNCHANGED if settings.smtp_password.get_secret_value() else '') \
                .props('outlined dense').classes('grow').mark('smtp-password')
        self.starttls = ui.checkbox(_('Use STARTTLS (port 587); port 465 always uses TLS'),
                                    value=settings.smtp_starttls)
        self.sender = ui.input(_('Sender, e.g. Clinic <appointments@clinic.example>'), value=settings.smtp_from) \
            .props('outlined dense').classes('w-full').mark('smtp-from')

    async def save(self) -> None:
        typed = self.password.value or ''
        _saved(await staff_action(lambda s: clinic_settings.save_mail_server(
            s, self.actor, host=self.host.value or '', port=self.port.value, username=self.username.value or '',
            password=None if typed == PASSWORD_UNCHANGED else typed, starttls=self.starttls.value,
            from_address=self.sender.value or ''), error_label=self.error))

    async def send_test(self) -> None:
        self.test_button.props('loading')
        try:
            sent = await staff_action(lambda s: clinic_settings.send_test_email(
                s, self.actor, to=self.test_to.value or ''), error_label=self.error, write=False)
        finally:
            self.test_button.props(remove='loading')
        if sent:
            ui.notify(sent, type='positive')


class PrefixesPanel:
    """The letters of each queue's tickets, one field per queue, each saved on its own."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('Queue prefixes'))
            ui.label(_("The letters on each queue's tickets (A-012). Each doctor gets a queue automatically.")) \
                .classes('text-sm text-slate-600')
            self.none = ui.label(_('No queues yet: they appear with the doctors.')).classes('text-slate-500')
            self.queues = KeyedList(ui.column().classes('w-full gap-1'), self._queue, key=lambda item: item.queue_id)
            self.error = error_text()
            ui.link(_('Waiting-room displays (board keys)'), '/admin/displays').classes('text-sm')

    def show(self, items: list[clinic_settings.QueuePrefix]) -> None:
        self.none.set_visibility(not items)
        self.queues.show(items)

    def _queue(self, item: clinic_settings.QueuePrefix):
        with ui.row().classes('w-full items-center gap-2 no-wrap') as row:
            field = ui.input().props('outlined dense maxlength=3').classes('w-20').mark(f'prefix-{item.queue_id}')
            name = ui.label().classes('grow')
            ui.button(_('Save'), on_click=lambda: self.save(item.queue_id, field.value)).props('flat dense no-caps') \
                .mark(f'save-prefix-{item.queue_id}')

        def update(fresh: clinic_settings.QueuePrefix) -> None:
            field.set_value(fresh.prefix)
            name.set_text(fresh.name if fresh.is_active else _('{name} (inactive)').format(name=fresh.name))
        return row, update

    async def save(self, queue_id: int, prefix: str | None) -> None:
        await staff_action(lambda s: clinic_settings.set_queue_prefix(s, self.actor, queue_id, prefix or ''),
                           error_label=self.error, success=_('Prefix saved.'))


# ---------------------------------------------------------------- messages by SMS and Zalo, "your turn is near"

class MessagingPanel:
    """The SMS gateway and the Zalo account that reminders and "your turn is near" go through, and when that is
    sent. Keys are never shown back: a saved one shows as dots and stays unless something else is typed."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('SMS and Zalo messages'))
            ui.label(_('Reminders and "your turn is near" reach each patient by their chosen channel. Leave an '
                       'address empty to keep that channel off (its messages wait in the outbox).')) \
                .classes('text-sm text-slate-600')
            ui.label(_('SMS gateway')).classes('font-medium')
            self.sms_url = ui.input(_('Address (JSON POST)'), value=settings.sms_url,
                                    placeholder='https://sms.example.vn/api/send') \
                .props('outlined dense').classes('w-full').mark('sms-url')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.sms_key = _secret_field(_('API key'), settings.sms_api_key, 'sms-api-key').classes('grow')
                self.sms_sender = ui.input(_('Sender name (brandname)'), value=settings.sms_sender) \
                    .props('outlined dense maxlength=20').classes('grow').mark('sms-sender')
            ui.label(_('Zalo (ZNS template messages)')).classes('font-medium')
            self.zalo_url = ui.input(_('Address'), value=settings.zalo_url,
                                     placeholder='https://business.openapi.zalo.me/message/template') \
                .props('outlined dense').classes('w-full').mark('zalo-url')
            self.zalo_token = _secret_field(_('Access token'), settings.zalo_access_token, 'zalo-token') \
                .classes('w-full')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.zalo_app = ui.input(_('App ID'), value=settings.zalo_app_id) \
                    .props('outlined dense inputmode=numeric').classes('grow').mark('zalo-app-id')
                self.zalo_secret = _secret_field(_('App secret key'), settings.zalo_secret_key, 'zalo-secret-key') \
                    .classes('grow')
            self.zalo_refresh = _secret_field(_('Refresh token'), settings.zalo_refresh_token, 'zalo-refresh-token') \
                .classes('w-full')
            ui.label(zalo_renewal_text(settings)).classes('text-sm text-slate-600').mark('zalo-renewal')
            with ui.row().classes('w-full gap-2 no-wrap'):
                self.zalo_reminder = ui.input(_('Template ID: reminder'), value=settings.zalo_template_reminder) \
                    .props('outlined dense').classes('grow').mark('zalo-template-reminder')
                self.zalo_turn = ui.input(_('Template ID: your turn is near'), value=settings.zalo_template_turn) \
                    .props('outlined dense').classes('grow').mark('zalo-template-turn')
            ui.separator()
            self.near = ui.number(_('"Your turn is near" when this many patients are ahead (0: off)'),
                                  value=settings.turn_near_count, min=0, max=50, step=1, format='%d') \
                .props('outlined dense').classes('w-full').mark('turn-near-count')
            self.error = error_text()
            _save_button(self.save, 'save-messaging')

    async def save(self) -> None:
        def typed(field: ui.input) -> str | None:
            return None if field.value == PASSWORD_UNCHANGED else field.value or ''
        sms_key, zalo_token = typed(self.sms_key), typed(self.zalo_token)
        zalo_secret, zalo_refresh = typed(self.zalo_secret), typed(self.zalo_refresh)
        _saved(await staff_action(lambda s: clinic_settings.save_messaging(
            s, self.actor, sms_url=self.sms_url.value or '', sms_api_key=sms_key,
            sms_sender=self.sms_sender.value or '', zalo_url=self.zalo_url.value or '', zalo_access_token=zalo_token,
            zalo_template_reminder=self.zalo_reminder.value or '', zalo_template_turn=self.zalo_turn.value or '',
            turn_near_count=self.near.value, zalo_app_id=self.zalo_app.value or '', zalo_secret_key=zalo_secret,
            zalo_refresh_token=zalo_refresh), error_label=self.error))


def zalo_renewal_text(settings: Settings) -> str:
    """Whether the Zalo access token renews by itself, and until when the current one holds."""
    if not zalo_tokens.renews_by_itself(settings):
        return _('Zalo access tokens last about 25 hours. With the app ID, its secret key and a refresh token '
                 '(from developers.zalo.me), the token is renewed by itself; without them, enter a new one here.')
    until = zalo_tokens.expires_at(settings)
    if until is None:
        return _('The access token is renewed by itself when it is due or when Zalo refuses it.')
    shown = i18n.moment(until.astimezone(settings.tz))
    return _('The access token is renewed by itself; the current one holds until {moment}.').format(moment=shown)


def _secret_field(label: str, secret, mark: str) -> ui.input:
    return ui.input(label, password=True, value=PASSWORD_UNCHANGED if secret.get_secret_value() else '') \
        .props('outlined dense autocomplete=off').mark(mark)


# --- Bank account for transfers (VietQR) ---------------------------------------------------------------------------

class BankPanel:
    """The clinic's bank account: bills and the cashier's screen show a VietQR code for the amount due."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2').mark('bank-panel'):
            section_title(_('Bank account for transfers (VietQR)'))
            ui.label(_('Bills and the cashier\'s screen show a QR code that banking apps scan to transfer the amount '
                       'due, with the invoice number as the note. Leave all three empty for no QR code.')) \
                .classes('text-sm text-slate-600')
            banks = {bin_: f'{name} ({bin_})' for bin_, name in vietqr.BANKS.items()}
            if settings.bank_bin and settings.bank_bin not in banks:
                banks[settings.bank_bin] = settings.bank_bin
            self.bank = ui.select(banks, value=settings.bank_bin or None, with_input=True, new_value_mode='add-unique',
                                  clearable=True, label=_('Bank (or type its 6-digit BIN)')) \
                .props('outlined dense').classes('w-full').mark('bank-bin')
            self.account = ui.input(_('Account number'), value=settings.bank_account) \
                .props('outlined dense').classes('w-full').mark('bank-account')
            self.holder = ui.input(_('Account holder, as the bank shows it'), value=settings.bank_account_name) \
                .props('outlined dense').classes('w-full').mark('bank-holder')
            self.error = error_text()
            _save_button(self.save, 'save-bank')

    async def save(self) -> None:
        _saved(await staff_action(lambda s: clinic_settings.save_bank(
            s, self.actor, bank_bin=self.bank.value or '', account=self.account.value or '',
            holder=self.holder.value or ''), error_label=self.error))


# ---------------------------------------------------------------- the self check-in kiosk

class KioskPanel:
    """The self check-in kiosk: whether a known patient may take a walk-in ticket there."""

    def __init__(self, actor: Actor, settings: Settings) -> None:
        self.actor = actor
        with ui.card().classes('gap-2'):
            section_title(_('Self check-in kiosk'))
            ui.label(_('Patients with an appointment check themselves in at the kiosk. Walk-in tickets there are '
                       'only for patients the clinic knows (found by phone number and date of birth); new patients '
                       'go to reception.')).classes('text-sm text-slate-600')
            self.walk_ins = ui.checkbox(_('Patients without an appointment may take a walk-in ticket at the kiosk'),
                                        value=settings.kiosk_walk_ins).mark('kiosk-walk-ins')
            self.error = error_text()
            _save_button(self.save, 'save-kiosk')

    async def save(self) -> None:
        _saved(await staff_action(lambda s: clinic_settings.save_kiosk(s, self.actor,
                                                                      walk_ins=bool(self.walk_ins.value)),
                                  error_label=self.error))
