"""The hosted pages' side of external identity providers ("Sign in with ..."):
``/signin/with/{provider}`` sends the browser to the provider, ``/signin/callback`` takes it
back, ``/signin/link`` links an identity to an existing account once its password is given.

What the browser carries between the two legs (provider, ``state``, ``nonce``, the PKCE
verifier, the authorization request it came with) is sealed with the key-encryption key in
one HttpOnly cookie, so no row is written before the provider answers; the ``state`` in the
callback must equal the cookie's, which binds the answer to this browser.

Which account an identity signs in:
- an identity linked already: its account (and its second factor, if it has one);
- else, an account with the provider's email, only if the provider says the email is
  verified, and only after the account's password is given here (then the two are linked);
  an unverified email never links, and never signs in;
- else a new account, where the namespace's rules let anyone sign up."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from micro_user.accounts.models import Account
from micro_user.crypto import digest, new_token
from micro_user.errors import BadRequest, Conflict, NotFound, Unauthorized
from micro_user.federation.providers import Identity, IdentityProvider, pkce_pair
from micro_user.http.pages import Pages
from micro_user.storage import accounts as accounts_repo

COOKIE = "mu_upstream"
# What the cookie holds: the way to the provider and back, an identity waiting for the
# account's password, or the mark of the browser a linking mail was asked from.
LEG, LINK, MAILED = "leg", "link", "mailed"
LEG_SECONDS = 600
# The amr of a sign-in through an external provider (RFC 8176 has no value for it).
FEDERATED_AMR = "fed"


def _username_of(identity: Identity) -> str:
    wanted = identity.username or identity.email.split("@")[0]
    cleaned = re.sub(r"[^a-z0-9._-]", "", wanted.lower())[:24].strip("._-")
    return cleaned if len(cleaned) >= 3 else "user"


class FederatedPages:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.services = pages.services
        self.federation = pages.services.federation

    def _seal(self, namespace: str, kind: str, fields: dict[str, Any]) -> str:
        """The cookie's value: ``fields`` sealed for one ``kind`` of step (LEG, LINK or
        MAILED), so that no step takes another's cookie."""
        kek_id, sealed = self.services.signing.ring.seal(
            f"upstream-{kind}:{namespace}", json.dumps(fields).encode()
        )
        return f"{kek_id}.{sealed}"

    def _opened(self, request: Request, namespace: str, kind: str) -> dict[str, Any] | None:
        value = request.cookies.get(COOKIE, "")
        try:
            kek_id, sealed = value.split(".", 1)
            fields = json.loads(
                self.services.signing.ring.open(f"upstream-{kind}:{namespace}", kek_id, sealed)
            )
        except Exception:  # any cookie that does not open is no cookie
            return None
        if (
            not isinstance(fields, dict)
            or int(fields.get("e", 0)) <= self.services.sessions.clock()
        ):
            return None
        return fields

    def _carry(self, response: Response, value: str) -> None:
        self.pages.set_cookie(response, COOKIE, value, max_age=LEG_SECONDS)

    def redirect_uri(self, namespace: str) -> str:
        return f"{self.services.issuers.issuer(namespace)}/signin/callback"

    # -- the first leg ----------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """Off to the provider (``?link=1``: to link it to the signed-in account)."""
        pages = self.pages
        namespace = pages.namespace(request)
        try:
            provider = await self.federation.get(namespace, request.path_params["provider"])
        except NotFound:
            return pages.message(request, "No such way to sign in", status=404)
        carried = pages.carried_of(dict(request.query_params))
        linking = ""
        if request.query_params.get("link") == "1":
            session = await pages.current(request, namespace)
            if session is None:
                return pages.redirect(f"{pages.base(namespace)}/signin")
            if not pages.fresh(session):
                # Step-up: an old session cookie alone cannot add a way in.
                return pages.message(
                    request,
                    "Sign in again first",
                    f"To link {provider.name}, sign in again (then it can be linked for a "
                    "few minutes).",
                    status=401,
                    link=f"{pages.base(namespace)}/signin",
                    link_text="Sign in",
                )
            linking = session.account_id
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair()
        leg = {
            "p": provider.id,
            "s": state,
            "n": nonce,
            "v": verifier,
            "c": carried,
            "l": linking,
            "e": self.services.sessions.clock() + LEG_SECONDS,
        }
        response = pages.redirect(
            self.federation.authorization_url(
                provider, self.redirect_uri(namespace), state, nonce, challenge
            )
        )
        self._carry(response, self._seal(namespace, LEG, leg))
        return response

    # -- the way back -----------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        pages = self.pages
        namespace = pages.namespace(request)
        leg = self._opened(request, namespace, LEG)
        state = request.query_params.get("state", "")
        if (
            leg is None
            or not state
            or not hmac.compare_digest(str(leg.get("s", "")).encode(), state.encode())
        ):
            return self._ended(
                pages.message(
                    request,
                    "This sign-in has expired",
                    "It took too long, or it was started in another browser. Sign in again.",
                    status=400,
                    link=f"{pages.base(namespace)}/signin",
                    link_text="Sign in",
                )
            )
        carried = {str(k): str(v) for k, v in dict(leg.get("c") or {}).items()}
        try:
            provider = await self.federation.get(namespace, str(leg["p"]))
            if "error" in request.query_params:
                raise Unauthorized("federation.signin", f"{provider.name} did not sign you in")
            identity = await self.federation.identity(
                provider,
                request.query_params.get("code", ""),
                str(leg["v"]),
                self.redirect_uri(namespace),
                str(leg["n"]),
            )
            if leg.get("l"):
                return self._ended(await self._link_signed_in(request, str(leg["l"]), identity))
            return self._ended(await self._sign_in(request, identity, carried))
        except (Unauthorized, NotFound, Conflict, BadRequest) as exc:
            return self._ended(
                pages.message(
                    request,
                    "Signing in did not work",
                    f"{exc.detail}.",
                    status=exc.code,
                    link=f"{pages.base(namespace)}/signin{pages.query_of(carried)}",
                    link_text="Back to sign-in",
                )
            )

    def _ended(self, response: Response) -> Response:
        """The leg's cookie goes, unless the response carries a new one (a link to ask
        the password for)."""
        marker = f"{COOKIE}=".encode()
        if not any(
            name == b"set-cookie" and value.startswith(marker)
            for name, value in response.raw_headers
        ):
            response.delete_cookie(COOKIE, path="/")
        return response

    async def _account(self, namespace: str, **by: str) -> Account | None:
        async with self.services.db.read() as conn:
            return await accounts_repo.find_account(conn, namespace, **by)

    async def _sign_in(
        self, request: Request, identity: Identity, carried: dict[str, str]
    ) -> Response:
        pages = self.pages
        provider = identity.provider
        namespace = provider.namespace
        linked = await self.federation.linked_account(identity)
        if linked is not None:
            account = await self._account(namespace, id=linked)
            if account is None:
                raise Unauthorized("federation.signin", "the linked account is gone")
            return await self.continue_sign_in(request, account, carried)
        if not identity.email:
            raise Unauthorized(
                "federation.signin", f"{provider.name} did not share an email address"
            )
        if not identity.email_verified:
            # Neither a new account nor a link on an address nobody proved: that would
            # let whoever claims an address at a provider hold its account here.
            raise Unauthorized(
                "federation.signin",
                f"{provider.name} does not say your email address is verified: verify it "
                f"there, or sign in here another way and link {provider.name} on your "
                "account page",
            )
        existing = await self._account(namespace, email=identity.email)
        if existing is not None:
            if await self._has_second_factor(existing):
                raise Unauthorized(
                    "federation.signin",
                    "an account here uses this email address with two-step sign-in: sign in "
                    f"to it, then link {provider.name} on your account page",
                )
            return self._ask_password(request, existing, identity, carried)
        if not pages.sign_up_allowed(namespace):
            raise Unauthorized(
                "federation.signin",
                f"no account is linked to this {provider.name} sign-in, and sign-up is closed",
            )
        account = await self._new_account(identity)
        await self.federation.link(account, identity)
        return await self.continue_sign_in(request, account, carried)

    async def _has_second_factor(self, account: Account) -> bool:
        factors = self.services.factors
        return await factors.required(account.namespace, account.id) or await factors.must_have(
            account.namespace, account.id
        )

    async def _new_account(self, identity: Identity) -> Account:
        namespace = identity.provider.namespace
        await self.services.sessions.abuse.before_sign_up("user.create")
        base = _username_of(identity)
        for attempt in range(5):
            username = base if attempt == 0 else f"{base}-{secrets.token_hex(3)}"
            try:
                account = await self.services.accounts.create(
                    namespace,
                    username=username,
                    email=identity.email,
                    # No password of its own: one nobody knows (the user can set one with
                    # "Forgot your password?").
                    password=secrets.token_urlsafe(32),
                )
            except Conflict as exc:
                if "username" in exc.detail:
                    continue
                raise
            async with self.services.db.write() as conn:  # the provider verified it
                await accounts_repo.update_account(conn, namespace, account.id, verified=True)
            return account
        raise Conflict("federation.signin", "no free username was found: try again")

    async def continue_sign_in(
        self, request: Request, account: Account, carried: dict[str, str]
    ) -> Response:
        """The account's second factor, if it has or must have one; else signed in."""
        pages, sessions = self.pages, self.services.sessions
        factors = self.services.factors
        namespace = account.namespace
        if await factors.required(namespace, account.id):
            pending = await sessions.begin_second_factor(account, FEDERATED_AMR)
            return await pages.factor_page(request, namespace, carried, pending)
        if await factors.must_have(namespace, account.id):
            pending = await sessions.begin_second_factor(account, FEDERATED_AMR)
            return await pages.setup_page(request, account, carried, pending)
        session = await sessions.start(account, FEDERATED_AMR)
        return await pages.after_sign_in(request, namespace, session, carried)

    # -- linking ----------------------------------------------------------------------

    def _ask_password(
        self,
        request: Request,
        account: Account,
        identity: Identity,
        carried: dict[str, str],
        *,
        error: str = "",
    ) -> Response:
        provider = identity.provider
        response = self.pages.render(
            request,
            "link.html",
            status=401 if error else 200,
            title=f"Link {provider.name} to your account",
            provider=provider,
            email=identity.email,
            carried=carried,
            error=error,
        )
        pending = {
            "p": provider.id,
            "sub": identity.subject,
            "email": identity.email,
            "a": account.id,
            "c": carried,
            "e": self.services.sessions.clock() + LEG_SECONDS,
        }
        self._carry(response, self._seal(provider.namespace, LINK, pending))
        return response

    async def link(self, request: Request) -> Response:
        """The password of the account an identity's verified email names: linked, and on
        with the sign-in."""
        pages = self.pages
        namespace = pages.namespace(request)
        form = await pages.read_form(request)
        pending = self._opened(request, namespace, LINK)
        if pending is None:
            return pages.message(
                request,
                "This sign-in has expired",
                "Sign in again.",
                status=400,
                link=f"{pages.base(namespace)}/signin",
                link_text="Sign in",
            )
        carried = {str(k): str(v) for k, v in dict(pending.get("c") or {}).items()}
        account = await self._account(namespace, id=str(pending["a"]))
        provider: IdentityProvider | None
        try:
            provider = await self.federation.get(namespace, str(pending["p"]))
        except NotFound:
            provider = None
        if account is None or provider is None:
            return self._ended(pages.message(request, "This sign-in has expired", status=400))
        identity = Identity(provider, str(pending["sub"]), str(pending["email"]), True, "", {})
        if await self._has_second_factor(account):  # set up since the page was shown
            return self._ended(pages.message(request, "This sign-in has expired", status=400))
        if form.get("action") == "mail":
            return self._ended(await self._mail_link(request, account, identity, carried))
        try:
            await self.services.sessions.confirm_password(
                account, form.get("password", ""), "federation.signin"
            )
        except Unauthorized:
            return self._ask_password(
                request, account, identity, carried, error="That is not the account's password."
            )
        await self.federation.link(account, identity)
        return self._ended(await self.continue_sign_in(request, account, carried))

    async def _link_signed_in(
        self, request: Request, account_id: str, identity: Identity
    ) -> Response:
        """Linking started from the account page: the browser must still be signed in to
        the account that started it."""
        pages = self.pages
        namespace = identity.provider.namespace
        session = await pages.current(request, namespace)
        account = await self._account(namespace, id=account_id)
        if session is None or session.account_id != account_id or account is None:
            raise Unauthorized("federation.signin", "sign in again, then link from your account")
        await self.federation.link(account, identity)
        return pages.redirect(f"{pages.base(namespace)}/account?linked={identity.provider.id}")

    # -- or a mailed link, for an account whose password the user does not have --------

    def _link_bound(self, namespace: str, token: str) -> str:
        return f"identity-link:{namespace}:{digest(token)}"

    async def _mail_link(
        self, request: Request, account: Account, identity: Identity, carried: dict[str, str]
    ) -> Response:
        pages = self.pages
        provider = identity.provider
        namespace = provider.namespace
        if not account.verified:
            # The mail would prove the address and link in one step, leaving whatever
            # someone set up before (a password) in place: the owner proves it first.
            return pages.message(
                request,
                "Confirm the address first",
                "This account's email address is not confirmed yet. Use its password, or "
                f"sign in with an emailed link (which confirms it), then link {provider.name} "
                "on your account page.",
                status=400,
            )
        token = new_token()
        binding = secrets.token_urlsafe(24)
        kek_id, sealed = self.services.signing.ring.seal(
            self._link_bound(namespace, token),
            json.dumps(
                {"p": provider.id, "sub": identity.subject, "c": carried, "b": binding}
            ).encode(),
        )
        link = (
            f"{self.services.issuers.issuer(namespace)}/signin/link/{token}"
            f"?{urlencode({'i': f'{kek_id}.{sealed}'})}"
        )
        await self.services.email.send_link_confirmation(
            account,
            token,
            f"Link {provider.name} to your account",
            f"Someone asked to sign in to your account with a {provider.name} account "
            f"(its id there: {identity.subject}). If it was you, open this link in the "
            f"browser you asked from:\n\n{link}\n\nIf it was not you, ignore this mail: "
            "nothing is linked without it, and the link works only in that browser.",
        )
        response = pages.message(
            request,
            "Check your email",
            f"We sent a link to {account.email}. Open it in this browser to link "
            f"{provider.name} and sign in.",
        )
        mailed = {"b": binding, "e": self.services.sessions.clock() + LEG_SECONDS * 3}
        self._carry(response, self._seal(namespace, MAILED, mailed))
        return response

    async def link_landing(self, request: Request) -> Response:
        """The mailed link. Opening it shows a button (mail scanners open links); the
        button links the identity and signs in."""
        pages = self.pages
        namespace = pages.namespace(request)
        token = request.path_params["token"]
        sealed = request.query_params.get("i", "")
        action = f"{pages.base(namespace)}/signin/link/{token}?{urlencode({'i': sealed})}"
        if request.method != "POST":
            return pages.render(
                request,
                "confirm.html",
                title="Link your account",
                explanation="Link the other sign-in to your account, and sign in.",
                action=action,
                button="Link and sign in",
            )
        await pages.read_form(request)
        broken = pages.message(
            request,
            "This link does not work",
            "It has expired or was used already. Sign in again to ask for a new one.",
            status=400,
            link=f"{pages.base(namespace)}/signin",
            link_text="Sign in",
        )
        try:
            kek_id, blob = sealed.split(".", 1)
            fields = json.loads(
                self.services.signing.ring.open(self._link_bound(namespace, token), kek_id, blob)
            )
            provider = await self.federation.get(namespace, str(fields["p"]))
        except Exception:  # a link that does not open is no link
            return broken
        # Only in the browser that asked for the mail: a victim who opens a mail that an
        # attacker had sent to them links nothing.
        mark = self._opened(request, namespace, MAILED)
        if mark is None or not hmac.compare_digest(
            str(mark.get("b", "")).encode(), str(fields.get("b", "")).encode()
        ):
            return pages.message(
                request,
                "Open the link where you asked for it",
                "This link works only in the browser that asked for the mail. If you did "
                "not ask for it, ignore it: nothing is linked.",
                status=400,
            )
        account = await self.services.email.spend_link_confirmation(namespace, token)
        if account is None or await self._has_second_factor(account):
            return broken
        carried = {str(k): str(v) for k, v in dict(fields.get("c") or {}).items()}
        identity = Identity(provider, str(fields["sub"]), account.email, True, "", {})
        await self.federation.link(account, identity)
        return self._ended(await self.continue_sign_in(request, account, carried))
