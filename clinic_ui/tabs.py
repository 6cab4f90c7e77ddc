"""The open staff tabs, per account, so that the end of a session reaches its open pages at once.

Every staff page registers its tab here (``register``, called by the page wrapper in ``routes.py``); a closed
tab is forgotten. Two things send tabs to the sign-in page:

* a change to an account (``StaffChanged``: deactivated, password changed or reset, role changed): one read of
  the account, then every open tab of it whose browser session no longer matches goes to sign-in;
* a sign-out: every open tab of that browser goes to sign-in (tabs of the same browser share one session; the
  person's sessions in other browsers are not touched).

An action or read from a page re-checks the session anyway (``widgets.staff_action`` / ``staff_read``); this is
what makes a page that nobody touches leave the screen too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from nicegui import Client, context

from services import users
from services.core.db import get_db
from services.core.events import StaffChanged, bus

from . import auth, live

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Tab:
    client: Client
    browser: str  # the browser's session id
    storage: dict  # that browser's storage (holds its session record)


_open: dict[int, dict[str, Tab]] = {}  # user id -> client id -> tab
_generation: int | None = None  # the bus generation our subscription belongs to


def register(user_id: int) -> None:
    """This tab shows a staff page of ``user_id``: call while building the page."""
    _subscribe_once()
    client = context.client
    tab = Tab(client, auth.browser_id() or '', auth._storage())  # noqa: SLF001 - the same module family
    _open.setdefault(user_id, {})[client.id] = tab

    def forget() -> None:
        tabs = _open.get(user_id)
        if tabs is not None:
            tabs.pop(client.id, None)
            if not tabs:
                del _open[user_id]

    client.on_delete(forget)


def open_tabs(user_id: int) -> list[Tab]:
    return [tab for tab in _open.get(user_id, {}).values() if not tab.client.is_deleted]


def send_to_login(tab: Tab, reason: str) -> None:
    """Open the sign-in page in this tab (the browser follows at once)."""
    if not tab.client.is_deleted:
        tab.client.open(auth.login_url(reason=reason))


def end_browser(browser: str, reason: str = 'signed_out', *, keep: Client | None = None) -> int:
    """Every open staff tab of this browser (but ``keep``, which goes by itself) goes to sign-in. Returns how
    many."""
    ended = [tab for tabs in _open.values() for tab in tabs.values()
             if tab.browser == browser and tab.client is not keep]
    for tab in ended:
        send_to_login(tab, reason)
    return len(ended)


async def account_changed(event: StaffChanged) -> None:
    """After a change to an account: its open tabs whose session ended go to sign-in (one read of the account)."""
    if event.user_id is None or not open_tabs(event.user_id):
        return
    try:
        async with get_db().read() as session:
            epoch = await users.live_session_epoch(session, event.user_id)
    except Exception:  # noqa: BLE001 - the tabs' next action checks for itself
        log.exception('reading account %s for its open tabs failed', event.user_id)
        return
    for tab in open_tabs(event.user_id):
        record = auth.stored_session(tab.storage)
        if epoch is None:
            send_to_login(tab, 'deactivated')
        elif record is None or record.get('user_id') != event.user_id:
            send_to_login(tab, 'signed_out')
        elif record.get('epoch') != epoch:
            send_to_login(tab, 'ended')


def _subscribe_once() -> None:
    """One process-wide subscription, made again when the app was built again (the bus forgets subscribers)."""
    global _generation  # noqa: PLW0603
    if _generation != bus.generation:
        _generation = bus.generation
        _open.clear()
        live.subscribe_process(StaffChanged, account_changed)

