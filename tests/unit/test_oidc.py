"""The OpenID Provider's rules that need a clock or a byte-exact oracle: codes live 60
seconds and no longer; ``max_age`` asks a user to sign in again once the sign-in is older;
PKCE's S256 and the ID token's ``at_hash`` agree with Authlib's; the session cookie is
Secure behind an https public URL."""

from __future__ import annotations

import secrets

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from starlette.testclient import TestClient

from micro_user.errors import BadRequest
from micro_user.http.app import create_app
from micro_user.oidc.branding import contrast_with_white
from micro_user.oidc.claims import half_hash
from micro_user.oidc.provider import (
    CODE_TTL_SECONDS,
    GrantRefused,
    Redirect,
    SignIn,
    pkce_matches,
)
from micro_user.settings import Settings
from tests.support.services import ADMIN_KEY

pytestmark = pytest.mark.anyio
REDIRECT_URI = "https://app.example/callback"


def test_pkce_s256_agrees_with_authlib() -> None:
    for _ in range(20):
        verifier = secrets.token_urlsafe(48)
        challenge = create_s256_code_challenge(verifier)
        assert pkce_matches(verifier, challenge)
        assert not pkce_matches(verifier + "x", challenge)
    assert not pkce_matches("short", create_s256_code_challenge("short"))


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
def test_at_hash_agrees_with_authlib(algorithm: str) -> None:
    token = secrets.token_urlsafe(200)
    assert half_hash(token, algorithm) == create_half_hash(token, algorithm).decode()


async def a_request(services, **params: str):
    account = await services.accounts.create(
        "micro", username="ada", email="ada@example.com", password="correct horse 1"
    )
    client, secret = await services.clients.create(
        "micro", name="Notes", redirect_uris=[REDIRECT_URI]
    )
    verifier = secrets.token_urlsafe(48)
    pairs = {
        "client_id": client.id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        **params,
    }
    request = await services.provider.read_request("micro", list(pairs.items()))
    session = await services.sessions.login("micro", username="ada", password="correct horse 1")
    browser = await services.provider.browser_session("micro", session.id)
    return account, client, request, browser, verifier


def code_of(decision) -> str:
    assert isinstance(decision, Redirect)
    return decision.location.split("code=")[1].split("&")[0]


async def test_a_code_lives_sixty_seconds(services, clock) -> None:
    await services.start()
    _, client, request, browser, verifier = await a_request(services)
    late = code_of(await services.provider.decide(request, browser))
    on_time = code_of(await services.provider.decide(request, browser))
    clock.now += CODE_TTL_SECONDS - 1
    answer = await services.provider.exchange(client, on_time, REDIRECT_URI, verifier)
    assert answer.id_token
    clock.now += 1
    with pytest.raises(GrantRefused, match="used already or expired"):
        await services.provider.exchange(client, late, REDIRECT_URI, verifier)


async def test_max_age_asks_for_a_fresh_sign_in(services, clock) -> None:
    await services.start()
    _, _, request, browser, _ = await a_request(services, max_age="300")
    assert isinstance(await services.provider.decide(request, browser), Redirect)
    clock.now += 301
    assert isinstance(await services.provider.decide(request, browser), SignIn)
    # A sign-in made within the request answers it.
    assert isinstance(await services.provider.decide(request, browser, fresh=True), Redirect)


def test_the_cookies_are_secure_behind_an_https_public_url(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://id.example.com", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings), base_url="https://id.example.com") as client:
        made = client.post(
            "/v1/user/Create",
            json={"username": "ada", "email": "ada@example.com", "password": "correct horse 1"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert made.status_code == 200, made.text
        page = client.get("/signin")
        assert page.status_code == 200
        csrf = page.cookies["mu_csrf"]
        signed_in = client.post(
            "/signin",
            data={"csrf": csrf, "login": "ada", "password": "correct horse 1"},
            headers={"Origin": "https://id.example.com"},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        cookies = [*page.headers.get_list("set-cookie"), *signed_in.headers.get_list("set-cookie")]
        for name in ("mu_csrf", "mu_session_micro"):
            [cookie] = [c.lower() for c in cookies if c.startswith(f"{name}=")][:1]
            assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize(
    ("name", "logo_url", "color", "says"),
    [
        ("", "", "#1d4ed8", "1 to 64"),
        ("Shop\x00", "", "#1d4ed8", "control"),
        ("Shop", "http://cdn.example/logo.png", "#1d4ed8", "https"),
        ("Shop", "javascript:alert(1)", "#1d4ed8", "https"),
        ("Shop", "", "blue", "#rrggbb"),
        ("Shop", "", "#1d4ed8;}body{x", "#rrggbb"),
        # Yellow under white text is about 1.1:1.
        ("Shop", "", "#ffff00", "too light"),
        ("Shop", "", "#777777", "too light"),
    ],
)
async def test_branding_that_is_refused(services, name, logo_url, color, says) -> None:
    with pytest.raises(BadRequest, match=says):
        await services.brandings.set("micro", name=name, logo_url=logo_url, color=color)


async def test_branding_is_per_namespace(services) -> None:
    assert (await services.brandings.get("shop")).name == "micro-user"
    made = await services.brandings.set(
        "shop", name="Shop", logo_url="https://cdn.example/logo.png", color="#166534"
    )
    assert await services.brandings.get("shop") == made
    assert (await services.brandings.get("micro")).name == "micro-user"
    # #767676 is the lightest grey with 4.5:1 against white.
    assert contrast_with_white("#767676") >= 4.5 > contrast_with_white("#777777")
    await services.brandings.clear("shop")
    assert (await services.brandings.get("shop")).name == "micro-user"
