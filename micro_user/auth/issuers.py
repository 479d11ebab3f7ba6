"""One issuer per namespace, a URL (OpenID Connect Discovery 1.0, section 4; RFC 8414):
tokens carry it as ``iss``, and its discovery document, served under it, names it as
``issuer``, so that any OpenID Connect library that checks the issuer accepts our tokens.

The default namespace's issuer is the public URL itself (``MICRO_USER_PUBLIC_URL``);
another namespace's is ``{public URL}/namespaces/{namespace}``. Tokens also carry the
namespace as a claim of its own (``namespace``), which is what the service, the SDKs and
gateways act on; Micro's ``Auth.Inspect`` answers it as the account's ``issuer``.

Tokens from before issuers were URLs carry the bare namespace as ``iss`` and no
``namespace`` claim: ``namespace_of`` reads both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from micro_user.accounts.validation import check_namespace
from micro_user.errors import BadRequest

NAMESPACE_CLAIM = "namespace"
# Where the issuers of namespaces other than the default live, under the public URL.
NAMESPACES_PATH = "/namespaces"


def namespace_of(claims: Mapping[str, Any]) -> str:
    """The namespace of verified claims ("" when they name none)."""
    named = claims.get(NAMESPACE_CLAIM)
    if isinstance(named, str) and named:
        return named
    issuer = claims.get("iss")
    # A token of before issuers were URLs: its iss is the namespace.
    return issuer if isinstance(issuer, str) and "/" not in issuer else ""


class Issuers:
    """The issuer of each namespace, and the namespace of each issuer."""

    def __init__(self, public_url: str, default_namespace: str) -> None:
        self.base = public_url.rstrip("/")
        self.default_namespace = default_namespace
        self._prefix = f"{self.base}{NAMESPACES_PATH}/"

    def issuer(self, namespace: str) -> str:
        if namespace == self.default_namespace:
            return self.base
        return self._prefix + namespace

    def namespace(self, issuer: str) -> str | None:
        """The namespace whose issuer this is; a bare namespace (the ``iss`` of tokens of
        before) names itself. None when it is neither."""
        if issuer == self.base:
            return self.default_namespace
        if issuer.startswith(self._prefix):
            return self.under_namespaces(issuer[len(self._prefix) :])
        return None if "/" in issuer else _checked(issuer)

    def under_namespaces(self, named: str) -> str | None:
        """The namespace whose issuer is ``/namespaces/{named}``: None for the default one
        (its issuer is the public URL alone) and for a malformed name."""
        return None if named == self.default_namespace else _checked(named)


def _checked(named: str) -> str | None:
    try:
        return check_namespace(named)
    except BadRequest:
        return None
