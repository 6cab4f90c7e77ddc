"""What the chart hands out: result files (from the lab or imaging), printable results, the prescription, and the
slip of the ticket a patient sent to the lab was given."""
from __future__ import annotations

from fastapi import Request

from clinic_ui import downloads
from clinic_ui.routes import staff_file
from clinic_ui.stations import CONSULTATION
from services.access import Actor


@staff_file(CONSULTATION, '/consultation/files/{file_id}')
async def consultation_result_file(actor: Actor, file_id: int):
    return await downloads.result_file(actor, file_id)


@staff_file(CONSULTATION, '/consultation/prescriptions/{prescription_id}.pdf')
async def consultation_prescription_pdf(actor: Actor, prescription_id: int):
    return await downloads.prescription_pdf(actor, prescription_id)


@staff_file(CONSULTATION, '/consultation/results/{order_id}.pdf')
async def consultation_result_pdf(actor: Actor, order_id: int):
    return await downloads.result_pdf(actor, order_id)


@staff_file(CONSULTATION, '/consultation/tickets/{visit_id}.pdf')
async def consultation_ticket_pdf(actor: Actor, visit_id: int, request: Request):
    """The slip of the ticket the patient was just given (sent to the lab)."""
    return await downloads.ticket_pdf(actor, visit_id, base_url=str(request.base_url))
