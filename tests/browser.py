"""A real browser for tests: Debian's Chromium driven by Playwright (nothing is downloaded).

The README's test command installs the `chromium` package; Playwright's own browser
download cannot work here, so it is pointed at that binary.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artefacts"

# Without the background-networking flags Chromium calls Google's hosts at start; those
# would be refused here, and would also count as requests the page did not make.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=OptimizationHints,Translate,MediaRouter",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium not found: install Debian's package `chromium` "
                    "(the README's test command does)")
    return found


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            yield browser
        finally:
            browser.close()


def artefact(name: str) -> Path:
    """Where a test keeps a file for people to look at after the run (a screenshot)."""
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS / name
