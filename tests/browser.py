"""Headless Chromium from Debian, driven by Selenium through Debian's chromedriver, for the page tests.

One place for the browser's flags (no background networking: the machine has no network but loopback)
and for the rule that CI must have the browser while a developer's machine may skip."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser test needs {', '.join(missing)} (scripts/install-system-deps.sh)")
        pytest.skip(f"browser test needs {', '.join(missing)}")


@contextmanager
def chromium(profile: Path, lang: str = "en-GB") -> Iterator[Any]:
    """A headless Chromium with a fresh profile; quit on the way out."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", f"--lang={lang}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
