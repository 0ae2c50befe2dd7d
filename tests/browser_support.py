"""Browser tests (tests/test_browser.py) need Playwright and Debian's Chromium. Where Chromium is missing they
are skipped, and the end of the run says so loudly, naming them, so a skip never passes for a pass.
With REQUIRE_BROWSER_TESTS=1 (.ci/run sets it) a missing browser fails them instead.

The hooks are imported by tests/conftest.py.
"""

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ENABLE_HINT = (
    "To run them: apt-get install chromium (Debian's package, at /usr/bin/chromium, or set CHROMIUM_PATH), and "
    "pip install -r requirements.txt (Playwright and axe-playwright-python)."
)
_not_run = pytest.StashKey[list]()


def missing():
    """Why the browser tests cannot run here, or None."""
    for module in ("playwright", "axe_playwright_python"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module} is not installed"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium is not installed at {CHROMIUM}"
    return None


def required():
    return os.environ.get("REQUIRE_BROWSER_TESTS", "").strip().lower() in {"1", "true", "yes", "on"}


def pytest_collection_modifyitems(config, items):
    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    reason = missing() if browser_tests else None
    if reason is None or required():
        return  # they run (and fail with the reason when required and impossible)
    config.stash[_not_run] = [item.nodeid for item in browser_tests]
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=f"browser test NOT RUN: {reason}. {ENABLE_HINT}"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    not_run = config.stash.get(_not_run, [])
    if not not_run:
        return
    write = terminalreporter.write_line
    terminalreporter.section("BROWSER TESTS NOT RUN", sep="!", red=True, bold=True)
    write(
        f"{len(not_run)} browser tests (accessibility, quick exit, 360 px layout) did NOT run: {missing()}.", red=True
    )
    for nodeid in not_run:
        write(f"  not run: {nodeid}", red=True)
    write(ENABLE_HINT, red=True, bold=True)
    write("The rest of the suite ran; a pass here says nothing about the pages in a browser.", red=True)
