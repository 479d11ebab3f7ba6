"""No request a client can send produces a 500: random payloads at every endpoint."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micro_user.http.app import registry  # importing the app registers every endpoint

ENDPOINTS = sorted(registry, key=lambda e: e.name)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def payloads(endpoint):
    known = list(endpoint.request.model_fields) + [
        f.alias for f in endpoint.request.model_fields.values() if f.alias
    ]
    keys = (st.sampled_from(known) | st.text(max_size=12)) if known else st.text(max_size=12)
    return st.dictionaries(keys, values, max_size=5)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_random_payloads_never_get_a_5xx(server, admin_key, endpoint):
    client = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payload=payloads(endpoint))
    def check(payload):
        response = client.post(endpoint.path, json=payload)
        assert response.status_code < 500, (payload, response.text)
        body = response.json()
        if response.status_code >= 400:
            assert (
                set(body) == {"id", "code", "detail", "status"}
                and body["code"] == response.status_code
            )

    try:
        check()
    finally:
        client.close()


@given(body=st.binary(max_size=200))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_bytes_never_get_a_5xx(server, admin_key, body):
    response = httpx.post(
        server.base_url + "/v1/user/Login",
        content=body,
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=30,
    )
    assert response.status_code < 500, (body, response.text)
