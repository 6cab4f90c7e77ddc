"""The patient's ticket link: signed for one visit, until the end of its clinic day; a QR code that reads back."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import zxingcpp
from PIL import Image
from pydantic import SecretStr

from services import qr, ticket_links
from services.core.settings import get_settings

SETTINGS = get_settings().model_copy(update={'storage_secret': SecretStr('s' * 40), 'timezone': 'Asia/Ho_Chi_Minh',
                                             'public_url': 'https://clinic.example.vn'})
OTHER = SETTINGS.model_copy(update={'storage_secret': SecretStr('t' * 40)})
DAY = date(2026, 12, 1)


def test_a_token_names_its_visit_until_the_end_of_the_clinic_day():
    token = ticket_links.make_token(42, DAY, SETTINGS)
    claim = ticket_links.read_token(token, SETTINGS)
    assert claim is not None and claim.visit_id == 42
    # Midnight in Ho Chi Minh City (UTC+7) is 17:00 UTC the day before the next day.
    assert claim.expires_at == datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
    assert not ticket_links.is_expired(claim, datetime(2026, 12, 1, 16, 59, tzinfo=timezone.utc))
    assert ticket_links.is_expired(claim, datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc))
    assert len(ticket_links.ticket_url(token, SETTINGS)) < 80  # a small QR code


def test_forged_altered_garbled_or_foreign_tokens_are_refused():
    token = ticket_links.make_token(42, DAY, SETTINGS)
    payload, _, signature = token.partition('.')
    other_visit = ticket_links.make_token(43, DAY, SETTINGS).partition('.')[0]
    for bad in (f'{other_visit}.{signature}', token[:-1], '', '.', 'abc', token + 'x' * 200,
                ticket_links.make_token(42, DAY, OTHER), f'{payload}.{signature}=='[:-1] + '!'):
        assert ticket_links.read_token(bad, SETTINGS) is None, bad


def test_the_qr_code_reads_back_as_the_link():
    url = ticket_links.ticket_url(ticket_links.make_token(7, DAY, SETTINGS), SETTINGS)
    image = Image.open(io.BytesIO(qr.png(url)))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]
    assert qr.svg_data_uri(url).startswith('data:image/svg+xml;base64,')


def test_a_booking_link_or_a_check_in_code_never_passes_as_a_ticket_link():
    """Each kind of token is signed for its own purpose: the same visit id in another kind is refused."""
    from services import booking_links, checkin_codes
    code = checkin_codes.make_code(42, DAY, SETTINGS)
    assert checkin_codes.read_code(code, SETTINGS).appointment_id == 42
    assert ticket_links.read_token(code, SETTINGS) is None
    link = booking_links.make_token('0a1b', 3, datetime(2026, 12, 2, tzinfo=timezone.utc), SETTINGS)
    assert booking_links.read_token(link, SETTINGS).sequence == 3
    assert booking_links.read_token(link[:-1] + '!', SETTINGS) is None  # an altered character: refused
    assert ticket_links.read_token(link, SETTINGS) is None and checkin_codes.read_code(link, SETTINGS) is None
