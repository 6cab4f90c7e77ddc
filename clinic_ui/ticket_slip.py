"""The 80 mm ticket slip as a download (PDF), read and drawn outside any page: the browser opens it in a new tab
to print it after a check-in or a walk-in. Role-checked by ``checkin.ticket_for_visit``."""
from __future__ import annotations

from fastapi.responses import Response

from services import checkin, clinic_settings, documents
from services.access import Actor
from services.core.db import get_db


async def ticket_pdf(actor: Actor, visit_id: int) -> Response:
    settings = clinic_settings.current()
    async with get_db().read() as session:
        ticket = await checkin.ticket_for_visit(session, actor, visit_id)
    pdf = await documents.render_ticket_slip(
        clinic_name=settings.clinic_name, ticket=ticket.label, patient_name=ticket.patient_name,
        doctor=ticket.queue_name, room=ticket.room, issued_at_local=ticket.issued_at.astimezone(settings.tz),
        waiting_ahead=ticket.waiting_ahead)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="ticket-{ticket.label}.pdf"'})
