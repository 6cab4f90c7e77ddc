"""Values that arrive over the websocket are checked before any page sees them.

A browser sends a text field's new text, a number field's number, one of a select's own options. Anyone can send
anything else over the socket (a list to a text field, a dict to a number field), and page code that trusts the
type then fails on ``.strip()`` with a traceback. ``install()`` puts one check where NiceGUI turns a socket
message into an element's value: a value of the wrong kind is dropped and the element keeps what it had, as if
nothing was sent. Row buttons in tables get the same treatment through ``widgets.on_row``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nicegui import ui
from nicegui.events import GenericEventArguments

_TEXT = (ui.input, ui.textarea, ui.date_input, ui.time_input, ui.color_input, ui.time)
_NUMBER = (ui.number, ui.slider, ui.knob)
_CHOICE = (ui.toggle, ui.radio)
_FLAG = (ui.checkbox, ui.switch)


def _text(_element: Any, value: Any) -> bool:
    return value is None or isinstance(value, str)


def _number(_element: Any, value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def _flag(_element: Any, value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _choice(element: Any, value: Any) -> bool:
    return (value is None and bool(element.props.get('clearable'))) or _known(element, value)


def _select(element: ui.select, value: Any) -> bool:
    if element.multiple:
        return isinstance(value, list) and all(_known(element, item) for item in value)
    return value is None or _known(element, value)


def _date(_element: Any, value: Any) -> bool:
    def one(item: Any) -> bool:
        return isinstance(item, str) or (isinstance(item, dict) and all(isinstance(v, str) for v in item.values()))
    return value is None or one(value) or (isinstance(value, list) and all(one(item) for item in value))


def _known(element: Any, value: Any) -> bool:
    try:
        return value in element._values  # noqa: SLF001 - the option values NiceGUI keeps for the element
    except TypeError:  # unhashable junk
        return False


CHECKS: list[tuple[tuple[type, ...], Callable[[Any, Any], bool]]] = [
    ((ui.select,), _select), (_CHOICE, _choice), ((ui.date,), _date), (_NUMBER, _number), (_FLAG, _flag),
    (_TEXT, _text)]


def install() -> None:
    """Guard every value element class once (calling it again changes nothing)."""
    for classes, fits in CHECKS:
        for cls in classes:
            if getattr(cls._event_args_to_value, 'guarded', False):  # noqa: SLF001
                continue
            cls._event_args_to_value = _guarded(cls._event_args_to_value, fits)  # noqa: SLF001


def _guarded(convert: Callable[[Any, GenericEventArguments], Any], fits: Callable[[Any, Any], bool]):
    def guarded(element: Any, event: GenericEventArguments) -> Any:
        try:
            value = convert(element, event)
        except Exception:  # noqa: BLE001 - junk NiceGUI itself cannot convert (e.g. a dict for a number)
            return element.value
        return value if fits(element, value) else element.value

    guarded.guarded = True  # type: ignore[attr-defined]
    return guarded
