"""Signing in through an external identity provider, in Chromium, on SQLite and
PostgreSQL. The provider is oidc-provider (a certified OpenID Provider, run locally by
tests/support/upstream.py), added to a namespace with the CLI; the browser signs in on its
own login page and comes back.

- A newcomer (verified email at the provider) gets a new account, linked; signing in again
  finds the same account.
- An existing account whose email the provider says is verified is linked only once its
  password is given here (a wrong one links nothing).
- An identity whose email matches an account but is not verified never signs in to it.
- The account page lists the linked identity and unlinks it; unlinked, the identity no
  longer signs in to that account.

Each page passes axe-core's checks; the screenshots go to the README."""

from __future__ import annotations

import time
from typing import Any

import httpx

from conftest import unique
from tests.browser.test_hosted_pages import accessibility_violations, axe_or_skip
from tests.support.browser import chromium, press_button, screenshot_folder
from tests.support.services import ServerProcess
from tests.support.upstream import upstream_provider

SECRET = "upstream-client-secret-0123456789"


def open_sign_up(server: ServerProcess, namespace: str) -> None:
    opened = server.cli(
        "rule", "create", "--resource", "service:user:User.Create", "--scope", "",
        "--namespace", namespace,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    issuer = f"{server.base_url}/namespaces/{namespace}"
    deadline = time.monotonic() + 10
    while httpx.get(f"{issuer}/signup").status_code != 200:
        assert time.monotonic() < deadline, "sign-up never opened"
        time.sleep(0.05)


def create_user(server: ServerProcess, namespace: str, email: str) -> tuple[str, str]:
    name, password = unique("fed"), "correct horse 1"
    made = server.cli(
        "user", "create", "--username", name, "--email", email, "--password", password,
        "--namespace", namespace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return name, password


def test_users_sign_in_through_an_external_provider(
    server: ServerProcess, tmp_path, backend: str
) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    namespace = unique("fed")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    open_sign_up(server, namespace)
    owner, owner_password = create_user(server, namespace, f"owner-{namespace}@example.com")
    create_user(server, namespace, f"other-{namespace}@example.com")
    accounts: list[dict[str, Any]] = [
        {"sub": "up-new", "login": "newcomer", "password": "up pass 1",
         "email": f"new-{namespace}@example.com", "email_verified": True, "name": "New Comer"},
        {"sub": "up-owner", "login": "owner", "password": "up pass 2",
         "email": f"owner-{namespace}@example.com", "email_verified": True, "name": "Owner"},
        {"sub": "up-other", "login": "impostor", "password": "up pass 3",
         "email": f"other-{namespace}@example.com", "email_verified": False, "name": "Other"},
    ]  # fmt: skip
    client = {
        "client_id": "micro-user",
        "client_secret": SECRET,
        "redirect_uris": [f"{issuer}/signin/callback"],
    }
    axe = axe_or_skip()
    shots = screenshot_folder(tmp_path)

    with upstream_provider([client], accounts) as upstream, chromium(900, 1000) as browser:
        added = server.cli(
            "provider", "add", "corp", "--name", "Corp ID", "--issuer", upstream.issuer,
            "--client-id", "micro-user", "--client-secret", SECRET, "--namespace", namespace,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert SECRET not in added.stdout  # the secret is never printed back
        wait = WebDriverWait(browser, 20)

        def page(title: str, name: str = "") -> None:
            try:
                wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
            except TimeoutException:
                shown = browser.find_element(By.TAG_NAME, "body").text
                raise AssertionError(f"not {title!r} at {browser.current_url}: {shown}") from None
            if browser.current_url.startswith(server.base_url):
                assert accessibility_violations(browser, axe) == [], title
            if name and backend == "sqlite":
                assert browser.save_screenshot(str(shots / f"pages-{name}.png"))

        def fill(**fields: str) -> None:
            for field, value in fields.items():
                element = browser.find_element(By.ID, field)
                element.clear()
                element.send_keys(value)

        def press(text: str) -> None:
            press_button(browser, wait, text)

        def through_provider(login: str, password: str, shot: str = "") -> None:
            browser.delete_all_cookies()  # ours and the provider's: a new visitor
            browser.get(f"{issuer}/signin")
            page("Sign in", shot)
            browser.find_element(By.LINK_TEXT, "Sign in with Corp ID").click()
            # Our page has a field "login" too: wait for the provider's page itself.
            wait.until(lambda b: b.current_url.startswith(upstream.issuer))
            wait.until(when.presence_of_element_located((By.ID, "login")))
            fill(login=login, password=password)
            press("Sign in")

        # A newcomer: a new account, linked to the identity.
        through_provider("newcomer", "up pass 1", "provider-signin")
        page("Your account", "provider-account")
        username = browser.find_element(By.ID, "username").text
        assert username == "newcomer"
        assert "(confirmed)" in browser.find_element(By.ID, "email").text
        assert "Corp ID" in browser.find_element(By.ID, "identities").text

        # Again: the same account, not another.
        through_provider("newcomer", "up pass 1")
        page("Your account")
        assert browser.find_element(By.ID, "username").text == username

        # An existing account with the verified email: its password first.
        through_provider("owner", "up pass 2")
        page("Link Corp ID to your account", "provider-link")
        fill(password="not the password")
        press("Link and sign in")
        page("Link Corp ID to your account")
        assert "not the account's password" in browser.find_element(By.ID, "error").text
        fill(password=owner_password)
        press("Link and sign in")
        page("Your account")
        assert browser.find_element(By.ID, "username").text == owner
        assert "Corp ID" in browser.find_element(By.ID, "identities").text
        # Linked now: the provider alone signs in to it.
        through_provider("owner", "up pass 2")
        page("Your account")
        assert browser.find_element(By.ID, "username").text == owner

        # Unlinked on the account page, the identity asks for the password again.
        press("Unlink Corp ID")
        page("Your account")
        assert "Unlinked" in browser.find_element(By.CSS_SELECTOR, ".notice").text
        through_provider("owner", "up pass 2")
        page("Link Corp ID to your account")

        # An unverified email that matches an account never signs in to it.
        through_provider("impostor", "up pass 3")
        page("Signing in did not work")
        assert "verified" in browser.find_element(By.TAG_NAME, "main").text
