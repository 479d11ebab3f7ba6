"""Access tokens and signing keys, with a clock the test controls."""

from __future__ import annotations

import base64
import json

import pytest

from micro_user.auth.signing import InvalidToken
from micro_user.storage import auth as auth_repo


@pytest.fixture
async def started(services):
    await services.start()
    return services


async def service_tokens(services, **fields):
    account = await services.service_accounts.generate("micro", **fields)
    return account, await services.tokens.client_credentials("micro", account.id, account.secret)


@pytest.mark.anyio
async def test_access_tokens_expire(started, clock):
    account, pair = await service_tokens(started)
    assert started.tokens.inspect(pair.access_token).id == account.id
    clock.now += 15 * 60 - 1
    started.tokens.inspect(pair.access_token)
    clock.now += 1
    with pytest.raises(InvalidToken, match="expired"):
        started.tokens.inspect(pair.access_token)


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


@pytest.mark.anyio
async def test_a_rotated_in_key_is_published_before_it_signs(started, clock):
    old_kid = started.signing.jwks()["keys"][0]["kid"]
    new_kid = await started.signing.rotate()
    # In the JWKS at once, so verifiers and caches have it before its first token.
    assert {k["kid"] for k in started.signing.jwks()["keys"]} == {old_kid, new_kid}
    assert [k["kid"] for k in await started.signing.describe() if k["signing"]] == [old_kid]
    _, pair = await service_tokens(started)
    assert kid_of(pair.access_token) == old_kid
    clock.now += started.settings.key_publish_seconds - 1
    assert kid_of((await service_tokens(started))[1].access_token) == old_kid
    clock.now += 1  # no reload needed: the switch time is known to every instance
    assert kid_of((await service_tokens(started))[1].access_token) == new_kid
    # Both keys verify what they signed.
    started.tokens.inspect(pair.access_token)


@pytest.mark.anyio
async def test_rotating_now_switches_at_once_and_rotations_queue_up(started, clock):
    first = started.signing.jwks()["keys"][0]["kid"]
    second = await started.signing.rotate()
    clock.now += 10
    third = await started.signing.rotate()
    assert kid_of((await service_tokens(started))[1].access_token) == first
    clock.now += started.settings.key_publish_seconds - 10
    assert kid_of((await service_tokens(started))[1].access_token) == second
    clock.now += 10
    assert kid_of((await service_tokens(started))[1].access_token) == third
    fourth = await started.signing.rotate(immediately=True)
    assert kid_of((await service_tokens(started))[1].access_token) == fourth


@pytest.mark.anyio
async def test_rotation_keeps_old_tokens_valid_until_they_expire(started, clock):
    _, before = await service_tokens(started)
    old_kid = started.signing.jwks()["keys"][0]["kid"]
    new_kid = await started.signing.rotate(immediately=True)
    assert {k["kid"] for k in started.signing.jwks()["keys"]} == {old_kid, new_kid}
    started.tokens.inspect(before.access_token)
    _, after = await service_tokens(started)
    assert kid_of(after.access_token) == new_kid
    assert started.signing.verify(after.access_token)
    clock.now += 15 * 60 + 61
    await started.signing.load()
    assert [k["kid"] for k in started.signing.jwks()["keys"]] == [new_kid]
    with pytest.raises(InvalidToken):
        started.signing.verify(before.access_token)


@pytest.mark.anyio
@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
async def test_other_algorithms_can_be_chosen(make_services, algorithm):
    services = make_services(jwt_algorithm=algorithm)
    await services.start()
    _, pair = await service_tokens(services)
    assert services.signing.jwks()["keys"][0]["alg"] == algorithm
    assert services.tokens.inspect(pair.access_token).type == "service"
    await services.close()


@pytest.mark.anyio
async def test_revoked_access_tokens_are_refused(started):
    _, pair = await service_tokens(started)
    await started.tokens.revoke(pair.access_token)
    with pytest.raises(InvalidToken, match="revoked"):
        started.tokens.inspect(pair.access_token)
    assert (await started.tokens.introspect(pair.access_token)) == {"active": False}


@pytest.mark.anyio
async def test_a_reload_that_ran_during_a_change_does_not_hide_it(started, clock):
    """The instance that revoked a token refuses it as soon as the request ends, even when
    a poll read the old state while the revocation was being committed (CI saw a revoked
    family's access token introspected as active)."""
    state = started.auth_state
    async with started.db.write() as conn:
        await auth_repo.record_revocation(conn, "micro", auth_repo.JTI, "jti-1", clock.now + 60)
        await auth_repo.bump_version(conn)
        await state.refresh()  # the poll, reading before the commit
        assert not state.refuses({"jti": "jti-1", "iss": "micro"})
    assert state.behind(), "the committed change was taken as seen"
    await state.catch_up()
    assert state.refuses({"jti": "jti-1", "iss": "micro"})


@pytest.mark.anyio
async def test_a_reload_that_failed_is_tried_again_by_the_next_request(started, clock):
    """A failed reload after a change (the database away for a moment) leaves the instance
    behind, so the next request reloads, instead of waiting for the poll."""
    state = started.auth_state
    async with started.db.write() as conn:
        await auth_repo.record_revocation(conn, "micro", auth_repo.JTI, "jti-2", clock.now + 60)
        await auth_repo.bump_version(conn)
    load_all = state.rules.load_all

    async def failing() -> None:
        raise OSError("the database is away")

    state.rules.load_all = failing
    await state.catch_up()
    assert state.behind() and not state.refuses({"jti": "jti-2"})
    state.rules.load_all = load_all
    await state.catch_up()
    assert not state.behind() and state.refuses({"jti": "jti-2"})


@pytest.mark.anyio
async def test_a_change_rolled_back_is_not_announced(started):
    state = started.auth_state
    with pytest.raises(RuntimeError):
        async with started.db.write() as conn:
            await auth_repo.bump_version(conn)
            raise RuntimeError("rolled back")
    assert not state.behind()
