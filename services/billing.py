"""Invoices and payments: what is still to be paid."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Invoice, InvoiceStatus, Patient, Role

from .access import Actor, require


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    created_at: datetime
    patient_code: str
    patient_name: str
    total: int
    amount_paid: int
    status: InvoiceStatus

    @property
    def balance(self) -> int:
        return self.total - self.amount_paid


async def open_invoices(session: AsyncSession, actor: Actor, *, limit: int = 200) -> list[OpenInvoice]:
    """Unpaid and partly paid invoices, oldest first."""
    require(actor, Role.CASHIER)
    query = (select(Invoice.id, Invoice.number, Invoice.created_at, Patient.code, Patient.full_name, Invoice.total,
                    Invoice.amount_paid, Invoice.status)
             .join(Patient, Patient.id == Invoice.patient_id)
             .where(Invoice.status.in_([InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID]))
             .order_by(Invoice.created_at).limit(limit))
    return [OpenInvoice(*row) for row in (await session.exec(query)).all()]
