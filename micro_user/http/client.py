"""The client address of a request: the peer, or the last hop of the trusted proxy header."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def address_of(request: HTTPConnection, trusted_header: str) -> str:
    """The peer's address, or the last entry of ``trusted_header`` (the one our proxy added).

    Every line of the header counts: a proxy that appends its own ``X-Forwarded-For`` line
    instead of extending the client's leaves the client's line first, so the lines are joined
    (as RFC 9110 section 5.3 combines repeated fields) before the last hop is taken."""
    if trusted_header:
        lines = request.headers.getlist(trusted_header)
        if lines:
            last = ",".join(lines).split(",")[-1].strip()
            if last:
                return last[:64]
    return request.client.host if request.client else ""
