"""The Vietnamese catalog for tests of what patients receive: the documents' own part file while it waits to be
merged (``i18n-parts/documents.po``), else the clinic's real catalog. Import the ``vietnamese`` fixture."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.core import i18n

PART = Path(__file__).resolve().parents[2] / 'i18n-parts' / 'documents.po'


@pytest.fixture
def vietnamese(tmp_path, monkeypatch):
    """Vietnamese texts available to ``_()`` for the test (and forgotten afterwards)."""
    source = PART if PART.exists() else i18n.LOCALES_DIR / 'vi' / 'LC_MESSAGES' / 'messages.po'
    folder = tmp_path / 'locales' / 'vi' / 'LC_MESSAGES'
    folder.mkdir(parents=True)
    shutil.copy(source, folder / 'messages.po')
    i18n._translations.cache_clear()
    monkeypatch.setattr(i18n, 'LOCALES_DIR', tmp_path / 'locales')
    yield
    i18n._translations.cache_clear()
