"""OAuth clients: the applications that send their users to micro-user to sign in (the
authorization code flow), registered per namespace.

A confidential client (a server-side web application) gets a secret, shown once and
stored as a SHA-256 digest; a public client (a single-page or native application) has
none and must prove each code with PKCE. Each client names its redirect URIs exactly
(RFC 6749 section 3.1.2; compared character for character, RFC 9700 section 2.1), the
scopes it may ask for, and whether it is first-party (its users are not asked to
consent) or third-party."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import orjson

from micro_user.clock import Clock
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, NotFound
from micro_user.events.outbox import CLIENT_CREATED, CLIENT_DELETED, Outbox
from micro_user.storage import clients as repo
from micro_user.storage.database import Database
from micro_user.storage.rows import ClientRow
from micro_user.urls import split_url

SECRET_PREFIX = "mcs_"
ID_PREFIX = "mcl_"
MAX_REDIRECT_URIS = 10
MAX_REDIRECT_URI_LENGTH = 512
# What a client may ask for unless it is registered with fewer.
DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")
KNOWN_SCOPES = frozenset(DEFAULT_SCOPES)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Digest compared when the client does not exist, so that both answers take as long.
_ABSENT = digest("absent")


@dataclass(frozen=True, slots=True)
class Client:
    namespace: str
    id: str
    name: str
    public: bool
    first_party: bool
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created: int
    post_logout_redirect_uris: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: ClientRow) -> Client:
        return cls(
            namespace=row.namespace,
            id=row.id,
            name=row.name,
            public=row.secret_hash is None,
            first_party=row.first_party,
            redirect_uris=tuple(orjson.loads(row.redirect_uris)),
            scopes=tuple(row.scopes.split()),
            created=row.created,
            post_logout_redirect_uris=tuple(orjson.loads(row.post_logout_redirect_uris)),
        )


def check_redirect_uri(uri: str, error_id: str) -> str:
    """An absolute https URL, or http on a loopback host (RFC 8252 section 7.3); no
    fragment (RFC 6749 section 3.1.2), no user name or password, no wildcard."""
    if not uri or len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise BadRequest(error_id, f"a redirect URI is 1 to {MAX_REDIRECT_URI_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in uri) or "*" in uri:
        raise BadRequest(error_id, f"redirect URI {uri!r}: no spaces, controls or wildcards")
    parts = split_url(uri)
    if parts is None or not parts.hostname:
        raise BadRequest(error_id, f"redirect URI {uri!r} is not an absolute URL")
    if parts.fragment or "#" in uri:
        raise BadRequest(error_id, f"redirect URI {uri!r} must not have a fragment")
    if parts.username is not None or parts.password is not None:
        raise BadRequest(error_id, f"redirect URI {uri!r} must not carry a user name")
    loopback = parts.hostname.lower() in LOOPBACK_HOSTS
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise BadRequest(
            error_id, f"redirect URI {uri!r} must be https (http only on localhost or loopback)"
        )
    return uri


def check_scopes(scopes: list[str] | None, error_id: str) -> tuple[str, ...]:
    if not scopes:
        return DEFAULT_SCOPES
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise BadRequest(
            error_id,
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_SCOPES)}",
        )
    if "openid" not in scopes:
        raise BadRequest(error_id, "a client's scopes include openid (it signs users in)")
    return tuple(dict.fromkeys(scopes))


class Clients:
    def __init__(self, db: Database, outbox: Outbox, clock: Clock) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock

    async def create(
        self,
        namespace: str,
        *,
        name: str,
        redirect_uris: list[str],
        public: bool = False,
        first_party: bool = True,
        scopes: list[str] | None = None,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> tuple[Client, str]:
        """The new client and its secret ("" for a public client), shown only now."""
        error_id = "auth.clients.create"
        if not name or len(name) > 128:
            raise BadRequest(error_id, "a client needs a name of 1 to 128 characters")
        if not redirect_uris or len(redirect_uris) > MAX_REDIRECT_URIS:
            raise BadRequest(error_id, f"a client needs 1 to {MAX_REDIRECT_URIS} redirect URIs")
        uris = tuple(dict.fromkeys(check_redirect_uri(u, error_id) for u in redirect_uris))
        after_logout = post_logout_redirect_uris or []
        if len(after_logout) > MAX_REDIRECT_URIS:
            raise BadRequest(error_id, f"at most {MAX_REDIRECT_URIS} post-logout redirect URIs")
        logout_uris = tuple(dict.fromkeys(check_redirect_uri(u, error_id) for u in after_logout))
        allowed = check_scopes(scopes, error_id)
        secret = "" if public else SECRET_PREFIX + new_token()
        client = Client(
            namespace=namespace,
            id=ID_PREFIX + secrets.token_hex(12),
            name=name,
            public=public,
            first_party=first_party,
            redirect_uris=uris,
            scopes=allowed,
            created=self.clock(),
            post_logout_redirect_uris=logout_uris,
        )
        async with self.db.write() as conn:
            await repo.insert_client(
                conn,
                namespace=namespace,
                id=client.id,
                name=name,
                secret_hash=digest(secret) if secret else None,
                redirect_uris=orjson.dumps(list(uris)).decode(),
                scopes=" ".join(allowed),
                first_party=first_party,
                created=client.created,
                post_logout_redirect_uris=orjson.dumps(list(logout_uris)).decode(),
            )
            await self.outbox.record(
                conn,
                namespace,
                CLIENT_CREATED,
                client.created,
                payload={"client_id": client.id, "name": name, "public": public},
            )
        return client, secret

    async def find(self, namespace: str, id: str) -> Client | None:
        async with self.db.read() as conn:
            row = await repo.find_client(conn, namespace, id)
        return None if row is None else Client.of(row)

    async def list(self, namespace: str) -> list[Client]:
        async with self.db.read() as conn:
            return [Client.of(row) for row in await repo.list_clients(conn, namespace)]

    async def delete(self, namespace: str, id: str) -> None:
        async with self.db.write() as conn:
            if not await repo.delete_client(conn, namespace, id):
                raise NotFound("auth.clients.delete", f"no client {id!r}")
            await self.outbox.record(
                conn, namespace, CLIENT_DELETED, self.clock(), payload={"client_id": id}
            )

    async def authenticate(self, namespace: str, id: str, secret: str) -> Client | None:
        """The confidential client whose id and secret these are, else None; a public client
        never authenticates by secret. As long whether or not the client exists."""
        async with self.db.read() as conn:
            row = await repo.find_client(conn, namespace, id)
        stored = row.secret_hash if row is not None and row.secret_hash else _ABSENT
        if not hmac.compare_digest(stored, digest(secret)) or row is None or not row.secret_hash:
            return None
        return Client.of(row)
