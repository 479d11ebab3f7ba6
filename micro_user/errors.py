"""The one error family of micro-user, and the catalogue of every error id.

Domain code raises these; the HTTP layer turns them into the wire shape
``{id, code, detail, status}`` in one place (``micro_user.http.wire``), and the
CLI turns them into a message and an exit code. ``CATALOGUE`` below lists every id
with the statuses it comes with: the OpenAPI document declares each endpoint's errors
from it, ``docs/ERRORS.md`` is written from it, and with ``MICRO_USER_STRICT_ERRORS``
(the test suites set it) an answer outside it is a 500, so the catalogue cannot drift
from what the server says.

    ServiceError
     +-- BadRequest        400
     |    +-- Conflict     400  (a unique value is taken; Micro answers 400)
     +-- Unauthorized      401
     +-- Forbidden         403
     +-- NotFound          404
     +-- MethodNotAllowed  405
     +-- PayloadTooLarge   413
     +-- TooManyRequests   429
     +-- Unavailable       503
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus


class ServiceError(Exception):
    """A failure the caller can act on. ``id`` is stable; branch on it, not on ``detail``."""

    code: int = 500

    def __init__(self, id: str, detail: str) -> None:
        super().__init__(detail)
        self.id = id
        self.detail = detail

    @property
    def status(self) -> str:
        return HTTPStatus(self.code).phrase

    def to_wire(self) -> dict[str, object]:
        return {"id": self.id, "code": self.code, "detail": self.detail, "status": self.status}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, detail={self.detail!r})"


class BadRequest(ServiceError):
    code = 400


class Conflict(BadRequest):
    """A unique value (id, username, email) already belongs to another account."""


class Unauthorized(ServiceError):
    code = 401


class Forbidden(ServiceError):
    code = 403


class NotFound(ServiceError):
    code = 404


class MethodNotAllowed(ServiceError):
    code = 405

    def __init__(self, id: str, detail: str, allow: str) -> None:
        super().__init__(id, detail)
        self.allow = allow  # the methods that are allowed: the Allow header (RFC 9110)


class PayloadTooLarge(ServiceError):
    code = 413


class TooManyRequests(ServiceError):
    code = 429
    retry_after: int = 1


class Unavailable(ServiceError):
    code = 503


# The catalogue ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorKind:
    statuses: frozenset[int]
    means: str
    # An endpoint's own id (``user.login``): it also answers ``EVERY_ENDPOINT``.
    endpoint: bool = False


# What any endpoint may answer under its own id: another method (405), a body over the
# limit (413), a throttled caller (429), a counters' store that does not answer (503).
EVERY_ENDPOINT = frozenset({405, 413, 429, 503})


def _endpoint(statuses: set[int], means: str) -> ErrorKind:
    return ErrorKind(frozenset(statuses), means, endpoint=True)


def _check(statuses: set[int], means: str) -> ErrorKind:
    return ErrorKind(frozenset(statuses), means)


MALFORMED = "a field is missing, malformed or out of range"
CATALOGUE: dict[str, ErrorKind] = {
    # The user service: one id per endpoint, as Micro's handlers name them.
    "user.create": _endpoint({400}, MALFORMED),
    "user.read": _endpoint({400, 404}, f"{MALFORMED}; 404: no such account"),
    "user.update": _endpoint({400, 404}, f"{MALFORMED}, or a wrong password; 404: no such account"),
    "user.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such account"),
    "user.list": _endpoint({400}, MALFORMED),
    "user.updatepassword": _endpoint(
        {400, 401, 404}, f"{MALFORMED}; 401: the old password is wrong; 404: no such account"
    ),
    "user.login": _endpoint({400, 401}, f"{MALFORMED}; 401: invalid credentials"),
    "user.starttotp": _endpoint(
        {400, 401, 404},
        f"{MALFORMED}, or an authenticator is in force; 401: the password (asked when the "
        "user calls it on their own account) is wrong",
    ),
    "user.confirmtotp": _endpoint(
        {400, 404}, f"{MALFORMED}, none was started, or the code is not the app's now"
    ),
    "user.regeneraterecoverycodes": _endpoint(
        {400, 401, 404}, f"{MALFORMED}; 401: the code is not right"
    ),
    "user.removefactors": _endpoint(
        {400, 401, 404}, f"{MALFORMED}; 401: the code is not right; 404: no second factor"
    ),
    "user.login.second_factor": _check(
        {401},
        "the password was right and the account has a second factor: send Login again with "
        "factor_code",
    ),
    "user.login.second_factor_setup": _check(
        {401},
        "the password was right; the namespace requires a second factor the account has not set up",
    ),
    "factors.policy": _check(
        {400}, "a second-factor policy is none, everyone, or roles with the roles named"
    ),
    "factors.totp": _check(
        {400, 401, 404},
        "setting up an authenticator: none started, a code that is not the app's, or one is "
        "set up already; 401: a wrong password or code; 404: the account has no second "
        "factor",
    ),
    "factors.passkey": _check(
        {400, 401, 404},
        "a passkey: passkeys are off (the public URL has no host name), the browser sent no "
        "answer or one that is not a passkey, or it is registered already; 401: an answer not "
        "for this page, expired, used already, of an unknown passkey or with a counter that "
        "went backwards (a clone), or a wrong password; 404: the account has no such passkey",
    ),
    "federation.signin": _check(
        {400, 401, 404, 429},
        "signing in through an external identity provider did not work (the page says why): "
        "400 also when its email belongs to an account it may not be linked to (unverified)",
    ),
    "user.logout": _endpoint({400, 404}, f"{MALFORMED}; 404: no such session"),
    "user.logoutall": _endpoint({400, 404}, f"{MALFORMED}; 404: no such account"),
    "user.readsession": _endpoint({400, 401}, f"{MALFORMED}; 401: expired or ended"),
    "user.sendverificationemail": _endpoint({400}, MALFORMED),
    "user.verifyemail": _endpoint({400}, f"{MALFORMED}, or the link is unknown, used or expired"),
    "user.sendpasswordresetemail": _endpoint({400}, MALFORMED),
    "user.resetpassword": _endpoint({400}, f"{MALFORMED}, or the code is wrong or expired"),
    "user.sendmagiclink": _endpoint({400}, f"{MALFORMED}, or the address is not a link host"),
    "user.verifytoken": _endpoint({400}, MALFORMED),
    # Checks of the user service whose ids Micro's clients know.
    "users-email-check": _check({400}, "the email (or a look-alike) belongs to another account"),
    "users-username-check": _check(
        {400}, "the username (or a look-alike) belongs to another account"
    ),
    "users-userId-check": _check({400}, "the id belongs, or belonged, to another account"),
    "users-update-check": _check({400}, "this username or email cannot be used"),
    "users-email-format": _check({400}, "the email is not a valid address"),
    "users-username-format": _check({400}, "the username has a character it may not have"),
    "users-id-format": _check({400}, "the id is too long or has spaces or control characters"),
    "users-profile-format": _check({400}, "the profile has too many or too long entries"),
    "users-password-check": _check({400}, "the password is too short, too long or missing"),
    # The auth service.
    "auth.generate": _endpoint(
        {400, 403}, f"{MALFORMED}, or the id is taken; 403: a scope the caller does not hold"
    ),
    "auth.inspect": _endpoint({400, 401}, f"{MALFORMED}; 401: the token is not valid now"),
    "auth.token": _endpoint({400, 401}, f"{MALFORMED}; 401: unknown, wrong or spent credentials"),
    "auth.verify": _endpoint(
        {400, 401, 403},
        f"{MALFORMED}; 401: the token is not valid; 403: another namespace's rules",
    ),
    "auth.accounts.list": _endpoint({400}, MALFORMED),
    "auth.accounts.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such account"),
    "auth.accounts.changesecret": _endpoint(
        {400, 404}, f"{MALFORMED}, or the old secret is wrong; 404: no such account"
    ),
    "auth.rules.create": _endpoint({400}, f"{MALFORMED}, or the rule id is taken"),
    "auth.rules.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such rule"),
    "auth.rules.list": _endpoint({400}, MALFORMED),
    "auth.roles.create": _endpoint({400}, f"{MALFORMED}, or the role exists"),
    "auth.roles.delete": _endpoint({400, 404}, f"{MALFORMED}, or admin; 404: no such role"),
    "auth.roles.list": _endpoint({400}, MALFORMED),
    "auth.roles.grant": _endpoint(
        {400, 403, 404},
        f"{MALFORMED}; 403: a role the caller does not hold; 404: no such role or account",
    ),
    "auth.roles.revoke": _endpoint({400, 404}, f"{MALFORMED}; 404: the account does not hold it"),
    "auth.accounts": _check({404}, "no such service account (command line)"),
    "auth.clients.create": _endpoint(
        {400},
        f"{MALFORMED}: the name, a redirect URI (https, or http on loopback; exact, no "
        "fragment or wildcard) or a scope",
    ),
    "auth.clients.list": _endpoint({400}, MALFORMED),
    "auth.providers.create": _endpoint(
        {400},
        f"{MALFORMED}, a URL that is not https, an issuer whose discovery document is "
        "missing or names another issuer, or an id that is taken",
    ),
    "auth.providers.list": _endpoint({400}, MALFORMED),
    "auth.factorpolicy.read": _endpoint({400}, MALFORMED),
    "auth.factorpolicy.set": _endpoint({400}, MALFORMED),
    "auth.providers.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such provider"),
    "auth.clients.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such client"),
    "branding": _check(
        {400}, "a namespace's page branding: name, https logo URL or #rrggbb colour (command line)"
    ),
    "auth.role": _check({400}, "a role name is 1 to 64 letters, digits, '_', '.', ':' or '-'"),
    # Lifecycle events and the audit log.
    "events.webhooks.create": _endpoint({400}, MALFORMED),
    "events.webhooks.list": _endpoint({400}, MALFORMED),
    "events.webhooks.delete": _endpoint({400, 404}, f"{MALFORMED}; 404: no such webhook"),
    "events.deliveries.list": _endpoint({400}, MALFORMED),
    "events.deliveries.replay": _endpoint({400}, MALFORMED),
    "audit.list": _endpoint({400}, MALFORMED),
    # Any request.
    "auth": _check(
        {401, 403, 429},
        "401: no or invalid credentials; 403: the rules deny it; 429: too many invalid "
        "credentials from this address",
    ),
    "auth.forward": _check(
        {401, 403, 429},
        "the gateway endpoint's refusal: 401 no or invalid credentials, 403 not allowed or a "
        "path that cannot be judged (also nginx's answer to throttling), 429 throttled",
    ),
    "namespace-format": _check({400}, "the namespace named (Micro-Namespace) is malformed"),
    "micro-user.route": _check({404, 405}, "no such route, or not with this method"),
    "micro-user.database": _check({503}, "the database does not answer or cannot write"),
    "micro-user.ready": _check({503}, "not ready: the database does not answer or write"),
    "micro-user.internal": _check({500}, "a bug: the server log has the details"),
    "oauth.revocations": _check({400}, "the issuer named is not a namespace"),
    # Caught and said in their own shape (RFC 6749) by the OAuth endpoints.
    "oauth.revoke": _check({401, 403}, "the token is another namespace's or another client's"),
    # The mail queue's (it retries; never an answer).
    "mail.send": _check({503}, "the mail server could not be reached"),
    # The command line (its message and exit code; never an HTTP answer).
    "user.setpassword": _check({400, 404}, f"{MALFORMED}; 404: no such account"),
    "session.revoke": _check({400, 404}, f"{MALFORMED}; 404: no such session"),
    "key.create": _check({400}, "a key needs a name of at most 128 characters and a scope"),
    "key.revoke": _check({404}, "no such active key"),
    "import": _check({400}, "the export file cannot be read"),
    # Settings (a start refuses them, exit code 4).
    "settings.database_url": _check({400}, "MICRO_USER_DATABASE_URL cannot be read"),
    "settings.gateway_routes": _check({400}, "MICRO_USER_GATEWAY_ROUTES cannot be read"),
    "settings.jwt_algorithm": _check({400}, "the signing keys are of another algorithm"),
    "settings.key_encryption_key": _check(
        {400}, "MICRO_USER_KEY_ENCRYPTION_KEY is missing, weak or wrong"
    ),
}


def catalogued(error: ServiceError) -> bool:
    """Whether the catalogue lists this id with this status."""
    kind = CATALOGUE.get(error.id)
    if kind is None:
        return False
    return error.code in kind.statuses or (kind.endpoint and error.code in EVERY_ENDPOINT)


def catalogue_markdown() -> str:
    """docs/ERRORS.md: the catalogue, for people."""
    lines = [
        "# Error ids",
        "",
        "Every error micro-user answers is `{id, code, detail, status}` (HTTP status = "
        "`code`). Branch on `id`; `detail` is for people. This page is written from "
        "`micro_user/errors.py` (`python -m micro_user.errors > docs/ERRORS.md`); a test "
        "keeps it current. Every endpoint id may also come with "
        + ", ".join(str(code) for code in sorted(EVERY_ENDPOINT))
        + " (another method, a body over the limit, throttling, the counters' store away).",
        "",
        "| id | statuses | means |",
        "|---|---|---|",
    ]
    for id, kind in CATALOGUE.items():
        statuses = ", ".join(str(code) for code in sorted(kind.statuses))
        lines.append(f"| `{id}` | {statuses} | {kind.means} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
