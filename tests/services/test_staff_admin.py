"""Staff accounts: temporary passwords, doctors' accounts, resets, unlocking, deactivating, who may manage them."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlmodel import select

from models import AuditLog, BookingSource, Doctor, Queue, Role, User
from services import audit_view, booking, catalog, clinic_settings, doctors_admin, staff_admin, users
from services.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from tests.factories import TZ, make_clinic


async def audit_actions(db) -> list[str]:
    async with db.read() as session:
        return list((await session.exec(select(AuditLog.action).order_by(AuditLog.id))).all())


async def test_a_new_account_gets_a_temporary_password_to_change_at_first_sign_in(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        user, password = await staff_admin.create_account(session, clinic.admin, username='Thu.Ha',
                                                          full_name=' Lê  Thu Hà ', role=Role.CASHIER)
    assert user.username == 'thu.ha' and user.full_name == 'Lê Thu Hà' and len(password) == 14
    async with db.write() as session:
        actor = await users.authenticate(session, 'thu.ha', password)
        assert await users.must_change_password(session, actor)
    assert 'user_created' in await audit_actions(db)


async def test_a_doctor_account_comes_with_its_doctor_record_and_queue_and_a_unique_license(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='license number'):
            await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Dr X',
                                             role=Role.DOCTOR)
    async with db.write() as session:
        with pytest.raises(Conflict, match='L-001 is already registered for Dr. Nguyễn Thị Lan'):
            await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Dr X',
                                             role=Role.DOCTOR, license_number='l-001')
    async with db.write() as session:
        user, _ = await staff_admin.create_account(session, clinic.admin, username='drx', full_name='Võ Thị Xuân',
                                                   role=Role.DOCTOR, license_number='l-777')
    async with db.read() as session:
        doctor = (await session.exec(select(Doctor).where(Doctor.user_id == user.id))).one()
        queue = (await session.exec(select(Queue).where(Queue.doctor_id == doctor.id))).one()
    assert doctor.license_number == 'L-777' and doctor.full_name == 'Võ Thị Xuân' and queue.prefix


async def test_reset_password_and_unlock(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        for _ in range(5):
            with pytest.raises(DomainError):
                await users.authenticate(session, 'cashier', 'wrong-password')
    async with db.read() as session:
        row = await staff_admin.get_account(session, clinic.admin, clinic.cashier.user_id)
    assert row.is_locked(datetime.now(timezone.utc))
    async with db.write() as session:
        await staff_admin.unlock(session, clinic.admin, clinic.cashier.user_id)
    async with db.write() as session:
        password = await staff_admin.reset_password(session, clinic.admin, clinic.cashier.user_id)
    async with db.write() as session:
        actor = await users.authenticate(session, 'cashier', password)
        assert await users.must_change_password(session, actor)
        await users.change_password(session, actor, current=password, new='my-own-pass-9', repeat='my-own-pass-9')
    async with db.write() as session:
        with pytest.raises(ValidationError, match='Change password'):
            await staff_admin.reset_password(session, clinic.admin, clinic.admin.user_id)
    actions = await audit_actions(db)
    assert {'user_unlocked', 'password_reset', 'password_changed'} <= set(actions)


async def test_deactivating_keeps_the_account_and_protects_the_last_admin(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='your own account'):
            await staff_admin.set_active(session, clinic.admin, clinic.admin.user_id, False)
    async with db.write() as session:
        await staff_admin.set_active(session, clinic.admin, clinic.cashier.user_id, False)
    async with db.write() as session:
        with pytest.raises(DomainError, match='deactivated'):
            await users.authenticate(session, 'cashier', 'factory-pass-1')
    async with db.read() as session:
        assert (await session.get(User, clinic.cashier.user_id)) is not None  # never deleted
    async with db.write() as session:
        with pytest.raises(ValidationError, match='own role'):
            await staff_admin.update_account(session, clinic.admin, clinic.admin.user_id, full_name='Admin',
                                             role=Role.CASHIER)


async def test_only_admins_manage_staff(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await staff_admin.create_account(session, clinic.reception, username='x-user', full_name='X',
                                             role=Role.ADMIN)
        with pytest.raises(PermissionDenied):
            await catalog.save_room(session, clinic.doctor_actor, None, code='R9', name='R', kind='lab')
        with pytest.raises(PermissionDenied):
            await clinic_settings.save_clinic(session, clinic.cashier, name='X', address='', phone='')
        with pytest.raises(PermissionDenied):
            await audit_view.search(session, clinic.reception)


async def test_a_doctor_with_upcoming_appointments_is_not_deactivated(db):
    clinic = await make_clinic(db)
    now = datetime.now(timezone.utc)
    start = datetime.combine((now + timedelta(days=2)).astimezone(TZ).date(), time(9), tzinfo=TZ)
    async with db.write() as session:
        await booking.book(session, clinic.reception, patient_id=clinic.patient_ids[0],
                           service_id=clinic.consultation_id, doctor_id=clinic.doctor_ids[0], start_at=start,
                           source=BookingSource.PHONE, tz=TZ, now=now)
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 upcoming appointment'):
            await staff_admin.set_active(session, clinic.admin, clinic.doctor_actor.user_id, False)
    async with db.write() as session:
        with pytest.raises(Conflict, match='1 upcoming appointment'):
            await doctors_admin.set_active(session, clinic.admin, clinic.doctor_ids[0], False)
    async with db.write() as session:
        await doctors_admin.set_active(session, clinic.admin, clinic.doctor_ids[1], False)
    async with db.read() as session:
        options = await booking.doctors_for(session)
    assert [o.id for o in options] == [clinic.doctor_ids[0]]


async def test_an_account_keeps_the_language_it_works_in(db):
    clinic = await make_clinic(db)
    async with db.write() as session:
        user, _password = await staff_admin.create_account(session, clinic.admin, username='lan', full_name='Lan',
                                                           role=Role.CASHIER, language='vi')
    assert user.language == 'vi'
    async with db.write() as session:
        with pytest.raises(ValidationError, match='"de" is not a language the clinic can use'):
            await staff_admin.update_account(session, clinic.admin, user.id, full_name='Lan', role=Role.CASHIER,
                                             language='de')
    async with db.write() as session:
        await staff_admin.update_account(session, clinic.admin, user.id, full_name='Lan', role=Role.CASHIER,
                                         language=None)
    async with db.read() as session:
        assert (await session.get(User, user.id)).language is None
        assert (await staff_admin.get_account(session, clinic.admin, user.id)).language is None
