"""Passkeys over HTTP, from the attacker's side: a software authenticator
(``tests/support/authenticator.py``) answers the options the hosted pages carry, honestly or
not. A passkey is added only with the password, signs in alone with user verification and
makes a real Micro session, completes the second step after a password, and is refused when
its answer is replayed, made for another origin or relying party, signed over a challenge the
server did not make (or one that expired), counted backwards (a clone), for another
namespace, or for another account's second step. Removing the last one turns two-step
sign-in off and ends the recovery codes. Only the pages with a passkey form may run a script.

The server's public URL is http://localhost:<port>: the relying-party id must be a host
name. The browser's own WebAuthn is ``tests/browser/test_passkeys.py``."""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from webauthn.helpers import bytes_to_base64url

from conftest import unique
from micro_user.auth.key_encryption import KeyRing, parse_keys
from micro_user.factors.passkeys import SIGN_IN, Passkeys
from micro_user.http.pages import session_cookie
from tests.support.authenticator import Authenticator, passkey_options
from tests.support.forms import Agent, forms_of
from tests.support.services import ADMIN_KEY, KEY_ENCRYPTION_KEY, ServerProcess

PASSWORD = "correct horse 1"
NAMESPACE = "micro"  # the default namespace
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("passkeys-api")
    # The key-encryption key is given, so that a test can seal an expired challenge with it.
    process = ServerProcess(
        f"sqlite:///{workdir / 'micro-user.db'}",
        workdir,
        {"MICRO_USER_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY},
    )
    process.base_url = f"http://localhost:{process.port}"
    process.env["MICRO_USER_PUBLIC_URL"] = process.base_url
    process.start()
    yield process
    process.stop()


def create_user(server: ServerProcess) -> dict[str, Any]:
    name = unique("pk")
    made = httpx.post(
        f"{server.base_url}/v1/user/Create",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        headers=ADMIN,
    )
    assert made.status_code == 200, made.text
    account: dict[str, Any] = made.json()["account"]
    return account


def login(server: ServerProcess, username: str, **extra: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/user/Login",
        json={"username": username, "password": PASSWORD, **extra},
        headers=ADMIN,
    )


def signed_in(server: ServerProcess, username: str) -> Agent:
    agent = Agent(server.base_url)
    agent.go("/signin")
    page = agent.submit({"login": username, "password": PASSWORD}, index=0)
    assert page.status_code == 200 and "Your account" in page.text, page.text
    return agent


def add_passkey(agent: Agent, key: Authenticator, name: str = "Laptop") -> httpx.Response:
    """The account page's way: the password, then the browser's answer to the options."""
    agent.go("/account/factors")
    offered = agent.submit({"password": PASSWORD})  # the last form: "Add a passkey"
    assert offered.status_code == 200, offered.text
    return agent.submit({"credential": key.create(passkey_options(offered.text)), "name": name})


def recovery_codes(page: httpx.Response) -> list[str]:
    return re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", page.text)


def user_with_passkey(server: ServerProcess) -> tuple[dict[str, Any], Authenticator, list[str]]:
    user = create_user(server)
    key = Authenticator(server.base_url)
    codes = recovery_codes(add_passkey(signed_in(server, user["username"]), key))
    assert len(codes) == 10
    return user, key, codes


def passkey_sign_in(
    server: ServerProcess,
    key: Authenticator,
    *,
    base: str = "",
    answer: str = "",
    challenge: bytes | None = None,
    **changes: Any,
) -> tuple[Agent, httpx.Response]:
    """Signing in with a passkey alone from a fresh browser: the sign-in page, then its
    passkey form with ``answer`` (by default the key's answer to the page's options)."""
    agent = Agent(server.base_url)
    page = agent.go(f"{base}/signin")
    answer = answer or key.get(passkey_options(page.text), challenge=challenge, **changes)
    return agent, agent.submit({"credential": answer})


def signed_in_with_passkey(server: ServerProcess, key: Authenticator) -> Agent:
    agent, account = passkey_sign_in(server, key)
    assert account.status_code == 200 and "Your account" in account.text, account.text
    return agent


def assert_refused(agent: Agent, page: httpx.Response, why: str) -> None:
    assert page.status_code == 401, page.text
    assert why in html.unescape(page.text), page.text
    assert not any(name.startswith("mu_session_") for name in agent.http.cookies)


def test_a_passkey_is_added_with_the_password_and_then_signs_in_alone(
    server: ServerProcess,
) -> None:
    user = create_user(server)
    agent = signed_in(server, user["username"])
    agent.go("/account/factors")
    stolen = agent.submit({"password": "not the password"})
    assert stolen.status_code == 400 and "password is not the account" in stolen.text
    assert "data-passkey-create" not in stolen.text

    key = Authenticator(server.base_url)
    offered = agent.submit({"password": PASSWORD})
    options = json.loads(passkey_options(offered.text))
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    added = agent.submit({"credential": key.create(json.dumps(options)), "name": "Laptop"})
    assert added.status_code == 200 and len(recovery_codes(added)) == 10

    # A second passkey: the recovery codes stand, none are shown; the first is excluded.
    agent.go("/account/factors")
    offered = agent.submit({"password": PASSWORD})
    options = json.loads(passkey_options(offered.text))
    assert [d["id"] for d in options["excludeCredentials"]] == [
        bytes_to_base64url(key.credential_id)
    ]
    phone = Authenticator(server.base_url).create(json.dumps(options))
    second = agent.submit({"credential": phone, "name": "Phone"})
    assert "The passkey is added." in second.text and recovery_codes(second) == []
    page = agent.go("/account/factors")
    assert "Two-step sign-in is on" in page.text
    assert "Laptop" in page.text and "Phone" in page.text

    # The passkey alone signs in, to a real Micro session.
    browser, account = passkey_sign_in(server, key)
    assert account.status_code == 200 and "Your account" in account.text
    assert user["username"] in account.text
    cookie = browser.http.cookies[session_cookie(NAMESPACE)]
    read = httpx.post(
        f"{server.base_url}/v1/user/ReadSession", json={"session_id": cookie}, headers=ADMIN
    )
    assert read.status_code == 200, read.text
    assert read.json()["session"]["userId"] == user["id"]


def test_a_replayed_answer_is_refused(server: ServerProcess) -> None:
    _, key, _ = user_with_passkey(server)
    agent = Agent(server.base_url)
    answer = key.get(passkey_options(agent.go("/signin").text))
    assert agent.submit({"credential": answer}).status_code == 200
    # An authenticator that does not count (0): only the spent challenge stops the copy.
    assert_refused(*passkey_sign_in(server, key, answer=answer), "used already")


def test_answers_the_server_did_not_ask_for_are_refused(server: ServerProcess) -> None:
    user, key, _ = user_with_passkey(server)
    evil = passkey_sign_in(server, key, origin="http://evil.example")
    assert_refused(*evil, 'Unexpected client data origin "http://evil.example"')
    assert_refused(*passkey_sign_in(server, key, rp_id="evil.example"), "Unexpected RP ID hash")
    made_up = secrets.token_bytes(32)
    assert_refused(*passkey_sign_in(server, key, challenge=made_up), "not for this page")
    # Another account's user handle on this passkey.
    other = bytes_to_base64url(secrets.token_bytes(32))
    assert_refused(*passkey_sign_in(server, key, user_handle=other), "not one of this site's")
    # None of these spent the passkey: its own answer still signs in.
    _, account = passkey_sign_in(server, key)
    assert account.status_code == 200 and user["username"] in account.text


def test_an_expired_challenge_is_refused(server: ServerProcess) -> None:
    """A challenge sealed as the server seals them, with the server's key-encryption key,
    that expired a second ago (no clock to move: the server's challenges live 300 s)."""
    _, key, _ = user_with_passkey(server)
    fields = {"a": "", "h": "", "e": int(time.time()) - 1, "r": secrets.token_urlsafe(16)}
    ring = KeyRing(parse_keys(KEY_ENCRYPTION_KEY))
    kek_id, sealed = ring.seal(Passkeys._bound(NAMESPACE, SIGN_IN), json.dumps(fields).encode())
    expired = f"{kek_id}.{sealed}".encode()
    assert_refused(*passkey_sign_in(server, key, challenge=expired), "expired")


def test_a_cloned_authenticator_is_refused(server: ServerProcess) -> None:
    _, key, _ = user_with_passkey(server)
    key.sign_count = 5
    _, account = passkey_sign_in(server, key)
    assert account.status_code == 200, account.text
    # The same key, copied when its counter was lower.
    assert_refused(*passkey_sign_in(server, key, sign_count=3), "sign count of 3 was not greater")


def test_a_passkey_alone_needs_user_verification(server: ServerProcess) -> None:
    user, key, _ = user_with_passkey(server)
    unverified = passkey_sign_in(server, key, user_verified=False)
    assert_refused(*unverified, "User verification is required")
    _, account = passkey_sign_in(server, key)
    assert account.status_code == 200 and user["username"] in account.text


def test_a_passkey_works_only_for_its_own_namespace_and_account(server: ServerProcess) -> None:
    _, key, _ = user_with_passkey(server)
    elsewhere = "/namespaces/passkeys-elsewhere"
    assert_refused(*passkey_sign_in(server, key, base=elsewhere), "not one of this site's")
    # An answer to this namespace's page, posted to the other's.
    answer = key.get(passkey_options(Agent(server.base_url).go("/signin").text))
    assert_refused(
        *passkey_sign_in(server, key, base=elsewhere, answer=answer), "not for this page"
    )

    # User B's password, then user A's passkey as B's second step.
    b, b_key, _ = user_with_passkey(server)
    agent = Agent(server.base_url)
    agent.go("/signin")
    second_step = agent.submit({"login": b["username"], "password": PASSWORD}, index=0)
    wrong = agent.submit({"credential": key.get(passkey_options(second_step.text))})
    assert wrong.status_code == 401 and "That passkey did not work." in wrong.text
    assert not any(name.startswith("mu_session_") for name in agent.http.cookies)
    # B's own passkey still completes it: the refusal did not end B's sign-in.
    done = agent.submit({"credential": b_key.get(passkey_options(wrong.text))})
    assert done.status_code == 200 and b["username"] in done.text


def test_the_password_then_asks_for_the_passkey_or_a_recovery_code(
    server: ServerProcess,
) -> None:
    user, key, codes = user_with_passkey(server)
    agent = Agent(server.base_url)
    agent.go("/signin")
    second_step = agent.submit({"login": user["username"], "password": PASSWORD}, index=0)
    assert second_step.status_code == 200 and "Two-step sign-in" in second_step.text
    assert "Use a passkey" in second_step.text
    done = agent.submit({"credential": key.get(passkey_options(second_step.text))})
    assert done.status_code == 200 and "Your account" in done.text

    # The Micro API's Login: the second factor is asked for; a recovery code gives it.
    asked = login(server, user["username"])
    assert asked.status_code == 401 and asked.json()["id"] == "user.login.second_factor"
    signed_in_by_code = login(server, user["username"], factor_code=codes[0])
    assert signed_in_by_code.status_code == 200, signed_in_by_code.text
    assert login(server, user["username"], factor_code=codes[0]).status_code == 401


def test_removing_the_last_passkey_turns_two_step_sign_in_off(server: ServerProcess) -> None:
    user, key, codes = user_with_passkey(server)
    agent = signed_in_with_passkey(server, key)
    page = agent.go("/account/factors")
    [removing] = [
        i
        for i, form in enumerate(forms_of(page.text))
        if form.fields.get("action") == "passkey-remove"
    ]
    [passkey] = re.findall(r'<option value="([^"]+)"', page.text)
    stolen = agent.submit({"passkey": passkey, "password": "not the password"}, index=removing)
    assert stolen.status_code == 400 and "Laptop" in stolen.text
    removed = agent.submit({"passkey": passkey, "password": PASSWORD}, index=removing)
    assert removed.status_code == 200 and "The passkey is removed." in removed.text
    assert "Two-step sign-in is off" in removed.text
    assert_refused(*passkey_sign_in(server, key), "not one of this site's")

    # The password alone signs in again; the old recovery codes are gone with the passkey.
    assert login(server, user["username"]).status_code == 200
    fresh = recovery_codes(add_passkey(agent, Authenticator(server.base_url)))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert login(server, user["username"], factor_code=codes[1]).status_code == 401
    assert login(server, user["username"], factor_code=fresh[0]).status_code == 200


def test_only_pages_with_a_passkey_form_may_run_a_script(server: ServerProcess) -> None:
    def policy(page: httpx.Response) -> str:
        assert page.status_code in (200, 403), page.text  # sign-up may be closed
        return page.headers["content-security-policy"]

    user, key, _ = user_with_passkey(server)
    agent = Agent(server.base_url)
    with_form = [agent.go("/signin")]
    with_form.append(agent.submit({"login": user["username"], "password": PASSWORD}, index=0))
    without = [agent.submit({"credential": key.get(passkey_options(with_form[-1].text))})]
    without.append(agent.go("/account/factors"))
    with_form.append(agent.submit({"password": PASSWORD}))  # "Add a passkey"
    without.append(agent.go("/signup"))
    for page in with_form:
        assert "script-src 'self';" in policy(page), page.url
        assert '<script src="/assets/passkeys.js" defer>' in page.text
    for page in without:
        assert "script-src" not in policy(page) and "default-src 'none'" in policy(page), page.url
        assert "<script" not in page.text

    script = httpx.get(f"{server.base_url}/assets/passkeys.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "navigator.credentials.get" in script.text


def test_a_passkey_form_sent_without_javascript_gets_a_clear_error(
    server: ServerProcess,
) -> None:
    needs_script = "passkeys need JavaScript"
    user, key, _ = user_with_passkey(server)
    assert_refused(*passkey_sign_in(server, key, answer="not json"), "not a passkey")
    agent = Agent(server.base_url)
    agent.go("/signin")
    assert_refused(agent, agent.submit({"credential": ""}), needs_script)

    second_step = agent.submit({"login": user["username"], "password": PASSWORD}, index=0)
    assert "Use a passkey" in second_step.text
    unanswered = agent.submit({"credential": ""})
    assert unanswered.status_code == 401 and needs_script in unanswered.text

    agent = signed_in_with_passkey(server, key)
    agent.go("/account/factors")
    agent.submit({"password": PASSWORD})
    unmade = agent.submit({"credential": "", "name": "Laptop"})
    assert unmade.status_code == 400 and needs_script in unmade.text


def test_an_account_with_passkeys_only_renews_its_recovery_codes(server: ServerProcess) -> None:
    """No authenticator app, so no app code to renew them with: a recent sign-in (or the
    password) does it, and the old codes stop working."""
    user, key, codes = user_with_passkey(server)
    agent = signed_in_with_passkey(server, key)
    page = agent.go("/account/factors")
    assert 'id="passkey-codes-left">10<' in page.text
    renew = [
        i
        for i, form in enumerate(forms_of(page.text))
        if form.fields.get("action") == "renew-codes"
    ]
    assert len(renew) == 1
    renewed = agent.submit({}, index=renew[0])
    fresh = recovery_codes(renewed)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert login(server, user["username"], factor_code=codes[1]).status_code == 401
    assert login(server, user["username"], factor_code=fresh[0]).status_code == 200
