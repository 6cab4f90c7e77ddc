"""Accounts and sign-in: first administrator, passwords, lockout, roles."""
from datetime import timedelta

import pytest
from sqlmodel import select

from models import AuditLog, Role, User
from models.types import utcnow
from services import users
from services.core.errors import AuthenticationFailed, Conflict, PermissionDenied, ValidationError


async def first_admin(db, password='s3cure-pass'):
    async with db.write() as session:
        return await users.create_first_admin(session, username='Admin', full_name='  Nguyễn   Thị Mai ',
                                              password=password, password_repeat=password)


async def test_first_admin_is_created_once_and_cleaned_up(db):
    async with db.read() as session:
        assert await users.needs_first_admin(session)
    admin = await first_admin(db)
    assert admin.role == Role.ADMIN and admin.username == 'admin' and admin.full_name == 'Nguyễn Thị Mai'
    with pytest.raises(Conflict, match='already has an administrator'):
        await first_admin(db)
    async with db.read() as session:
        assert not await users.needs_first_admin(session)
        stored = (await session.exec(select(User))).one()
        assert stored.password_hash.startswith('$argon2id$') and 's3cure-pass' not in stored.password_hash


@pytest.mark.parametrize('fields, message', [
    ({'password_repeat': 'other-pass1'}, 'two passwords differ'),
    ({'password': 'short', 'password_repeat': 'short'}, 'at least 8'),
    ({'password': 'aaaaaaaaaa', 'password_repeat': 'aaaaaaaaaa'}, 'too simple'),
    ({'username': 'a b'}, 'user name needs'),
    ({'full_name': '   '}, 'full name'),
    ({'email': 'not-an-email'}, 'valid email'),
])
async def test_first_admin_form_errors_are_clear(db, fields, message):
    values = {'username': 'admin', 'full_name': 'Admin', 'password': 'good-pass-1', 'password_repeat': 'good-pass-1',
              'email': None, **fields}
    async with db.write() as session:
        with pytest.raises(ValidationError, match=message):
            await users.create_first_admin(session, **values)
        assert await users.needs_first_admin(session)


async def test_sign_in_checks_the_password_and_audits(db):
    await first_admin(db)
    async with db.write() as session:
        actor = await users.authenticate(session, ' ADMIN ', 's3cure-pass')
        assert actor.role == Role.ADMIN
    async with db.write() as session:
        with pytest.raises(AuthenticationFailed, match='Wrong user name or password'):
            await users.authenticate(session, 'admin', 'wrong-pass')
        with pytest.raises(AuthenticationFailed, match='Wrong user name or password'):
            await users.authenticate(session, 'nobody', 'whatever1')
        with pytest.raises(ValidationError, match='enter your user name and password'):
            await users.authenticate(session, '', '')
    async with db.read() as session:
        actions = [a.action for a in (await session.exec(select(AuditLog).order_by(AuditLog.id))).all()]
    assert actions == ['first_admin_created', 'login', 'login_failed', 'login_failed']


async def test_repeated_wrong_passwords_lock_the_name_for_that_address_only(db):
    await first_admin(db)
    now = utcnow()
    async with db.write() as session:
        for _ in range(3):
            with pytest.raises(AuthenticationFailed, match='Wrong'):
                await users.authenticate(session, 'admin', 'bad-guess', max_failed=3, now=now, address='10.0.0.7')
        # even the right password is refused at that address while the name is locked there
        with pytest.raises(AuthenticationFailed, match='Too many failed sign-ins from this device'):
            await users.authenticate(session, 'admin', 's3cure-pass', max_failed=3, now=now + timedelta(minutes=5),
                                     address='10.0.0.7')
        # the administrator at another workstation is not locked out
        assert (await users.authenticate(session, 'admin', 's3cure-pass', max_failed=3,
                                         now=now + timedelta(minutes=5), address='10.0.0.8')).username == 'admin'
        actor = await users.authenticate(session, 'admin', 's3cure-pass', max_failed=3,
                                         now=now + timedelta(minutes=16), address='10.0.0.7')
        assert actor.username == 'admin'


async def test_deactivated_accounts_cannot_sign_in(db):
    admin = await first_admin(db)
    async with db.write() as session:
        user = await users.create_user(session, admin, username='thu.ngan', full_name='Võ Thu Ngân',
                                       role=Role.CASHIER, password='cashier-pass')
        user.is_active = False
        session.add(user)
        await session.commit()
    async with db.write() as session:
        with pytest.raises(AuthenticationFailed, match='deactivated'):
            await users.authenticate(session, 'thu.ngan', 'cashier-pass')
        assert await users.live_session_epoch(session, user.id) is None


async def test_only_admins_create_accounts_and_names_are_unique(db):
    admin = await first_admin(db)
    async with db.write() as session:
        clerk = users.actor_of(await users.create_user(session, admin, username='le.tan', full_name='Lê Tân',
                                                        role=Role.RECEPTIONIST, password='reception1'))
    async with db.write() as session:
        with pytest.raises(PermissionDenied):
            await users.create_user(session, clerk, username='x.y', full_name='X', role=Role.ADMIN,
                                    password='whatever12')
        with pytest.raises(Conflict, match='already taken'):
            await users.create_user(session, admin, username='le.tan', full_name='Other', role=Role.DOCTOR,
                                    password='whatever12')


async def test_change_password(db):
    admin = await first_admin(db)
    async with db.write() as session:
        with pytest.raises(ValidationError, match='current password is wrong'):
            await users.change_password(session, admin, current='nope', new='new-pass-1', repeat='new-pass-1')
        with pytest.raises(ValidationError, match='differ'):
            await users.change_password(session, admin, current='s3cure-pass', new='new-pass-1', repeat='x')
        await users.change_password(session, admin, current='s3cure-pass', new='new-pass-1', repeat='new-pass-1')
    async with db.write() as session:
        assert (await users.authenticate(session, 'admin', 'new-pass-1')).username == 'admin'


async def test_each_person_chooses_the_language_of_their_screens(db):
    admin = await first_admin(db)
    assert admin.language is None  # the clinic's language until they choose
    async with db.write() as session:
        with pytest.raises(ValidationError, match='language from the list'):
            await users.set_language(session, admin, 'fr')
    async with db.write() as session:
        chosen = await users.set_language(session, admin, 'vi')
    assert chosen.language == 'vi' and chosen.user_id == admin.user_id
    async with db.read() as session:
        account = await users.signed_in_account(session, admin.user_id, users.NEW_ACCOUNT_EPOCH)
        assert account.actor.language == 'vi'  # every page of theirs is drawn in it
        stored = (await session.exec(select(User))).one()
        assert users.actor_of(stored).language == 'vi'
    async with db.write() as session:
        assert (await users.set_language(session, chosen, None)).language is None  # back to the clinic's
    async with db.read() as session:
        changes = (await session.exec(select(AuditLog).where(AuditLog.action == 'language_changed')
                                      .order_by(AuditLog.id))).all()
    assert [c.detail for c in changes] == ['vi', 'clinic']
