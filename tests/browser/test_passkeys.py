"""Passkeys in Chromium, on SQLite and PostgreSQL, with the browser's own WebAuthn and its
virtual authenticator (a platform authenticator that keeps discoverable credentials and
verifies the user): a user adds a passkey on the account page, signs out, signs in with the
passkey alone, then with password and passkey as the second step. A copy of the passkey
whose signature counter went backwards (a cloned authenticator) is refused, and so is the
passkey on another namespace's sign-in page. Each page passes axe-core's checks; the
screenshots go to the README.

The server's public URL is http://localhost:<port>: WebAuthn needs a host name (browsers
refuse an IP address as the relying party)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conftest import database_url, unique
from tests.browser.test_hosted_pages import accessibility_violations, axe_or_skip
from tests.support.browser import chromium, press_button, screenshot_folder
from tests.support.services import ADMIN_KEY, ServerProcess


@pytest.fixture(scope="module")
def localhost_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        database_url(backend, tmp_path_factory, request), tmp_path_factory.mktemp("passkeys")
    )
    process.base_url = f"http://localhost:{process.port}"
    process.env["MICRO_USER_PUBLIC_URL"] = process.base_url
    process.start()
    yield process
    process.stop()


def create_user(server: ServerProcess) -> tuple[str, str]:
    name, password = unique("pk"), "correct horse 1"
    answer = httpx.post(
        f"{server.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": password},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert answer.status_code == 200, answer.text
    return name, password


def test_a_user_adds_a_passkey_and_signs_in_with_it(
    localhost_server: ServerProcess, backend: str, tmp_path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.virtual_authenticator import (
        Credential,
        VirtualAuthenticatorOptions,
    )
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    server = localhost_server
    username, password = create_user(server)
    axe = axe_or_skip()
    shots = screenshot_folder(tmp_path)

    with chromium(width=900, height=1100) as browser:
        wait = WebDriverWait(browser, 30)
        browser.add_virtual_authenticator(
            VirtualAuthenticatorOptions(
                protocol="ctap2",
                transport="internal",
                has_resident_key=True,
                has_user_verification=True,
                is_user_verified=True,
            )
        )

        def page(title: str, name: str = "") -> None:
            wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
            assert accessibility_violations(browser, axe) == [], title
            if name and backend == "sqlite":
                assert browser.save_screenshot(str(shots / f"pages-{name}.png"))

        def fill(**fields: str) -> None:
            for field, value in fields.items():
                element = browser.find_element(By.ID, field.replace("_", "-"))
                element.clear()
                element.send_keys(value)

        def press(text: str) -> None:
            press_button(browser, wait, text)

        def sign_out() -> None:
            browser.get(f"{server.base_url}/account")
            page("Your account")
            press("Sign out")
            page("You are signed out")

        # Add a passkey: signed in a moment ago, so no password again; the browser makes it.
        browser.get(f"{server.base_url}/signin")
        page("Sign in")
        fill(login=username, password=password)
        press("Sign in")
        page("Your account")
        browser.find_element(By.PARTIAL_LINK_TEXT, "Two-step sign-in: off").click()
        page("Two-step sign-in")
        press("Add a passkey")  # just signed in: no password asked again
        page("Two-step sign-in")
        fill(passkey_name="Laptop")
        press("Create the passkey")
        wait.until(when.presence_of_element_located((By.ID, "recovery-codes")))
        assert len(browser.find_element(By.ID, "recovery-codes").text.split()) == 10
        browser.get(f"{server.base_url}/account/factors")
        page("Two-step sign-in", "passkey-added")
        assert "Laptop" in browser.find_element(By.ID, "passkeys").text
        assert "on" in browser.find_element(By.ID, "two-step-state").text
        [made] = browser.get_credentials()
        assert made.is_resident_credential and made.rp_id == "localhost"
        copy = made.to_dict()  # the passkey as it is now, to make a clone of later

        # The passkey alone signs in: no password typed.
        sign_out()
        browser.get(f"{server.base_url}/signin")
        page("Sign in", "passkey-signin")
        press("Sign in with a passkey")
        page("Your account")
        assert browser.find_element(By.ID, "username").text == username

        # The password asks for the second step, which the passkey gives.
        sign_out()
        browser.get(f"{server.base_url}/signin")
        fill(login=username, password=password)
        press("Sign in")
        page("Two-step sign-in", "passkey-second-step")
        press("Use a passkey")
        page("Your account")
        [used] = browser.get_credentials()
        assert used.sign_count > copy["signCount"]

        # Another namespace's sign-in page does not know this passkey.
        sign_out()
        browser.get(f"{server.base_url}/namespaces/passkeys-elsewhere/signin")
        page("Sign in")
        press("Sign in with a passkey")
        wait.until(when.presence_of_element_located((By.ID, "error")))
        assert "not one of this site's" in browser.find_element(By.ID, "error").text

        # A clone: the same key with the counter it had before the two sign-ins.
        browser.remove_virtual_authenticator()
        browser.add_virtual_authenticator(
            VirtualAuthenticatorOptions(
                protocol="ctap2",
                transport="internal",
                has_resident_key=True,
                has_user_verification=True,
                is_user_verified=True,
            )
        )
        browser.add_credential(Credential.from_dict(copy))
        browser.get(f"{server.base_url}/signin")
        page("Sign in")
        press("Sign in with a passkey")
        wait.until(when.presence_of_element_located((By.ID, "error")))
        assert "sign count" in browser.find_element(By.ID, "error").text
        assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
