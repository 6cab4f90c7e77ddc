"""The Vietnamese catalog for tests of what patients receive. Import the ``vietnamese`` fixture."""
from __future__ import annotations

import pytest

from services.core import i18n


@pytest.fixture
def vietnamese():
    """The clinic's own Vietnamese catalog (complete: ``tests/services/test_i18n.py`` checks it), read afresh."""
    i18n._catalog.cache_clear()
    yield
    i18n._catalog.cache_clear()
