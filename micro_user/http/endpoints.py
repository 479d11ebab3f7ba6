"""The endpoint registry: every API endpoint, its request and response models, in one table.

Routing, the OpenAPI document and the docs page are all derived from it, so
they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, is_dataclass
from typing import TYPE_CHECKING, Any, get_type_hints

from microuser.rules import Resource

from micro_user.errors import CATALOGUE, ErrorKind
from micro_user.http.wire import WireRequest

if TYPE_CHECKING:
    from micro_user.auth.models import Identity
    from micro_user.services import Services


@dataclass(frozen=True, slots=True)
class Context:
    services: Services
    identity: Identity | None
    # The caller's namespace, or for an anonymous call the one it names (Micro-Namespace).
    namespace: str


# A handler takes its endpoint's request model and returns its response message.
Handler = Callable[[Context, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    service: str  # "user"
    name: str  # "Create"; the handler is "User.Create"
    request: type[WireRequest]
    response: type[Any]  # a ``wire_response`` dataclass
    handler: Handler
    summary: str
    # Safe endpoints change nothing, and so may also be called with GET and query parameters.
    safe: bool = False
    # The request field naming the account it acts on: a user may call it for their own account.
    owner: str | None = None

    @property
    def path(self) -> str:
        return f"/v1/{self.service}/{self.name.replace('.', '/')}"

    @property
    def resource(self) -> Resource:
        """``service:user:User.Create``: what the rules see this endpoint as."""
        handler = self.name if "." in self.name else f"{self.service.title()}.{self.name}"
        return Resource("service", self.service, handler)

    @property
    def errors(self) -> frozenset[int]:
        """The statuses of its own errors (``micro_user.errors.CATALOGUE``)."""
        return CATALOGUE[self.error_id].statuses

    @property
    def error_id(self) -> str:
        """``user.login``, ``auth.rules.create``; a handler named like its service drops
        the repetition (``Auth.Generate`` of ``auth`` is ``auth.generate``)."""
        parts = self.name.lower().split(".")
        if len(parts) > 1 and parts[0] == self.service:
            parts = parts[1:]
        return ".".join([self.service, *parts])


class Registry:
    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Endpoint] = {}

    def add(
        self,
        service: str,
        name: str,
        request: type[WireRequest],
        response: type[Any],
        summary: str,
        safe: bool = False,
        owner: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            # The registry, the handler's signature (which mypy checks its body against) and
            # so the OpenAPI document name the same types, or the import fails.
            hints = get_type_hints(handler)
            declared = (hints.get("req"), hints.get("return"))
            if declared != (request, response) or not is_dataclass(response):
                raise TypeError(
                    f"{service}.{name}: the handler takes {declared[0]} and returns "
                    f"{declared[1]}; the registry says {request} and {response}"
                )
            endpoint = Endpoint(service, name, request, response, handler, summary, safe, owner)
            if not CATALOGUE.get(endpoint.error_id, ErrorKind(frozenset(), "")).endpoint:
                raise TypeError(f"{endpoint.error_id}: not an endpoint of micro_user.errors")
            self._by_key[(service, name.lower())] = endpoint
            return handler

        return register

    def resolve(self, parts: list[str]) -> Endpoint | None:
        """Find the endpoint for the path segments after ``/v1/``, as the Micro gateway did:
        ``user/create`` and ``user/User/Create`` both name ``User.Create`` of service ``user``."""
        if len(parts) < 2:
            return None
        service = parts[0].lower()
        rest = [p.lower() for p in parts[1:]]
        if len(rest) == 2 and rest[0] == service:
            rest = rest[1:]
        name = ".".join(rest)
        # "/v1/auth/token" is the auth service's own handler: Auth.Token.
        return self._by_key.get((service, name)) or self._by_key.get((service, f"{service}.{name}"))

    def __iter__(self) -> Any:
        return iter(self._by_key.values())


registry = Registry()
