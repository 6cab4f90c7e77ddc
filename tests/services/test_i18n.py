"""Texts in the reader's language: catalogs read from the .po files, the explicit language first, then the
viewer's, then the clinic's; numbers, money and dates formatted for the language."""
import re
from datetime import date

import pytest

from services.core import i18n

CATALOG = '''msgid ""
msgstr ""
"Language: vi\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Patients ahead: {count}"
msgstr "Số người phía trước: {count}"

msgid "One patient ahead"
msgid_plural "{count} patients ahead"
msgstr[0] "{count} người phía trước"
'''


@pytest.fixture
def catalogs(tmp_path, monkeypatch):
    folder = tmp_path / 'vi' / 'LC_MESSAGES'
    folder.mkdir(parents=True)
    (folder / 'messages.po').write_text(CATALOG, encoding='utf-8')
    monkeypatch.setattr(i18n, 'LOCALES_DIR', tmp_path)
    i18n._catalog.cache_clear()
    yield
    i18n._catalog.cache_clear()
    i18n.set_viewer_language(lambda: None)
    i18n.set_clinic_language('en')


def test_the_explicit_language_wins_over_the_viewer_and_the_clinic(catalogs):
    i18n.set_clinic_language('en')
    i18n.set_viewer_language(lambda: 'en')
    with i18n.use('vi'):
        assert i18n._('Patients ahead: {count}').format(count=2) == 'Số người phía trước: 2'
        assert i18n.ngettext('One patient ahead', '{count} patients ahead', 3) == '3 người phía trước'
    assert i18n._('Patients ahead: {count}') == 'Patients ahead: {count}'
    i18n.set_viewer_language(lambda: 'vi-VN')
    assert i18n.current() == 'vi'
    i18n.set_viewer_language(lambda: None)
    i18n.set_clinic_language('vi')
    assert i18n.current() == 'vi' and i18n._('Untranslated text') == 'Untranslated text'


def test_the_pseudo_language_marks_every_translated_text():
    with i18n.use(i18n.PSEUDO):
        assert i18n._('Check in') == '⟦Check in⟧'


def test_numbers_money_and_dates_follow_the_reader():
    with i18n.use('vi'):
        assert i18n.money(1_234_567, 'VND', 0) == '1.234.567\xa0₫'
        assert i18n.day(date(2026, 11, 30), 'full') == 'Thứ Hai, 30 tháng 11, 2026'
        assert i18n.number(1_234_567) == '1.234.567'
    with i18n.use('en'):
        assert i18n.money(123_450, 'USD', 2) == 'US$1,234.50'
        assert i18n.day(date(2026, 11, 30), 'short') == '30/11/2026'


def messages_in_the_code() -> dict[str, tuple[str, int]]:
    """Every text marked for translation in the app's code (as ``pybabel extract`` finds them), with a place."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    root = i18n.LOCALES_DIR.parents[1]
    found: dict[str, tuple[str, int]] = {}
    for folder in ('clinic_ui', 'pages', 'services', 'models'):
        for filename, line, message, *_rest in extract_from_dir(root / folder, [('**.py', 'python')],
                                                                 keywords=DEFAULT_KEYWORDS):
            for text in (message if isinstance(message, tuple) else (message,)):
                if text:
                    found.setdefault(text, (f'{folder}/{filename}', line))
    return found


def test_every_message_in_the_code_has_a_vietnamese_translation_with_the_same_placeholders():
    from babel.messages.pofile import read_po
    with open(i18n.LOCALES_DIR / 'vi' / 'LC_MESSAGES' / 'messages.po', 'rb') as po_file:
        catalog = read_po(po_file, locale='vi')
    translated: dict[str, str] = {}
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and strings[0] and not message.fuzzy:
            translated.update({text: strings[0] for text in ids})
    code = messages_in_the_code()
    assert len(code) > 50
    missing = {text: place for text, place in code.items() if text not in translated}
    assert not missing, f'{len(missing)} messages have no Vietnamese translation: {missing}'
    placeholder = re.compile(r'\{(\w*)[^}]*\}')
    wrong = {text: translated[text] for text in code
             if set(placeholder.findall(text)) - {'count'} != set(placeholder.findall(translated[text])) - {'count'}}
    assert not wrong, f'translations whose placeholders differ from the English: {wrong}'


def test_no_message_is_an_f_string_or_built_from_pieces():
    """An f-string inside ``_()`` is looked up after it was filled in: it would never be found in the catalog."""
    root = i18n.LOCALES_DIR.parents[1]
    offending = []
    for folder in ('clinic_ui', 'pages', 'services', 'models'):
        for path in (root / folder).rglob('*.py'):
            text = path.read_text(encoding='utf-8')
            offending += [f'{path.relative_to(root)}: {m.group(0)}'
                          for m in re.finditer(r'\b(?:_|N_|ngettext)\(\s*f[\'"][^\n]*', text)]
            # and a text marked inside an f-string is invisible to the extractor (it reads an f-string as one
            # token), so a missing translation would go unnoticed: mark it outside, e.g. el.props['hint'] = _('...')
            offending += [f'{path.relative_to(root)}: {m.group(0)}'
                          for m in re.finditer(r'\bf(?:\'[^\'\n]*\{\s*(?:_|N_|ngettext)\(\s*"|"[^"\n]*\{\s*(?:_|N_|ngettext)\(\s*\')[^\n]*', text)]
    assert not offending, offending
