"""VietQR: the QR code a Vietnamese banking app scans to pay a bill by a NAPAS 247 transfer to the clinic's account.

The payload is an EMVCo merchant-presented QR code as NAPAS specifies it for "transfer to account" (QRIBFTTA):
a string of TLV fields (two-digit tag, two-digit length, value)::

    00 "01"                       payload format
    01 "12" / "11"                dynamic (with an amount) / static (the payer types the amount)
    38 00 "A000000727"            NAPAS
       01 00 bank BIN (6 digits)  the bank of the account
          01 account number
       02 "QRIBFTTA"              transfer to an account
    53 "704"                      VND
    54 amount                     whole dong (dynamic only)
    58 "VN"
    62 08 purpose                 the transfer's note: the invoice number, so the clinic finds the money
    63 CRC                        CRC-16/CCITT-FALSE of everything before it, "6304" included (4 hex digits)

Pure: nothing here reads the database or the screen. ``for_invoice`` says what to show for one invoice.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from models import Invoice, InvoiceStatus

from .core.errors import ValidationError
from .core.i18n import _

NAPAS_GUID = 'A000000727'
TRANSFER_TO_ACCOUNT = 'QRIBFTTA'
VND = '704'
COUNTRY = 'VN'
PURPOSE_MAX = 25  # the length NAPAS allows for the purpose (sub-tag 08 of tag 62)
ACCOUNT_MAX = 19
MAX_TRANSFER = 500_000_000  # VND: the most one NAPAS 247 transfer carries (larger bills: split, or another method)
HOLDER_MAX = 70

# Common banks and their BINs (the bank identification numbers of the State Bank of Vietnam's list). Another bank's
# BIN (any 6 digits) may be typed in.
BANKS = {
    '970436': 'Vietcombank',
    '970415': 'VietinBank',
    '970418': 'BIDV',
    '970405': 'Agribank',
    '970407': 'Techcombank',
    '970422': 'MB',
    '970416': 'ACB',
    '970432': 'VPBank',
    '970403': 'Sacombank',
    '970423': 'TPBank',
}

_BIN = re.compile(r'^\d{6}$')
_ACCOUNT = re.compile(r'^[A-Za-z0-9]{1,19}$')
_PURPOSE = re.compile(r'^[A-Za-z0-9 .,:/_-]*$')  # what every banking app carries through unchanged


# --- TLV and CRC -----------------------------------------------------------------------------------------------------

def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR) as 4 uppercase hex."""
    crc = 0xFFFF
    for byte in text.encode('ascii'):
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f'{crc:04X}'


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f'field {tag} is longer than 99 characters')
    return f'{tag}{len(value):02d}{value}'


def parse(payload: str) -> dict[str, str]:
    """The top-level fields of a payload (tag -> value), after checking its CRC. ``ValueError`` when the payload is
    cut short, malformed or its CRC does not match what it carries."""
    if len(payload) < 8 or payload[-8:-4] != '6304':
        raise ValueError('the payload does not end with a CRC field (6304....)')
    if crc16(payload[:-4]) != payload[-4:].upper():
        raise ValueError('the CRC does not match the payload')
    return fields(payload)


def fields(text: str) -> dict[str, str]:
    """The TLV fields of ``text`` (tag -> value); sub-fields are read by calling it again on a value."""
    found, at = {}, 0
    while at < len(text):
        tag, length = text[at:at + 2], text[at + 2:at + 4]
        if len(tag) < 2 or not length.isdigit() or at + 4 + int(length) > len(text):
            raise ValueError(f'malformed field at position {at}')
        found[tag] = text[at + 4:at + 4 + int(length)]
        at += 4 + int(length)
    return found


# --- Checking what goes in -------------------------------------------------------------------------------------------

def clean_bin(value: str) -> str:
    value = ''.join((value or '').split())
    if not _BIN.match(value):
        raise ValidationError(_('The bank code (BIN) is 6 digits, e.g. 970436 for Vietcombank.'), 'bin')
    return value


def clean_account(value: str) -> str:
    """Spaces, dots and dashes people type between groups of digits are dropped."""
    value = re.sub(r'[\s.-]', '', value or '')
    if not _ACCOUNT.match(value):
        raise ValidationError(_('The account number has 1 to {limit} digits or letters (no spaces or signs).').format(
            limit=ACCOUNT_MAX), 'account')
    return value


def plain_ascii(text: str) -> str:
    """Vietnamese without its diacritics (``Đặng Thị Hà`` -> ``Dang Thi Ha``), spaces collapsed."""
    text = (text or '').replace('đ', 'd').replace('Đ', 'D')
    text = ''.join(ch for ch in unicodedata.normalize('NFD', text) if not unicodedata.combining(ch))
    return ' '.join(text.split())


def clean_purpose(value: str) -> str:
    """The transfer's note: diacritics are taken off; what cannot be written in plain letters, digits and simple
    signs is refused (rather than dropped: the note is how the clinic finds the money), and so is a long note."""
    value = plain_ascii(value)
    if not _PURPOSE.match(value):
        raise ValidationError(_('The transfer note can have only letters, digits, spaces and . , : / _ -'), 'purpose')
    if len(value) > PURPOSE_MAX:
        raise ValidationError(_('The transfer note can have at most {limit} characters.').format(limit=PURPOSE_MAX),
                              'purpose')
    return value


def clean_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(_('The amount to transfer must be a whole number of dong above 0.'), 'amount')
    if amount > MAX_TRANSFER:
        raise ValidationError(_('One bank transfer carries at most {limit} dong.').format(
            limit=f'{MAX_TRANSFER:,}'.replace(',', '.')), 'amount')
    return amount


# --- Building --------------------------------------------------------------------------------------------------------

def payload(bank_bin: str, account: str, *, amount: int | None = None, purpose: str = '') -> str:
    """The VietQR string for a transfer to ``account`` at the bank ``bank_bin``: with ``amount`` (dong) a dynamic
    code, without it a static one (the payer types the amount); ``purpose`` becomes the transfer's note."""
    bank = _tlv('00', clean_bin(bank_bin)) + _tlv('01', clean_account(account))
    merchant = _tlv('00', NAPAS_GUID) + _tlv('01', bank) + _tlv('02', TRANSFER_TO_ACCOUNT)
    text = _tlv('00', '01') + _tlv('01', '11' if amount is None else '12') + _tlv('38', merchant) + _tlv('53', VND)
    if amount is not None:
        text += _tlv('54', str(clean_amount(amount)))
    text += _tlv('58', COUNTRY)
    purpose = clean_purpose(purpose)
    if purpose:
        text += _tlv('62', _tlv('08', purpose))
    text += '6304'
    return text + crc16(text)


def bank_name(bank_bin: str) -> str:
    """A known bank's short name, else its BIN."""
    return BANKS.get(bank_bin, bank_bin)


@dataclass(frozen=True)
class InvoiceTransfer:
    """What a bill shows to be paid by transfer: the QR payload and the details beside it."""
    payload: str
    amount: int          # what is still due (dong)
    invoice_number: str
    purpose: str         # the transfer's note (the invoice number, in plain letters)
    bank_bin: str
    bank: str            # the bank's short name (or its BIN)
    account: str
    holder: str


def bank_is_set(settings) -> bool:
    return bool(settings.bank_bin and settings.bank_account) and settings.currency == 'VND'


def for_invoice(invoice: Invoice, settings) -> InvoiceTransfer | None:
    """The transfer that pays what is still due on ``invoice`` (after discounts, the insurer's share and payments),
    or None: no bank account set (or the clinic does not bill in VND), the bill is void or paid, nothing is due, or
    more is due than one transfer carries."""
    if not bank_is_set(settings) or invoice.status not in (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID):
        return None
    due = invoice.total - invoice.amount_paid
    if due <= 0 or due > MAX_TRANSFER:
        return None
    try:
        purpose = clean_purpose(invoice.number)
        text = payload(settings.bank_bin, settings.bank_account, amount=due, purpose=purpose)
    except ValidationError:
        return None  # an invoice number no note can carry: the cashier takes the payment another way
    return InvoiceTransfer(text, due, invoice.number, purpose, settings.bank_bin, bank_name(settings.bank_bin),
                           settings.bank_account, settings.bank_account_name)
