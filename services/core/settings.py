"""Settings from environment variables (prefix ``CLINIC_``) and an optional ``.env`` file.

Nothing secret has a default in code: the storage secret is generated once and kept in the data folder.
"""
from __future__ import annotations

import ipaddress
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# The database drivers Clinic Flow runs on, and the async driver a plain URL scheme stands for.
DATABASE_DRIVERS = {'sqlite': 'sqlite+aiosqlite', 'sqlite+aiosqlite': 'sqlite+aiosqlite',
                    'postgresql': 'postgresql+asyncpg', 'postgres': 'postgresql+asyncpg',
                    'postgresql+asyncpg': 'postgresql+asyncpg'}
DATABASE_URL_EXAMPLES = ('PostgreSQL (postgresql+asyncpg://user:password@host/database) or SQLite '
                         '(sqlite+aiosqlite:///path/to/clinic.db)')

# Minor-unit exponent per ISO 4217 currency (amounts are stored as integers in minor units).
CURRENCY_EXPONENTS = {'VND': 0, 'JPY': 0, 'KRW': 0, 'USD': 2, 'EUR': 2, 'GBP': 2, 'SGD': 2, 'THB': 2, 'KES': 2,
                      'NGN': 2, 'INR': 2, 'PHP': 2, 'IDR': 2, 'MYR': 2, 'AUD': 2, 'CAD': 2, 'CHF': 2}
# The kinds of queue (``models.QueueKind`` values) a service point can call through the waiting-room board.
BOARD_STATION_KINDS = ('doctor', 'lab', 'imaging', 'procedure', 'pharmacy', 'cashier')


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix='CLINIC_', env_file='.env', env_file_encoding='utf-8',
                                      extra='ignore')

    data_dir: Path = Path('data')
    database_url: str = ''  # default: a SQLite file in data_dir
    host: str = '0.0.0.0'
    port: int = Field(8080, ge=1, le=65535)
    storage_secret: SecretStr | None = None
    redis_url: str = ''  # several app processes: NiceGUI's sessions in Redis (needs CLINIC_STORAGE_SECRET too)
    demo: bool = False
    demo_password: SecretStr = SecretStr('demo-clinic')
    demo_patients: int = Field(2000, ge=0, le=200_000)
    event_log: Path | None = None  # benchmarks: one line per published event, with the time it was published
    ssl_certfile: Path | None = None  # serve HTTPS with this certificate (PEM) ...
    ssl_keyfile: Path | None = None   # ... and its private key (PEM)

    clinic_name: str = 'Clinic Flow'
    clinic_address: str = ''
    clinic_phone: str = ''
    timezone: str = 'Asia/Ho_Chi_Minh'
    currency: str = 'VND'
    language: str = 'en'
    clinic_logo: Path | None = None  # PNG or JPEG printed on receipts
    discount_approval_percent: int = Field(10, ge=0, le=100)  # larger discounts need an administrator
    opening_cash_float: int = Field(0, ge=0)  # cash in each drawer when the day starts (minor units)
    expiry_warning_days: int = Field(60, ge=1, le=730)  # pharmacy alert for batches expiring this soon
    upload_max_mb: int = Field(10, ge=1, le=200)  # result files (images, PDF)
    # The queues (by kind, comma-separated) whose calls the waiting-room board shows and announces.
    board_stations: str = 'doctor,lab,imaging,procedure'

    # The public pages: reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs; empty:
    # none, the connecting address counts), and how much of a day's slots of a service online holds may take.
    trusted_proxies: str = ''
    public_hold_share: float = Field(0.25, gt=0, le=1)
    public_holds_per_address: int = Field(3, ge=1, le=50)
    # The address patients reach the public pages at (links in emails, e.g. https://booking.example.vn); empty:
    # emails carry no link to manage the booking. Patients may move or cancel a booking through that link until
    # this many hours before it starts (later, they call the clinic).
    public_url: str = ''
    online_change_hours: int = Field(4, ge=0, le=24 * 14)
    # The self check-in kiosk: whether a known patient (found by phone and birth date) may take a walk-in ticket
    # there; off: walk-ins go to reception.
    kiosk_walk_ins: bool = False

    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    max_failed_logins: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)

    smtp_host: str = ''
    smtp_port: int = 587
    smtp_username: str = ''
    smtp_password: SecretStr = SecretStr('')
    smtp_starttls: bool = True
    smtp_from: str = ''

    # Patients' phones and the messages to them besides email (SMS, Zalo); see services/phones.py and
    # services/gateways.py. Empty URLs: that channel is off (its messages wait in the outbox).
    phone_region: str = 'VN'  # how a number typed without +country code is read (ISO 3166 region)
    sms_url: str = ''  # the SMS provider's HTTP endpoint (JSON POST)
    sms_api_key: SecretStr = SecretStr('')
    sms_sender: str = ''  # the registered sender name (brandname)
    zalo_url: str = ''  # Zalo ZNS template message endpoint
    zalo_access_token: SecretStr = SecretStr('')
    # With the Zalo app's id and secret key and a refresh token, the access token (valid about 25 hours) is renewed
    # before it expires or when Zalo refuses it; each renewal stores the new pair (a refresh token works once).
    zalo_app_id: str = ''
    zalo_secret_key: SecretStr = SecretStr('')
    zalo_refresh_token: SecretStr = SecretStr('')
    zalo_token_expires_at: str = ''  # when the stored access token expires (ISO 8601, UTC; '' unknown)
    zalo_oauth_url: str = 'https://oauth.zaloapp.com/v4/oa/access_token'
    zalo_template_reminder: str = ''  # ZNS template ids, per kind of message
    zalo_template_turn: str = ''
    turn_near_count: int = Field(3, ge=0, le=50)  # "your turn is near" when this many patients are ahead; 0: off

    # The clinic's bank account for transfers (VietQR on bills): the bank's 6-digit BIN, the account number, the
    # account holder's name as the bank shows it. No BIN or no account: no QR code anywhere.
    bank_bin: str = ''
    bank_account: str = ''
    bank_account_name: str = ''

    @field_validator('database_url')
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """Only the two async drivers the app is built on. A plain ``postgresql://`` or ``sqlite://`` URL (as
        hosting panels and other tools print them) means the same database, so it is mapped to the async driver
        rather than refused; any other driver (``mysql://``, ``postgresql+psycopg2://``) is refused by name."""
        value = value.strip()
        if not value:
            return value
        try:
            url = make_url(value)
        except Exception as e:  # noqa: BLE001 - SQLAlchemy raises ArgumentError or ValueError (e.g. a bad port)
            raise ValueError(f'not a database URL; Clinic Flow runs on {DATABASE_URL_EXAMPLES}') from e
        driver = DATABASE_DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(f'unsupported database {url.drivername!r}; Clinic Flow runs on {DATABASE_URL_EXAMPLES}')
        if driver.startswith('sqlite') and url.database in (None, '', ':memory:'):
            raise ValueError('an SQLite database needs a file (sqlite+aiosqlite:///path/to/clinic.db); '
                             'an in-memory one would vanish at each connection')
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @model_validator(mode='after')
    def _certificate_with_key(self) -> Settings:
        """HTTPS needs both files; one without the other is a mistake, not a wish for plain HTTP."""
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            missing = 'CLINIC_SSL_KEYFILE' if self.ssl_keyfile is None else 'CLINIC_SSL_CERTFILE'
            raise ValueError(f'HTTPS needs both CLINIC_SSL_CERTFILE and CLINIC_SSL_KEYFILE; {missing} is not set')
        for name, path in (('CLINIC_SSL_CERTFILE', self.ssl_certfile), ('CLINIC_SSL_KEYFILE', self.ssl_keyfile)):
            if path is not None and not path.is_file():
                raise ValueError(f'{name}: no file at {path}')
        return self

    @field_validator('public_url')
    @classmethod
    def _valid_public_url(cls, value: str) -> str:
        value = value.strip().rstrip('/')
        parts = urlsplit(value)
        if value and (parts.scheme not in ('https', 'http') or not parts.netloc or ' ' in value
                      or parts.query or parts.fragment):
            raise ValueError(f'{value!r} is not a web address; write it as https://booking.example.vn')
        return value

    @field_validator('phone_region')
    @classmethod
    def _valid_phone_region(cls, value: str) -> str:
        import phonenumbers
        value = value.strip().upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f'unknown phone region {value!r} (use a two-letter country code such as VN)')
        return value

    @field_validator('sms_url', 'zalo_url', 'zalo_oauth_url')
    @classmethod
    def _valid_gateway_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if value and (parts.scheme not in ('https', 'http') or not parts.netloc or ' ' in value):
            raise ValueError(f'{value!r} is not a web address; write it as https://api.example.vn/send')
        return value

    @field_validator('timezone')
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f'unknown timezone {value!r} (use an IANA name such as Asia/Ho_Chi_Minh)') from e
        return value

    @field_validator('currency')
    @classmethod
    def _valid_currency(cls, value: str) -> str:
        value = value.upper()
        if value not in CURRENCY_EXPONENTS:
            raise ValueError(f'unsupported currency {value!r}; supported: {", ".join(sorted(CURRENCY_EXPONENTS))}')
        return value

    @field_validator('board_stations')
    @classmethod
    def _valid_board_stations(cls, value: str) -> str:
        kinds = [part.strip().lower() for part in value.split(',') if part.strip()]
        unknown = [kind for kind in kinds if kind not in BOARD_STATION_KINDS]
        if unknown:
            raise ValueError(f'unknown board station {unknown[0]!r}; choose from {", ".join(BOARD_STATION_KINDS)}')
        return ','.join(kind for kind in BOARD_STATION_KINDS if kind in kinds)

    @property
    def board_kinds(self) -> tuple[str, ...]:
        """The queue kinds (``QueueKind`` values) called through the waiting-room board."""
        return tuple(kind for kind in self.board_stations.split(',') if kind)

    @field_validator('trusted_proxies')
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for part in value.split(','):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as e:
                    raise ValueError(f'{part.strip()!r} is not an IP address or network (e.g. 10.0.0.5 or '
                                     '10.0.0.0/24)') from e
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in self.trusted_proxies.split(',') if part.strip())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def currency_exponent(self) -> int:
        return CURRENCY_EXPONENTS[self.currency]

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f'sqlite+aiosqlite:///{(self.data_dir / "clinic.db").as_posix()}'

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith('sqlite')

    @property
    def uses_tls(self) -> bool:
        return self.ssl_certfile is not None and self.ssl_keyfile is not None

    @property
    def database_setting(self) -> str:
        """The setting a person changes to fix the database: the URL, or the data folder the default lives in."""
        return 'CLINIC_DATABASE_URL' if self.database_url else 'CLINIC_DATA_DIR'

    def resolved_storage_secret(self) -> str:
        """The secret that signs session cookies: from settings, else generated once and kept in the data folder."""
        if self.storage_secret is not None and self.storage_secret.get_secret_value():
            return self.storage_secret.get_secret_value()
        path = self.data_dir / 'storage_secret'
        if path.exists():
            return path.read_text(encoding='utf-8').strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret, encoding='utf-8')
        path.chmod(0o600)
        return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()


def describe_errors(error: ValidationError) -> list[str]:
    """One line per wrong setting, naming the variable a person sets (``CLINIC_PORT: ...``), without pydantic's
    error codes and documentation links. Our own checks word the whole message; pydantic's type checks ("input
    should be a valid integer") get the value that was given, except for secrets and the database URL."""
    lines = []
    for problem in error.errors(include_url=False):
        field = str(problem['loc'][0]) if problem['loc'] else ''
        if problem['type'] == 'value_error':
            message = problem['msg'].removeprefix('Value error, ')
        else:
            given = problem.get('input')
            hidden = 'secret' in field or 'password' in field or field == 'database_url' or given is None
            message = problem['msg'][:1].lower() + problem['msg'][1:] + ('' if hidden else f' (got {str(given)!r})')
        lines.append(f'CLINIC_{field.upper()}: {message}' if field else message)
    return lines
