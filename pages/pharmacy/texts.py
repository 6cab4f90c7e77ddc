"""The pharmacy's words that are defined once and shown in the reader's language: table headings, movement kinds."""
from __future__ import annotations

from typing import TypeVar

from nicegui import ui

from models import MovementKind
from services.core.i18n import N_, _

E = TypeVar('E', bound=ui.element)

MOVEMENT_LABELS = {MovementKind.RECEIPT: N_('Goods in'), MovementKind.DISPENSE: N_('Dispensed'),
                   MovementKind.ADJUSTMENT: N_('Adjustment'), MovementKind.RETURN: N_('Return')}


def movement_text(kind: MovementKind) -> str:
    return _(MOVEMENT_LABELS[kind]) if kind in MOVEMENT_LABELS else kind.value


def said(element: E, prop: str, text: str) -> E:
    """``element`` with its ``prop`` (``aria-label``, a table's ``no-data-label``) set to ``text`` as it is: a
    translation needs no quoting."""
    element.props[prop] = text
    return element
