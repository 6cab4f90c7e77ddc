"""Security headers on every HTTP response: pages, downloads (PDF, CSV, result files, backups), the board and errors.

The Content-Security-Policy is the strictest one NiceGUI's pages work under (checked in Chromium by
tests/test_public_browser.py): NiceGUI writes inline scripts and styles and Vue compiles templates at run time, so
scripts need 'unsafe-inline' and 'unsafe-eval'; everything else comes from the clinic's own server only. Nothing
may frame the app (clickjacking), no plugin runs, forms post only here, and the live connection is a websocket to
this server. A response that sets one of these headers itself keeps its own value.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = ("default-src 'self'; "
                           "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
                           "style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; "
                           "font-src 'self' data:; "
                           "connect-src 'self' ws: wss:; "
                           "object-src 'none'; "
                           "base-uri 'self'; "
                           "form-action 'self'; "
                           "frame-ancestors 'none'")
HEADERS = {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
}


class SecurityHeaders:
    """ASGI middleware: adds ``HEADERS`` to the start of every HTTP response (websockets carry no headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
