"""How an outbox message leaves the clinic: one gateway per channel (email over SMTP, SMS over an HTTP gateway,
Zalo ZNS), chosen from the clinic's settings alone.

A gateway's ``send`` returns when the provider accepted the message, and raises:

* ``PermanentFailure`` when retrying cannot help (the provider refused the request: HTTP 4xx other than 408 and
  429, an SMTP server refusing the address, no Zalo template set): the outbox marks the message FAILED at once,
  with the provider's reason for staff to read;
* anything else (``TemporaryFailure``, timeouts, refused connections, HTTP 5xx, a 200 whose body is not a success
  answer) is retried with backoff.

SMS gateway (``CLINIC_SMS_URL``, ``CLINIC_SMS_API_KEY``, ``CLINIC_SMS_SENDER``): a JSON POST
``{"to": "84901234567", "sender": "<brandname>", "text": "...", "request_id": "<dedupe key>"}`` with
``Authorization: Bearer <key>``; a 2xx answer with a JSON object that reports no error is a success. Vietnamese
brandname providers take this shape directly or through a small adapter at their end.

Zalo ZNS (``CLINIC_ZALO_URL``, ``CLINIC_ZALO_ACCESS_TOKEN``, one template id per kind of message): a POST with the
``access_token`` header and ``{"phone": "84901234567", "template_id": ..., "template_data": {...},
"tracking_id": "<dedupe key>"}``; success is ``{"error": 0, ...}``. The access token is renewed by itself when the
clinic set the Zalo app's id, secret key and a refresh token (``services.zalo_tokens``).
"""
from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from html import escape
from typing import Protocol

import aiosmtplib
import httpx

from models import MessageChannel, OutboxMessage
from models.types import utcnow

from . import qr
from .notifications import sender
from .phones import digits_only
from .zalo_tokens import RenewalFailed, ZaloTokens

HTTP_TIMEOUT_S = 20
SMTP_TIMEOUT_S = 20
REASON_CHARS = 300


class PermanentFailure(Exception):
    """The provider refused the message for good: retrying would not help."""


class TemporaryFailure(Exception):
    """The provider could not take the message now: try again later."""


class Gateway(Protocol):
    async def send(self, message: OutboxMessage) -> None: ...


# --- Email ----------------------------------------------------------------------------------------------------

def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    """'text/calendar; method=REQUEST' -> ('text', 'calendar', {'method': 'REQUEST'})."""
    kind, *parameters = [part.strip() for part in value.split(';')]
    maintype, __, subtype = (kind or 'application/octet-stream').partition('/')
    params = dict(p.split('=', 1) for p in parameters if '=' in p)
    return maintype, subtype or 'octet-stream', {k.strip(): v.strip().strip('"') for k, v in params.items()}


def build_message(row: OutboxMessage, settings) -> EmailMessage:
    """The email as sent: UTF-8 text body; a text attachment (the .ics) attached as UTF-8 text with its
    parameters (``method=REQUEST``), since calendar apps garble non-ASCII names in a bytes attachment."""
    message = EmailMessage()
    message['From'] = formataddr(sender(settings))
    message['To'] = row.to_address
    message['Subject'] = row.subject
    message['Message-ID'] = row.message_id
    message['Date'] = format_datetime(row.created_at)
    message['Auto-Submitted'] = 'auto-generated'  # RFC 3834: no vacation auto-replies, please
    message.set_content(row.body_text, charset='utf-8', cte='quoted-printable')
    if row.qr_text:
        _add_qr_part(message, row)
    if row.attachment_data is not None:
        maintype, subtype, params = _content_type(row.attachment_type)
        name = row.attachment_name or 'attachment'
        if maintype == 'text':
            message.add_attachment(row.attachment_data.decode('utf-8'), subtype=subtype, charset='utf-8',
                                   cte='quoted-printable', filename=name, params=params)
        else:
            message.add_attachment(row.attachment_data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _add_qr_part(message: EmailMessage, row: OutboxMessage) -> None:
    """An HTML alternative of the text with ``row.qr_text`` drawn as a QR code, inline (a related image): mail
    apps show it under the text; a text-only reader still has the code as text in the body."""
    cid = make_msgid(domain='clinic-flow')
    text = escape(row.body_text)
    message.add_alternative(
        '<!DOCTYPE html><html><body>'
        f'<pre style="font-family:inherit;font-size:14px;white-space:pre-wrap">{text}</pre>'
        f'<p><img src="cid:{cid[1:-1]}" width="220" height="220" alt="{escape(row.qr_text)}"></p>'
        '</body></html>', subtype='html', charset='utf-8')
    html = message.get_payload()[-1]
    html.add_related(qr.png(row.qr_text, scale=6), maintype='image', subtype='png', cid=cid,
                     filename='check-in.png', disposition='inline')


class EmailGateway:
    def __init__(self, settings) -> None:
        self.settings = settings

    async def send(self, message: OutboxMessage) -> None:
        settings = self.settings
        implicit_tls = settings.smtp_port == 465  # SMTPS; otherwise plain SMTP, upgraded with STARTTLS if set
        try:
            await aiosmtplib.send(build_message(message, settings), hostname=settings.smtp_host,
                                  port=settings.smtp_port, username=settings.smtp_username or None,
                                  password=settings.smtp_password.get_secret_value() or None,
                                  use_tls=implicit_tls, start_tls=settings.smtp_starttls and not implicit_tls,
                                  timeout=SMTP_TIMEOUT_S)
        except aiosmtplib.SMTPRecipientsRefused as error:
            if all(getattr(refusal, 'code', 0) >= 500 for refusal in error.recipients):
                raise PermanentFailure(f'{type(error).__name__}: {error}') from error
            raise


# --- HTTP gateways --------------------------------------------------------------------------------------------

def _reason(response: httpx.Response) -> str:
    """The provider's own words about a refusal (its JSON message if it gave one), short."""
    text = response.text.strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ('message', 'error_message', 'error_description', 'detail', 'error', 'reason'):
            if isinstance(body.get(key), str) and body[key].strip():
                text = body[key].strip()
                break
    return f'HTTP {response.status_code}: {text[:REASON_CHARS]}' if text else f'HTTP {response.status_code}'


async def _post(url: str, *, headers: dict[str, str], body: dict) -> dict:
    """POST ``body`` as JSON; the answer's JSON object on a 2xx. Raises PermanentFailure for a 4xx (except 408
    and 429), TemporaryFailure for anything else that is not a 2xx with a JSON object."""
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:  # refused connection, timeout, broken answer
        raise TemporaryFailure(f'{type(error).__name__}: {error}'[:REASON_CHARS]) from error
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentFailure(_reason(response))
    if not 200 <= response.status_code < 300:
        raise TemporaryFailure(_reason(response))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TemporaryFailure(f'HTTP {response.status_code}, not a JSON answer: {response.text[:100]!r}')
    return answer


def _reports_error(answer: dict) -> bool:
    error = answer.get('error')
    if error not in (None, 0, '0', False, ''):
        return True
    return answer.get('success') is False or str(answer.get('status', '')).lower() in ('error', 'failed', 'fail')


class SmsGateway:
    def __init__(self, url: str, api_key: str, sender_name: str) -> None:
        self.url, self.api_key, self.sender_name = url, api_key, sender_name

    def body(self, message: OutboxMessage) -> dict:
        return {'to': digits_only(message.to_address), 'sender': self.sender_name, 'text': message.body_text,
                'request_id': message.dedupe_key}

    async def send(self, message: OutboxMessage) -> None:
        headers = {'Authorization': f'Bearer {self.api_key}'} if self.api_key else {}
        answer = await _post(self.url, headers=headers, body=self.body(message))
        if _reports_error(answer):
            raise TemporaryFailure(f'the SMS gateway answered with an error: {json.dumps(answer)[:REASON_CHARS]}')


TOKEN_REFUSED = {-124, -216}  # Zalo's codes for an access token that is invalid or has expired


def _token_refused(answer: dict) -> bool:
    try:
        code = int(answer.get('error') or 0)
    except (TypeError, ValueError):
        code = 0
    return code in TOKEN_REFUSED or 'access token' in str(answer.get('message', '')).lower().replace('_', ' ')


class ZaloGateway:
    def __init__(self, url: str, tokens: ZaloTokens, templates: dict[str, str]) -> None:
        self.url, self.tokens, self.templates = url, tokens, templates

    def body(self, message: OutboxMessage) -> dict:
        template_id = self.templates.get(message.template, '')
        if not template_id:
            raise PermanentFailure(f'no Zalo template is set for "{message.template}" messages')
        return {'phone': digits_only(message.to_address), 'template_id': template_id,
                'template_data': json.loads(message.body_text), 'tracking_id': message.dedupe_key}

    async def send(self, message: OutboxMessage) -> None:
        """Sent with the current access token; if Zalo refuses the token, once more with a renewed one."""
        body = self.body(message)
        try:
            token = await self.tokens.token(utcnow())
            answer = await _post(self.url, headers={'access_token': token}, body=body)
            if _token_refused(answer) and self.tokens.renewable:
                await self.tokens.renew(utcnow(), refused=token)
                answer = await _post(self.url, headers={'access_token': self.tokens.access_token}, body=body)
        except RenewalFailed as failed:
            raise TemporaryFailure(str(failed)) from failed
        if _reports_error(answer):
            raise TemporaryFailure(f'Zalo answered with an error: {json.dumps(answer)[:REASON_CHARS]}')


# --- Which gateways the clinic has ------------------------------------------------------------------------------

def zalo_templates(settings) -> dict[str, str]:
    """The ZNS template id of each kind of message ('' when the clinic has none for it)."""
    return {'reminder': settings.zalo_template_reminder.strip(), 'turn': settings.zalo_template_turn.strip()}


def configured(settings, database=None) -> dict[MessageChannel, Gateway]:
    """The channels the clinic's settings make usable, each with its gateway. Messages of other channels wait.
    ``database``: where a renewed Zalo token is stored (without it, the token is used as set)."""
    gateways: dict[MessageChannel, Gateway] = {}
    if settings.smtp_host:
        gateways[MessageChannel.EMAIL] = EmailGateway(settings)
    if settings.sms_url:
        gateways[MessageChannel.SMS] = SmsGateway(settings.sms_url, settings.sms_api_key.get_secret_value(),
                                                  settings.sms_sender)
    tokens = ZaloTokens(database, settings)
    if settings.zalo_url and (tokens.access_token or tokens.renewable):
        gateways[MessageChannel.ZALO] = ZaloGateway(settings.zalo_url, tokens, zalo_templates(settings))
    return gateways
