"""Enumerations shared by the tables and the services."""
from __future__ import annotations

from enum import Enum


def N_(message: str) -> str:
    """Marks an English label for the translation catalog; it is translated where it is shown (``_(label)``)."""
    return message


class Role(str, Enum):
    ADMIN = 'admin'
    RECEPTIONIST = 'receptionist'
    DOCTOR = 'doctor'
    TECHNICIAN = 'technician'  # nurse or technician: performs ordered services
    PHARMACIST = 'pharmacist'
    CASHIER = 'cashier'

    @property
    def label(self) -> str:
        """In English; shown translated: ``_(role.label)``."""
        return _ROLE_LABELS[self.value]


_ROLE_LABELS = {'admin': N_('Admin'), 'receptionist': N_('Receptionist'), 'doctor': N_('Doctor'),
                'technician': N_('Nurse / technician'), 'pharmacist': N_('Pharmacist'), 'cashier': N_('Cashier')}


class Sex(str, Enum):
    FEMALE = 'female'
    MALE = 'male'
    OTHER = 'other'
    UNKNOWN = 'unknown'


class ChangeStatus(str, Enum):
    """A change to a patient's record asked for from outside (the public booking page), until reception decides."""
    PENDING = 'pending'
    ACCEPTED = 'accepted'
    REJECTED = 'rejected'


class ServiceKind(str, Enum):
    CONSULTATION = 'consultation'
    LAB = 'lab'
    IMAGING = 'imaging'
    PROCEDURE = 'procedure'


class RoomKind(str, Enum):
    CONSULTATION = 'consultation'
    LAB = 'lab'
    IMAGING = 'imaging'
    PROCEDURE = 'procedure'
    PHARMACY = 'pharmacy'
    CASHIER = 'cashier'


class AppointmentStatus(str, Enum):
    SCHEDULED = 'scheduled'
    CONFIRMED = 'confirmed'
    CHECKED_IN = 'checked_in'
    IN_PROGRESS = 'in_progress'
    COMPLETED = 'completed'
    CANCELLED = 'cancelled'
    NO_SHOW = 'no_show'


class BookingSource(str, Enum):
    PHONE = 'phone'
    WEB = 'web'
    IN_PERSON = 'in_person'
    WALK_IN = 'walk_in'


class VisitStatus(str, Enum):
    WAITING = 'waiting'                  # checked in, waiting for consultation
    IN_CONSULTATION = 'in_consultation'
    IN_SERVICES = 'in_services'          # sent to lab / imaging / procedure
    AWAITING_PHARMACY = 'awaiting_pharmacy'
    AWAITING_PAYMENT = 'awaiting_payment'
    PAID = 'paid'
    CLOSED = 'closed'
    CANCELLED = 'cancelled'


class QueueKind(str, Enum):
    DOCTOR = 'doctor'
    LAB = 'lab'
    IMAGING = 'imaging'
    PROCEDURE = 'procedure'
    PHARMACY = 'pharmacy'
    CASHIER = 'cashier'


class TicketStatus(str, Enum):
    WAITING = 'waiting'
    CALLED = 'called'
    IN_SERVICE = 'in_service'
    DONE = 'done'
    SKIPPED = 'skipped'
    NO_SHOW = 'no_show'
    TRANSFERRED = 'transferred'
    CANCELLED = 'cancelled'


class RecordStatus(str, Enum):
    DRAFT = 'draft'
    SIGNED = 'signed'


class OrderStatus(str, Enum):
    PENDING = 'pending'
    IN_PROGRESS = 'in_progress'
    COMPLETED = 'completed'
    CANCELLED = 'cancelled'


class PrescriptionStatus(str, Enum):
    DRAFT = 'draft'
    ISSUED = 'issued'
    PARTIALLY_DISPENSED = 'partially_dispensed'
    DISPENSED = 'dispensed'
    CANCELLED = 'cancelled'


class MovementKind(str, Enum):
    RECEIPT = 'receipt'          # goods in
    DISPENSE = 'dispense'
    ADJUSTMENT = 'adjustment'    # damaged, expired, count correction
    RETURN = 'return'


class InvoiceStatus(str, Enum):
    UNPAID = 'unpaid'
    PARTIALLY_PAID = 'partially_paid'
    PAID = 'paid'
    VOID = 'void'


class InvoiceItemKind(str, Enum):
    CONSULTATION = 'consultation'
    SERVICE = 'service'
    MEDICINE = 'medicine'
    OTHER = 'other'


class PaymentMethod(str, Enum):
    CASH = 'cash'
    CARD = 'card'
    BANK_TRANSFER = 'bank_transfer'
    E_WALLET = 'e_wallet'
    INSURANCE = 'insurance'


class PaymentKind(str, Enum):
    PAYMENT = 'payment'
    REFUND = 'refund'


class OutboxStatus(str, Enum):
    PENDING = 'pending'
    SENDING = 'sending'
    SENT = 'sent'
    FAILED = 'failed'  # gave up after the last retry; staff can requeue


class MessageChannel(str, Enum):
    """How a message reaches a patient."""
    EMAIL = 'email'
    SMS = 'sms'
    ZALO = 'zalo'  # Zalo notification service (ZNS): a template message to the phone's Zalo account


class ResultFlag(str, Enum):
    """How a measured value compares with its reference range ('' when there is no range to compare with)."""
    NONE = 'none'
    NORMAL = 'normal'
    LOW = 'low'
    HIGH = 'high'
    CRITICAL_LOW = 'critical_low'
    CRITICAL_HIGH = 'critical_high'
    ABNORMAL = 'abnormal'  # a text result the technician marked abnormal


class AllergyStatus(str, Enum):
    """Whether anyone asked: 'none' only when recorded as "no known allergies"."""
    UNKNOWN = 'unknown'
    NONE = 'none'
    RECORDED = 'recorded'


class AllergySeverity(str, Enum):
    MILD = 'mild'
    MODERATE = 'moderate'
    SEVERE = 'severe'
    LIFE_THREATENING = 'life_threatening'
