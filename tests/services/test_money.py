"""Money typed at the counter and in the price list: one reading for every screen, nothing guessed."""
import pytest

from services.core import i18n
from services.core.errors import ValidationError
from services.core.money import format_amount, format_money, parse_money


@pytest.mark.parametrize('text, exponent, minor', [
    ('150.000', 0, 150_000), ('150,000', 0, 150_000), (' 150 000 ', 0, 150_000), ('1,234,567', 0, 1_234_567),
    ('0', 0, 0), ('1,234.50', 2, 123_450), ('12.50', 2, 1250), ('12,50', 2, 1250), ('1.234,50', 2, 123_450),
    ('12,345', 2, 1_234_500), ('5.', 2, 500)])
def test_what_people_type_is_read_as_minor_units(text, exponent, minor):
    assert parse_money(text, exponent) == minor


@pytest.mark.parametrize('text, exponent, message', [
    ('', 0, 'enter the amount'), ('-5', 0, 'cannot be negative'), ('abc', 0, 'must be a number'),
    ('sNaN', 0, 'must be a number'), ('NaN', 2, 'must be a number'), ('Infinity', 0, 'must be a number'),
    ('1e5', 0, 'must be a number'), ('١٢٣', 0, 'must be a number'), ('12.5.3', 0, 'must be a number'),
    ('1.5', 0, 'too many decimals'), ('12.345', 2, 'too many decimals'), ('9' * 20, 0, 'too large')])
def test_anything_else_is_refused_with_a_message_never_guessed(text, exponent, message):
    with pytest.raises(ValidationError, match=message):
        parse_money(text, exponent)


def test_amounts_are_written_with_their_currency_as_the_reader_groups_them():
    with i18n.use('en'):
        assert format_money(1_234_500, 'VND', 0) == '₫1,234,500'
        assert format_amount(-123_450, 2) == '-1,234.50'
    with i18n.use('vi'):
        assert format_money(1_234_500, 'VND', 0) == '1.234.500\xa0₫'
        assert format_amount(-123_450, 2) == '-1.234,50'
