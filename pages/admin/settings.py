"""Administration: clinic settings (name, logo, region, the stations calling through the board, queue prefixes, email
server with a test email, SMS and Zalo gateways, the bank account for VietQR, the self check-in kiosk); the panels are in ``settings_panels.py``."""
from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse, PlainTextResponse
from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, staff_read
from services import clinic_settings
from services.access import Actor
from services.core.events import SettingsChanged, StaffChanged
from services.core.i18n import N_, _

from .settings_panels import (
    LOGO_URL,
    BankPanel,
    BoardStationsPanel,
    ClinicPanel,
    KioskPanel,
    MailPanel,
    MessagingPanel,
    PrefixesPanel,
    RegionPanel,
)


@staff_page(ADMIN, '/admin/settings', title=N_('Clinic settings'))
async def settings_page(actor: Actor):
    settings = clinic_settings.current()
    prefixes = await staff_read(lambda s: clinic_settings.queue_prefixes(s, actor))
    if prefixes is None:
        return
    back_link()
    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
        ClinicPanel(actor, settings)
        RegionPanel(actor, settings)
        BoardStationsPanel(actor, settings)
        MailPanel(actor, settings)
        queues = PrefixesPanel(actor)
        MessagingPanel(actor, settings)
        BankPanel(actor, settings)
        KioskPanel(actor, settings)
    queues.show(prefixes)

    async def refresh() -> None:
        fresh = await staff_read(lambda s: clinic_settings.queue_prefixes(s, actor), touch=False)
        if fresh is not None:
            queues.show(fresh)

    subscribe(SettingsChanged, refresh)
    subscribe(StaffChanged, refresh)


@staff_file(ADMIN, LOGO_URL)
async def logo_file(actor: Actor):
    path = clinic_settings.current().clinic_logo
    if not path or not Path(path).is_file():
        return PlainTextResponse(_('No logo.'), status_code=404)
    return FileResponse(path, headers={'Cache-Control': 'no-store'})
