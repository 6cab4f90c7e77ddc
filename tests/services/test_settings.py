"""Settings come from CLINIC_* variables; the session secret is generated once and kept."""
import pytest
from pydantic import ValidationError

from services.core.settings import Settings


def test_storage_secret_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv('CLINIC_STORAGE_SECRET', raising=False)
    first = Settings(data_dir=tmp_path).resolved_storage_secret()
    second = Settings(data_dir=tmp_path).resolved_storage_secret()
    assert first == second and len(first) >= 40
    assert (tmp_path / 'storage_secret').stat().st_mode & 0o077 == 0  # readable by the owner only
    assert Settings(data_dir=tmp_path / 'other').resolved_storage_secret() != first


def test_environment_overrides_and_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv('CLINIC_DATABASE_URL', raising=False)
    monkeypatch.setenv('CLINIC_PORT', '9001')
    monkeypatch.setenv('CLINIC_CURRENCY', 'usd')
    settings = Settings(data_dir=tmp_path)
    assert settings.port == 9001
    assert settings.currency == 'USD' and settings.currency_exponent == 2
    assert settings.effective_database_url == f'sqlite+aiosqlite:///{tmp_path.as_posix()}/clinic.db'


@pytest.mark.parametrize('name, value, message', [
    ('CLINIC_TIMEZONE', 'Mars/Olympus', 'unknown timezone'),
    ('CLINIC_CURRENCY', 'XYZ', 'unsupported currency'),
    ('CLINIC_PORT', '70000', 'less than or equal'),
    ('CLINIC_PUBLIC_URL', 'booking.example.vn', 'not a web address'),
    ('CLINIC_PUBLIC_URL', 'https://booking.example.vn/?x=1', 'not a web address'),
    ('CLINIC_ONLINE_CHANGE_HOURS', '-1', 'greater than or equal'),
])
def test_bad_settings_are_refused_with_a_clear_message(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_the_public_address_and_the_online_change_cutoff(monkeypatch):
    assert (Settings().public_url, Settings().online_change_hours) == ('', 4)  # no links; 4 hours before
    monkeypatch.setenv('CLINIC_PUBLIC_URL', ' https://booking.example.vn/clinic/ ')
    assert Settings().public_url == 'https://booking.example.vn/clinic'  # links are built on it
