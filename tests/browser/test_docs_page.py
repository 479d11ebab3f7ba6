"""/docs in a real browser: the interactive reference renders every operation from
/openapi.json, takes an API key, and calls the running server; nothing is fetched from
elsewhere (the page works offline) and the page's policy blocks nothing it needs."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.browser import chromium, screenshot_folder
from tests.support.services import ADMIN_KEY, ServerProcess


@pytest.fixture
def docs_server(tmp_path):
    instance = ServerProcess(f"sqlite:///{tmp_path / 'docs.db'}", tmp_path).start()
    try:
        yield instance
    finally:
        instance.stop()


def test_the_reference_renders_takes_a_key_and_calls_the_server(docs_server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    created = httpx.post(
        docs_server.base_url + "/v1/user/Create",
        json={"username": "ada", "email": "ada@example.com", "password": "correct horse 1"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 200, created.text
    with chromium() as browser:
        wait = WebDriverWait(browser, 30)
        browser.get(docs_server.base_url + "/docs")
        wait.until(when.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
        document = httpx.get(docs_server.base_url + "/openapi.json").json()
        operations = sum(
            1 for item in document["paths"].values() for method in item if method != "parameters"
        )
        rendered = browser.find_elements(By.CSS_SELECTOR, ".opblock")
        assert len(rendered) == operations

        # Authorize with the admin key, as a person would.
        browser.find_element(By.CSS_SELECTOR, ".auth-wrapper button.authorize").click()
        modal = wait.until(when.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
        field = modal.find_element(By.CSS_SELECTOR, "input[type=text], input[type=password]")
        field.send_keys(ADMIN_KEY)
        modal.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.authorize").click()
        modal.find_element(By.CSS_SELECTOR, "button.btn-done").click()

        # Open GET /v1/user/List, try it out, and see the server's answer.
        operation = browser.find_element(
            By.XPATH,
            "//div[contains(@class,'opblock-get')]"
            "[.//*[contains(@class,'opblock-summary-path') and @data-path='/v1/user/List']]",
        )
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        operation.find_element(By.CSS_SELECTOR, "button.execute").click()
        status = wait.until(
            lambda _: operation.find_elements(
                By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"
            )
        )
        assert status[0].text.strip().startswith("200"), status[0].text
        body = operation.find_element(
            By.CSS_SELECTOR, ".live-responses-table .response-col_description pre"
        ).text
        assert [account["username"] for account in json.loads(body).get("users", [])] == ["ada"], (
            body
        )
        answer = operation.find_element(By.CSS_SELECTOR, ".live-responses-table")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", answer)
        assert browser.save_screenshot(str(screenshot_folder(tmp_path) / "docs.png"))

        # Nothing the page needed was refused by its policy or fetched from elsewhere.
        logged = browser.get_log("browser")
        refused = [
            entry["message"] for entry in logged if "Content Security Policy" in entry["message"]
        ]
        assert refused == []
        requested = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert requested and all(url.startswith(docs_server.base_url) for url in requested)
