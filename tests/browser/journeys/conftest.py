"""The journeys' pages (tests/browser/journeys/test_*.py) record their console errors and
uncaught exceptions, each with its page's URL (support.watch)."""

import pytest

from tests.browser.journeys.support import watch


@pytest.fixture
def page(page):
    """conftest's page, watched as above."""
    return watch(page)
