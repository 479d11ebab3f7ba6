"""The hosted pages in a real browser (Chromium), on SQLite and PostgreSQL: an application
sends a new user to sign up; the user consents, confirms the address from the mail the
test SMTP server caught, signs out, mistypes the password, resets it with the mailed code,
signs in again without being asked to consent twice, and the application logs the user
out. The application is a small web server on loopback that takes the browser back and
exchanges the code with Authlib. Screenshots of each page go to the screenshot folder
(the README shows them: MICRO_USER_SCREENSHOTS=docs/images renews them), and each page
passes axe-core's WCAG 2.1 A and AA checks (contrast, labels, landmarks, language)."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from conftest import unique
from tests.support.browser import chromium, screenshot_folder
from tests.support.services import REQUIRE, ServerProcess, free_port

AXE = Path(__file__).with_name("axe") / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
  .then((result) => done(result.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)))
  .catch((error) => done([`axe failed: ${error}`]));
"""


class Application:
    """The relying party's web server: records where the browser came back to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.visits: list[str] = []
        visits = self.visits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                if self.path != "/favicon.ico":
                    visits.append(self.path)
                body = b"<!doctype html><title>Notes</title><h1>Back at Notes</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.visits[-1]).query)

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def application():
    app = Application()
    yield app
    app.stop()


def axe_or_skip() -> str:
    """axe-core's script (installed by scripts/test with npm), which the walk runs on every
    page: the accessibility rules of WCAG 2.1 A and AA that a machine can check."""
    if not AXE.is_file():
        reason = f"axe-core is not installed (npm ci in {AXE.parents[2]}; scripts/test does it)"
        if "js" in REQUIRE:
            pytest.fail(f"JavaScript is required (MICRO_USER_TEST_REQUIRE) but {reason}")
        pytest.skip(reason)
    return AXE.read_text()


def accessibility_violations(browser: Any, axe: str) -> list[str]:
    browser.execute_script(axe)
    return list(browser.execute_async_script(AXE_RUN))


def link_in(mail: Any) -> str:
    [link] = re.findall(r"https?://\S+", mail.get_payload(decode=True).decode())
    return link


def code_in(mail: Any) -> str:
    found = re.search(r"Your code is (\S+)\.", mail.get_payload(decode=True).decode())
    assert found, mail.get_payload(decode=True).decode()
    return found.group(1)


def test_a_new_user_walks_every_hosted_page(
    server: ServerProcess, mailbox: Any, application: Application, tmp_path, backend: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    namespace = unique("shop")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    opened = server.cli(
        "rule", "create", "--resource", "service:user:User.Create", "--scope", "",
        "--namespace", namespace,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    # The rule reaches the server within its refresh interval (1 s).
    deadline = time.monotonic() + 10
    while httpx.get(f"{issuer}/signup").status_code != 200:
        assert time.monotonic() < deadline, "sign-up never opened"
        time.sleep(0.05)
    registered = server.cli(
        "client", "create", "--name", "Notes", "--third-party", "--namespace", namespace,
        "--redirect-uri", f"{application.base}/callback",
        "--post-logout-redirect-uri", f"{application.base}/bye",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    client = json.loads(registered.stdout)
    branded = server.cli(
        "branding", "set", "--name", "Notes & Co", "--color", "#166534", "--namespace", namespace
    )
    assert branded.returncode == 0, branded.stderr
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    rp = OAuth2Client(
        client["id"],
        client["secret"],
        scope="openid profile email",
        redirect_uri=f"{application.base}/callback",
        code_challenge_method="S256",
    )
    name = unique("ada")
    email = f"{name}@example.com"
    shots = screenshot_folder(tmp_path)
    shot_names = backend == "sqlite"  # one set of screenshots is enough

    axe = axe_or_skip()

    def shot(browser: Any, name: str) -> None:
        """The page passes axe's WCAG checks, and its screenshot is kept."""
        assert accessibility_violations(browser, axe) == [], name
        if shot_names:
            assert browser.save_screenshot(str(shots / f"pages-{name}.png"))

    def authorize(browser: Any) -> str:
        verifier = generate_token(48)
        url, _ = rp.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(8)
        )
        browser.get(url)
        return verifier

    def exchange(verifier: str) -> dict[str, Any]:
        location = f"{application.base}{application.visits[-1]}"
        return dict(
            rp.fetch_token(
                metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        )

    with chromium(width=900, height=900) as browser:
        wait = WebDriverWait(browser, 30)

        def page(title: str) -> None:
            wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))

        def fill(**fields: str) -> None:
            for field, value in fields.items():
                element = browser.find_element(By.ID, field)
                element.clear()
                element.send_keys(value)

        def back_at_application(path: str) -> None:
            wait.until(lambda _: application.visits and application.visits[-1].startswith(path))
            page("Back at Notes")

        # Sign-up from the application's sign-in request.
        verifier = authorize(browser)
        page("Sign in")
        assert "Notes" in browser.find_element(By.TAG_NAME, "main").text
        # The namespace's branding: its name, and its colour on the button.
        assert browser.find_element(By.CLASS_NAME, "brand-name").text == "Notes & Co"
        button = browser.find_element(By.CSS_SELECTOR, "button[type=submit]")
        assert button.value_of_css_property("background-color") in (
            "rgba(22, 101, 52, 1)",
            "rgb(22, 101, 52)",
        )
        shot(browser, "signin")
        browser.find_element(By.LINK_TEXT, "Create an account").click()
        page("Create an account")
        fill(username=name, email=email, password="correct horse 1", confirm="correct horse 1")
        shot(browser, "signup")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        # A third-party application asks consent.
        page("Allow Notes?")
        shot(browser, "consent")
        browser.find_element(By.CSS_SELECTOR, "button[value=allow]").click()
        back_at_application("/callback")
        # The oracle can fail: the application's bare page has no language, axe says so.
        assert any(v.startswith("html-has-lang") for v in accessibility_violations(browser, axe))
        first = exchange(verifier)
        assert first["id_token"]

        # The address is confirmed from the mail.
        [mail] = mailbox.wait_for(email, timeout=30)
        browser.get(link_in(mail))
        page("Sign in")
        assert "confirmed" in browser.find_element(By.CLASS_NAME, "notice").text
        shot(browser, "verified")

        # The account page, and signing out there.
        browser.get(f"{issuer}/account")
        page("Your account")
        assert "(confirmed)" in browser.find_element(By.ID, "email").text
        shot(browser, "account")
        browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
        page("You are signed out")

        # A wrong password is told, without saying which part was wrong.
        authorize(browser)
        page("Sign in")
        fill(login=name, password="not the password")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(when.presence_of_element_located((By.ID, "error")))
        assert "Wrong username, email or password" in browser.find_element(By.ID, "error").text
        shot(browser, "wrong-password")

        # Forgotten password: a code by mail, a new password.
        browser.find_element(By.LINK_TEXT, "Forgot your password?").click()
        page("Forgot your password?")
        fill(email=email)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        page("Choose a new password")
        [reset_mail] = [
            m for m in mailbox.wait_for(email, count=2, timeout=30) if "code" in m["Subject"]
        ]
        fill(code=code_in(reset_mail), password="a new horse 22", confirm="a new horse 22")
        shot(browser, "reset")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        page("Your password is changed")

        # Signing in again: consent is remembered, so straight back to the application.
        verifier = authorize(browser)
        page("Sign in")
        fill(login=email, password="a new horse 22")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        back_at_application("/callback")
        tokens = exchange(verifier)
        info = rp.get(metadata["userinfo_endpoint"])
        assert info.status_code == 200 and info.json()["email_verified"] is True

        # The application logs the user out (RP-initiated logout) and gets the browser back.
        browser.get(
            f"{metadata['end_session_endpoint']}?id_token_hint={tokens['id_token']}"
            f"&post_logout_redirect_uri={application.base}/bye&state=done"
        )
        back_at_application("/bye")
        assert application.last()["state"] == ["done"]
        assert rp.get(metadata["userinfo_endpoint"]).status_code == 401

        # Nothing any page needed was refused by its policy.
        refused = [
            entry["message"]
            for entry in browser.get_log("browser")
            if "Content Security Policy" in entry["message"]
        ]
        assert refused == []
