"""Each tab in its viewer's language: the app shell's side of ``services.core.i18n``.

A page sets its tab's language once, when it is built (``show_in(language)``): the signed-in person's own, the
language a patient chose on ``/book``, a board's. Every ``_()`` that runs for that tab afterwards, also in a live
update caused by someone else's click (NiceGUI runs it in the subscriber's tab), writes in that language. Quasar's
own texts (date pickers, table paging) follow: the tab gets Quasar's language pack of the same language.
"""
from __future__ import annotations

import copy
from weakref import WeakKeyDictionary

from nicegui import Client, app, context
from nicegui.slot import Slot

from services.core import i18n

QUASAR_PACKS = {'en': 'en-GB', 'vi': 'vi', i18n.PSEUDO: 'en-GB'}

_languages: WeakKeyDictionary[Client, str] = WeakKeyDictionary()


def _viewer_language() -> str | None:
    """The language of the tab being drawn: the innermost slot whose element still exists (a handler may run on
    after its dialog closed); None when drawing no tab (a background job, a test calling a service)."""
    for slot in reversed(Slot.get_stack()):
        try:
            client = slot.parent.client
        except RuntimeError:  # that element was deleted meanwhile
            continue
        return _languages.get(client)
    return None


def install() -> None:
    i18n.set_viewer_language(_viewer_language)


def show_in(language_code: str | None) -> str:
    """This tab is read in ``language_code`` (None or unknown: the clinic's language). Call while building the
    page, before its HTML is sent. Returns the language used."""
    client = context.client
    code = i18n.normalize(language_code) or i18n.current()
    _languages[client] = code
    pack = QUASAR_PACKS.get(code, 'en-GB')
    if client.page.resolve_language() != pack:  # the route's page object is shared: give this tab its own copy
        client.page = copy.copy(client.page)
        client.page.language = pack
    return code


_REMEMBERED = 'language'  # in the browser's own storage (its signed cookie): the language it last chose


def visitor_language() -> str | None:
    """The language a visitor of a public page chose: ``?lang=vi`` in the address (remembered by the browser for
    its next pages), else the one this browser chose before (or its staff member's own), else None (the clinic's).
    Call while building the page."""
    request = context.client.request
    chosen = request.query_params.get('lang') if request is not None else None
    if chosen == i18n.PSEUDO:  # the tests' language: every text marked, never remembered
        return chosen
    if chosen in i18n.LANGUAGES:
        remember(chosen)
        return chosen
    remembered = _browser().get(_REMEMBERED)
    return remembered if remembered in i18n.LANGUAGES else None


def remember(language_code: str | None) -> None:
    """This browser's language for its public pages (the sign-in page included): None forgets it. Only while a
    page is being built (the browser's storage travels in the page's response)."""
    storage = _browser()
    if storage.get(_REMEMBERED) == language_code:
        return
    try:
        if language_code is None:
            storage.pop(_REMEMBERED, None)
        else:
            storage[_REMEMBERED] = language_code
    except TypeError:  # the page's response has gone: the next page remembers it
        pass


def _browser() -> dict:
    try:
        return app.storage.browser
    except RuntimeError:  # no browser behind this (e.g. a test calling a builder directly)
        return {}
