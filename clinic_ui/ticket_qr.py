"""The QR code of a patient's ticket link (their live ticket page, ``/t/<token>``) where staff hand out a ticket:
reception's screen after a check-in or a walk-in, and the printed slip. The link's host is the clinic's public
address (``CLINIC_PUBLIC_URL``) if set, else the one this staff page was opened at."""
from __future__ import annotations

from datetime import datetime

from nicegui import context, ui

from services import clinic_settings, qr, ticket_status
from services.core.i18n import _


def base_url() -> str:
    """The address the staff page being drawn was opened at (``http://192.168.1.10:8080/``)."""
    request = context.client.request
    return str(request.base_url) if request is not None else ''


def ticket_link(visit_id: int, issued_at: datetime, base: str | None = None) -> str:
    return ticket_status.link_for(visit_id, issued_at, clinic_settings.current(),
                                  base_url=base_url() if base is None else base)


def ticket_qr(visit_id: int, issued_at: datetime) -> None:
    """The code to scan, what it is for, and the link itself (to read out or type)."""
    link = ticket_link(visit_id, issued_at)
    with ui.column().classes('items-center gap-1').mark('ticket-qr-panel'):
        ui.image(qr.svg_data_uri(link)).classes('w-44 h-44').props('no-spinner no-transition fit=contain') \
            .mark('ticket-qr').classes('ticket-qr')
        ui.label(_('The patient scans this code to follow their turn on their phone.')) \
            .classes('text-sm text-slate-600 text-center max-w-[16rem]')
        ui.link(link, link, new_tab=True).classes('text-xs text-slate-500 break-all text-center max-w-[18rem]') \
            .mark('ticket-link').classes('ticket-link')
