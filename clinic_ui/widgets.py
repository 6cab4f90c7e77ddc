"""Shared widgets and the one way pages run a service: errors reach the person as a clear message."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nicegui import context, events, ui
from sqlmodel.ext.asyncio.session import AsyncSession

from services import clinic_settings
from services.core import i18n
from services.core.db import get_db
from services.core.errors import DomainError
from services.core.i18n import N_, _
from services.core.money import format_amount, format_money
from services.users import SessionEnded

from . import auth, tabs

log = logging.getLogger(__name__)
T = TypeVar('T')

UNEXPECTED = N_('Something went wrong and nothing was saved. Please try again; if it happens again, tell the '
                'administrator.')


async def run_action(action: Callable[[AsyncSession], Awaitable[T]], *, success: str | None = None,
                     error_label: ui.label | None = None, write: bool = True, signed_in: bool = False,
                     touch: bool = True) -> T | None:
    """Run ``action(session)`` in one transaction. Domain errors are shown as they are; anything else as a
    generic message (and logged). Returns the result, or None when it failed.

    ``signed_in``: first check, in the same transaction, that this browser's session is still good (see
    ``staff_action``); ``touch``: that check counts as the person's activity."""
    if error_label is not None:
        error_label.set_text('')
    database = get_db()
    try:
        async with (database.write() if write else database.read()) as session:
            if signed_in:
                await auth.verify(session, touch=touch)
            result = await action(session)
    except SessionEnded as ended:
        _leave(ended)
        return None
    except DomainError as error:
        _show_error(str(error), error_label)
        return None
    except Exception:  # noqa: BLE001 - the person gets a message, the log gets the trace
        log.exception('action failed')
        _show_error(_(UNEXPECTED), error_label)
        return None
    if success:
        ui.notify(success, type='positive')
    return result


async def staff_action(action: Callable[[AsyncSession], Awaitable[T]], **kwargs: Any) -> T | None:
    """``run_action`` for signed-in pages: ``staff_action(lambda s: service(s, actor, ...), error_label=...)``.

    Before the action, in its transaction, the session is checked against the account (one look-up by primary
    key): not idle, the account still active, its sessions not ended since this one began (password changed or
    reset, role changed). Otherwise nothing runs, the person is told, and the tab goes to the sign-in page."""
    return await run_action(action, signed_in=True, **kwargs)


async def staff_read(read: Callable[[AsyncSession], Awaitable[T]], *, error_label: ui.label | None = None,
                     touch: bool = True) -> T | None:
    """The one way a signed-in page reads after it was built: ``staff_read(lambda s: service(s, actor, ...))``.

    A page opened earlier may outlive its session (signed out in another tab, idle, account deactivated or its
    password reset): whatever it reads on a click, a search or a filter is checked like an action (see
    ``staff_action``) and, when the session ended, answered with nothing while the tab goes to sign-in. Returns
    the result, or None when refused or failed (the person has been told). Use ``touch=False`` for reads nobody
    asked for (a live update, a timer): they do not keep an idle session alive."""
    return await run_action(read, write=False, error_label=error_label, signed_in=True, touch=touch)


def _leave(ended: SessionEnded) -> None:
    """This tab's session ended: say so, and go to the sign-in page (with every other tab of this browser)."""
    ui.notify(str(ended), type='warning')
    ui.navigate.to(auth.login_url(reason=ended.reason))
    browser = auth.browser_id()
    if browser:
        tabs.end_browser(browser, ended.reason, keep=context.client)


def _show_error(message: str, error_label: ui.label | None) -> None:
    if error_label is not None:
        error_label.set_text(message)
    ui.notify(message, type='negative', multi_line=True)


def on_row(table: ui.table, event: str, handler: Callable[..., Any], *, choices: tuple[str, ...] = ()) -> None:
    """Call ``handler(row)`` when a row's button sends ``event`` (``$parent.$emit(event, props.row.id)`` in a slot,
    or ``[choice, props.row.id]`` with ``choices``: then ``handler(choice, row)``); also for NiceGUI's own
    ``rowClick``. The row is the server's own copy, found by its key: what the browser sends only points at it,
    and anything that points at no row of the table (junk sent over the socket) is ignored."""
    def dispatch(e: events.GenericEventArguments) -> Any:
        args, choice = e.args, None
        if event == 'rowClick':  # NiceGUI sends [event, row, index]
            args = args[1].get(table.row_key) if isinstance(args, list) and len(args) > 1 and \
                isinstance(args[1], dict) else None
        elif choices:
            if not (isinstance(args, list) and len(args) == 2 and args[0] in choices):
                return None
            choice, args = args
        row = next((r for r in table.rows if r.get(table.row_key) == args), None) \
            if isinstance(args, (int, str)) and not isinstance(args, bool) else None
        if row is None:
            return None
        return handler(choice, row) if choices else handler(row)

    table.on(event, dispatch)


def error_text() -> ui.label:
    """A label under a form for its error message (read aloud by screen readers)."""
    return ui.label().classes('text-negative text-sm min-h-[1.25rem]').props('role=alert').mark('form-error')


def money(amount: int) -> str:
    """An amount in the clinic's currency: ``money(150000)`` -> ``'150,000 VND'``."""
    settings = clinic_settings.current()
    return format_money(amount, settings.currency, settings.currency_exponent)


def amount_text(amount: int) -> str:
    """An amount as a person types it, without the currency: ``'150,000'``."""
    return format_amount(amount, clinic_settings.current().currency_exponent)


def translated_columns(columns: list[dict]) -> list[dict]:
    """Table columns with their headings in the reader's language (tables define them in English, marked with N_).
    An empty heading stays empty: gettext's translation of '' is the catalog's header."""
    return [{**column, 'label': _(column['label']) if column.get('label') else ''} for column in columns]


def data_table(columns: list[dict], rows: list[dict], *, row_key: str = 'id', empty: str | None = None,
               search: bool = True, rows_per_page: int = 25, mark: str = '') -> ui.table:
    """A paged table with an optional quick filter (for lists that fit in memory; large lists page in the DB).
    ``empty``: what it says without rows (already translated; 'Nothing here.' by default)."""
    empty = empty if empty is not None else _('Nothing here.')
    columns = [{'align': 'left', 'sortable': True, **column} for column in columns]
    with ui.column().classes('w-full gap-2'):
        if search:
            query = ui.input(placeholder=_('Filter…')).props('outlined dense clearable').classes('w-full sm:w-72') \
                .mark(f'{mark}-filter' if mark else 'table-filter')
        table = ui.table(columns=columns, rows=rows, row_key=row_key,
                         pagination={'rowsPerPage': rows_per_page}) \
            .props(f'flat bordered wrap-cells no-data-label="{empty}"').classes('w-full')
        if mark:
            table.mark(mark)
        if search:
            query.bind_value_to(table, 'filter')
    return table


def back_link() -> None:
    """The way back to the administration home, at the top of every administration page."""
    ui.link('← ' + _('Administration'), '/admin').classes('text-sm text-primary no-underline').mark('back-to-admin')


def section_title(text: str, count: int | None = None) -> ui.label:
    suffix = f' ({count})' if count is not None else ''
    return ui.label(text + suffix).classes('text-lg font-semibold text-slate-800')


class KeyedList:
    """A list on screen kept in step with data, without rebuilding it: an item seen for the first time gets its
    elements (``build(item)`` returns the item's root element and a function that shows a newer version of the
    item), a known item is updated in place, a gone item's elements are removed, and the order follows the data.

    A live screen receives an update for every change anywhere in the clinic; rebuilding its lists each time
    costs every connected screen (and the server) far more than changing the few texts that changed."""

    def __init__(self, container: ui.element,
                 build: Callable[[Any], tuple[ui.element, Callable[[Any], None]]], key: Callable[[Any], Any]) -> None:
        self.container = container
        self.build = build
        self.key = key
        self.shown: dict[Any, tuple[ui.element, Callable[[Any], None]]] = {}

    def show(self, items: list) -> None:
        keys = [self.key(item) for item in items]
        for gone in set(self.shown) - set(keys):
            element, _update = self.shown.pop(gone)
            self.container.remove(element)
        for index, (key, item) in enumerate(zip(keys, items)):
            if key not in self.shown:
                with self.container:
                    self.shown[key] = self.build(item)
            element, update = self.shown[key]
            update(item)
            if self.container.default_slot.children.index(element) != index:
                element.move(target_index=index)

    def __len__(self) -> int:
        return len(self.shown)


def language_switch(shown: str, target: Callable[[], str] = lambda: '?') -> None:
    """For public pages (patients' phones): EN | VI, this page (``target()``, ending in ``?`` or ``&``; asked at the click, as the page may have changed
    its address meanwhile) again in the other language (the browser remembers the choice). Big enough for a thumb."""
    label = _('Language')
    with ui.row().classes('items-center gap-0 no-wrap shrink-0').props(f'role=navigation aria-label="{label}"') \
            .mark('language-switch'):
        for index, code in enumerate(i18n.LANGUAGES):
            if index:
                ui.label('|').classes('text-slate-400 px-1')
            button = ui.button(code.upper(), on_click=lambda c=code: ui.navigate.to(f'{target()}lang={c}')) \
                .props(f'flat no-caps size=md padding="8px 12px" lang={code} '
                       f'aria-label="{i18n.LANGUAGES[code]}" aria-current={"true" if code == shown else "false"}') \
                .classes('min-w-[48px] min-h-[44px] text-base font-semibold').mark(f'lang-{code}')
            if code == shown:
                button.classes('text-primary underline underline-offset-4')
            else:
                button.classes('text-slate-600')
