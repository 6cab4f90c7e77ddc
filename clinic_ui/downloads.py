"""Documents handed out at more than one station: ticket slips (reception, and wherever a patient is sent on),
prescriptions (the doctor and the pharmacy print them) and result files (the doctor and the lab open them). Each
checks the role and is audited in the service it calls; a download has no screen for a message, so a domain error
goes to ``@staff_file``, which answers with its status (404 for an unknown id). Each document is printed in the
patient's language (else the clinic's), whoever prints it."""
from __future__ import annotations

from fastapi.responses import FileResponse, Response

from services import checkin, clinic_settings, clinical_pdf, documents, files, orders, prescriptions, ticket_status
from services.access import Actor
from services.core.clock import local_today

from . import transaction


async def _patient_language(settings, *, patient_id: int | None = None, patient_code: str | None = None) -> str:
    return await transaction.read(lambda s: documents.patient_language(s, patient_id=patient_id,
                                                                       patient_code=patient_code,
                                                                       clinic=settings.language))


def chart_url(visit_id: int) -> str:
    """The doctor's chart of a visit."""
    return f'/consultation/visits/{visit_id}'


async def prescription_pdf(actor: Actor, prescription_id: int) -> Response:
    settings = clinic_settings.current()
    printed = await transaction.write(lambda s: prescriptions.printable(s, actor, prescription_id,
                                                                        today=local_today(settings.tz)))
    language = await _patient_language(settings, patient_code=printed.patient_code)
    pdf = await clinical_pdf.render_prescription(printed, clinic_name=settings.clinic_name,
                                                 clinic_address=settings.clinic_address,
                                                 clinic_phone=settings.clinic_phone, tz=settings.tz,
                                                 language=language)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="{printed.number}.pdf"'})


async def result_pdf(actor: Actor, order_id: int) -> Response:
    """An order's printable result (values, ranges and flags), for doctors and technicians; audited."""
    settings = clinic_settings.current()
    view = await transaction.write(lambda s: orders.printable_result(s, actor, order_id))
    language = await _patient_language(settings, patient_id=view.patient_id)
    pdf = await clinical_pdf.render_result(view, clinic_name=settings.clinic_name, tz=settings.tz, language=language)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="result-{order_id}.pdf"',
                             'Cache-Control': 'no-store'})


async def result_file(actor: Actor, file_id: int) -> FileResponse:
    """A result file, for doctors and technicians (role-checked and audited by ``files.open_file``)."""
    stored = await transaction.write(lambda s: files.open_file(s, actor, file_id,
                                                               data_dir=clinic_settings.current().data_dir))
    return FileResponse(stored.path, media_type=stored.content_type, filename=stored.filename,
                        content_disposition_type='inline',
                        headers={'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'})


async def ticket_pdf(actor: Actor, visit_id: int, *, base_url: str = '') -> Response:
    """The 80 mm ticket slip of the visit's latest ticket, opened in a new tab to print, with the QR code of the
    patient's live ticket page (``base_url``: where the staff page was opened, if the clinic has no public address)."""
    settings = clinic_settings.current()
    ticket = await transaction.read(lambda s: checkin.ticket_for_visit(s, actor, visit_id))
    pdf = await documents.render_ticket_slip(
        clinic_name=settings.clinic_name, ticket=ticket.label, patient_name=ticket.patient_name,
        doctor=ticket.queue_name, room=ticket.room, issued_at_local=ticket.issued_at.astimezone(settings.tz),
        waiting_ahead=ticket.waiting_ahead,
        link=ticket_status.link_for(ticket.visit_id, ticket.issued_at, settings, base_url=base_url),
        language=await _patient_language(settings, patient_code=ticket.patient_code))
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="ticket-{ticket.label}.pdf"'})
