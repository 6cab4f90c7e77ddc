"""Uploads larger than ``CLINIC_UPLOAD_MAX_MB`` are refused before they are read.

NiceGUI receives a file on ``POST /_nicegui/client/{client}/upload/{element}`` and reads the whole body before the
page's handler (and ``services.files``' size check) sees it: a 60 MB body would be read, spooled and parsed first.
The browser already refuses a large file (``ui.upload(max_file_size=...)``), but anyone can post by hand. So on that
route this middleware answers 413 at once when the declared ``Content-Length`` is too large, and counts the bytes
while they arrive (a body without a length, or longer than declared), stopping at the limit.
"""
from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.i18n import _

UPLOAD_ROUTE = re.compile(r'^/_nicegui/client/[^/]+/upload/[^/]+$')
FORM_ALLOWANCE = 64 * 1024  # the multipart boundaries and part headers around the file itself


class TooLarge(Exception):
    """The body went past the limit while it was being read."""


class UploadLimit:
    """ASGI middleware: at most ``max_bytes`` of file (plus the form around it) on NiceGUI's upload route."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limit = max_bytes + FORM_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or scope['method'] != 'POST' or not UPLOAD_ROUTE.match(scope['path']):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get('content-length')
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message['type'] == 'http.request':
                received += len(message.get('body', b''))
                if received > self.limit:
                    raise TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message['type'] == 'http.response.start'
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except TooLarge:
            if started:
                raise
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        megabytes = self.max_bytes // 1_048_576
        response = PlainTextResponse(_('The file is larger than {megabytes} MB: it was not uploaded.').format(megabytes=megabytes),
                                     status_code=413,
                                     headers={'Connection': 'close'})
        await response(scope, receive, send)
