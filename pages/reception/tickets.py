"""The ticket slip: an 80 mm PDF the browser prints after a check-in or a walk-in."""
from __future__ import annotations

from fastapi import Request

from clinic_ui import downloads
from clinic_ui.routes import staff_file
from clinic_ui.stations import RECEPTION
from services.access import Actor


def ticket_url(visit_id: int) -> str:
    return f'/reception/tickets/{visit_id}.pdf'


@staff_file(RECEPTION, '/reception/tickets/{visit_id}.pdf')
async def ticket_pdf(actor: Actor, visit_id: int, request: Request):
    return await downloads.ticket_pdf(actor, visit_id, base_url=str(request.base_url))
