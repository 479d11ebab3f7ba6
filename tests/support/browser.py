"""A real browser for tests: Debian's Chromium driven through its chromedriver by Selenium,
headless. Screenshots go to the test's temporary folder, or to ``MICRO_USER_SCREENSHOTS``
when set (``MICRO_USER_SCREENSHOTS=docs/images ./scripts/test tests/browser`` renews the
README's). Selenium is pointed at the system chromedriver, so it never tries to download one.
Where Chromium is missing the test skips, or fails when ``MICRO_USER_TEST_REQUIRE`` names
``browser`` (``scripts/install-chromium`` installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import REQUIRE

CHROMEDRIVER_PATHS = ("/usr/bin/chromedriver",)
CHROMIUM_PATHS = ("/usr/bin/chromium",)


def _found(name: str, paths: tuple[str, ...]) -> str | None:
    return shutil.which(name) or next((p for p in paths if shutil.which(p)), None)


def screenshot_folder(tmp_path: Path) -> Path:
    """Where a test saves its screenshots."""
    folder = Path(os.environ.get("MICRO_USER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium(width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium WebDriver session, quit at the end."""
    driver_path = _found("chromedriver", CHROMEDRIVER_PATHS)
    browser_path = _found("chromium", CHROMIUM_PATHS)
    reason = None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        reason = "selenium is not installed (it is in the [test] extras)"
    if reason is None and (driver_path is None or browser_path is None):
        reason = "chromium and chromium-driver are not installed (scripts/install-chromium)"
    if reason is not None:
        if "browser" in REQUIRE:
            pytest.fail(f"a browser is required (MICRO_USER_TEST_REQUIRE) but: {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def press_button(browser: Any, wait: Any, text: str) -> None:
    """Press the button labelled ``text`` and wait until the page it leads to replaced
    this one (pages often keep their title, so the title alone cannot tell)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    before = browser.find_element(By.TAG_NAME, "html")
    try:
        browser.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()
    except WebDriverException:
        # chromedriver's click can lose its node when the page it leads to comes at once
        # (a passkey's answer posts the form right away): fine if it came.
        pass

    def left(_: Any) -> bool:
        # chromedriver may answer for a node of a page being left with another error
        # than "stale".
        try:
            before.is_enabled()
        except WebDriverException:
            return True
        return False

    wait.until(left)
