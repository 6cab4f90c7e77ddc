"""The service boundary: where input from screens, sockets and the public pages enters the rules.

Every public service function is marked as either

* ``@action``: one thing a person does (check in, pay, sign). It owns its transaction: its changes are committed
  once, at the end, when it returns; if it raises, nothing of it stays. An action called from inside another one
  joins the caller's transaction (only the outermost commits), so two steps of one click (save the new phone,
  then check in) succeed or fail together.
* ``@query``: a read for a screen. Never commits.

Both check their arguments against the function's type hints before any rule runs, so junk sent over a websocket
or typed into a URL gets a clear domain error instead of a driver error or, worse, a silent change: ``True`` is
not a payment of 1, ``2.5`` is not a quantity, ``'bitcoin'`` is not a payment method, an id of 2**63 does not
exist, a datetime carries its time zone, and text carries no NUL byte nor a bidirectional control character (which
would reverse parts of a line on the waiting-room board).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import DomainError, NotFound, PermissionDenied, ValidationError
from .i18n import _, number

F = TypeVar('F', bound=Callable[..., Any])

MIN_INT, MAX_INT = -2 ** 63, 2 ** 63 - 1  # what both databases store in a BIGINT (amounts)
MAX_ID = 2 ** 31 - 1  # row ids are INTEGER columns
MAX_PAGE = 10_000  # the most rows one screen asks for
MAX_TEXT = 100_000  # longer than any field the clinic has; more is an attack or an accident
# Bidirectional controls (embedding, override, isolate and marks): they reorder what is around them on screen.
BIDI_CONTROLS = frozenset('\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069')
ALLOWED_CONTROLS = frozenset('\n\r\t')
NOT_CHECKED = frozenset({'session', 'self', 'cls'})
_DEPTH = 'clinic_boundary_depth'

boundaries: list[Callable[..., Any]] = []  # every marked function, for tests that drive them all


def action(fn: F | None = None, *, audits_refusals: bool = False) -> Any:
    """Mark ``fn(session, ...)`` as one user action: arguments checked, committed once when it returns.

    ``@action(audits_refusals=True)``: the action writes down its own refusals before it raises (a failed sign-in
    is counted and audited); everything else it does still stays only if it succeeds."""
    def mark(function: F) -> F:
        return _boundary(function, commit=True, audits_refusals=audits_refusals)
    return mark(fn) if fn is not None else mark


def query(fn: F) -> F:
    """Mark ``fn(session, ...)`` as a read for a screen: arguments checked, never committed."""
    return _boundary(fn, commit=False)


def _boundary(fn: F, *, commit: bool, audits_refusals: bool = False) -> F:
    signature = inspect.signature(fn)
    hints: dict[str, Any] | None = None

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:  # resolved at the first call: the annotations are strings until every module is loaded
            hints = typing.get_type_hints(fn)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise ValidationError(_('This request is incomplete or has unknown parts ({error}).').format(
                error=error)) from None
        for name, value in bound.arguments.items():
            if name not in NOT_CHECKED and name in hints:
                bound.arguments[name] = check(value, hints[name], name)
        session = bound.arguments.get('session')
        info = session.sync_session.info if isinstance(session, AsyncSession) else {}
        depth = info.get(_DEPTH, 0)
        info[_DEPTH] = depth + 1
        try:
            result = await fn(*bound.args, **bound.kwargs)
            if commit and depth == 0 and isinstance(session, AsyncSession):
                await session.commit()
            return result
        finally:
            info[_DEPTH] = depth

    wrapper.boundary = 'action' if commit else 'query'  # type: ignore[attr-defined]
    wrapper.audits_refusals = audits_refusals  # type: ignore[attr-defined]
    boundaries.append(wrapper)
    return typing.cast(F, wrapper)


# --- checking one value against its type hint ---------------------------------------------------------------------

def check(value: Any, hint: Any, name: str) -> Any:
    """``value`` if it fits ``hint`` (an enum value given as its text becomes the member); else a domain error
    naming the field."""
    if hint is Any or hint is object or isinstance(hint, TypeVar):
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _check_union(value, typing.get_args(hint), name)
    if origin is typing.Literal:
        if value in typing.get_args(hint):
            return value
        raise ValidationError(_('A value is not one of the choices.'), name)
    if origin is typing.Annotated:
        return check(value, typing.get_args(hint)[0], name)
    if origin in (list, tuple, set, frozenset, Sequence, Collection, Iterable):
        return _check_collection(value, hint, origin, name)
    if origin in (dict, Mapping):
        return _check_mapping(value, hint, name)
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise ValidationError(_('A value must be empty here.'), name)
    if isinstance(hint, type):
        return _check_class(value, hint, name)
    return value  # a hint this checker does not understand (a Callable, a Protocol): the rule checks it


def _check_union(value: Any, options: tuple, name: str) -> Any:
    if value is None and type(None) in options:
        return None
    first_error: DomainError | None = None
    for option in options:
        if option is type(None):
            continue
        try:
            return check(value, option, name)
        except DomainError as error:
            first_error = first_error or error
    raise first_error or ValidationError(_('A value is missing.'), name)


def _check_collection(value: Any, hint: Any, origin: Any, name: str) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValidationError(_('A value should be a list.'), name)
    args = typing.get_args(hint)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            raise ValidationError(_('A value has the wrong number of parts.'), name)
        return tuple(check(item, arg, name) for item, arg in zip(value, args))
    item_hint = args[0] if args else Any
    checked = [check(item, item_hint, name) for item in value]
    return type(value)(checked) if isinstance(value, (tuple, set, frozenset)) else checked


def _check_mapping(value: Any, hint: Any, name: str) -> Any:
    if not isinstance(value, dict):
        raise ValidationError(_('A value is not in the expected form.'), name)
    key_hint, value_hint = (typing.get_args(hint) + (Any, Any))[:2]
    return {check(k, key_hint, name): check(v, value_hint, name) for k, v in value.items()}


def _check_class(value: Any, hint: type, name: str) -> Any:
    primitive = _PRIMITIVES.get(hint)
    if primitive is not None:
        return primitive(value, name)
    if issubclass(hint, enum.Enum):
        return _check_enum(value, hint, name)
    if not isinstance(value, hint):
        if hint.__name__ == 'Actor':  # no one signed in (the foundation does not import services.access)
            raise PermissionDenied(_('Please sign in first.'))
        raise ValidationError(_('A value is not in the expected form.'), name)
    if dataclasses.is_dataclass(value):
        _check_dataclass(value, name)
    return value


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(_('A value must be yes or no.'), name)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):  # True is an int to Python, not to a cashier
        raise ValidationError(_('A value must be a whole number.'), name)
    if name == 'id' or name.endswith(('_id', '_ids')):
        if not 1 <= value <= MAX_ID:  # no such row can exist: the same answer as for any unknown id
            raise NotFound(_unknown(name))
    elif name in ('limit', 'offset'):
        if not 0 <= value <= MAX_PAGE * 1000:
            raise ValidationError(_('A page position must be from 0 to {limit}.').format(
                limit=number(MAX_PAGE * 1000)), name)
    elif not MIN_INT <= value <= MAX_INT:
        raise ValidationError(_('A number is far too large.'), name)
    return value


def _unknown(name: str) -> str:
    """The answer to an id that cannot exist: the same as for any unknown id of that kind."""
    return {'visit_id': _('This visit does not exist.'), 'patient_id': _('This patient does not exist.'),
            'appointment_id': _('This appointment does not exist.'), 'invoice_id': _('This invoice does not exist.'),
            'payment_id': _('This payment does not exist.'), 'ticket_id': _('This ticket does not exist.'),
            'queue_id': _('This queue does not exist.'), 'doctor_id': _('This doctor does not exist.'),
            'order_id': _('This order does not exist.'), 'user_id': _('This account does not exist.'),
            }.get(name, _('This item does not exist.'))


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(_('A value must be a number.'), name)
    return value


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or \
            (isinstance(value, Decimal) and not value.is_finite()):
        raise ValidationError(_('A value must be a number.'), name)
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(_('A value must be text.'), name)
    return check_text(value, name)


def _bytes(value: Any, name: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise ValidationError(_('A value must be a file.'), name)


def _datetime(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(_('A value must be a date and time with its time zone.'), name)
    return value


def _date(value: Any, name: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(_('A value must be a date.'), name)
    return value


def _time(value: Any, name: str) -> dt.time:
    if not isinstance(value, dt.time):
        raise ValidationError(_('A value must be a time of day.'), name)
    return value


_PRIMITIVES: dict[type, Callable[[Any, str], Any]] = {
    bool: _bool, int: _int, float: _float, Decimal: _decimal, str: _str, bytes: _bytes,
    dt.datetime: _datetime, dt.date: _date, dt.time: _time}


def _check_enum(value: Any, hint: type[enum.Enum], name: str) -> enum.Enum:
    if isinstance(value, hint):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        for member in hint:
            if member.value == value:
                return member
    raise ValidationError(_('A value is not one of the choices.'), name)


def _check_dataclass(value: Any, name: str) -> None:
    """Check each field of an input object (``PatientInput``, ``LineInput``, ...) by its own hints."""
    hints = _dataclass_hints(type(value))
    changes = {}
    for item in dataclasses.fields(value):
        if item.name in hints:
            current = getattr(value, item.name)
            checked = check(current, hints[item.name], item.name)
            if checked is not current:
                changes[item.name] = checked
    for field_name, checked in changes.items():  # enum text -> member, in place (frozen or not)
        object.__setattr__(value, field_name, checked)


@functools.cache
def _dataclass_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_text(value: str, name: str = 'text') -> str:
    """Refuse text that no person types: NUL and other control characters (but line breaks and tabs), and the
    invisible characters that reverse the direction of what follows them."""
    if len(value) > MAX_TEXT:
        raise ValidationError(_('A text is far too long.'), name)
    for char in value:
        if char in BIDI_CONTROLS or (ord(char) < 32 and char not in ALLOWED_CONTROLS) or ord(char) == 127:
            raise ValidationError(_('A text contains an invisible control character; please type it again.'), name)
    return value
