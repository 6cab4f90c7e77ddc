"""The cashier's words that are defined once and shown in the reader's language: table headings, the states of a
visit and of a bill, the payment methods."""
from __future__ import annotations

from typing import TypeVar

from nicegui import ui

from models import InvoiceStatus, PaymentMethod, VisitStatus
from services.billing import METHOD_LABELS
from services.core.i18n import N_, _

E = TypeVar('E', bound=ui.element)

VISIT_STATUS_LABELS = {
    VisitStatus.WAITING: N_('waiting'), VisitStatus.IN_CONSULTATION: N_('in consultation'),
    VisitStatus.IN_SERVICES: N_('in services'), VisitStatus.AWAITING_PHARMACY: N_('awaiting pharmacy'),
    VisitStatus.AWAITING_PAYMENT: N_('awaiting payment'), VisitStatus.PAID: N_('paid'),
    VisitStatus.CLOSED: N_('closed'), VisitStatus.CANCELLED: N_('cancelled'),
}
INVOICE_STATUS_LABELS = {InvoiceStatus.UNPAID: N_('unpaid'), InvoiceStatus.PARTIALLY_PAID: N_('partially paid'),
                         InvoiceStatus.PAID: N_('paid'), InvoiceStatus.VOID: N_('void')}


def visit_status_text(status: VisitStatus) -> str:
    return _(VISIT_STATUS_LABELS[status]) if status in VISIT_STATUS_LABELS else status.value.replace('_', ' ')


def invoice_status_text(status: InvoiceStatus) -> str:
    return _(INVOICE_STATUS_LABELS[status]) if status in INVOICE_STATUS_LABELS else status.value.replace('_', ' ')


def method_text(method: PaymentMethod) -> str:
    """A payment method as the reader calls it (``Cash``, ``Bank transfer``)."""
    return _(METHOD_LABELS[method])


def said(element: E, prop: str, text: str) -> E:
    """``element`` with its ``prop`` (``aria-label``, a table's ``no-data-label``) set to ``text`` as it is: a
    translation needs no quoting."""
    element.props[prop] = text
    return element
