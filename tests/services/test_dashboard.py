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
from services import checkin, dashboard, day_close
from services.core.errors import PermissionDenied, ValidationError
from tests.factories import NOW, TZ, local, make_clinic


async def add_visits(db, clinic) -> None:
    """Three visits on the 16th and 17th (waits 10, 20 and 30 min; consultations 12, 8 and 10), one cancelled."""
    lan, minh = clinic.doctor_ids

    def visit(day: int, doctor: int, checked_in: int, wait: int, consult: int, **extra) -> Visit:
        arrival = local(day, 9, checked_in)
        return Visit(patient_id=clinic.patient_ids[0], doctor_id=doctor, visit_date=date(2026, 11, day),
                     checked_in_at=arrival, consultation_started_at=arrival + timedelta(minutes=wait),
                     consultation_ended_at=arrival + timedelta(minutes=wait + consult), **extra)
    async with db.write() as session:
        session.add_all([visit(16, lan, 0, 10, 12), visit(16, lan, 5, 20, 8), visit(17, minh, 0, 30, 10),
                         visit(17, minh, 10, 0, 0, status=VisitStatus.CANCELLED)])
        await session.commit()


async def add_payments(db, clinic) -> None:
    """Cash and card on the 16th (one at 23:30 local), a refund on the 17th, a payment after the period."""
    async with db.write() as session:
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
        await session.commit()


async def add_appointments(db, clinic) -> None:
    """Four appointments on the 16th: two completed, one no-show, one cancelled."""
    async with db.write() as session:
        for i, status in enumerate([AppointmentStatus.COMPLETED, AppointmentStatus.COMPLETED,
                                    AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED]):
            session.add(Appointment(uuid=f'u{i}', patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
                                    start_at=local(16, 9 + i), end_at=local(16, 9 + i, 15), status=status,
                                    source=BookingSource.PHONE))
        await session.commit()


@pytest.fixture
async def period(db) -> dashboard.Dashboard:
    """The dashboard of 16 to 18 November, with the visits, payments and appointments above."""
    clinic = await make_clinic(db)
    await add_visits(db, clinic)
    await add_payments(db, clinic)
    await add_appointments(db, clinic)
    async with db.read() as session:
        return await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 16),
                                     end_day=date(2026, 11, 18), tz=TZ, now=NOW)


def test_the_dashboard_counts_the_visits_of_each_day(period):
    assert period.days == [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)]
    assert period.visits_per_day == [2, 1, 0]


def test_the_dashboard_sums_revenue_per_clinic_day_and_method(period):
    assert period.revenue_per_day == [450_000, -50_000, 0]  # 23:30 local is still the 16th
    assert period.revenue_by_method == {'cash': 250_000, 'card': 150_000}


def test_the_dashboard_averages_waiting_and_consultation_times(period):
    assert period.avg_wait_per_day == [15.0, 30.0, None] and period.avg_wait == 20.0
    assert period.avg_consult_per_day == [10.0, 10.0, None]


def test_the_dashboard_shows_each_doctors_workload_and_the_no_shows(period):
    assert [(d.name, d.visits, d.avg_consultation) for d in period.doctors] == \
        [('Nguyễn Thị Lan', 2, 10.0), ('Trần Văn Minh', 1, 10.0)]
    assert (period.no_shows, period.appointments_due, round(period.no_show_rate, 3)) == (1, 3, 0.333)


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


async def test_no_shows_count_the_days_that_are_over_and_what_their_close_ended(db):
    """'0 of 377': appointments nobody came to stayed 'scheduled'. Once their day is over they count as no-shows,
    whether the day's close already ran (it marks them) or not yet; today's may still come."""
    clinic = await make_clinic(db)
    async with db.write() as session:
        for i, (day, status) in enumerate([(20, AppointmentStatus.COMPLETED), (20, AppointmentStatus.SCHEDULED),
                                           (21, AppointmentStatus.CONFIRMED), (21, AppointmentStatus.COMPLETED),
                                           (22, AppointmentStatus.SCHEDULED)]):  # the 22nd is the dashboard's today
            session.add(Appointment(uuid=f'd{i}', patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
                                    start_at=local(day, 8), end_at=local(day, 8, 15), status=status,
                                    source=BookingSource.PHONE))
        await session.commit()
    now = local(22, 14, 20)
    async with db.read() as session:
        before = await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 20), end_day=date(2026, 11, 22),
                                       tz=TZ, now=now)
    assert (before.no_shows, before.appointments_due, before.tickets_closed) == (2, 4, 0)
    await walk_in_left_waiting(db, clinic)
    async with db.write() as session:
        closure = await day_close.close_day(session, day=date(2026, 11, 20), tz=TZ, now=local(21, 0, 5))
    assert (closure.no_shows, closure.tickets_closed) == (1, 1)
    async with db.read() as session:
        after = await dashboard.build(session, clinic.admin, start_day=date(2026, 11, 20), end_day=date(2026, 11, 22),
                                      tz=TZ, now=now)
    assert (after.no_shows, after.appointments_due, round(after.no_show_rate, 2)) == (2, 4, 0.5)
    assert (after.tickets_closed, after.visits_closed) == (1, 1)


async def walk_in_left_waiting(db, clinic) -> None:
    async with db.write() as session:
        await checkin.walk_in(session, clinic.reception, patient_id=clinic.patient_ids[1],
                              doctor_id=clinic.doctor_ids[0], tz=TZ, now=local(20, 16))
