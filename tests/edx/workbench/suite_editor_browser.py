"""The Studio editor in a real browser (headless Chromium, Selenium, Debian's chromedriver) on the
xblock-sdk workbench served over HTTP, used with the keyboard only: the ESCO type-ahead follows the
combobox pattern, Enter never submits the form from the search box, and failure answers are shown."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from werkzeug.serving import make_server

from tests.browser import chromium
from tests.edx.sidecar_server import bridge_settings


@pytest.fixture
def workbench_url(bridge: dict[str, Any]) -> Iterator[str]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler

    server = make_server("127.0.0.1", 0, StaticFilesHandler(WSGIHandler()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def wait_for(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def keys(driver: Any, *sequence: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*sequence).perform()


def active(driver: Any) -> Any:
    return driver.switch_to.active_element


def tab_to(driver: Any, predicate: Callable[[Any], bool], limit: int = 80) -> Any:
    """Press Tab until the focused element satisfies ``predicate`` (what a keyboard user does)."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        keys(driver, Keys.TAB)
        element = active(driver)
        if predicate(element):
            return element
    raise AssertionError("never reached by Tab")


def test_keyboard_only_editor(browser: Any, workbench_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{workbench_url}/view/edc_credential.0/studio_view/?student=staff_1")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".edc-skill-search"))
    browser.execute_script("window.__saves = 0; var f = window.fetch; window.fetch = function (u, o) {"
                           " if (String(u).indexOf('save_settings') >= 0) { window.__saves += 1; }"
                           " return f.apply(this, arguments); };")
    search = tab_to(browser, lambda e: e.get_attribute("role") == "combobox")
    assert search.get_attribute("aria-expanded") == "false"
    listbox = browser.find_element(By.ID, search.get_attribute("aria-controls"))
    assert listbox.get_attribute("role") == "listbox"

    keys(browser, "adapt to chan")
    wait_for(lambda: search.get_attribute("aria-expanded") == "true")
    options = listbox.find_elements(By.CSS_SELECTOR, "[role=option]")
    assert len(options) >= 2 and all(o.get_attribute("aria-selected") == "false" for o in options)
    live = browser.find_element(By.CSS_SELECTOR, ".edc-live")
    wait_for(lambda: "skills found" in live.text or "skills found" in live.get_attribute("textContent"))

    keys(browser, Keys.ARROW_DOWN)
    assert search.get_attribute("aria-activedescendant") == options[0].get_attribute("id")
    keys(browser, Keys.ARROW_DOWN)
    assert search.get_attribute("aria-activedescendant") == options[1].get_attribute("id")
    assert [o.get_attribute("aria-selected") for o in options[:2]] == ["false", "true"]
    keys(browser, Keys.ARROW_UP)
    assert search.get_attribute("aria-activedescendant") == options[0].get_attribute("id")
    keys(browser, Keys.ARROW_DOWN)  # the first hit is the skill the outcome already has: pick the second
    picked = options[1].text
    assert active(browser) == search  # focus stays in the box (aria-activedescendant pattern)

    chips_before = len(browser.find_elements(By.CSS_SELECTOR, ".edc-chosen-skill"))
    keys(browser, Keys.ENTER)  # picks the option; must not submit the form
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".edc-chosen-skill")) == chips_before + 1)
    assert browser.execute_script("return window.__saves") == 0
    assert search.get_attribute("aria-expanded") == "false" and search.get_attribute("value") == ""
    assert picked.split(" (")[0] in browser.find_elements(By.CSS_SELECTOR, ".edc-chosen-skill")[-1].text
    wait_for(lambda: "Chosen:" in live.get_attribute("textContent"))

    keys(browser, "python")  # Escape closes the list without choosing
    wait_for(lambda: search.get_attribute("aria-expanded") == "true")
    keys(browser, Keys.ARROW_DOWN, Keys.ESCAPE)
    assert search.get_attribute("aria-expanded") == "false" and not search.get_attribute("aria-activedescendant")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".edc-chosen-skill")) == chips_before + 1
    keys(browser, Keys.ENTER)  # Enter with the list closed: still no submit
    assert browser.execute_script("return window.__saves") == 0

    # Remove the chosen skill with the keyboard: Shift+Tab back to its button, Enter.
    remove = browser.find_elements(By.CSS_SELECTOR, ".edc-remove-skill")[-1]
    for _ in range(10):
        if active(browser) == remove:
            break
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert active(browser) == remove and remove.get_attribute("aria-label").startswith("Remove the skill")
    keys(browser, Keys.ENTER)
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".edc-chosen-skill")) == chips_before)
    assert active(browser).get_attribute("role") == "combobox"

    # Save from the keyboard: the handler's answer is shown.
    save = tab_to(browser, lambda e: "save-button" in (e.get_attribute("class") or ""))
    keys(browser, Keys.ENTER)
    message = browser.find_element(By.CSS_SELECTOR, ".edc-form-message")
    wait_for(lambda: "Saved." in message.text)
    assert browser.execute_script("return window.__saves") == 1

    # A proxy answering 502 with an HTML page: the editor says so and can be used again.
    browser.execute_script("var f = window.fetch; window.fetch = function (u, o) {"
                           " if (String(u).indexOf('save_settings') >= 0) {"
                           "  return Promise.resolve(new Response('<html>Bad gateway</html>', {status: 502})); }"
                           " return f.apply(this, arguments); };")
    save.click() if active(browser) != save else keys(browser, Keys.ENTER)
    wait_for(lambda: "502" in message.text)
    assert "nothing was saved" in message.text and "Saving" not in message.text


def test_sidecar_answers_for_search_failures_are_shown(browser: Any, workbench_url: str,
                                                       bridge: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    with override_settings(XBLOCK_SETTINGS={"EdcCredentialBlock": bridge_settings("http://127.0.0.1:9")}):
        browser.get(f"{workbench_url}/view/edc_credential.0/studio_view/?student=staff_2")
        search = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".edc-skill-search"))[0]
        search.send_keys("adapt")
        note = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".edc-suggestion-note"))[0]
    assert "not reachable" in note.text and search.get_attribute("aria-expanded") == "false"
