"""Administration: clinic settings (name, logo, region, queue prefixes, email server with a test email)."""
from __future__ import annotations

import time
from pathlib import Path

from fastapi.responses import FileResponse, PlainTextResponse
from nicegui import events, ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, section_title, staff_action
from services import clinic_settings
from services.access import Actor
from services.clinic_settings import LANGUAGES
from services.core.db import get_db
from services.core.events import SettingsChanged, StaffChanged
from services.core.settings import CURRENCY_EXPONENTS

PASSWORD_UNCHANGED = '••••••••'
LOGO_URL = '/admin/settings/logo'


def _saved(changed: list[str] | None) -> None:
    if changed == []:
        ui.notify('Nothing changed.')
    elif changed:
        ui.notify('Saved.', type='positive')


@staff_page(ADMIN, '/admin/settings', title='Clinic settings')
async def settings_page(actor: Actor):
    settings = clinic_settings.current()
    async with get_db().read() as session:
        prefixes = await clinic_settings.queue_prefixes(session, actor)
    back_link()
    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
        with ui.card().classes('gap-2'):
            section_title('The clinic')
            ui.label('Printed on receipts and tickets, and used in emails to patients.') \
                .classes('text-sm text-slate-600')
            name = ui.input('Clinic name', value=settings.clinic_name).props('outlined dense').classes('w-full') \
                .mark('clinic-name-input')
            address = ui.input('Address', value=settings.clinic_address).props('outlined dense').classes('w-full') \
                .mark('clinic-address')
            phone = ui.input('Phone', value=settings.clinic_phone).props('outlined dense').classes('w-full') \
                .mark('clinic-phone')
            clinic_error = error_text()

            async def save_clinic() -> None:
                _saved(await staff_action(lambda s: clinic_settings.save_clinic(
                    s, actor, name=name.value or '', address=address.value or '', phone=phone.value or ''),
                    error_label=clinic_error))

            with ui.row().classes('w-full justify-end'):
                ui.button('Save', on_click=save_clinic).props('unelevated no-caps').mark('save-clinic')

            ui.separator()
            ui.label('Logo (PNG or JPEG, at most 2 MB)').classes('font-medium')
            with ui.row().classes('w-full items-center gap-3'):
                logo = ui.image(f'{LOGO_URL}?v={time.time():.0f}' if settings.clinic_logo else '') \
                    .classes('w-24 h-24 object-contain border rounded')
                logo.set_visibility(bool(settings.clinic_logo))
                logo_state = ui.label('A logo is set.' if settings.clinic_logo else 'No logo yet.') \
                    .classes('text-sm text-slate-600').mark('logo-state')
                remove = ui.button('Remove logo', icon='delete', on_click=lambda: remove_logo()) \
                    .props('flat no-caps color=negative').mark('remove-logo')
                remove.set_visibility(bool(settings.clinic_logo))
            logo_error = error_text()

            async def remove_logo() -> None:
                if await staff_action(lambda s: clinic_settings.remove_logo(s, actor), error_label=logo_error,
                                      success='Logo removed.') is not None:
                    logo_state.set_text('No logo: receipts print the clinic name only.')
                    logo.set_visibility(False)
                    remove.set_visibility(False)

            async def upload(event: events.UploadEventArguments) -> None:
                data = await event.file.read()
                saved = await staff_action(lambda s: clinic_settings.save_logo(
                    s, actor, data=data, data_dir=settings.data_dir), error_label=logo_error,
                    success='Logo saved.')
                if saved is not None:
                    logo_state.set_text(f'Logo saved ({len(data) // 1024 or 1} KB). It is printed on receipts.')
                    logo.set_source(f'{LOGO_URL}?v={time.time():.0f}')
                    logo.set_visibility(True)
                    remove.set_visibility(True)
                uploader.reset()

            uploader = ui.upload(on_upload=upload, auto_upload=True, max_file_size=clinic_settings.LOGO_MAX_BYTES,
                                 on_rejected=lambda: logo_error.set_text('The logo can be at most 2 MB.')) \
                .props('accept="image/png,image/jpeg" flat bordered label="Choose a logo"').classes('w-full') \
                .mark('logo-upload')

        with ui.card().classes('gap-2'):
            section_title('Region and language')
            timezone = ui.select(clinic_settings.timezone_names(), value=settings.timezone, label='Time zone',
                                 with_input=True).props('outlined dense').classes('w-full').mark('timezone')
            currency = ui.select(sorted(CURRENCY_EXPONENTS), value=settings.currency, label='Currency') \
                .props('outlined dense').classes('w-full').mark('currency')
            ui.label('Set the currency before entering prices: amounts are kept in its smallest unit.') \
                .classes('text-xs text-slate-600')
            language = ui.select(LANGUAGES, value=settings.language if settings.language in LANGUAGES else 'en',
                                 label='Language of the waiting-room announcements') \
                .props('outlined dense').classes('w-full').mark('language')
            region_error = error_text()

            async def save_region() -> None:
                _saved(await staff_action(lambda s: clinic_settings.save_region(
                    s, actor, timezone=timezone.value or '', currency=currency.value or '',
                    language=language.value or ''), error_label=region_error))

            with ui.row().classes('w-full justify-end'):
                ui.button('Save', on_click=save_region).props('unelevated no-caps').mark('save-region')

        with ui.card().classes('gap-2'):
            section_title('Email server (SMTP)')
            ui.label('Appointment confirmations and reminders go out through it. Leave the server empty to keep '
                     'emails waiting in the outbox.').classes('text-sm text-slate-600')
            with ui.row().classes('w-full gap-2 no-wrap'):
                host = ui.input('Server', value=settings.smtp_host, placeholder='smtp.example.com') \
                    .props('outlined dense').classes('grow').mark('smtp-host')
                port = ui.input('Port', value=str(settings.smtp_port)).props('outlined dense inputmode=numeric') \
                    .classes('w-24').mark('smtp-port')
            with ui.row().classes('w-full gap-2 no-wrap'):
                username = ui.input('User name', value=settings.smtp_username).props('outlined dense') \
                    .classes('grow').mark('smtp-username')
                password = ui.input('Password', password=True,
                                    value=PASSWORD_UNCHANGED if settings.smtp_password.get_secret_value() else '') \
                    .props('outlined dense').classes('grow').mark('smtp-password')
            starttls = ui.checkbox('Use STARTTLS (port 587); port 465 always uses TLS', value=settings.smtp_starttls)
            sender = ui.input('Sender, e.g. Clinic <appointments@clinic.example>', value=settings.smtp_from) \
                .props('outlined dense').classes('w-full').mark('smtp-from')
            smtp_error = error_text()

            async def save_smtp() -> None:
                typed = password.value or ''
                _saved(await staff_action(lambda s: clinic_settings.save_mail_server(
                    s, actor, host=host.value or '', port=port.value, username=username.value or '',
                    password=None if typed == PASSWORD_UNCHANGED else typed, starttls=starttls.value,
                    from_address=sender.value or ''), error_label=smtp_error))

            with ui.row().classes('w-full justify-end'):
                ui.button('Save', on_click=save_smtp).props('unelevated no-caps').mark('save-smtp')
            ui.separator()
            with ui.row().classes('w-full items-center gap-2 no-wrap'):
                test_to = ui.input('Send a test email to', placeholder='you@example.com') \
                    .props('outlined dense').classes('grow').mark('test-email-to')

                async def send_test() -> None:
                    test_button.props('loading')
                    try:
                        sent = await staff_action(lambda s: clinic_settings.send_test_email(
                            s, actor, to=test_to.value or ''), error_label=smtp_error, write=False)
                    finally:
                        test_button.props(remove='loading')
                    if sent:
                        ui.notify(sent, type='positive')

                test_button = ui.button('Send test email', icon='send', on_click=send_test) \
                    .props('flat no-caps').mark('send-test-email')
            ui.label('The test uses the saved settings: save first.').classes('text-xs text-slate-600')

        with ui.card().classes('gap-2'):
            section_title('Queue prefixes')
            ui.label('The letters on each queue\'s tickets (A-012). Each doctor gets a queue automatically.') \
                .classes('text-sm text-slate-600')
            queue_rows = ui.column().classes('w-full gap-1')
            queue_error = error_text()

            def show_prefixes(items: list[clinic_settings.QueuePrefix]) -> None:
                queue_rows.clear()
                with queue_rows:
                    if not items:
                        ui.label('No queues yet: they appear with the doctors.').classes('text-slate-500')
                    for item in items:
                        with ui.row().classes('w-full items-center gap-2 no-wrap'):
                            field = ui.input(value=item.prefix).props('outlined dense maxlength=3') \
                                .classes('w-20').mark(f'prefix-{item.queue_id}')
                            ui.label(item.name + ('' if item.is_active else ' (inactive)')).classes('grow')

                            async def save(queue_id=item.queue_id, field=field) -> None:
                                await staff_action(lambda s: clinic_settings.set_queue_prefix(
                                    s, actor, queue_id, field.value or ''), error_label=queue_error,
                                    success='Prefix saved.')
                            ui.button('Save', on_click=save).props('flat dense no-caps') \
                                .mark(f'save-prefix-{item.queue_id}')

            show_prefixes(prefixes)
            ui.link('Waiting-room displays (board keys)', '/admin/displays').classes('text-sm')

    async def refresh() -> None:
        async with get_db().read() as session:
            show_prefixes(await clinic_settings.queue_prefixes(session, actor))

    subscribe(SettingsChanged, refresh)
    subscribe(StaffChanged, refresh)


@staff_file(ADMIN, LOGO_URL)
async def logo_file(actor: Actor):
    path = clinic_settings.current().clinic_logo
    if not path or not Path(path).is_file():
        return PlainTextResponse('No logo.', status_code=404)
    return FileResponse(path, headers={'Cache-Control': 'no-store'})
