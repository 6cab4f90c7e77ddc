"""Documents that two stations hand out: prescriptions (the doctor and the pharmacy print them) and result files
(the doctor and the lab open them). Each checks the role and is audited in the service it calls."""
from __future__ import annotations

from fastapi.responses import FileResponse, Response

from services import clinic_settings, clinical_pdf, files, prescriptions
from services.access import Actor
from services.core.clock import local_today
from services.core.db import get_db


def chart_url(visit_id: int) -> str:
    """The doctor's chart of a visit."""
    return f'/consultation/visits/{visit_id}'


async def prescription_pdf(actor: Actor, prescription_id: int) -> Response:
    settings = clinic_settings.current()
    async with get_db().write() as session:
        printed = await prescriptions.printable(session, actor, prescription_id, today=local_today(settings.tz))
    pdf = await clinical_pdf.render_prescription(printed, clinic_name=settings.clinic_name,
                                                 clinic_address=settings.clinic_address,
                                                 clinic_phone=settings.clinic_phone, tz=settings.tz)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="{printed.number}.pdf"'})


async def result_file(actor: Actor, file_id: int) -> FileResponse:
    """A result file, for doctors and technicians (role-checked and audited by ``files.open_file``)."""
    async with get_db().write() as session:
        stored = await files.open_file(session, actor, file_id, data_dir=clinic_settings.current().data_dir)
    return FileResponse(stored.path, media_type=stored.content_type, filename=stored.filename,
                        content_disposition_type='inline',
                        headers={'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff'})
