"""External identity providers over HTTP, with oidc-provider as the real upstream:
a plain OAuth 2.0 provider (identity from its userinfo endpoint), the attacks on the way
back (a callback without the browser's cookie, a foreign state, a code carried to another
browser), and the auth API's Providers.* (what is refused, and that no secret comes back).
The browser walk is tests/browser/test_external_providers.py."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import sqlalchemy

from conftest import unique
from tests.browser.test_external_providers import SECRET, open_sign_up
from tests.support.forms import Agent, forms_of
from tests.support.services import ADMIN_KEY, ServerProcess
from tests.support.upstream import upstream_provider

ACCOUNT = {
    "sub": "plain-1", "login": "plainuser", "password": "plain pass 1",
    "email": "plain-user@example.com", "email_verified": True, "name": "Plain",
}  # fmt: skip


def client_for(issuer: str) -> dict[str, Any]:
    return {
        "client_id": "micro-user",
        "client_secret": SECRET,
        "redirect_uris": [f"{issuer}/signin/callback"],
    }


def to_provider_login(browser: httpx.Client, start: str, upstream: str) -> httpx.Response:
    """Start at our /signin/with/..., arrive at the provider's login form."""
    page = browser.get(start, follow_redirects=True)
    assert str(page.url).startswith(upstream), page.url
    return page


def log_in_at_provider(
    browser: httpx.Client, page: httpx.Response, login: str, password: str
) -> str:
    """Post the provider's login form; the URL it sends the browser back to (not followed
    into our server)."""
    [form] = forms_of(page.text)
    answer = browser.post(
        urljoin(str(page.url), form.action), data={"login": login, "password": password}
    )
    while answer.status_code in (302, 303) and answer.headers["location"].startswith(
        ("/", str(page.url).split("/interaction")[0])
    ):
        answer = browser.get(urljoin(str(answer.url), answer.headers["location"]))
    assert answer.status_code in (302, 303), answer.text
    return urljoin(str(answer.url), answer.headers["location"])


@pytest.fixture
def namespace_with_plain_provider(server: ServerProcess):
    namespace = unique("plain")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    open_sign_up(server, namespace)
    with upstream_provider([client_for(issuer)], [ACCOUNT]) as upstream:
        added = server.cli(
            "provider", "add", "plain", "--name", "Plain", "--namespace", namespace,
            "--client-id", "micro-user", "--client-secret", SECRET,
            "--authorization-endpoint", f"{upstream.issuer}/auth",
            "--token-endpoint", f"{upstream.issuer}/token",
            "--userinfo-endpoint", f"{upstream.issuer}/me",
            "--scope", "openid", "--scope", "email", "--scope", "profile",
            "--subject-claim", "sub", "--verified-claim", "email_verified",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        yield issuer, upstream.issuer


def test_a_plain_oauth2_provider_signs_in_by_its_userinfo(namespace_with_plain_provider) -> None:
    issuer, upstream = namespace_with_plain_provider
    with httpx.Client(timeout=30) as browser:
        page = to_provider_login(browser, f"{issuer}/signin/with/plain", upstream)
        back = log_in_at_provider(browser, page, "plainuser", "plain pass 1")
        assert back.startswith(f"{issuer}/signin/callback?")
        account = browser.get(back, follow_redirects=True)
        assert account.status_code == 200, account.text
        assert "Your account" in account.text and "plainuser" in account.text
        assert "(confirmed)" in account.text  # the verified_claim said so


def test_the_way_back_is_bound_to_the_browser_that_left(namespace_with_plain_provider) -> None:
    issuer, upstream = namespace_with_plain_provider
    with httpx.Client(timeout=30) as victim, httpx.Client(timeout=30) as attacker:
        page = to_provider_login(victim, f"{issuer}/signin/with/plain", upstream)
        back = log_in_at_provider(victim, page, "plainuser", "plain pass 1")
        # The code and state carried to a browser that did not start the sign-in.
        stolen = attacker.get(back, follow_redirects=True)
        assert stolen.status_code == 400 and "expired" in stolen.text
        assert not any(c.startswith("mu_session_") for c in attacker.cookies)
        # A state that is not the one sent, in the browser that left.
        state = parse_qs(urlsplit(back).query)["state"][0]
        forged = back.replace(state, state[:-2] + "xx")
        assert victim.get(forged).status_code == 400
        # The leg ended with that refusal: the real answer no longer finds its cookie.
        assert victim.get(back).status_code == 400


def test_the_provider_says_no(namespace_with_plain_provider) -> None:
    issuer, upstream = namespace_with_plain_provider
    with httpx.Client(timeout=30) as browser:
        page = to_provider_login(browser, f"{issuer}/signin/with/plain", upstream)
        [form] = forms_of(page.text)
        wrong = browser.post(
            urljoin(str(page.url), form.action), data={"login": "plainuser", "password": "no"}
        )
        assert wrong.status_code == 200 and "Wrong" in wrong.text  # the provider's own page
        # The provider sends the user back with an error instead of a code.
        state = browser.cookies.get("mu_upstream")
        assert state  # still ours, HttpOnly, until the leg ends
        refused = browser.get(f"{issuer}/signin/callback?error=access_denied&state=x")
        assert refused.status_code == 400


def test_providers_through_the_auth_api(server: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def call(endpoint: str, **fields: Any) -> httpx.Response:
        return httpx.post(f"{server.base_url}/v1/auth/{endpoint}", json=fields, headers=headers)

    name = unique("p")[:20]
    with upstream_provider([client_for(server.base_url)], [ACCOUNT]) as upstream:
        made = call(
            "Providers.Create", id=name, kind="oidc", name="Upstream", issuer=upstream.issuer,
            client_id="micro-user", client_secret=SECRET,
        )  # fmt: skip
        assert made.status_code == 200, made.text
        provider = made.json()["provider"]
        assert provider["authorization_endpoint"].startswith(upstream.issuer)
        assert provider["scopes"] == ["openid", "email", "profile"]
        assert SECRET not in made.text
        listed = call("Providers.List")
        assert name in [p["id"] for p in listed.json()["providers"]] and SECRET not in listed.text
        again = call(
            "Providers.Create", id=name, kind="oidc", name="Upstream", issuer=upstream.issuer,
            client_id="micro-user", client_secret=SECRET,
        )  # fmt: skip
        assert again.status_code == 400 and "exists already" in again.json()["detail"]
        # An issuer its discovery document does not name.
        liar = call(
            "Providers.Create", id=f"{name}-x", kind="oidc", name="X",
            issuer=upstream.issuer + "/other", client_id="c", client_secret="s",
        )  # fmt: skip
        assert liar.status_code == 400 and liar.json()["id"] == "auth.providers.create"
    plain_http = call(
        "Providers.Create", id=f"{name}-y", kind="oauth2", name="Y", client_id="c",
        client_secret="s", authorization_endpoint="http://id.example/auth",
        token_endpoint="https://id.example/token", userinfo_endpoint="https://id.example/me",
    )  # fmt: skip
    assert plain_http.status_code == 400 and "https" in plain_http.json()["detail"]
    assert call("Providers.Delete", id=name).status_code == 200
    assert call("Providers.Delete", id=name).status_code == 404


def test_kept_tokens_are_sealed_at_rest(server: ServerProcess) -> None:
    """A provider added with --keep-tokens keeps the provider's tokens after sign-in, sealed
    (the database never holds them readable); the operator reads them with the CLI. One
    without it keeps none."""
    namespace = unique("kept")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    open_sign_up(server, namespace)
    account = {**ACCOUNT, "login": unique("kept"), "email": f"{namespace}@example.com"}
    with upstream_provider([client_for(issuer)], [account]) as upstream:
        added = server.cli(
            "provider", "add", "kept", "--name", "Kept", "--issuer", upstream.issuer,
            "--client-id", "micro-user", "--client-secret", SECRET, "--keep-tokens",
            "--namespace", namespace,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with httpx.Client(timeout=30) as browser:
            page = to_provider_login(browser, f"{issuer}/signin/with/kept", upstream.issuer)
            back = log_in_at_provider(browser, page, account["login"], account["password"])
            assert "Your account" in browser.get(back, follow_redirects=True).text
    shown = server.cli("user", "identities", account["login"], "--tokens", "-n", namespace)
    assert shown.returncode == 0, shown.stderr
    [identity] = json.loads(shown.stdout)
    assert identity["provider_id"] == "kept" and identity["subject"] == account["sub"]
    access_token = identity["tokens"]["access_token"]
    assert access_token and identity["tokens"]["id_token"].count(".") == 2
    url = server.env["MICRO_USER_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT * FROM linked_identities")).all()
            providers = conn.execute(sqlalchemy.text("SELECT * FROM identity_providers")).all()
    finally:
        engine.dispose()
    stored = repr(rows)
    assert account["sub"] in stored  # the row is there
    assert access_token not in stored and SECRET not in stored
    assert SECRET not in repr(providers)  # the client secret is sealed too
    plain = server.cli("user", "identities", account["login"], "-n", namespace)
    assert "tokens" not in json.loads(plain.stdout)[0]


def test_an_existing_account_is_linked_by_a_mailed_link(server: ServerProcess, mailbox) -> None:
    """Instead of the password (an account may not have one it knows), a link mailed to
    the account's address proves it: opened in the browser, a button links and signs in;
    it works once, and a link whose sealed identity was changed does not work."""
    namespace = unique("mailed")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    email = f"{namespace}@example.com"
    made = server.cli(
        "user", "create", "--username", namespace, "--email", email,
        "--password", "correct horse 1", "--namespace", namespace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    account = {**ACCOUNT, "login": "mailed", "email": email}
    with upstream_provider([client_for(issuer)], [account]) as upstream:
        added = server.cli(
            "provider", "add", "corp", "--name", "Corp", "--issuer", upstream.issuer,
            "--client-id", "micro-user", "--client-secret", SECRET, "--namespace", namespace,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        browser = Agent(server.base_url)
        page = to_provider_login(browser.http, f"{issuer}/signin/with/corp", upstream.issuer)
        back = log_in_at_provider(browser.http, page, "mailed", account["password"])
        asked = browser.go(back)
        assert "Link Corp to your account" in asked.text
        # Not while the account's address is unconfirmed: the mail would prove it and
        # link at once, leaving a password someone else may have set.
        unconfirmed = browser.submit({}, index=1)  # "Email me a link instead"
        assert unconfirmed.status_code == 400 and "Confirm the address first" in unconfirmed.text
        confirm(server, namespace, email)
        # Again (the provider remembers this browser: straight back).
        browser.page = browser.http.get(f"{issuer}/signin/with/corp", follow_redirects=True)
        assert "Link Corp to your account" in browser.page.text
        sent = browser.submit({}, index=1)
        assert sent.status_code == 200 and "Check your email" in sent.text
        [mail] = mailbox.wait_for(email, timeout=30)
        [link] = re.findall(r"https?://\S+", mail.get_payload(decode=True).decode())
        assert link.startswith(f"{issuer}/signin/link/")
        # A link whose sealed identity was changed: refused, and the token not spent.
        token, sealed = link.split("?i=")
        landing = browser.go(f"{token}?i={sealed[:-4]}AAAA")
        assert "Link and sign in" in landing.text
        assert browser.submit({}).status_code == 400
        # Another browser (a victim handed a mail that an attacker asked for): refused.
        elsewhere = Agent(server.base_url)
        elsewhere.go(link)
        refused = elsewhere.submit({})
        assert refused.status_code == 400 and "only in the browser" in refused.text
        # The real one: opening shows a button; the button links and signs in.
        landing = browser.go(link)
        assert "Link and sign in" in landing.text and "Your account" not in landing.text
        signed_in = browser.submit({})
        assert signed_in.status_code == 200 and "Your account" in signed_in.text, signed_in.text
        assert namespace in signed_in.text and "Corp" in signed_in.text
        # Once only.
        browser.go(link)
        assert browser.submit({}).status_code == 400
        # Linked: the provider alone signs in now.
        again = Agent(server.base_url)
        page = to_provider_login(again.http, f"{issuer}/signin/with/corp", upstream.issuer)
        back = log_in_at_provider(again.http, page, "mailed", account["password"])
        assert "Your account" in again.go(back).text


def confirm(server: ServerProcess, namespace: str, email: str) -> None:
    """Mark an address confirmed, as its owner's click on the confirmation mail would (the
    admin key of these tests acts in the default namespace only, so not through the API)."""
    url = server.env["MICRO_USER_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "UPDATE accounts SET verified = true WHERE namespace = :ns AND email = :email"
                ),
                {"ns": namespace, "email": email},
            )
    finally:
        engine.dispose()


def test_what_never_links_or_signs_in(server: ServerProcess, tmp_path) -> None:
    """An unverified email makes no account; an account with two-step sign-in is not
    linked from the sign-in (its owner links from the account page, signed in with both
    steps); and with an old session, linking and unlinking ask for a new sign-in."""
    namespace = unique("never")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    open_sign_up(server, namespace)
    strict = server.sibling(tmp_path, {"MICRO_USER_STEP_UP_SECONDS": "0"}).start()
    strict_issuer = f"{strict.base_url}/namespaces/{namespace}"
    client = client_for(issuer)
    client["redirect_uris"].append(f"{strict_issuer}/signin/callback")
    guarded_email = f"guarded-{namespace}@example.com"
    accounts = [
        {**ACCOUNT, "sub": "n-1", "login": "unverified", "email": f"u-{namespace}@example.com",
         "email_verified": False},
        {**ACCOUNT, "sub": "n-2", "login": "guarded", "email": guarded_email},
        {**ACCOUNT, "sub": "n-3", "login": "linker", "email": f"l-{namespace}@example.com"},
    ]  # fmt: skip
    try:
        with upstream_provider([client], accounts) as upstream:
            added = server.cli(
                "provider", "add", "corp", "--name", "Corp", "--issuer", upstream.issuer,
                "--client-id", "micro-user", "--client-secret", SECRET, "--namespace", namespace,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr

            def through(login: str, base: str = issuer) -> httpx.Response:
                with httpx.Client(timeout=30) as browser:
                    page = to_provider_login(browser, f"{base}/signin/with/corp", upstream.issuer)
                    back = log_in_at_provider(browser, page, login, ACCOUNT["password"])
                    return browser.get(back, follow_redirects=True)

            refused = through("unverified")
            assert refused.status_code == 401 and "verified" in refused.text
            listed = server.cli("user", "list", "-n", namespace)
            assert f"u-{namespace}@example.com" not in listed.stdout  # no account made

            made = server.cli(
                "user", "create", "--username", unique("g"), "--email", guarded_email,
                "--password", "correct horse 1", "-n", namespace,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
            policy = server.cli("factor-policy", "set", "--require", "everyone", "-n", namespace)
            assert policy.returncode == 0, policy.stderr
            guarded = through("guarded")
            assert guarded.status_code == 401 and "two-step sign-in" in guarded.text
            assert "Link Corp to your account" not in guarded.text
            server.cli("factor-policy", "set", "--require", "none", "-n", namespace)

            # Signed in on the strict instance (every session is old at once).
            linker = unique("l")
            made = server.cli(
                "user", "create", "--username", linker, "--email", f"x-{namespace}@example.com",
                "--password", "correct horse 1", "-n", namespace,
            )  # fmt: skip
            agent = Agent(strict_issuer)
            agent.go(f"{strict_issuer}/signin")
            assert (
                "Your account"
                in agent.submit({"login": linker, "password": "correct horse 1"}, index=0).text
            )
            stale = agent.http.get(f"{strict_issuer}/signin/with/corp?link=1")
            assert stale.status_code == 401 and "Sign in again first" in stale.text
            assert "location" not in stale.headers  # not sent to the provider
    finally:
        strict.stop()


def test_linking_from_the_account_page_and_unlinking_need_a_recent_sign_in(
    server: ServerProcess, tmp_path
) -> None:
    namespace = unique("relink")
    issuer = f"{server.base_url}/namespaces/{namespace}"
    strict = server.sibling(tmp_path, {"MICRO_USER_STEP_UP_SECONDS": "0"}).start()
    strict_issuer = f"{strict.base_url}/namespaces/{namespace}"
    client = client_for(issuer)
    username, password = unique("r"), "correct horse 1"
    made = server.cli(
        "user", "create", "--username", username, "--email", f"{namespace}@example.com",
        "--password", password, "-n", namespace,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    def signed_in(base: str) -> Agent:
        agent = Agent(base)
        agent.go(f"{base}/signin")
        page = agent.submit({"login": username, "password": password}, index=0)
        assert "Your account" in page.text
        return agent

    try:
        with upstream_provider([client], [ACCOUNT]) as upstream:
            added = server.cli(
                "provider", "add", "corp", "--name", "Corp", "--issuer", upstream.issuer,
                "--client-id", "micro-user", "--client-secret", SECRET, "--namespace", namespace,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
            fresh = signed_in(issuer)
            page = to_provider_login(
                fresh.http, f"{issuer}/signin/with/corp?link=1", upstream.issuer
            )
            back = log_in_at_provider(fresh.http, page, ACCOUNT["login"], ACCOUNT["password"])
            linked = fresh.http.get(back, follow_redirects=True)
            assert "Linked" in linked.text and "Unlink Corp" in linked.text

            old = signed_in(strict_issuer)
            page = old.go(f"{strict_issuer}/account")
            unlink = [i for i, f in enumerate(forms_of(page.text)) if "unlink" in f.fields]
            refused = old.submit({}, index=unlink[0])
            assert refused.status_code == 400 and "sign in again first" in refused.text
            assert "Unlink Corp" in refused.text  # still linked

            fresh.go(f"{issuer}/account")
            done = fresh.submit({}, index=unlink[0])
            assert done.status_code == 200 and "Unlinked" in done.text
            assert "Unlink Corp" not in done.text
    finally:
        strict.stop()
