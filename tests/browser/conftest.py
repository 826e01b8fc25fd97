"""Browser tests: Chromium driven by Playwright against a live server.

Debian's Chromium is used (Playwright cannot download its own browser here): CHROMIUM_PATH,
else /usr/bin/chromium. On CI (CI set) a missing browser fails the run; elsewhere the tests
skip with the reason.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.support import require

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}; set CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # still synchronous and sequential, which is what this setting allows. It is set only
    # while the browser is open, never at import: `check --deploy` refuses it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from launch(sync_playwright)
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def launch(sync_playwright):
    with sync_playwright() as playwright:
        # No sandbox: CI runs as root, where Chromium's sandbox cannot start.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.console_errors = errors
    return page


@pytest.fixture
def site(live_server, transactional_db):
    """The live server's address, with the seed catalogue in its database."""
    from django.core.management import call_command

    call_command("seed_catalogue", verbosity=0)
    return live_server.url
