"""Every public service driven with generated junk: only domain errors come out, and a refused call changes no row.

Values are drawn per parameter from its type hint: plausible ones (existing ids, ordinary text, aware times, enum
members, filled-in input objects) mixed with junk that has reached the services before (None for text, text for
numbers, 2.5 for a count, True for an amount, 2**63 for an id, NaN, NUL bytes, bidirectional controls, naive
datetimes, lists for scalars). A call may succeed; if it raises, it must be a domain error and the database must be
exactly as before (no transaction that wrote anything committed).
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import importlib
import inspect
import pkgutil
import tempfile
import types
import typing
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

import models
import services
from services.core.boundary import boundaries
from services.core.db import Database
from services.core.errors import DomainError, ValidationError
from services.core.settings import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.factories import NOW, TZ, make_clinic

for module in pkgutil.iter_modules(services.__path__):  # every service module registers its boundaries
    importlib.import_module(f'services.{module.name}')

FUNCTIONS = sorted(boundaries, key=lambda f: f'{f.__module__}.{f.__qualname__}')
JUNK = [None, '', ' ', 'x\x00y', 'a\u202eb', 2 ** 63, -2 ** 63 - 1, -1, 0, 2.5, True, 'high', '3', Decimal('NaN'),
        Decimal('sNaN'), float('nan'), float('inf'), [], {}, ['x'], dt.datetime(2026, 11, 23, 9, 0), '2026-11-23',
        b'\x00\xff']
TEXT = ['', 'abc', 'Nguyễn Văn An', '0901234567', 'an@example.test', 'x' * 600, '1', '10,5', '-3', '=1+2',
        'P0000001', 'fever']


def plausible(hint) -> st.SearchStrategy:  # noqa: PLR0911 - one line per kind of hint
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[plausible(arg) for arg in typing.get_args(hint)])
    if origin in (list, tuple, set, frozenset) or (origin is not None and getattr(origin, '__name__', '') in (
            'Sequence', 'Iterable', 'Collection')):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis] or [int]
        return st.lists(plausible(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.sampled_from(['clinic_name', 'language', 'x']), st.sampled_from(TEXT), max_size=2)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(hint))
    if hint is type(None):
        return st.none()
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.sampled_from([1, 2, 3, 5, 0, -1, 10 ** 6, 2 ** 62])
    if hint is float:
        return st.sampled_from([0.0, 1.5, -1.0, 1e12])
    if hint is Decimal:
        return st.sampled_from([Decimal('0'), Decimal('10'), Decimal('-5'), Decimal('100.5'), Decimal('1e30')])
    if hint is str:
        return st.sampled_from(TEXT)
    if hint is bytes:
        return st.sampled_from([b'', b'%PDF-1.4 x', b'\x89PNG\r\n\x1a\n' + b'0' * 20])
    if hint is dt.datetime:
        return st.sampled_from([NOW, NOW + dt.timedelta(hours=3), NOW - dt.timedelta(days=400)])
    if hint is dt.date:
        return st.sampled_from([NOW.date(), NOW.date() + dt.timedelta(days=1), dt.date(1900, 1, 1)])
    if hint is dt.time:
        return st.sampled_from([dt.time(8, 0), dt.time(23, 59)])
    if hint is ZoneInfo:
        return st.just(TZ)
    if hint is Settings:  # its own data folder: backups made here stay out of other tests' way
        return st.just(Settings(data_dir=Path(tempfile.mkdtemp(prefix='clinic-fuzz-'))))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {f.name: values(hints[f.name]) for f in dataclasses.fields(hint) if f.init}
        return st.builds(hint, **fields)
    return st.nothing()


def values(hint) -> st.SearchStrategy:
    """Mostly plausible values of the hinted type, sometimes junk."""
    good = plausible(hint)
    return st.one_of(good, good, st.sampled_from(JUNK)) if not good.is_empty else st.sampled_from(JUNK)


class CommittedWrites:
    """Counts transactions that wrote something and committed, while installed: a refused call must cause none.
    (Cheaper and more exact than comparing every table before and after each call.)"""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> CommittedWrites:
        sa_event.listen(Session, 'after_flush', self._wrote)
        sa_event.listen(Session, 'do_orm_execute', self._executed)
        sa_event.listen(Session, 'after_commit', self._committed)
        return self

    def __exit__(self, *_exc) -> None:
        sa_event.remove(Session, 'after_flush', self._wrote)
        sa_event.remove(Session, 'do_orm_execute', self._executed)
        sa_event.remove(Session, 'after_commit', self._committed)

    @staticmethod
    def _wrote(session: Session, _context) -> None:
        session.info['fuzz_wrote'] = True

    @staticmethod
    def _executed(state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info['fuzz_wrote'] = True

    def _committed(self, session: Session) -> None:
        if session.info.pop('fuzz_wrote', False):
            self.count += 1


def call_strategy(function, actors) -> st.SearchStrategy:
    hints = typing.get_type_hints(inspect.unwrap(function))
    parameters = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == 'session':
            continue
        if name == 'actor':
            strategy = st.one_of(st.sampled_from(actors), st.sampled_from(actors), st.sampled_from(JUNK))
        else:
            strategy = values(hints.get(name, typing.Any))
        if parameter.default is not inspect.Parameter.empty:
            strategy = st.one_of(st.just(parameter.default), strategy)
        parameters[name] = strategy
    return st.fixed_dictionaries(parameters)


async def attempt(db: Database, function, arguments: dict, failures: list[str]) -> None:
    with CommittedWrites() as writes:
        try:
            async with db.write() as session:
                await function(session, **arguments)
        except DomainError:
            if writes.count and not getattr(function, 'audits_refusals', False):  # a refused sign-in is counted and audited
                failures.append(f'refused but wrote: {arguments!r}')
        except Exception as error:  # noqa: BLE001 - this is what the test looks for
            failures.append(f'{type(error).__name__}: {error} <- {arguments!r}')


@pytest.mark.parametrize('function', FUNCTIONS, ids=lambda f: f'{f.__module__.split(".")[-1]}.{f.__name__}')
def test_junk_gets_a_domain_error_and_changes_nothing(function):
    """Hypothesis drives a plain function, so the calls run on a loop of this test's own."""
    loop = asyncio.new_event_loop()
    db = Database(TEST_DATABASE_URL)
    try:
        clinic = loop.run_until_complete(make_clinic(db, patients=3))
        actors = [clinic.admin, clinic.reception, clinic.doctor_actor, clinic.cashier]
        failures: list[str] = []

        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(call_strategy(function, actors))
        def drive(arguments: dict) -> None:
            loop.run_until_complete(attempt(db, function, arguments, failures))

        drive()
        assert failures == [], '\n'.join(failures)
    finally:
        loop.run_until_complete(db.dispose())
        loop.close()


async def test_the_check_sees_a_refused_call_that_wrote(db):
    """The detector itself: a call that commits a row and then refuses is reported."""
    async def writes_then_refuses(session) -> None:
        session.add(models.Room(code='Z9', name='Written anyway', kind=models.RoomKind.CONSULTATION))
        await session.commit()
        raise ValidationError('refused after writing')

    async def refuses(session) -> None:
        session.add(models.Room(code='Z8', name='Rolled back', kind=models.RoomKind.CONSULTATION))
        await session.flush()
        raise ValidationError('refused before committing')

    failures: list[str] = []
    await attempt(db, writes_then_refuses, {}, failures)
    await attempt(db, refuses, {}, failures)
    assert failures == ['refused but wrote: {}']
