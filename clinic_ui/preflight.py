"""Checks before the server listens, run by main.py before NiceGUI is even imported: a wrong setting stops the
start within a second or two with one line naming the setting and the cause, instead of a server whose every
page fails. Ends with the database migrations, so the first page ever served finds the schema in place."""
from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from pathlib import Path

from services.core.db import DatabaseUnavailable
from services.core.migrate import prepare_database
from services.core.settings import Settings


class CannotStart(Exception):
    """A setting the start cannot work with; ``str()`` is one line naming the setting and the cause."""


def preflight(settings: Settings) -> None:
    """Everything that can be checked before the server listens, cheapest first; raises ``CannotStart``."""
    _check_data_dir(settings.data_dir)
    if settings.uses_tls:
        _check_certificate(settings.ssl_certfile, settings.ssl_keyfile)
    _check_port(settings.host, settings.port)
    if settings.redis_url:
        _check_redis(settings)
    try:
        asyncio.run(prepare_database(settings.effective_database_url))
    except DatabaseUnavailable as error:
        raise CannotStart(f'{settings.database_setting}: {error}') from None


def _check_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CannotStart(f'CLINIC_DATA_DIR: cannot create the folder {path}: {error.strerror or error}') from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CannotStart(f'CLINIC_DATA_DIR: this user may not write in {path}')


def _check_certificate(certfile: Path, keyfile: Path) -> None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, 'reason', None) or getattr(error, 'strerror', None) or str(error)
        raise CannotStart(f'CLINIC_SSL_CERTFILE / CLINIC_SSL_KEYFILE: cannot use {certfile} with {keyfile}: '
                          f'{str(reason).replace("_", " ").lower()}') from None


def _check_redis(settings: Settings) -> None:
    """Several processes share sessions through Redis: each must sign cookies with the same secret."""
    if settings.storage_secret is None or not settings.storage_secret.get_secret_value():
        raise CannotStart('CLINIC_STORAGE_SECRET: set it (the same on every process) when CLINIC_REDIS_URL is set: '
                          'each process must read the session cookies the others signed')
    import redis  # only installations with several processes need it at start
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError) as error:
        raise CannotStart(f'CLINIC_REDIS_URL: Redis does not answer: {error}') from None


def _check_port(host: str, port: int) -> None:
    """Bind the address the way the server will (uvicorn), and let go at once."""
    with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror:
            raise CannotStart(f'CLINIC_HOST: the host name {host!r} is unknown') from None
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotStart(f'CLINIC_PORT: port {port} is already in use on {host} '
                                  f'(is Clinic Flow already running?)') from None
            if error.errno == errno.EADDRNOTAVAIL:
                raise CannotStart(f'CLINIC_HOST: {host} is not an address of this machine') from None
            if error.errno == errno.EACCES:
                raise CannotStart(f'CLINIC_PORT: port {port} needs administrator rights; use one above 1023 '
                                  f'(e.g. 8080 or 8443) or let a firewall rule forward to it') from None
            raise CannotStart(f'CLINIC_HOST / CLINIC_PORT: cannot listen on {host}:{port}: '
                              f'{error.strerror or error}') from None
