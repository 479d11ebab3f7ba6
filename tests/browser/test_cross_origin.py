"""What a single-page application on another origin may read, as Chromium enforces it: the
discovery document, the key set, the token endpoint and userinfo (with its preflight for
the Authorization header); not the Micro API, whose answers stay same-origin."""

from __future__ import annotations

import pytest

from tests.browser.test_hosted_pages import Application
from tests.support.browser import chromium
from tests.support.services import ServerProcess

SCRIPT = """
const [url, init, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
fetch(url, init)
  .then(async (answer) => done({status: answer.status, body: await answer.text()}))
  .catch((error) => done({error: String(error)}));
"""


@pytest.fixture
def application():
    app = Application()
    yield app
    app.stop()


def test_a_page_of_another_origin_reads_only_the_open_endpoints(
    server: ServerProcess, application: Application
) -> None:
    with chromium() as browser:
        browser.get(f"{application.base}/app")  # the application's origin

        def fetch(path: str, init: dict | None = None) -> dict:
            return browser.execute_async_script(SCRIPT, server.base_url + path, init or {})

        discovery = fetch("/.well-known/openid-configuration")
        assert discovery["status"] == 200 and server.base_url in discovery["body"]
        assert fetch("/.well-known/jwks.json")["status"] == 200
        # A POST with a form needs no preflight; a wrong grant's answer is still readable.
        token = fetch(
            "/oauth/token",
            {
                "method": "POST",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": "grant_type=authorization_code&code=x&redirect_uri=x&code_verifier=x",
            },
        )
        assert token["status"] == 401 and "invalid_client" in token["body"]
        # The Authorization header takes a preflight, which userinfo answers.
        info = fetch("/oauth/userinfo", {"headers": {"Authorization": "Bearer not-a-token"}})
        assert info["status"] == 401
        # The Micro API is not open to other origins: the browser refuses to read it.
        refused = fetch(
            "/v1/user/Read",
            {"method": "POST", "headers": {"Content-Type": "application/json"}, "body": "{}"},
        )
        assert "error" in refused and "Failed to fetch" in refused["error"]
