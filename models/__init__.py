"""SQLModel tables and enums. Integrity lives in the database: FK, NOT NULL, UNIQUE and CHECK constraints."""
from .base import metadata
from .billing import CashierDayClose, Invoice, InvoiceItem, NumberSequence, Payment, Voucher, VoucherService, VoucherUse
from .clinical import (LabAnalyte, LabReferenceRange, MedicalRecord, Prescription, PrescriptionItem, RecordAmendment,
                       ResultFile, ResultValue, ServiceOrder)
from .enums import (AllergySeverity, AllergyStatus, AppointmentStatus, BookingSource, ChangeStatus, InvoiceItemKind,
                    InvoiceStatus, MessageChannel, MovementKind,
                    OrderStatus, OutboxStatus, PaymentKind, PaymentMethod, PrescriptionStatus, QueueKind, RecordStatus,
                    ResultFlag, Role, RoomKind, ServiceKind, Sex, TicketStatus, VisitStatus)
from .patients import Address, Patient, PatientAllergy, PatientContactChange
from .pharmacy import Dispense, DispenseItem, Medicine, StockBatch, StockMovement
from .scheduling import Appointment, AppointmentService, DayClosure, Queue, QueueDayCounter, QueueTicket, SlotHold, Visit
from .staff import Doctor, DoctorLeave, DoctorService, DoctorSpecialty, Room, Service, Specialty, User, WorkingHours
from .system import AuditLog, ClinicSetting, DisplayKey, OutboxMessage, RateLimitHit, SignInFailure

__all__ = [name for name in dir() if not name.startswith('_')]
