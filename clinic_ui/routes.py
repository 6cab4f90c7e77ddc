"""Page registration with the access check built in.

Page modules declare their pages with ``@staff_page`` / ``@public_page``; ``register_all()`` (called by main.py
each time the app is built) turns them into NiceGUI routes. A staff page is only built for a signed-in, active
person whose role may open it: a URL typed by hand gives no access.
"""
from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from nicegui import app, ui

from services import users
from services.access import Actor
from services.core import i18n
from services.core.db import get_db
from services.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from services.core.i18n import N_, _

from . import auth, layout, tabs, transaction
from .i18n import remember, show_in, visitor_language
from .stations import HOME, Station

log = logging.getLogger(__name__)


@dataclass
class PageSpec:
    path: str
    builder: Callable[..., Awaitable[Any] | Any]
    title: str  # English, marked for the catalog (``N_``): shown as ``_(title)``
    station: Station | None = None  # None: public page, no sign-in needed
    options: dict[str, Any] = field(default_factory=dict)


_specs: dict[str, PageSpec] = {}  # by path: re-importing a page module replaces its pages
_files: dict[str, PageSpec] = {}  # downloads (PDFs), same access rules as pages
_public_files: dict[str, PageSpec] = {}  # downloads without sign-in


def staff_page(station: Station, path: str | None = None, *, title: str | None = None, **options: Any):
    """Declare a page of ``station``; the builder is called as ``builder(actor, **path_params)`` inside the frame.
    ``title``: English, marked with ``N_`` (the station's own title by default)."""
    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        spec = PageSpec(path or station.path, builder, title or station.title, station, options)
        _specs[spec.path] = spec
        return builder
    return decorator


def staff_file(station: Station, path: str):
    """Declare a download of ``station`` (e.g. a PDF): ``handler(actor, **path_params)`` returns a Response."""
    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        _files[path] = PageSpec(path, handler, path, station)
        return handler
    return decorator


def public_file(path: str):
    """Declare a download without sign-in (e.g. the kiosk's ticket slip): ``handler(**params)`` returns a Response
    and checks its own proof (a key, a signed token); a domain error answers with its status and message."""
    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        _public_files[path] = PageSpec(path, handler, path)
        return handler
    return decorator


def public_page(path: str, *, title: str, **options: Any):
    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        _specs[path] = PageSpec(path, builder, title, None, options)
        return builder
    return decorator


async def _resolve_actor(request: Request) -> Actor | RedirectResponse:
    """The person this browser is signed in as, checked against their account; or where to send the browser."""
    if auth.session_actor(touch=False) is None:
        return RedirectResponse(auth.login_url(request.url.path, reason=auth.ended_reason() or ''), status_code=303)
    try:
        async with get_db().read() as session:
            account = await auth.verify(session)
    except users.SessionEnded as ended:
        next_path = request.url.path if ended.reason != 'deactivated' else None
        return RedirectResponse(auth.login_url(next_path, reason=ended.reason), status_code=303)
    if account.must_change_password and request.url.path != '/account/password':
        return RedirectResponse('/account/password', status_code=303)
    return account.actor


async def _show_forbidden(actor: Actor, spec: PageSpec) -> None:
    await transaction.write(lambda s: users.record_refused_page(s, actor, spec.path))
    home = HOME[actor.role]
    with layout.frame(actor, N_('No access')):
        with ui.card().classes('max-w-lg'):
            ui.label(_('Your role ({role}) cannot open {page}.').format(role=_(actor.role.label), page=_(spec.title))) \
                .classes('text-lg font-medium')
            ui.label(_('If you need it, please ask an administrator.')).classes('text-slate-600')
            ui.button(_('Go to {station}').format(station=_(home.title)), icon=home.icon,
                      on_click=lambda: ui.navigate.to(home.path))


def _staff_wrapper(spec: PageSpec) -> Callable[..., Any]:
    async def page(request: Request, **params: Any):
        actor = await _resolve_actor(request)
        if isinstance(actor, RedirectResponse):
            return actor
        assert spec.station is not None
        show_in(actor.language)  # this tab in the person's own language, before anything is drawn
        remember(actor.language)  # and their sign-in page, once signed out, too
        if not spec.station.allows(actor.role):
            await _show_forbidden(actor, spec)
            return None
        tabs.register(actor.user_id)
        with layout.frame(actor, spec.title, current_path=request.url.path) as content:
            try:
                result = spec.builder(actor, **params)
                if inspect.isawaitable(result):
                    await result
            except DomainError as error:  # e.g. /consultation/visits/999999: say so, on the station's frame
                content.clear()
                with content:
                    problem(str(error), HOME[actor.role])
        return None

    page.__signature__ = _signature_with_request(spec.builder)  # type: ignore[attr-defined]
    page.__name__ = spec.builder.__name__
    page.__module__ = spec.builder.__module__  # NiceGUI's test reset re-imports page modules by this
    return page


def _file_wrapper(spec: PageSpec) -> Callable[..., Any]:
    async def download(request: Request, **params: Any):
        actor = await _resolve_actor(request)
        if isinstance(actor, RedirectResponse):
            return actor
        assert spec.station is not None
        with i18n.use(actor.language):
            if not spec.station.allows(actor.role):
                return PlainTextResponse(_('Your role ({role}) cannot open this.').format(role=_(actor.role.label)),
                                         status_code=403)
            if 'request' in inspect.signature(spec.builder).parameters:  # e.g. to write the page's own address
                params['request'] = request
            try:
                return await spec.builder(actor, **params)
            except DomainError as error:  # e.g. an unknown or impossible id typed into the address: 404, not 500
                return PlainTextResponse(str(error), status_code=_STATUS.get(type(error), 400))

    download.__signature__ = _signature_with_request(spec.builder)  # type: ignore[attr-defined]
    download.__name__ = spec.builder.__name__
    return download


_STATUS = {NotFound: 404, PermissionDenied: 403, Conflict: 409}


def problem(message: str, home: Station) -> None:
    """What a page shows instead of itself when what it is about cannot be shown (unknown id, no permission)."""
    with ui.card().classes('max-w-lg').mark('page-problem'):
        ui.label(message).classes('text-lg font-medium')
        ui.button(_('Go to {station}').format(station=_(home.title)), icon=home.icon,
                  on_click=lambda: ui.navigate.to(home.path))


def _public_wrapper(spec: PageSpec) -> Callable[..., Any]:
    """A public page whose subject cannot be shown answers with a plain message (never a 500). The page is in the
    language the visitor chose (``?lang=``, remembered by the browser) or the clinic's; a page may choose again
    (the board, in its key's language)."""
    async def page(**params: Any):
        show_in(visitor_language())
        ui.page_title(_(spec.title))
        try:
            result = spec.builder(**params)
            return await result if inspect.isawaitable(result) else result
        except DomainError as error:
            ui.label(str(error)).classes('text-lg p-6').mark('page-problem')
            return None

    page.__signature__ = inspect.signature(spec.builder)  # type: ignore[attr-defined]
    page.__name__ = spec.builder.__name__
    page.__module__ = spec.builder.__module__
    return page


def _public_file_wrapper(spec: PageSpec) -> Callable[..., Any]:
    @functools.wraps(spec.builder)  # the handler's parameters are the route's
    async def download(**params: Any):
        try:
            return await spec.builder(**params)
        except DomainError as error:
            return PlainTextResponse(str(error), status_code=_STATUS.get(type(error), 400))

    return download


def _signature_with_request(builder: Callable[..., Any]) -> inspect.Signature:
    params = [p for name, p in inspect.signature(builder).parameters.items() if name not in ('actor', 'request')]
    return inspect.Signature([inspect.Parameter('request', inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                annotation=Request), *params])


async def _complete_sign_in(request: Request, token: str = ''):
    """The end of a sign-in (see ``auth.begin_sign_in``): a new browser session, then on to the page."""
    target = await auth.complete_sign_in(request, token)
    if target is None:
        return RedirectResponse(auth.login_url(reason='expired'), status_code=303)
    return RedirectResponse(target, status_code=303, headers={'Cache-Control': 'no-store'})


def register_all() -> None:
    for spec in _specs.values():
        handler = _staff_wrapper(spec) if spec.station is not None else _public_wrapper(spec)
        ui.page(spec.path, title=spec.title, **spec.options)(handler)
    for spec in _files.values():
        app.get(spec.path, include_in_schema=False)(_file_wrapper(spec))
    for spec in _public_files.values():
        app.get(spec.path, include_in_schema=False)(_public_file_wrapper(spec))
    app.get('/login/complete', include_in_schema=False)(_complete_sign_in)
