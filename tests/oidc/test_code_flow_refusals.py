"""The authorization code flow as an attacker tries it: redirect URIs that differ by a
character, missing or wrong PKCE verifiers, codes replayed, stolen by another client or
sent to another redirect URI, ID tokens passed off as access tokens, forms posted from
another site, and open redirects at logout. Each refusal is the one the standards name."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from tests.oidc.test_authlib_relying_party import REDIRECT_URI, discover, register
from tests.support.forms import Agent, forms_of
from tests.support.services import ADMIN_KEY, ServerProcess


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class Flow:
    """One relying party and one user's browser, by hand."""

    def __init__(self, server: ServerProcess, user: dict[str, Any], password: str, *args: str):
        self.server = server
        self.user, self.password = user, password
        self.client = register(server, *args)
        self.metadata = discover(server.base_url)
        self.agent = Agent(server.base_url)

    def url(self, **overrides: str) -> str:
        self.verifier, challenge = pkce()
        self.state = secrets.token_urlsafe(12)
        params = {
            "client_id": self.client["id"],
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid email",
            "state": self.state,
            "nonce": "n-" + secrets.token_hex(4),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return f"{self.metadata['authorization_endpoint']}?{urlencode(params)}"

    def sign_in(self, **overrides: str) -> httpx.Response:
        page = self.agent.go(self.url(**overrides))
        if page.status_code != 200:
            return page
        return self.agent.submit({"login": self.user["username"], "password": self.password})

    def code(self, **overrides: str) -> str:
        answer = self.sign_in(**overrides)
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == [self.state]
        return query["code"][0]

    def code_without_sign_in(self) -> str:
        """A code for the browser's live session (no page is shown)."""
        answer = self.agent.go(self.url())
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    def exchange(
        self, code: str, *, basic: tuple[str, str] | None = None, **overrides: str
    ) -> httpx.Response:
        """POST the code to the token endpoint as this client (its secret by HTTP Basic, or
        its id alone when public), or with other ``basic`` credentials."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
            **overrides,
        }
        own = (self.client["id"], self.client["secret"]) if self.client["secret"] else None
        auth = basic or own
        if auth is None:
            form.setdefault("client_id", self.client["id"])
        return httpx.post(self.metadata["token_endpoint"], data=form, auth=auth)

    def userinfo(self, access_token: str) -> int:
        return httpx.get(
            self.metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
        ).status_code


@pytest.fixture
def flow(server: ServerProcess, new_user):
    made = Flow(server, *new_user())
    yield made
    made.agent.close()


def error_at_client(answer: httpx.Response) -> dict[str, list[str]]:
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return parse_qs(urlsplit(location).query)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/",
        REDIRECT_URI.upper(),
        REDIRECT_URI + "?next=https://evil.example",
        REDIRECT_URI.replace(":9/", ":90/"),
        REDIRECT_URI.replace("127.0.0.1", "localhost"),
        REDIRECT_URI + "%2F..%2Fevil",
        "https://evil.example/callback",
        "",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_an_error_page_never_a_redirect(
    flow: Flow, redirect_uri: str
) -> None:
    answer = flow.agent.go(flow.url(redirect_uri=redirect_uri))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")


def test_an_unknown_client_is_an_error_page(flow: Flow) -> None:
    for client_id in ("", "mcl_" + "0" * 24):
        answer = flow.agent.go(flow.url(client_id=client_id))
        assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"request": "eyJ"}, "request_not_supported"),
        ({"prompt": "none"}, "login_required"),
    ],
)
def test_a_bad_request_from_a_known_client_goes_back_to_it_with_its_state(
    flow: Flow, overrides: dict[str, str], error: str
) -> None:
    query = error_at_client(flow.agent.go(flow.url(**overrides)))
    assert query["error"] == [error]
    assert query["state"] == [flow.state]
    assert query["iss"] == [flow.metadata["issuer"]]


def test_a_parameter_given_twice_is_refused(flow: Flow) -> None:
    answer = flow.agent.go(flow.url() + "&scope=openid+profile")
    assert error_at_client(answer)["error"] == ["invalid_request"]
    twice = flow.agent.go(flow.url() + "&redirect_uri=https%3A%2F%2Fevil.example%2F")
    assert twice.status_code == 400 and "location" not in twice.headers


@pytest.mark.parametrize("verifier", ["", "wrong-" + "x" * 50, "x" * 42])
def test_a_code_without_its_verifier_buys_nothing_and_is_spent(flow: Flow, verifier: str) -> None:
    code = flow.code()
    right = flow.verifier
    refused = flow.exchange(code, code_verifier=verifier)
    assert refused.status_code == 400
    assert refused.json()["error"] == ("invalid_request" if not verifier else "invalid_grant")
    if verifier:
        # A code is single-use whatever happened to it: the right verifier is too late.
        assert flow.exchange(code, code_verifier=right).json()["error"] == "invalid_grant"


def test_a_replayed_code_revokes_what_it_bought(flow: Flow) -> None:
    code = flow.code()
    first = flow.exchange(code)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert flow.userinfo(tokens["access_token"]) == 200
    replay = flow.exchange(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert flow.userinfo(tokens["access_token"]) == 401
    refreshed = httpx.post(
        flow.metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(flow.client["id"], flow.client["secret"]),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_redirect_uri_and_client(flow: Flow, server: ServerProcess) -> None:
    code = flow.code()
    other = register(server)
    stolen = flow.exchange(code, basic=(other["id"], other["secret"]))
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    moved = flow.exchange(code, redirect_uri=REDIRECT_URI + "/")
    assert moved.json()["error"] == "invalid_grant"


def test_client_authentication_is_the_clients_own(flow: Flow, server: ServerProcess) -> None:
    code = flow.code()
    wrong = flow.exchange(code, basic=(flow.client["id"], "mcs_wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # A confidential client cannot pass as public by leaving its secret out.
    bare = httpx.post(
        flow.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow.verifier,
            "client_id": flow.client["id"],
        },
    )
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    # The code was never spent by those attempts.
    assert flow.exchange(code).status_code == 200


def test_a_public_client_has_no_secret_to_send(server: ServerProcess, new_user) -> None:
    flow = Flow(server, *new_user(), "--public")
    code = flow.code()
    answer = flow.exchange(code, client_secret="anything")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert flow.exchange(code).status_code == 200


def test_a_refresh_token_is_refreshed_only_by_its_client(flow: Flow, server: ServerProcess) -> None:
    tokens = flow.exchange(flow.code()).json()
    other = register(server)
    for auth in ((other["id"], other["secret"]), None):
        answer = httpx.post(
            flow.metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=auth,
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # The Micro API's Auth.Token does not refresh it either.
    micro = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Token",
        json={"refreshToken": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert micro.status_code == 401
    answer = httpx.post(
        flow.metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(flow.client["id"], flow.client["secret"]),
    )
    assert answer.status_code == 200, answer.text


def test_an_id_token_is_not_an_access_token(flow: Flow, server: ServerProcess) -> None:
    tokens = flow.exchange(flow.code()).json()
    bearer = {"Authorization": f"Bearer {tokens['id_token']}"}
    read = httpx.post(
        f"{server.base_url}/v1/user/Read", json={"id": flow.user["id"]}, headers=bearer
    )
    assert read.status_code == 401
    assert flow.userinfo(tokens["id_token"]) == 401
    # The access token reads the user's own account, as any user's token does.
    own = httpx.post(
        f"{server.base_url}/v1/user/Read",
        json={"id": flow.user["id"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert own.status_code == 200, own.text


def test_a_token_of_the_micro_api_gets_no_userinfo(flow: Flow, server: ServerProcess) -> None:
    session = httpx.post(
        f"{server.base_url}/v1/user/Login",
        json={"username": flow.user["username"], "password": flow.password},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()["session"]
    token = httpx.post(
        f"{server.base_url}/v1/auth/Auth/Token",
        json={"sessionId": session["id"]},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ).json()["token"]["access_token"]
    assert flow.userinfo(token) == 401
    assert flow.userinfo("not-a-token") == 401


def test_forms_from_another_site_are_refused(flow: Flow, server: ServerProcess) -> None:
    page = flow.agent.go(flow.url())
    form = forms_of(page.text)[-1]
    fields = {**form.fields, "login": flow.user["username"], "password": flow.password}
    signin = f"{server.base_url}/signin"
    # No token, another token, no cookie, another site's Origin: each a 403, no session.
    for data, cookies, headers in (
        ({**fields, "csrf": ""}, None, {}),
        ({**fields, "csrf": secrets.token_urlsafe(32)}, None, {}),
        (fields, {}, {}),
        (fields, None, {"Origin": "https://evil.example"}),
    ):
        jar = flow.agent.http.cookies if cookies is None else httpx.Cookies(cookies)
        answer = httpx.post(signin, data=data, cookies=jar, headers=headers)
        assert answer.status_code == 403, answer.text
        assert not any(c.startswith("mu_session") for c in answer.cookies)
    # Every form of every page checks it.
    for path, method_fields in (
        ("/signup", {"username": "x", "email": "x@example.com"}),
        ("/forgot", {"email": "x@example.com"}),
        ("/reset", {"email": "x@example.com", "code": "1"}),
        ("/magic", {"email": "x@example.com"}),
        ("/magic/sometoken", {}),
        ("/consent", {"decision": "allow", **form.fields}),
        ("/account", {"revoke": "mcl_x"}),
        ("/account/factors", {"action": "start"}),
        ("/signin/factor", {"pending": "x", "code": "123456"}),
        ("/oauth/logout", {}),
    ):
        answer = flow.agent.http.post(path, data={**method_fields, "csrf": "forged"})
        assert answer.status_code == 403, (path, answer.status_code)


def test_logout_sends_browsers_only_to_registered_addresses(server: ServerProcess, new_user):
    back = "https://app.example/bye"
    flow = Flow(server, *new_user(), "--post-logout-redirect-uri", back)
    tokens = flow.exchange(flow.code()).json()
    end = flow.metadata["end_session_endpoint"]
    for target in ("https://evil.example/", back + "/", "//evil.example"):
        query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": target})
        answer = flow.agent.go(f"{end}?{query}")
        assert answer.status_code == 400 and "location" not in answer.headers
    assert flow.userinfo(tokens["access_token"]) == 200  # nothing ended
    # Without a hint of its own session, the user is asked; the question is a form.
    asked = flow.agent.go(f"{end}?{urlencode({'client_id': flow.client['id']})}")
    assert asked.status_code == 200 and "Sign out?" in asked.text
    assert flow.userinfo(tokens["access_token"]) == 200
    query = urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": back, "state": "s1"}
    )
    answer = flow.agent.go(f"{end}?{query}")
    assert answer.status_code == 303
    assert answer.headers["location"] == back + "?state=s1"
    assert flow.userinfo(tokens["access_token"]) == 401


def test_a_third_party_client_asks_consent_once_until_it_is_taken_back(
    server: ServerProcess, new_user
) -> None:
    flow = Flow(server, *new_user(), "--third-party")
    page = flow.sign_in()
    assert page.status_code == 200 and "Allow Notes?" in page.text
    denied = flow.agent.submit(button="deny")
    assert error_at_client(denied)["error"] == ["access_denied"]
    assert error_at_client(flow.agent.go(flow.url(prompt="none")))["error"] == ["consent_required"]
    flow.agent.go(flow.url())
    allowed = flow.agent.submit(button="allow")
    code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
    tokens = flow.exchange(code).json()
    # Asked once: the next request goes straight back with a code.
    assert "code" in error_at_client(flow.agent.go(flow.url()))
    account = flow.agent.go("/account")
    assert "Notes" in account.text
    flow.agent.submit({"revoke": flow.client["id"]}, index=0)
    assert flow.userinfo(tokens["access_token"]) == 401
    again = flow.agent.go(flow.url())
    assert again.status_code == 200 and "Allow Notes?" in again.text


def test_the_session_cookie_is_http_only_and_same_site(flow: Flow) -> None:
    answer = flow.sign_in()
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("mu_session_micro="))
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in session.lower()
    # Served over http on loopback (the tests' public URL), so not Secure; an https
    # public URL makes it Secure (tests/unit/test_pages.py).
    assert "secure" not in attributes


def test_a_mailed_sign_in_link_works_once_and_says_otp(
    server: ServerProcess, new_user, mailbox
) -> None:
    flow = Flow(server, *new_user())
    flow.agent.go("/magic")
    sent = flow.agent.submit({"email": flow.user["email"]})
    assert sent.status_code == 200 and "Check your mail" in sent.text
    [mail] = mailbox.wait_for(flow.user["email"])
    [link] = re.findall(r"https?://\S+", mail.get_payload(decode=True).decode())
    assert link.startswith(f"{server.base_url}/magic/")
    # Opening the link spends nothing: a mail scanner that follows it signs no one in.
    landing = flow.agent.go(link)
    assert landing.status_code == 200 and "mu_session_micro" not in flow.agent.http.cookies
    signed_in = flow.agent.submit()
    assert signed_in.status_code == 200 and flow.user["username"] in signed_in.text
    tokens = flow.exchange(flow.code_without_sign_in()).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["otp"]
    # The link worked once.
    other = Agent(server.base_url)
    other.go(link)
    again = other.submit()
    assert again.status_code == 400 and "does not work" in again.text
    other.close()


def test_a_reused_refresh_token_of_a_client_revokes_its_family(flow: Flow) -> None:
    tokens = flow.exchange(flow.code()).json()
    auth = (flow.client["id"], flow.client["secret"])

    def refresh(token: str) -> httpx.Response:
        return httpx.post(
            flow.metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=auth,
        )

    newer = refresh(tokens["refresh_token"]).json()
    assert refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(newer["refresh_token"]).json()["error"] == "invalid_grant"
    assert flow.userinfo(newer["access_token"]) == 401


def test_a_form_too_large_or_not_utf8_is_a_400_page(flow: Flow, server: ServerProcess) -> None:
    for path in ("/oauth/authorize", "/signin"):
        for body in (b"state=" + b"x" * 20_000, b"state=\xff\xfe"):
            answer = httpx.post(
                f"{server.base_url}{path}",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 400, (path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")
