"""Browser tests run in a pytest process of their own, without eventlet (Playwright is asyncio
underneath and hangs in a monkey-patched process). scripts/test.sh starts that process with
`--confcutdir tests/browser -p no:pytest_nameko`, so the root conftest's monkey patch never runs.
If this folder is collected by the eventlet process anyway, it is left to the browser step."""

import os
import tempfile

import pytest

try:
    from eventlet import patcher

    _patched = patcher.is_monkey_patched("socket")
except ImportError:  # pragma: no cover
    _patched = False

collect_ignore_glob = ["test_*.py"] if _patched else []

CHROMIUM = os.environ.get("FLOKK_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def stack():
    from tests.browser.stack import Stack, vhost

    with vhost() as amqp_uri, tempfile.TemporaryDirectory(prefix="flokk-browser-") as run_dir:
        running = Stack(run_dir, amqp_uri)
        try:
            running.start()
            running.seed_directory()
            yield running
        finally:
            running.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="nb-NO", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
