"""The dashboard: visits, revenue per day and method, waiting and consultation times, workload, no-shows."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from models import (
    Appointment,
    AppointmentStatus,
    BookingSource,
    Invoice,
    Payment,
    PaymentKind,
    PaymentMethod,
    Visit,
    VisitStatus,
)
from services import dashboard
from services.core.errors import PermissionDenied, ValidationError
from tests.factories import NOW, TZ, local, make_clinic


async def test_the_dashboard_sums_a_period(db):
    clinic = await make_clinic(db)
    lan, minh = clinic.doctor_ids
    async with db.write() as session:
        def visit(day: int, doctor: int, checked_in: int, wait: int, consult: int, **extra) -> Visit:
            arrival = local(day, 9, checked_in)
            return Visit(patient_id=clinic.patient_ids[0], doctor_id=doctor, visit_date=date(2026, 11, day),
                         checked_in_at=arrival, consultation_started_at=arrival + timedelta(minutes=wait),
                         consultation_ended_at=arrival + timedelta(minutes=wait + consult), **extra)
        session.add_all([visit(16, lan, 0, 10, 12), visit(16, lan, 5, 20, 8), visit(17, minh, 0, 30, 10),
                         visit(17, minh, 10, 0, 0, status=VisitStatus.CANCELLED)])
        invoice = Invoice(number='INV-1', patient_id=clinic.patient_ids[0], subtotal=500_000, total=500_000,
                          amount_paid=400_000)
        session.add(invoice)
        await session.flush()
        for moment, method, kind, amount in ((local(16, 10), PaymentMethod.CASH, PaymentKind.PAYMENT, 300_000),
                                             (local(16, 23, 30), PaymentMethod.CARD, PaymentKind.PAYMENT, 150_000),
                                             (local(17, 8), PaymentMethod.CASH, PaymentKind.REFUND, 50_000),
                                             (local(19, 8), PaymentMethod.CASH, PaymentKind.PAYMENT, 999)):
            session.add(Payment(invoice_id=invoice.id, method=method, kind=kind, amount=amount,
                                cashier_id=clinic.cashier.user_id, received_at=moment))
        for i, status in enumerate([AppointmentStatus.COMPLETED, AppointmentStatus.COMPLETED,
                                    AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED]):
            session.add(Appointment(uuid=f'u{i}', patient_id=clinic.patient_ids[0], doctor_id=lan,
                                    start_at=local(16, 9 + i), end_at=local(16, 9 + i, 15), status=status,
                                    source=BookingSource.PHONE))
        await session.commit()
    async with db.read() as session:
        result = await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 16),
                                       end_day=date(2026, 11, 18), tz=TZ, now=NOW)
    assert result.days == [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)]
    assert result.visits_per_day == [2, 1, 0]
    assert result.revenue_per_day == [450_000, -50_000, 0]  # 23:30 local is still the 16th
    assert result.revenue_by_method == {'cash': 250_000, 'card': 150_000}
    assert result.avg_wait_per_day == [15.0, 30.0, None] and result.avg_wait == 20.0
    assert result.avg_consult_per_day == [10.0, 10.0, None]
    assert [(d.name, d.visits, d.avg_consultation) for d in result.doctors] == \
        [('Nguyễn Thị Lan', 2, 10.0), ('Trần Văn Minh', 1, 10.0)]
    assert (result.no_shows, result.appointments_due, round(result.no_show_rate, 3)) == (1, 3, 0.333)


async def test_the_dashboard_refuses_bad_periods_and_other_roles(db):
    clinic = await make_clinic(db)
    async with db.read() as session:
        with pytest.raises(ValidationError, match='not be before'):
            await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 20), end_day=date(2026, 11, 1),
                                  tz=TZ)
        with pytest.raises(ValidationError, match='at most 366 days'):
            await dashboard.build(session, clinic.admin, start_day=date(2024, 1, 1), end_day=date(2026, 1, 1), tz=TZ)
        with pytest.raises(PermissionDenied):
            await dashboard.build(session, clinic.cashier, start_day=date(2026, 11, 1), end_day=date(2026, 11, 2),
                                  tz=TZ)
        empty = await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 1),
                                      end_day=date(2026, 11, 2), tz=TZ)
    assert empty.total_visits == 0 and empty.no_show_rate is None and empty.avg_wait is None
