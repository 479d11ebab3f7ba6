"""The hosted pages and the browser's side of the OpenID Provider: the authorization
endpoint, sign-in, sign-up, forgotten password, magic link, consent, the account page and
RP-initiated logout. Served under each issuer (``/signin`` for the default namespace,
``/namespaces/{namespace}/signin`` for another).

Server-rendered HTML that needs no JavaScript. The browser's session is a Micro login
session (``User.ReadSession`` reads it) in a cookie named per namespace, ``HttpOnly``,
``SameSite=Lax``, and ``Secure`` whenever the public URL is https. Every form carries a
CSRF token that must equal the ``mu_csrf`` cookie (double submit); a cross-site ``Origin``
is refused as well. Pages allow no script, styles only from here, and forms that post only
here (and on to the client's redirect URI, which browsers check a form's redirects
against). The abuse protection is the API's: the same services, with the same limits."""

from __future__ import annotations

import contextlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
import segno
from microuser.rules import Resource
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from micro_user.abuse.protection import client_address
from micro_user.accounts.models import Account, Session
from micro_user.accounts.validation import control_character
from micro_user.email.flows import CODE_PLACEHOLDER, LINK_PLACEHOLDER
from micro_user.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
)
from micro_user.events import outbox
from micro_user.http.client import address_of
from micro_user.http.oauth import FORM_LIMIT, issuer_of_path
from micro_user.http.wire import read_body
from micro_user.oidc.branding import DEFAULT
from micro_user.oidc.provider import AskConsent, BrowserSession, Decision, Redirect, SignIn
from micro_user.oidc.requests import (
    CARRIED,
    AuthorizationError,
    AuthorizationRequest,
    RequestRefused,
    single_values,
)
from micro_user.services import Services
from micro_user.sessions.service import SIGN_IN_EXPIRED
from micro_user.storage import accounts as accounts_repo

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ASSETS_PATH = "/assets"
CSRF_COOKIE = "mu_csrf"
CSRF_FIELD = "csrf"
SIGN_UP = Resource("service", "user", "User.Create")
SCOPE_TEXT = {
    "openid": "know who you are",
    "profile": "see your username and profile",
    "email": "see your email address",
    "offline_access": "stay signed in while you are away",
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


class CsrfRefused(Exception):
    """A form that did not come from our own page."""


class BadInput(Exception):
    """A form or query no page can take (a control character, a body too large)."""


def qr_image(uri: str) -> str:
    """The QR code of an otpauth:// URI, as an SVG data URI (the pages' policy allows
    images from data:, no script)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def day(at: int | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d", time.gmtime(at))


def passkey_name(user_agent: str) -> str:
    """A first name for a new passkey: the kind of device it is being made on."""
    for marker, name in (
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android phone"),
        ("Macintosh", "Mac"),
        ("Windows", "Windows computer"),
        ("CrOS", "Chromebook"),
        ("Linux", "Linux computer"),
    ):
        if marker in user_agent:
            return f"Passkey on {name}"
    return "Passkey"


def session_cookie(namespace: str) -> str:
    return f"mu_session_{namespace}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Pages:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.provider = services.provider
        self.secure = urlsplit(services.settings.public_url).scheme == "https"
        self.public_origin = origin_of(services.settings.public_url)

    # -- plumbing ---------------------------------------------------------------------

    def namespace(self, request: Request) -> str:
        named = issuer_of_path(request, self.services)
        return self.settings.default_namespace if named is None else named

    def base(self, namespace: str) -> str:
        """The issuer's path, which every page's links and forms start with."""
        return urlsplit(self.services.issuers.issuer(namespace)).path.rstrip("/")

    def handled(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Every refusal as a page (or, once the client's redirect URI is established, as a
        redirect to it)."""

        async def endpoint(request: Request) -> Response:
            client_address.set(address_of(request, self.settings.trusted_proxy_header))
            outbox.actor.set("hosted-page")
            try:
                request.state.brand = await self.services.brandings.get(self.namespace(request))
                for name, value in request.query_params.multi_items():
                    if control_character(name + value):
                        raise BadInput(f"the parameter {name!r} holds a control character")
                return await handler(request)
            except AuthorizationError as exc:
                namespace = exc.request.namespace
                return self.redirect(exc.location(self.services.issuers.issuer(namespace)))
            except RequestRefused as exc:
                return self.message(
                    request, "This sign-in request cannot go on", exc.description, status=400
                )
            except BadInput as exc:
                return self.message(request, "This request cannot be read", f"{exc}.", status=400)
            except CsrfRefused:
                return self.message(
                    request,
                    "This form has expired",
                    "Go back, reload the page and send it again.",
                    status=403,
                )
            except TooManyRequests as exc:
                response = self.message(request, "Too many attempts", f"{exc.detail}.", status=429)
                response.headers["Retry-After"] = str(exc.retry_after)
                return response

        return endpoint

    def redirect(self, location: str) -> Response:
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})

    def render(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        title: str,
        form_targets: tuple[str, ...] = (),
        **context: Any,
    ) -> HTMLResponse:
        namespace = self.namespace(request)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        if len(csrf) < 32:
            csrf = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(16)
        context.setdefault("carried", {})
        context.setdefault("notice", "")
        context.setdefault("error", "")
        context.setdefault("passkey_options", "")
        context.setdefault("passkey_create", "")
        context.setdefault("passkey_name", "")
        script = bool(context["passkey_options"] or context["passkey_create"])
        html = _templates.get_template(template).render(
            title=title,
            brand=getattr(request.state, "brand", DEFAULT),
            base=self.base(namespace),
            assets=ASSETS_PATH,
            csrf=csrf,
            nonce=nonce,
            passkey_script=script,
            **context,
        )
        targets = " ".join(dict.fromkeys(origin_of(t) for t in form_targets))
        scripts = "script-src 'self'; " if script else ""
        policy = (
            f"default-src 'none'; {scripts}style-src 'self' 'nonce-{nonce}'; img-src 'self' https: data:; "
            f"form-action 'self' {targets}".rstrip()
            + "; frame-ancestors 'none'; base-uri 'none'"
        )
        response = HTMLResponse(
            html,
            status,
            headers={
                "Content-Security-Policy": policy,
                # Not no-referrer: with it, browsers send "Origin: null" on a form's POST,
                # and the Origin check could not tell our own forms from another site's.
                "Referrer-Policy": "same-origin",
                "Cache-Control": "no-store",
                "Pragma": "no-cache",
            },
        )
        self.set_cookie(response, CSRF_COOKIE, csrf, max_age=24 * 3600)
        return response

    def message(
        self,
        request: Request,
        title: str,
        explanation: str = "",
        *,
        status: int = 200,
        link: str = "",
        link_text: str = "",
    ) -> HTMLResponse:
        return self.render(
            request,
            "message.html",
            status=status,
            title=title,
            explanation=explanation,
            link=link,
            link_text=link_text,
        )

    def set_cookie(self, response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    async def sign_in_browser(self, request: Request, response: Response, session: Session) -> None:
        """The browser's cookie holds the new session. An earlier session of another
        account in this browser ends (its cookie is gone; nobody should hold it on); one
        of the same account stays, with the tokens its applications got from it."""
        cookie = session_cookie(session.namespace)
        earlier = await self.current(request, session.namespace)
        if earlier is not None and earlier.account_id != session.account_id:
            with contextlib.suppress(NotFound):
                await self.services.sessions.logout(session.namespace, earlier.id)
        max_age = max(1, session.expires - self.services.sessions.clock())
        self.set_cookie(response, cookie, session.id, max_age=max_age)

    async def posted(self, request: Request) -> list[tuple[str, str]]:
        """The fields of a posted form, read up to ``FORM_LIMIT`` bytes."""
        try:
            body = await read_body(request, FORM_LIMIT, "pages")
        except PayloadTooLarge:
            raise BadInput(f"the form is larger than {FORM_LIMIT} bytes") from None
        try:
            return parse_qsl(body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BadInput("the form is not UTF-8") from None

    async def read_form(self, request: Request) -> dict[str, str]:
        """A posted form, after its CSRF token is checked against the cookie."""
        origin = request.headers.get("origin")
        if origin is not None and origin != self.public_origin:
            raise CsrfRefused()
        form, _ = single_values(await self.posted(request))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = form.get(CSRF_FIELD, "")
        if len(cookie) < 32 or not hmac.compare_digest(cookie.encode(), sent.encode()):
            raise CsrfRefused()
        for name, value in form.items():
            if control_character(name + value):
                raise BadInput(f"the field {name!r} holds a control character")
        return form

    async def current(self, request: Request, namespace: str) -> BrowserSession | None:
        return await self.provider.browser_session(
            namespace, request.cookies.get(session_cookie(namespace), "")
        )

    def carried_of(self, source: dict[str, str]) -> dict[str, str]:
        return {name: source[name] for name in CARRIED if name in source}

    def query_of(self, carried: dict[str, str]) -> str:
        return f"?{urlencode(carried)}" if carried else ""

    async def pending(self, namespace: str, carried: dict[str, str]) -> AuthorizationRequest | None:
        """The authorization request a page carries, checked again (a form is input)."""
        if not carried.get("client_id"):
            return None
        return await self.provider.read_request(namespace, list(carried.items()))

    async def answer(self, request: Request, decision: Decision) -> Response:
        if isinstance(decision, Redirect):
            return self.redirect(decision.location)
        namespace = decision.request.namespace
        if isinstance(decision, SignIn):
            query = self.query_of(decision.request.carried(drop_prompts=("login",)))
            return self.redirect(f"{self.base(namespace)}/signin{query}")
        return await self.consent_page(request, decision)

    async def consent_page(self, request: Request, decision: AskConsent) -> Response:
        async with self.services.db.read() as conn:
            account = await accounts_repo.find_account(
                conn, decision.request.namespace, id=decision.session.account_id
            )
        return self.render(
            request,
            "consent.html",
            title=f"Allow {decision.request.client.name}?",
            client=decision.request.client,
            scopes=[SCOPE_TEXT.get(s, s) for s in decision.request.scopes],
            username=account.username if account else "",
            carried=decision.request.carried(drop_prompts=("login", "consent")),
            form_targets=(decision.request.redirect_uri,),
        )

    async def after_sign_in(
        self, request: Request, namespace: str, session: Session, carried: dict[str, str]
    ) -> Response:
        """Where a browser goes once it signed in: on with the request it carries, or to
        the account page."""
        pending = await self.pending(namespace, carried)
        if pending is None:
            response = self.redirect(f"{self.base(namespace)}/account")
        else:
            browser = BrowserSession(
                session.id,
                namespace,
                session.account_id,
                session.created,
                session.expires,
                session.amr,
                None,
            )
            response = await self.answer(
                request, await self.provider.decide(pending, browser, fresh=True)
            )
        await self.sign_in_browser(request, response, session)
        return response

    def sign_up_allowed(self, namespace: str) -> bool:
        """Sign-up is open where the namespace's rules let anyone call User.Create."""
        return self.services.guard.allows(None, namespace, SIGN_UP)

    # -- the authorization endpoint ---------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        namespace = self.namespace(request)
        if request.method == "POST":
            pairs = await self.posted(request)
        else:
            pairs = list(request.query_params.multi_items())
        pending = await self.provider.read_request(namespace, pairs)
        session = await self.current(request, namespace)
        return await self.answer(request, await self.provider.decide(pending, session))

    # -- sign-in and sign-up ----------------------------------------------------------

    async def signin(self, request: Request) -> Response:
        namespace = self.namespace(request)
        if request.method == "POST":
            form = await self.read_form(request)
            carried = self.carried_of(form)
            login, password = form.get("login", "").strip(), form.get("password", "")
            by = {"email": login} if "@" in login else {"username": login}
            sessions = self.services.sessions
            try:
                account, stored, renew = await sessions.authenticate(
                    namespace, password=password, **by
                )
            except (Unauthorized, BadRequest):
                return await self.signin_page(
                    request,
                    namespace,
                    carried,
                    status=401,
                    login=login,
                    error="Wrong username, email or password.",
                )
            factors = self.services.factors
            if await factors.required(namespace, account.id):
                pending = await sessions.begin_second_factor(account)
                return await self.factor_page(request, namespace, carried, pending)
            if await factors.must_have(namespace, account.id):
                pending = await sessions.begin_second_factor(account)
                return await self.setup_page(request, account, carried, pending)
            session = await sessions.start(
                account, "pwd", rehash=(stored, password) if renew else None
            )
            return await self.after_sign_in(request, namespace, session, carried)
        carried = self.carried_of(dict(request.query_params))
        notice = {
            "1": "Your email address is confirmed. Sign in to go on.",
            "0": "That confirmation link has expired or was used already.",
        }.get(request.query_params.get("verified", ""), "")
        return await self.signin_page(request, namespace, carried, notice=notice)

    async def factor_page(
        self,
        request: Request,
        namespace: str,
        carried: dict[str, str],
        pending: str,
        *,
        error: str = "",
    ) -> Response:
        request_ = await self.pending(namespace, carried)
        account = await self.services.sessions.pending_account(namespace, pending)
        return self.render(
            request,
            "factor.html",
            status=401 if error else 200,
            title="Two-step sign-in",
            carried=carried,
            pending=pending,
            error=error,
            passkey_options=await self.services.passkeys.second_step_options(account) or "",
            form_targets=(request_.redirect_uri,) if request_ else (),
        )

    def expired_sign_in(
        self, request: Request, namespace: str, carried: dict[str, str]
    ) -> Response:
        return self.message(
            request,
            "This sign-in has expired",
            "Sign in again.",
            status=401,
            link=f"{self.base(namespace)}/signin{self.query_of(carried)}",
            link_text="Sign in",
        )

    async def setup_page(
        self,
        request: Request,
        account: Account,
        carried: dict[str, str],
        pending: str,
        *,
        error: str = "",
    ) -> Response:
        """Setting up the authenticator the namespace's policy requires, inside sign-in."""
        secret, uri = await self.services.factors.start_totp(account)
        return self.render(
            request,
            "setup.html",
            status=400 if error else 200,
            title="Set up two-step sign-in",
            carried=carried,
            pending=pending,
            secret=secret,
            qr=qr_image(uri),
            error=error,
        )

    async def signin_setup(self, request: Request) -> Response:
        """The first code of the authenticator set up inside sign-in: the session, and the
        recovery codes, shown once, before going on."""
        namespace = self.namespace(request)
        form = await self.read_form(request)
        carried, pending = self.carried_of(form), form.get("pending", "")
        sessions = self.services.sessions
        try:
            session, codes = await sessions.finish_with_new_factor(
                namespace, pending, form.get("code", "")
            )
        except BadRequest:
            account = await sessions.pending_account(namespace, pending)
            return await self.setup_page(
                request, account, carried, pending, error="That code is not the app's code now."
            )
        except Unauthorized:
            return self.expired_sign_in(request, namespace, carried)
        base = self.base(namespace)
        # On with the request; the sign-in just made answers a prompt=login.
        going = dict(carried)
        prompts = [p for p in going.pop("prompt", "").split() if p != "login"]
        if prompts:
            going["prompt"] = " ".join(prompts)
        going_on = self.query_of(going)
        response = self.render(
            request,
            "factors.html",
            title="Two-step sign-in is on",
            codes=codes,
            qr="",
            factor=None,
            next_url=f"{base}/oauth/authorize{going_on}" if carried else f"{base}/account",
            next_text="Continue",
        )
        await self.sign_in_browser(request, response, session)
        return response

    async def signin_factor(self, request: Request) -> Response:
        """The second step of signing in to an account with a second factor."""
        namespace = self.namespace(request)
        form = await self.read_form(request)
        carried, pending = self.carried_of(form), form.get("pending", "")
        sessions, answer = self.services.sessions, form.get("credential", "")
        try:
            if "credential" in form:
                session = await sessions.finish_second_step(
                    namespace,
                    pending,
                    lambda account: self.services.passkeys.second_step(
                        account, self.passkey_answer(answer)
                    ),
                )
            else:
                session = await sessions.finish_second_factor(
                    namespace, pending, form.get("code", "")
                )
        except Unauthorized as exc:
            if exc.detail == SIGN_IN_EXPIRED:
                return self.expired_sign_in(request, namespace, carried)
            wrong = "That passkey did not work." if "credential" in form else ""
            return await self.factor_page(
                request, namespace, carried, pending, error=wrong or "That code is not right."
            )
        except BadRequest as exc:
            return await self.factor_page(
                request, namespace, carried, pending, error=f"{exc.detail}."
            )
        return await self.after_sign_in(request, namespace, session, carried)

    def passkey_answer(self, answer: str) -> str:
        if not answer:
            raise BadRequest(
                "factors.passkey",
                "the browser sent no passkey: passkeys need JavaScript, and a browser that "
                "has them",
            )
        return answer

    async def signin_passkey(self, request: Request) -> Response:
        """Signing in with a passkey alone (the sign-in page's second form)."""
        namespace = self.namespace(request)
        form = await self.read_form(request)
        carried = self.carried_of(form)
        passkeys = self.services.passkeys
        try:
            account_id, amr = await passkeys.sign_in(
                namespace, self.passkey_answer(form.get("credential", ""))
            )
            async with self.services.db.read() as conn:
                account = await accounts_repo.find_account(conn, namespace, id=account_id)
            if account is None:
                raise Unauthorized("factors.passkey", "this passkey's account is gone")
            session = await self.services.sessions.start(account, amr)
        except (BadRequest, Unauthorized) as exc:
            return await self.signin_page(
                request, namespace, carried, status=401, error=f"{exc.detail}."
            )
        return await self.after_sign_in(request, namespace, session, carried)

    async def factors(self, request: Request) -> Response:
        """Two-step sign-in on the account page: set up an authenticator (a QR code to
        scan, then a code from it), new recovery codes, or turning it off (each change
        asks for a current code)."""
        namespace = self.namespace(request)
        form = await self.read_form(request) if request.method == "POST" else {}
        session = await self.current(request, namespace)
        if session is None:
            return await self.signin_page(request, namespace, {})
        async with self.services.db.read() as conn:
            account = await accounts_repo.find_account(conn, namespace, id=session.account_id)
        if account is None:
            return await self.signin_page(request, namespace, {})
        factors, passkeys = self.services.factors, self.services.passkeys
        action, code = form.get("action", ""), form.get("code", "")
        context: dict[str, Any] = {"title": "Two-step sign-in", "codes": [], "qr": ""}
        try:
            if action == "start":
                # Step-up: whoever holds only an old session cookie cannot add their own
                # authenticator and lock the owner out.
                await self.stepped_up(session, account, form, "factors.totp")
                secret, uri = await factors.start_totp(account)
                qr = qr_image(uri)
                context.update(qr=qr, secret=secret)
            elif action == "confirm":
                context["codes"] = await factors.confirm_totp(account, code)
            elif action == "passkey-start":
                await self.stepped_up(session, account, form, "factors.passkey")
                context["passkey_create"] = await passkeys.registration_options(account)
                context["passkey_name"] = passkey_name(request.headers.get("user-agent", ""))
            elif action == "passkey-finish":
                answer = self.passkey_answer(form.get("credential", ""))
                context["codes"] = await passkeys.register(account, answer, form.get("name", ""))
                if not context["codes"]:
                    context["notice"] = "The passkey is added."
            elif action == "passkey-remove":
                await self.stepped_up(session, account, form, "factors.passkey")
                allowed = not await factors.must_have(namespace, account.id)
                await passkeys.remove(account, form.get("passkey", ""), last_allowed=allowed)
                context["notice"] = "The passkey is removed."
            elif action == "renew-codes":  # an account with passkeys and no app
                await self.stepped_up(session, account, form, "factors.passkey")
                if not (await factors.status(namespace, account.id)).passkeys:
                    raise BadRequest("factors.passkey", "this account has no passkey")
                context["codes"] = await factors.regenerate_recovery_codes(account)
            elif action in ("codes", "remove"):
                await factors.check(account, code, "factors.totp")
                if action == "codes":
                    context["codes"] = await factors.regenerate_recovery_codes(account)
                else:
                    await factors.remove(account, reason="user")
                    context["notice"] = "Two-step sign-in is off."
        except (BadRequest, NotFound, Unauthorized) as exc:
            context["error"] = f"{exc.detail}."
        context["factor"] = await factors.status(namespace, account.id)
        context["fresh"] = self.fresh(session)
        context["passkeys_available"] = passkeys.available
        context["passkeys"] = [
            {"id": row.id, "name": row.name, "added": day(row.created), "used": day(row.last_used)}
            for row in await passkeys.of_account(account)
        ]
        status = 400 if context.get("error") else 200
        return self.render(request, "factors.html", status=status, **context)

    def fresh(self, session: BrowserSession) -> bool:
        """Whether the browser signed in within ``step_up_seconds``."""
        now = self.services.sessions.clock()
        return session.auth_time > now - self.settings.step_up_seconds

    async def stepped_up(
        self, session: BrowserSession, account: Account, form: dict[str, str], error_id: str
    ) -> None:
        """Step-up before a change to the second factors: a sign-in within
        ``step_up_seconds``, or else the password again (a password sent is checked
        either way)."""
        if self.fresh(session) and not form.get("password"):
            return
        await self.services.sessions.confirm_password(account, form.get("password", ""), error_id)

    async def signin_page(
        self,
        request: Request,
        namespace: str,
        carried: dict[str, str],
        *,
        status: int = 200,
        login: str = "",
        error: str = "",
        notice: str = "",
    ) -> Response:
        pending = await self.pending(namespace, carried)
        return self.render(
            request,
            "signin.html",
            status=status,
            title="Sign in",
            client=pending.client if pending else None,
            carried=carried,
            query=self.query_of(carried),
            login=login or (pending.login_hint if pending else ""),
            signup=self.sign_up_allowed(namespace),
            error=error,
            notice=notice,
            providers=await self.services.federation.of_namespace(namespace),
            passkey_options=(
                self.services.passkeys.sign_in_options(namespace)
                if self.services.passkeys.available
                else ""
            ),
            form_targets=(pending.redirect_uri,) if pending else (),
        )

    async def signup(self, request: Request) -> Response:
        namespace = self.namespace(request)
        if not self.sign_up_allowed(namespace):
            return self.message(
                request,
                "Sign-up is closed",
                "Accounts here are made by the people who run this service.",
                status=403,
                link=f"{self.base(namespace)}/signin",
                link_text="Sign in",
            )
        form = await self.read_form(request) if request.method == "POST" else {}
        carried = self.carried_of(form or dict(request.query_params))
        pending = await self.pending(namespace, carried)
        context: dict[str, Any] = {
            "title": "Create an account",
            "client": pending.client if pending else None,
            "carried": carried,
            "query": self.query_of(carried),
            "username": form.get("username", ""),
            "email": form.get("email", ""),
            "min_length": self.settings.password_min_length,
            "form_targets": (pending.redirect_uri,) if pending else (),
        }
        if request.method != "POST":
            return self.render(request, "signup.html", **context)
        if form.get("password", "") != form.get("confirm", ""):
            return self.render(
                request, "signup.html", status=400, error="The passwords differ.", **context
            )
        await self.services.sessions.abuse.before_sign_up("user.create")
        try:
            account = await self.services.accounts.create(
                namespace,
                username=form.get("username", ""),
                email=form.get("email", ""),
                password=form.get("password", ""),
            )
        except (BadRequest, Conflict) as exc:
            return self.render(
                request, "signup.html", status=exc.code, error=f"{exc.detail}.", **context
            )
        await self.send_confirmation(namespace, account.email)
        async with self.services.db.write() as conn:
            session = await self.services.sessions.start_for(conn, account, "pwd")
        return await self.after_sign_in(request, namespace, session, carried)

    async def send_confirmation(self, namespace: str, email: str) -> None:
        base = self.services.issuers.issuer(namespace)
        try:
            await self.services.email.send_verification_email(
                namespace,
                email=email,
                subject="Confirm your email address",
                text_content=(
                    "Confirm that this is your email address by opening this link:\n\n"
                    f"{LINK_PLACEHOLDER}\n\nIf you did not create an account, ignore this mail."
                ),
                redirect_url=f"{base}/signin?verified=1",
                failure_redirect_url=f"{base}/signin?verified=0",
            )
        except TooManyRequests:
            pass  # the account exists; the user can ask for the mail again later

    # -- forgotten password and magic links -------------------------------------------

    async def forgot(self, request: Request) -> Response:
        namespace = self.namespace(request)
        base = self.base(namespace)
        if request.method == "POST":
            form = await self.read_form(request)
            email = form.get("email", "").strip()
            link = f"{self.services.issuers.issuer(namespace)}/reset?{urlencode({'email': email})}"
            try:
                await self.services.email.send_password_reset_email(
                    namespace,
                    email=email,
                    subject="Your password reset code",
                    text_content=(
                        f"Your code is {CODE_PLACEHOLDER}. Enter it at {link} to choose a new "
                        "password.\n\nIf you did not ask for it, ignore this mail."
                    ),
                )
            except BadRequest as exc:
                return self.email_page(request, namespace, "forgot", error=f"{exc.detail}.")
            # The same answer whether or not an account has the address.
            return self.redirect(f"{base}/reset?{urlencode({'email': email, 'sent': '1'})}")
        return self.email_page(request, namespace, "forgot")

    def email_page(
        self, request: Request, namespace: str, kind: str, *, error: str = "", status: int = 0
    ) -> Response:
        base = self.base(namespace)
        forgot = kind == "forgot"
        return self.render(
            request,
            "email.html",
            status=status or (400 if error else 200),
            title="Forgot your password?" if forgot else "Sign in with a link",
            explanation=(
                "Enter your email address and we will send you a code to choose a new password."
                if forgot
                else "Enter your email address and we will send you a link that signs you in."
            ),
            button="Send the code" if forgot else "Send the link",
            action=f"{base}/{kind}",
            error=error,
        )

    async def reset(self, request: Request) -> Response:
        namespace = self.namespace(request)
        context: dict[str, Any] = {
            "title": "Choose a new password",
            "min_length": self.settings.password_min_length,
        }
        if request.method != "POST":
            sent = request.query_params.get("sent") == "1"
            return self.render(
                request,
                "reset.html",
                email=request.query_params.get("email", ""),
                notice="If an account has this address, a code is on its way." if sent else "",
                **context,
            )
        form = await self.read_form(request)
        try:
            await self.services.email.reset_password(
                namespace,
                email=form.get("email", ""),
                code=form.get("code", ""),
                new_password=form.get("password", ""),
                confirm_password=form.get("confirm", ""),
            )
        except BadRequest as exc:
            return self.render(
                request,
                "reset.html",
                status=400,
                email=form.get("email", ""),
                error=f"{exc.detail}.",
                **context,
            )
        return self.message(
            request,
            "Your password is changed",
            "You are signed out everywhere. Sign in with the new password.",
            link=f"{self.base(namespace)}/signin",
            link_text="Sign in",
        )

    async def magic(self, request: Request) -> Response:
        namespace = self.namespace(request)
        if request.method != "POST":
            return self.email_page(request, namespace, "magic")
        form = await self.read_form(request)
        issuer = urlsplit(self.services.issuers.issuer(namespace))
        try:
            await self.services.email.send_magic_link(
                namespace,
                email=form.get("email", ""),
                subject="Your sign-in link",
                text_content=(
                    f"Open this link to sign in:\n\n{LINK_PLACEHOLDER}\n\n"
                    "If you did not ask for it, ignore this mail."
                ),
                address=issuer.netloc,
                endpoint=f"{issuer.path.strip('/')}/magic".strip("/"),
            )
        except BadRequest as exc:
            return self.email_page(request, namespace, "magic", error=f"{exc.detail}.")
        return self.message(
            request,
            "Check your mail",
            "If an account has this address, a sign-in link is on its way. It works once.",
        )

    async def magic_landing(self, request: Request) -> Response:
        """The link from the mail. Opening it only shows a button: mail scanners open
        links, and must not spend the token."""
        namespace = self.namespace(request)
        token = request.path_params["token"]
        action = f"{self.base(namespace)}/magic/{token}"
        if request.method != "POST":
            return self.render(
                request,
                "confirm.html",
                title="Sign in",
                explanation="Sign in with the link from your mail.",
                action=action,
                button="Sign in",
            )
        await self.read_form(request)
        ok, reason, session = await self.services.email.verify_token(namespace, token)
        if not ok or session is None:
            return self.message(
                request,
                "This link does not work",
                f"It {reason.replace('token ', '')}. Ask for a new one.",
                status=400,
                link=f"{self.base(namespace)}/magic",
                link_text="Send a new link",
            )
        return await self.after_sign_in(request, namespace, session, {})

    # -- consent, account, logout -----------------------------------------------------

    async def consent(self, request: Request) -> Response:
        namespace = self.namespace(request)
        form = await self.read_form(request)
        pending = await self.pending(namespace, self.carried_of(form))
        if pending is None:
            raise RequestRefused("the consent form names no application")
        session = await self.current(request, namespace)
        if session is None:
            return await self.answer(request, SignIn(pending))
        return self.redirect(
            (
                await self.provider.answer_consent(
                    pending, session, form.get("decision") == "allow"
                )
            ).location
        )

    async def account(self, request: Request) -> Response:
        namespace = self.namespace(request)
        form = await self.read_form(request) if request.method == "POST" else {}
        session = await self.current(request, namespace)
        if session is None:
            # Signed out: the sign-in page, which leads back here.
            return await self.signin_page(request, namespace, {})
        notice = error = ""
        async with self.services.db.read() as conn:
            account = await accounts_repo.find_account(conn, namespace, id=session.account_id)
        if account is None:
            return self.redirect(f"{self.base(namespace)}/signin")
        federation = self.services.federation
        if form.get("revoke"):
            client_id = form["revoke"]
            if await self.provider.revoke_consent(namespace, session.account_id, client_id):
                notice = "Access removed."
        elif form.get("unlink") and not self.fresh(session):
            # Step-up: an old session cookie alone cannot take a way in away.
            error = "To unlink, sign in again first (then it can be done for a few minutes)."
        elif form.get("unlink"):
            try:
                await federation.unlink(account, form["unlink"])
                notice = "Unlinked."
            except NotFound:
                pass
        elif request.query_params.get("linked"):
            notice = "Linked: you can sign in with it now."
        providers = {p.id: p for p in await federation.of_namespace(namespace)}
        identities = [
            {**link, "name": providers[link["provider_id"]].name}
            for link in await federation.links_of(namespace, account.id)
            if link["provider_id"] in providers
        ]
        linked = {identity["provider_id"] for identity in identities}
        consents = []
        for client_id, scope, _ in await self.provider.consents(namespace, account.id):
            client = await self.services.clients.find(namespace, client_id)
            consents.append((client_id, client.name if client else client_id, scope))
        return self.render(
            request,
            "account.html",
            title="Your account",
            account=account,
            consents=consents,
            notice=notice,
            error=error,
            status=400 if error else 200,
            identities=identities,
            linkable=[p for p in providers.values() if p.id not in linked],
            two_step=await self.services.factors.required(namespace, account.id),
        )

    async def logout(self, request: Request) -> Response:
        """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). A request with an
        ``id_token_hint`` of the browser's own session ends it at once; any other asks the
        user first, so that no site can sign a user out by sending them a link."""
        namespace = self.namespace(request)
        posted = request.method == "POST"
        params = await self.read_form(request) if posted else dict(request.query_params)
        session = await self.current(request, namespace)
        hint = params.get("id_token_hint", "")
        claims = self.provider.id_token_claims(namespace, hint) if hint else None
        if hint and claims is None:
            raise RequestRefused("the id_token_hint is not an ID token of this issuer")
        client_id = params.get("client_id", "") or (str(claims["aud"]) if claims else "")
        if claims and client_id and claims["aud"] != client_id:
            raise RequestRefused("client_id differs from the id_token_hint's audience")
        back = params.get("post_logout_redirect_uri", "")
        if back:
            client = await self.services.clients.find(namespace, client_id) if client_id else None
            if client is None or back not in client.post_logout_redirect_uris:
                raise RequestRefused(
                    "the post_logout_redirect_uri is not one the application registered"
                )
            state = params.get("state", "")
            if state:
                back += ("&" if "?" in back else "?") + urlencode({"state": state})
        own_hint = (
            session is not None
            and claims is not None
            and claims.get("sub") == session.account_id
            and claims.get("sid") == session.sid
        )
        if session is not None and not posted and not own_hint:
            carried = {
                name: params[name]
                for name in ("id_token_hint", "post_logout_redirect_uri", "client_id", "state")
                if params.get(name)
            }
            return self.render(
                request,
                "confirm.html",
                title="Sign out?",
                explanation="Do you want to sign out?",
                action=f"{self.base(namespace)}/oauth/logout",
                button="Sign out",
                carried=carried,
                form_targets=(back,) if back else (),
            )
        if session is not None:
            try:
                await self.provider.end_session(session)
            except NotFound:
                pass  # it ended meanwhile
        response = (
            self.redirect(back)
            if back
            else self.message(
                request,
                "You are signed out",
                link=f"{self.base(namespace)}/signin",
                link_text="Sign in again",
            )
        )
        response.delete_cookie(
            session_cookie(namespace), path="/", secure=self.secure, httponly=True, samesite="lax"
        )
        return response
