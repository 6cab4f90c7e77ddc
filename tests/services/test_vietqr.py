"""VietQR: the payload matches published samples byte for byte (CRC included), refuses what a bank would not carry,
follows what is still due on a bill, and is the very code printed on bills and receipts (decoded from the PDF)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp

from models import InvoiceStatus
from services import billing, clinic_settings, receipts, vietqr
from services.billing import Tender
from services.core.errors import ValidationError
from services.core.settings import get_settings
from tests.factories import NOW, TZ, make_clinic
from tests.services.test_billing import BANK, CASH, bill, make_visit

# Published samples: the test vectors of the open-source VietQR generator github.com/subiz/vietqr (Go),
# file vietqr_test.go and the example in its README.md (120,000 dong to VietinBank account 0011001932418 with the
# note "ủng hộ lũ lụt"). Each: (BIN, account, amount or None for a static code, note, payload).
PUBLISHED = [
    ('970415', '0011001932418', 120_000, 'ủng hộ lũ lụt',
     '00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN'
     '62170813ung ho lu lut6304C15C'),
    ('970423', '0099999999', None, '',
     '00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN6304CBB4'),
    ('970422', '0023457923442', 40_123, 'test text string',
     '00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA53037045405401235802VN'
     '62200816test text string6304D9C6'),
    ('970422', '0023457923442', 40_123, 'chuyển khoản',
     '00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA53037045405401235802VN'
     '62160812chuyen khoan6304722F'),
]


@pytest.mark.parametrize('bank_bin,account,amount,note,expected', PUBLISHED)
def test_the_payload_reproduces_published_samples_byte_for_byte(bank_bin, account, amount, note, expected):
    assert vietqr.payload(bank_bin, account, amount=amount, purpose=note) == expected


def test_the_crc_is_ccitt_false():
    assert vietqr.crc16('123456789') == '29B1'  # the catalogued check value of CRC-16/CCITT-FALSE


def test_the_payload_has_the_napas_structure():
    text = vietqr.payload('970436', '1023456789', amount=1_943_000, purpose='INV-2026-000069')
    top = vietqr.parse(text)
    assert list(top) == ['00', '01', '38', '53', '54', '58', '62', '63']
    assert (top['00'], top['01'], top['53'], top['54'], top['58']) == ('01', '12', '704', '1943000', 'VN')
    merchant = vietqr.fields(top['38'])
    assert merchant == {'00': 'A000000727', '01': '000697043601101023456789', '02': 'QRIBFTTA'}
    assert vietqr.fields(merchant['01']) == {'00': '970436', '01': '1023456789'}
    assert vietqr.fields(top['62']) == {'08': 'INV-2026-000069'}
    assert top['63'] == vietqr.crc16(text[:-4]) and text[-8:-4] == '6304'
    static = vietqr.parse(vietqr.payload('970436', '1023456789'))
    assert static['01'] == '11' and '54' not in static and '62' not in static


def test_a_changed_payload_fails_its_crc():
    text = vietqr.payload('970436', '1023456789', amount=150_000, purpose='INV-1')
    tampered = text.replace('5406150000', '5406950000')
    assert tampered != text
    with pytest.raises(ValueError, match='CRC'):
        vietqr.parse(tampered)
    with pytest.raises(ValueError, match='CRC'):
        vietqr.parse(text[:-8])  # cut short: no CRC field
    with pytest.raises(ValueError, match='malformed'):
        vietqr.fields('0005AB')


@pytest.mark.parametrize('kwargs,message', [
    ({'bank_bin': '97043'}, 'BIN'), ({'bank_bin': '97043A'}, 'BIN'), ({'bank_bin': ''}, 'BIN'),
    ({'account': ''}, 'account number'), ({'account': '1' * 20}, 'account number'),
    ({'account': '1023#456'}, 'account number'),
    ({'amount': 0}, 'above 0'), ({'amount': -5}, 'above 0'), ({'amount': True}, 'above 0'),
    ({'amount': 150_000.5}, 'above 0'), ({'amount': vietqr.MAX_TRANSFER + 1}, 'at most'),
    ({'purpose': 'Hóa đơn số INV-2026-000123 tháng 12'}, 'at most 25'), ({'purpose': 'Thanh toán 😀'}, 'only letters'),
    ({'purpose': '发票 1'}, 'only letters'),
])
def test_what_a_bank_would_not_carry_is_refused_with_a_reason(kwargs, message):
    args = {'bank_bin': '970436', 'account': '1023456789', 'amount': 150_000, 'purpose': 'INV-1', **kwargs}
    with pytest.raises(ValidationError, match=message):
        vietqr.payload(args.pop('bank_bin'), args.pop('account'), **args)


def test_what_is_safe_is_cleaned_rather_than_refused():
    text = vietqr.payload(' 970 436 ', '1023-456.789', amount=vietqr.MAX_TRANSFER, purpose='  Đặng   Thị Hà ')
    top = vietqr.parse(text)
    assert vietqr.fields(vietqr.fields(top['38'])['01']) == {'00': '970436', '01': '1023456789'}
    assert vietqr.fields(top['62']) == {'08': 'Dang Thi Ha'} and top['54'] == '500000000'


def test_the_common_banks_carry_their_state_bank_bins():
    assert {vietqr.BANKS[b] for b in ('970436', '970415', '970418', '970405', '970407', '970422', '970416',
                                      '970432', '970403', '970423')} == {
        'Vietcombank', 'VietinBank', 'BIDV', 'Agribank', 'Techcombank', 'MB', 'ACB', 'VPBank', 'Sacombank', 'TPBank'}


# --- The clinic's account and one invoice -------------------------------------------------------------------------

BANK_SETTINGS = {'bank_bin': '970436', 'bank_account': '1023456789', 'bank_account_name': 'PHONG KHAM AN BINH'}


@pytest.fixture
def bank_set():
    clinic_settings.put_in_force(get_settings().model_copy(update=BANK_SETTINGS))
    yield clinic_settings.current()
    clinic_settings.put_in_force(None)


async def _view(db, actor, invoice_id):
    async with db.read() as session:
        return await billing.invoice_view(session, actor, invoice_id)


async def test_the_transfer_asks_for_what_is_still_due(db, bank_set):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic, medicines=((2, 25_000),)))  # 200,000
    async with db.write() as session:
        await billing.set_discount(session, clinic.cashier, invoice_id, percent=Decimal(10), reason='Senior', now=NOW)
    async with db.write() as session:
        await billing.set_insurance(session, clinic.cashier, invoice_id, percent=Decimal(50), insurer='PVI',
                                    policy_no='P-1', now=NOW)  # 180,000 - 90,000: 90,000 to pay
    async with db.write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 30_000)], now=NOW)
    view = await _view(db, clinic.cashier, invoice_id)
    transfer = vietqr.for_invoice(view.invoice, bank_set)
    assert (transfer.amount, transfer.invoice_number, transfer.bank, transfer.account) == (
        60_000, view.invoice.number, 'Vietcombank', '1023456789')
    top = vietqr.parse(transfer.payload)
    assert top['54'] == '60000' and vietqr.fields(top['62']) == {'08': view.invoice.number}
    assert vietqr.for_invoice(view.invoice, get_settings().model_copy(update={'bank_bin': ''})) is None  # no bank
    assert vietqr.for_invoice(view.invoice, bank_set.model_copy(update={'currency': 'USD'})) is None
    async with db.write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(BANK, 60_000, reference='FT2612010001')],
                          now=NOW)
    paid = await _view(db, clinic.cashier, invoice_id)
    assert paid.invoice.status == InvoiceStatus.PAID and vietqr.for_invoice(paid.invoice, bank_set) is None


async def test_a_bank_transfer_is_taken_only_with_its_reference(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic))
    with pytest.raises(ValidationError, match='reference of the bank transfer'):
        async with db.write() as session:
            await billing.pay(session, clinic.cashier, invoice_id, [Tender(BANK, 150_000, reference='  ')], now=NOW)
    async with db.write() as session:
        await billing.pay(session, clinic.cashier, invoice_id, [Tender(BANK, 150_000, reference='FT26 1')], now=NOW)
    payment = (await _view(db, clinic.cashier, invoice_id)).payments[0]
    assert (payment.method, payment.reference) == (BANK, 'FT26 1')


async def test_the_bank_account_is_saved_checked_and_removed(db):
    clinic = await make_clinic(db)
    try:
        with pytest.raises(ValidationError, match='BIN'):
            async with db.write() as session:
                await clinic_settings.save_bank(session, clinic.admin, bank_bin='9704', account='1', holder='A')
        with pytest.raises(ValidationError, match='holder'):
            async with db.write() as session:
                await clinic_settings.save_bank(session, clinic.admin, bank_bin='970436', account='1', holder=' ')
        async with db.write() as session:
            await clinic_settings.save_bank(session, clinic.admin, bank_bin='970436', account='1023 456 789',
                                            holder='Phòng khám An Bình')
        settings = clinic_settings.current()
        assert (settings.bank_bin, settings.bank_account, settings.bank_account_name) == (
            '970436', '1023456789', 'Phòng khám An Bình')
        async with db.read() as session:
            assert (await clinic_settings.stored(session))['bank_account'] == '1023456789'
        async with db.write() as session:
            await clinic_settings.save_bank(session, clinic.admin, bank_bin='', account='', holder='')
        assert not vietqr.bank_is_set(clinic_settings.current())
    finally:
        clinic_settings.put_in_force(None)


# --- Printed: decoded from the PDF --------------------------------------------------------------------------------

def decoded(pdf: bytes, save_as: Path | None = None) -> list[str]:
    """The QR codes on the PDF's pages, read back from an image at 200 dpi (as a phone would see the paper);
    ``save_as``: the first page's image, to look at."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        texts = []
        for index, page in enumerate(document):
            image = page.render(scale=200 / 72).to_pil()
            if save_as is not None and index == 0:
                image.save(save_as)
            texts += [code.text for code in zxingcpp.read_barcodes(image)]
        return texts
    finally:
        document.close()


async def _bill_paid_in_part(db):
    clinic = await make_clinic(db)
    invoice_id = await bill(db, clinic.cashier, await make_visit(db, clinic, medicines=((2, 25_000),)))  # 200,000
    async with db.write() as session:
        first = await billing.pay(session, clinic.cashier, invoice_id, [Tender(CASH, 80_000)], now=NOW)
    return clinic, invoice_id, first.receipt_number


@pytest.mark.parametrize('layout', ['a4', 'thermal'])
async def test_the_printed_bill_and_receipt_carry_the_code_for_the_balance(db, bank_set, layout, artifacts_dir):
    clinic, invoice_id, number = await _bill_paid_in_part(db)
    header = receipts.ClinicHeader.from_settings(bank_set)
    async with db.read() as session:
        bill_data = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
        receipt = await receipts.receipt_data(session, clinic.cashier, number)
    expected = vietqr.payload('970436', '1023456789', amount=120_000, purpose=bill_data.invoice_number)
    assert decoded(receipts.receipt_pdf(bill_data, header, layout=layout, tz=TZ),
                   artifacts_dir / f'vietqr-bill-{layout}.png') == [expected]
    assert decoded(receipts.receipt_pdf(receipt, header, layout=layout, tz=TZ),
                   artifacts_dir / f'vietqr-receipt-{layout}.png') == [expected]


async def test_a_paid_receipt_and_a_stale_one_print_no_code(db, bank_set):
    clinic, invoice_id, first = await _bill_paid_in_part(db)
    async with db.write() as session:
        last = (await billing.pay(session, clinic.cashier, invoice_id, [Tender(BANK, 120_000, reference='FT9')],
                                  now=NOW)).receipt_number
    header = receipts.ClinicHeader.from_settings(bank_set)
    async with db.read() as session:
        stale = await receipts.receipt_data(session, clinic.cashier, first)  # left 120,000 then, paid since
        paid = await receipts.receipt_data(session, clinic.cashier, last)
        bill_data = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
    assert stale.balance == 120_000 and stale.transfer is None
    for data in (stale, paid, bill_data):
        assert decoded(receipts.receipt_pdf(data, header, layout='a4', tz=TZ)) == []


async def test_without_a_bank_account_nothing_is_printed(db):
    clinic, invoice_id, number = await _bill_paid_in_part(db)
    async with db.read() as session:
        data = await receipts.bill_data(session, clinic.cashier, invoice_id, now=NOW)
    assert data.transfer is None
    pdf = receipts.receipt_pdf(data, receipts.ClinicHeader.from_settings(get_settings()), layout='a4', tz=TZ)
    assert decoded(pdf) == []
