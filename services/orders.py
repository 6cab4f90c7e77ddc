"""Ordered services (lab, imaging, procedures): the technicians' worklist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Doctor, OrderStatus, Patient, Role, Service, ServiceKind, ServiceOrder, Visit

from .access import Actor, require


@dataclass(frozen=True)
class OrderRow:
    id: int
    ordered_at: datetime
    patient_code: str
    patient_name: str
    service_name: str
    kind: ServiceKind
    ordered_by: str
    status: OrderStatus


async def open_orders(session: AsyncSession, actor: Actor, *, limit: int = 200) -> list[OrderRow]:
    """Orders still to do (pending or in progress), oldest first."""
    require(actor, Role.TECHNICIAN, Role.DOCTOR)
    query = (select(ServiceOrder.id, ServiceOrder.ordered_at, Patient.code, Patient.full_name, Service.name,
                    Service.kind, Doctor.full_name, ServiceOrder.status)
             .join(Visit, Visit.id == ServiceOrder.visit_id)
             .join(Patient, Patient.id == Visit.patient_id)
             .join(Service, Service.id == ServiceOrder.service_id)
             .join(Doctor, Doctor.id == ServiceOrder.ordered_by_id)
             .where(ServiceOrder.status.in_([OrderStatus.PENDING, OrderStatus.IN_PROGRESS]))
             .order_by(ServiceOrder.ordered_at).limit(limit))
    return [OrderRow(*row) for row in (await session.exec(query)).all()]
