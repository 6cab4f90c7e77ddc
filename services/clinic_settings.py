"""Clinic settings changed on the administration pages: name, address, phone, logo, region, mail server, queues.

Saved values live in the ``clinic_settings`` table and override the CLINIC_* environment defaults of the same
name. ``current()`` is the one way to read them: the start-up settings (never changed) with the saved values over
them, put in force at start and again right after a change commits. Each change is validated with a message for the person at the screen, audited (old -> new; passwords
never) and announced with ``SettingsChanged``.

Queue prefixes are not stored here: they belong to the queue itself (``queues.prefix``), where tickets read them.
"""
from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import aiosmtplib
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ClinicSetting, Doctor, Invoice, Medicine, Queue, Role, Room, Service, User, WorkingHours
from models.types import utcnow

from . import audit, vietqr
from .access import Actor, require
from .core import i18n
from .core.boundary import action, query
from .core.db import call_after_commit, serialize
from .core.errors import Conflict, DomainError, NotFound, ValidationError
from .core.events import OutboxChanged, SettingsChanged, publish
from .core.i18n import N_, _, ngettext
from .core.settings import CURRENCY_EXPONENTS, Settings, get_settings
from .notifications import sender
from .text import clean_name, is_valid_email, is_valid_phone, normalize_phone

log = logging.getLogger(__name__)

# Settings an administrator may change on the settings page (stored in the clinic_settings table). A stored value
# overrides the CLINIC_* environment default of the same name; removing it brings the default back.
OVERRIDABLE = ('clinic_name', 'clinic_address', 'clinic_phone', 'clinic_logo', 'timezone', 'currency', 'language',
               'smtp_host', 'smtp_port', 'smtp_username', 'smtp_password', 'smtp_starttls', 'smtp_from',
               'board_stations',
               # messages by SMS and Zalo, and "your turn is near" (save_messaging)
               'sms_url', 'sms_api_key', 'sms_sender', 'zalo_url', 'zalo_access_token', 'zalo_template_reminder',
               'zalo_template_turn', 'turn_near_count',
               # renewing the Zalo access token (save_messaging; the new pair: store_zalo_tokens)
               'zalo_app_id', 'zalo_secret_key', 'zalo_refresh_token', 'zalo_token_expires_at',
               # the bank account for transfers (save_bank)
               'bank_bin', 'bank_account', 'bank_account_name',
               'kiosk_walk_ins')  # the self check-in kiosk (save_kiosk)
_in_force: Settings | None = None

LANGUAGES = {'en': 'English', 'vi': 'Tiếng Việt'}  # the languages the waiting-room board can announce in
# The service points whose calls can go through the waiting-room board (queue kinds), as the settings page names them.
# In English: shown as _(name).
BOARD_STATIONS = {'doctor': N_("Doctors' rooms"), 'lab': N_('Laboratory'), 'imaging': N_('Imaging'),
                  'procedure': N_('Procedures'), 'pharmacy': N_('Pharmacy windows'), 'cashier': N_('Cashier windows')}
LOGO_TYPES = {b'\x89PNG\r\n\x1a\n': '.png', b'\xff\xd8\xff': '.jpg'}
LOGO_MAX_BYTES = 2 * 1024 * 1024
HOST_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$')
PREFIX_RE = re.compile(r'^[A-Z]{1,3}$')
SECRET_KEYS = {'smtp_password',
               'sms_api_key', 'zalo_access_token', 'zalo_secret_key', 'zalo_refresh_token'}
ZALO_APP_ID_RE = re.compile(r'^[0-9]{1,25}$')
SMTP_TEST_TIMEOUT_S = 15
_LOCK = 'clinic-settings'


@dataclass(frozen=True)
class QueuePrefix:
    queue_id: int
    name: str
    prefix: str
    is_active: bool


def timezone_names() -> list[str]:
    return sorted(available_timezones())


async def stored(session: AsyncSession) -> dict[str, str]:
    """The values saved on the settings page (the rest comes from the environment)."""
    rows = (await session.exec(select(ClinicSetting))).all()
    return {row.key: row.value for row in rows if row.key in OVERRIDABLE}


def current() -> Settings:
    """The clinic's settings in force: the start-up ones (``CLINIC_*``) with the values saved on the settings page
    over them. Never changed in place: a saved change puts a new object in force once it committed, so a rule
    that read it once works with one consistent set."""
    return _in_force if _in_force is not None else get_settings()


def effective(saved: dict[str, str]) -> Settings:
    """The start-up settings with ``saved`` over them. A saved value that no longer validates (e.g. after an
    upgrade) is skipped and logged rather than stopping the clinic."""
    updates = {}
    for key, raw in saved.items():
        if key not in OVERRIDABLE:
            continue
        try:
            updates[key] = parse_setting(key, raw)
        except PydanticValidationError as error:
            log.warning('ignoring the stored setting %s: %s', key, error)
    return get_settings().model_copy(update=updates)


def parse_setting(key: str, raw: str):
    """The typed value of a stored setting, validated like the environment variable."""
    value = None if key == 'clinic_logo' and raw == '' else raw
    return getattr(Settings(**{key: value}), key)


def put_in_force(settings: Settings | None) -> None:
    """Make ``settings`` the ones ``current()`` returns (None: the start-up settings alone)."""
    global _in_force  # noqa: PLW0603 - one value per process, replaced as a whole
    _in_force = settings
    i18n.set_clinic_language(current().language)


async def load(session: AsyncSession) -> Settings:
    """Put the saved values in force (at start)."""
    settings = effective(await stored(session))
    put_in_force(settings)
    return settings


async def read_again(database) -> None:
    """Another process saved a change (or its news may have been lost): put the saved values in force again."""
    async with database.read() as session:
        await load(session)


# ---------------------------------------------------------------- validation

def _text(value: str, label: str, limit: int, *, required: bool = False) -> str:
    value = clean_name(value or '')
    if required and not value:
        raise ValidationError(_('Please enter the clinic name.'))
    if len(value) > limit:
        raise ValidationError((_('The clinic name can have at most {limit} characters.') if label == 'clinic name'
                               else _('The address can have at most {limit} characters.')).format(limit=limit))
    return value


def _timezone(value: str) -> str:
    value = (value or '').strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_('Unknown time zone "{value}". Please choose one from the list, e.g. '
                                'Asia/Ho_Chi_Minh or Europe/London.').format(value=value)) from None
    return value


def _phone(value: str) -> str:
    if not (value or '').strip():
        return ''
    phone = normalize_phone(value)
    if not is_valid_phone(phone):
        raise ValidationError(_('The clinic phone needs 6 to 15 digits (a leading + is allowed).'))
    return value.strip()


def _from_address(value: str) -> str:
    value = (value or '').strip()
    if not value:
        return ''
    name, address = parseaddr(value)
    if not is_valid_email(address):
        raise ValidationError(_('The sender address must be an email address, e.g. '
                              '"Clinic <appointments@clinic.example>".'))
    return formataddr((name, address)) if name else address


# ---------------------------------------------------------------- saving

async def _save(session: AsyncSession, actor: Actor | None, values: dict[str, str]) -> list[str]:
    """Store ``values`` (already validated), audit what changed; they are in force once the change committed.
    Returns the changed keys. ``actor`` None: the clinic's own software changed them (e.g. a renewed token)."""
    await serialize(session, _LOCK)
    saved = await stored(session)
    in_force = current()
    changed = []
    for key, value in values.items():
        before = saved.get(key, _as_text(getattr(in_force, key)))
        if value == before:
            continue
        row = await session.get(ClinicSetting, key)
        if row is None:
            row = ClinicSetting(key=key)
        row.value, row.updated_by_id, row.updated_at = value, actor.user_id if actor else None, utcnow()
        session.add(row)
        saved[key] = value
        changed.append(key)
        shown = 'changed' if key in SECRET_KEYS else f'"{before}" -> "{value}"'
        audit.record(session, actor, 'setting_changed', entity='setting', detail=f'{key}: {shown}',
                     username='' if actor else 'system')
    if not changed:
        return []
    publish(session, SettingsChanged(keys=tuple(changed)))
    if {'smtp_host', 'smtp_port', 'smtp_username', 'smtp_password', 'smtp_starttls',
            'sms_url', 'sms_api_key', 'sms_sender', 'zalo_url', 'zalo_access_token', 'zalo_template_reminder',
            'zalo_template_turn', 'zalo_app_id', 'zalo_secret_key', 'zalo_refresh_token'} & set(changed):
        publish(session, OutboxChanged())  # wakes the email sender: waiting emails may go out now
    new = effective(saved)
    call_after_commit(session, lambda: put_in_force(new))
    return changed


def _as_text(value) -> str:
    if value is None:
        return ''
    if hasattr(value, 'get_secret_value'):
        return value.get_secret_value()
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


@action
async def save_clinic(session: AsyncSession, actor: Actor, *, name: str, address: str, phone: str) -> list[str]:
    require(actor, Role.ADMIN)
    values = {'clinic_name': _text(name, 'clinic name', 120, required=True),
              'clinic_address': _text(address, 'address', 300),
              'clinic_phone': _phone(phone)}
    return await _save(session, actor, values)


@action
async def save_region(session: AsyncSession, actor: Actor, *, timezone: str, currency: str,
                      language: str) -> list[str]:
    require(actor, Role.ADMIN)
    currency = (currency or '').strip().upper()
    if currency not in CURRENCY_EXPONENTS:
        raise ValidationError(_('Please choose a currency from the list ({choices}).').format(
            choices=', '.join(sorted(CURRENCY_EXPONENTS))))
    if language not in LANGUAGES:
        raise ValidationError(_('Please choose the announcement language from the list.'))
    values = {'timezone': _timezone(timezone), 'currency': currency, 'language': language}
    if currency != current().currency:
        # Amounts are stored in minor units of the currency: switching would change what every bill says.
        invoices = (await session.exec(select(func.count()).select_from(Invoice))).one()
        if invoices:
            raise Conflict(ngettext('The currency cannot change any more: {count} invoice is in {currency}. Set the '
                                    'currency before the clinic starts billing.',
                                    'The currency cannot change any more: {count} invoices are in {currency}. Set the '
                                    'currency before the clinic starts billing.', invoices,
                                    currency=current().currency))
    return await _save(session, actor, values)


@action
async def save_board_stations(session: AsyncSession, actor: Actor, *, kinds: list[str]) -> list[str]:
    """Which service points call their patients through the waiting-room board (shown and announced there)."""
    require(actor, Role.ADMIN)
    unknown = [kind for kind in kinds if kind not in BOARD_STATIONS]
    if unknown:
        raise ValidationError(_('"{kind}" is not a service point. Please choose from the list.').format(
            kind=unknown[0]))
    if not kinds:
        raise ValidationError(_('Please choose at least one service point for the waiting-room board.'))
    return await _save(session, actor, {'board_stations': ','.join(kind for kind in BOARD_STATIONS if kind in kinds)})


@action
async def save_mail_server(session: AsyncSession, actor: Actor, *, host: str, port: int | float | str | None,
                           username: str, password: str | None, starttls: bool, from_address: str) -> list[str]:
    """``password=None`` keeps the stored password; an empty host turns email sending off."""
    require(actor, Role.ADMIN)
    host = (host or '').strip()
    if host and not HOST_RE.match(host):
        raise ValidationError(_('The mail server must be a host name such as smtp.example.com (no http://).'))
    try:
        port_number = int(port) if port not in (None, '') else 587
    except (TypeError, ValueError):
        raise ValidationError(_('The port must be a number, usually 587 (STARTTLS) or 465 (TLS).')) from None
    if not 1 <= port_number <= 65535 or port_number != float(port or port_number):
        raise ValidationError(_('The port must be a whole number between 1 and 65535, usually 587 or 465.'))
    username = (username or '').strip()
    if len(username) > 254:
        raise ValidationError(_('The user name can have at most 254 characters.'))
    values = {'smtp_host': host, 'smtp_port': str(port_number), 'smtp_username': username,
              'smtp_starttls': 'true' if starttls else 'false', 'smtp_from': _from_address(from_address)}
    if password is not None:
        if len(password) > 500:
            raise ValidationError(_('The password is too long.'))
        values['smtp_password'] = password
    return await _save(session, actor, values)


@action
async def save_logo(session: AsyncSession, actor: Actor, *, data: bytes, data_dir: Path) -> Path:
    """Keep a PNG or JPEG logo (printed on receipts) in the data folder and point the setting at it."""
    require(actor, Role.ADMIN)
    if not data:
        raise ValidationError(_('The file is empty.'))
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(_('The logo can be at most {size} MB.').format(size=LOGO_MAX_BYTES // (1024 * 1024)))
    suffix = next((ext for magic, ext in LOGO_TYPES.items() if data.startswith(magic)), None)
    if suffix is None:
        raise ValidationError(_('The logo must be a PNG or JPEG image.'))
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / f'logo{suffix}').resolve()
    for old in data_dir.glob('logo.*'):
        old.unlink()
    path.write_bytes(data)
    await _save(session, actor, {'clinic_logo': str(path)})
    return path


@action
async def remove_logo(session: AsyncSession, actor: Actor) -> None:
    require(actor, Role.ADMIN)
    await _save(session, actor, {'clinic_logo': ''})


# ---------------------------------------------------------------- test email

@action
async def send_test_email(session: AsyncSession, actor: Actor, *, to: str) -> str:
    """Send a short email with the saved mail settings; the outcome is audited either way.

    Talks to the mail server before touching the database, so call it with a read session: no write
    transaction waits on a slow server."""
    require(actor, Role.ADMIN)
    to = (to or '').strip().lower()
    if not is_valid_email(to):
        raise ValidationError(_('Please enter the email address to send the test to.'))
    settings = current()
    if not settings.smtp_host:
        raise ValidationError(_('Please enter and save the mail server first.'))
    message = EmailMessage()
    message['From'] = formataddr(sender(settings))
    message['To'] = to
    message['Subject'] = _('Test email from {clinic}').format(clinic=settings.clinic_name)
    message.set_content(_('This is a test email from {clinic}.').format(clinic=settings.clinic_name) + '\n\n'
                        + _('If you can read it, appointment emails will reach patients.') + '\n', charset='utf-8')
    implicit_tls = settings.smtp_port == 465
    error: Exception | None = None
    try:
        await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                              username=settings.smtp_username or None,
                              password=settings.smtp_password.get_secret_value() or None,
                              use_tls=implicit_tls, start_tls=settings.smtp_starttls and not implicit_tls,
                              timeout=SMTP_TEST_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - every failure becomes a message for the administrator
        error = e
    where = f'{settings.smtp_host}:{settings.smtp_port}'
    audit.record(session, actor, 'smtp_test', entity='setting',
                 detail=f'to {to} via {where}: ' + (f'failed: {type(error).__name__}: {error}' if error else 'sent'))
    await session.commit()
    if error is not None:
        raise DomainError(_smtp_problem(error, where))
    return _('A test email was sent to {address}.').format(address=to)


def _smtp_problem(error: Exception, where: str) -> str:
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return _('The mail server {server} refused the user name or password.').format(server=where)
    if isinstance(error, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError)):
        return _('Could not reach the mail server {server}. Check the server name and port.').format(server=where)
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return _('The mail server {server} did not answer in time.').format(server=where)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return _('The mail server {server} refused the address.').format(server=where)
    return _('The test email was not sent: {error}').format(error=error)


# ---------------------------------------------------------------- queue prefixes

@query
async def queue_prefixes(session: AsyncSession, actor: Actor) -> list[QueuePrefix]:
    require(actor, Role.ADMIN)
    rows = (await session.exec(select(Queue).order_by(Queue.prefix))).all()
    return [QueuePrefix(q.id, q.name, q.prefix, q.is_active) for q in rows]


@action
async def set_queue_prefix(session: AsyncSession, actor: Actor, queue_id: int, prefix: str) -> Queue:
    """Change the letters printed on a queue's tickets (A-012). Today's tickets keep their numbers."""
    require(actor, Role.ADMIN)
    prefix = (prefix or '').strip().upper()
    if not PREFIX_RE.match(prefix) or any(ch not in string.ascii_uppercase for ch in prefix):
        raise ValidationError(_('A queue prefix is 1 to 3 letters A–Z, e.g. A or KB.'))
    await serialize(session, 'queues')
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise NotFound(_('This queue does not exist.'))
    if queue.prefix == prefix:
        return queue
    other = (await session.exec(select(Queue).where(Queue.prefix == prefix, Queue.id != queue_id))).first()
    if other is not None:
        raise Conflict(_('The prefix {prefix} is already used by the queue "{name}".').format(
            prefix=prefix, name=other.name))
    audit.record(session, actor, 'queue_prefix_changed', entity='queue', entity_id=queue.id,
                 detail=f'{queue.name}: {queue.prefix} -> {prefix}')
    queue.prefix = prefix
    session.add(queue)
    publish(session, SettingsChanged(keys=('queue_prefix',)))  # boards and queue pages re-read
    await session.commit()
    return queue


@query
async def setup_progress(session: AsyncSession, actor: Actor) -> dict[str, bool]:
    """What a new clinic has set up already (the checklist on the administration home)."""
    require(actor, Role.ADMIN)

    async def some(model, *where) -> bool:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one() > 0

    named = get_settings().clinic_name != Settings.model_fields['clinic_name'].default  # set in CLINIC_CLINIC_NAME
    return {'settings': named or await some(ClinicSetting, ClinicSetting.key == 'clinic_name'),
            'rooms': await some(Room, Room.is_active), 'services': await some(Service, Service.is_active),
            'doctors': await some(Doctor, Doctor.is_active), 'hours': await some(WorkingHours),
            'medicines': await some(Medicine, Medicine.is_active),
            'staff': await some(User, User.role != Role.ADMIN, User.is_active)}


# ---------------------------------------------------------------- messages by SMS and Zalo, "your turn is near"

SENDER_RE = re.compile(r'^[A-Za-z0-9 ._-]{0,20}$')
TEMPLATE_ID_RE = re.compile(r'^[A-Za-z0-9_-]{0,40}$')


def _gateway_url(value: str, label: str) -> str:
    value = (value or '').strip()
    if not value:
        return ''
    try:
        return Settings(sms_url=value).sms_url
    except PydanticValidationError:
        raise ValidationError(_('The {gateway} address must be a web address such as '
                                'https://api.example.vn/send.').format(gateway=label)) from None


def _secret(value: str | None, key: str, values: dict[str, str]) -> None:
    """``None`` keeps the stored secret; anything else replaces it (empty: removed)."""
    if value is None:
        return
    if len(value) > 2000:
        raise ValidationError(_('The key is too long.'))
    values[key] = value.strip()


@action
async def save_messaging(session: AsyncSession, actor: Actor, *, sms_url: str, sms_api_key: str | None,
                         sms_sender: str, zalo_url: str, zalo_access_token: str | None, zalo_template_reminder: str,
                         zalo_template_turn: str, turn_near_count: int | float | str | None, zalo_app_id: str = '',
                         zalo_secret_key: str | None = None, zalo_refresh_token: str | None = None) -> list[str]:
    """The SMS gateway and the Zalo account messages go through, and when "your turn is near" is sent. Secrets:
    ``None`` keeps the stored one. An empty address turns that channel off (its messages wait in the outbox).
    With the Zalo app's id, secret key and a refresh token the access token is renewed by itself
    (``services.zalo_tokens``); a token typed here is used as it is until Zalo refuses it."""
    require(actor, Role.ADMIN)
    sender_name = (sms_sender or '').strip()
    if not SENDER_RE.match(sender_name):
        raise ValidationError(_('The SMS sender name has at most 20 letters, digits, spaces, dots or dashes, '
                                'as registered with the provider.'))
    templates = {key: (value or '').strip() for key, value in (('zalo_template_reminder', zalo_template_reminder),
                                                                ('zalo_template_turn', zalo_template_turn))}
    if any(not TEMPLATE_ID_RE.match(value) for value in templates.values()):
        raise ValidationError(_('A Zalo template ID has at most 40 letters, digits, dashes or underscores.'))
    try:
        near = int(turn_near_count) if turn_near_count not in (None, '') else 0
    except (TypeError, ValueError):
        raise ValidationError(_('"Your turn is near" needs a whole number of patients from 0 to 50.')) from None
    if not 0 <= near <= 50 or near != float(turn_near_count or 0):
        raise ValidationError(_('"Your turn is near" needs a whole number of patients from 0 to 50.'))
    values = {'sms_url': _gateway_url(sms_url, 'SMS'), 'sms_sender': sender_name,
              'zalo_url': _gateway_url(zalo_url, 'Zalo'), **templates, 'turn_near_count': str(near)}
    app_id = (zalo_app_id or '').strip()
    if app_id and not ZALO_APP_ID_RE.match(app_id):
        raise ValidationError(_('The Zalo app ID is the number shown for the app on developers.zalo.me.'))
    values['zalo_app_id'] = app_id
    _secret(sms_api_key, 'sms_api_key', values)
    _secret(zalo_access_token, 'zalo_access_token', values)
    _secret(zalo_secret_key, 'zalo_secret_key', values)
    _secret(zalo_refresh_token, 'zalo_refresh_token', values)
    if zalo_access_token is not None or zalo_refresh_token is not None:
        values['zalo_token_expires_at'] = ''  # typed by a person: its end is not known
    return await _save(session, actor, values)


async def store_zalo_tokens(session: AsyncSession, *, access_token: str, refresh_token: str,
                            expires_at: datetime) -> None:
    """The pair Zalo just issued in place of the stored one (``services.zalo_tokens``): saved like a setting, in
    force in every process once committed, audited as a change by the system (the tokens never shown)."""
    await _save(session, None, {'zalo_access_token': access_token, 'zalo_refresh_token': refresh_token,
                                'zalo_token_expires_at': expires_at.astimezone(timezone.utc).isoformat()})


# ---------------------------------------------------------------- bank account for transfers (VietQR)

@action
async def save_bank(session: AsyncSession, actor: Actor, *, bank_bin: str, account: str, holder: str) -> list[str]:
    """The account patients transfer to (a VietQR code on bills and at the cashier). All three empty: no account,
    no QR code anywhere."""
    require(actor, Role.ADMIN)
    bank_bin, account, holder = (bank_bin or '').strip(), (account or '').strip(), clean_name(holder or '')
    if not (bank_bin or account or holder):
        return await _save(session, actor, {'bank_bin': '', 'bank_account': '', 'bank_account_name': ''})
    values = {'bank_bin': vietqr.clean_bin(bank_bin), 'bank_account': vietqr.clean_account(account)}
    if not holder:
        raise ValidationError(_('Please enter the account holder\'s name as the bank shows it.'), 'holder')
    if len(holder) > vietqr.HOLDER_MAX:
        raise ValidationError(_('The account holder\'s name can have at most {limit} characters.').format(
            limit=vietqr.HOLDER_MAX), 'holder')
    values['bank_account_name'] = holder
    return await _save(session, actor, values)


# ---------------------------------------------------------------- the self check-in kiosk

@action
async def save_kiosk(session: AsyncSession, actor: Actor, *, walk_ins: bool) -> list[str]:
    """Whether a known patient may take a walk-in ticket at the self check-in kiosk (off: reception only)."""
    require(actor, Role.ADMIN)
    return await _save(session, actor, {'kiosk_walk_ins': 'true' if walk_ins else 'false'})
