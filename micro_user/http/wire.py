"""The wire format of the Micro API: protobuf JSON as the original gateway spoke it.

Requests accept proto field names and their lowerCamel forms and reject
unknown fields; responses use proto names, emit every field, and write int64
values as JSON strings. Errors are ``{id, code, detail, status}``.
"""

from __future__ import annotations

import functools
import logging
import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar, dataclass_transform

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel, to_snake
from starlette.requests import Request
from starlette.responses import Response

from micro_user.accounts.models import Account, Session
from micro_user.accounts.validation import CONTROL
from micro_user.errors import (
    BadRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    ServiceError,
    TooManyRequests,
    catalogued,
)

log = logging.getLogger("micro_user.http")

M = TypeVar("M", bound="WireRequest")

# Bounds on what a request may carry; the domain applies the precise limits with clearer
# messages (e.g. the password length), these only stop abuse of the parser.
Text = Annotated[str, StringConstraints(strict=True, max_length=1024)]
Secret = Annotated[str, StringConstraints(strict=True, max_length=4096)]
LongText = Annotated[str, StringConstraints(strict=True, max_length=32 * 1024)]
StrictStr = Annotated[str, StringConstraints(strict=True)]
Profile = Annotated[dict[StrictStr, StrictStr], Field(max_length=1000)]


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode reads true/false as 1/0; protobuf JSON refuses them for integers.
    if isinstance(value, bool):
        raise ValueError("an integer is expected, not true or false")
    return value


# protobuf JSON accepts integers as numbers or as decimal strings (never as booleans).
UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1), BeforeValidator(_no_bool)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), BeforeValidator(_no_bool)]
# What int64 looks like going out.
Int64Out = Annotated[str, Field(pattern=r"^-?[0-9]+$", examples=["1623677579"])]


# What the checks of every request refuse in a string, said in the OpenAPI document too:
# control characters everywhere, except TAB, LF and CR in text fields.
NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
EMAIL = {"maxLength": 254}
# An account id (chosen or generated): at most 128 characters, no space or control one
# (spaces around it are trimmed).
ID_HINT = {
    "maxLength": 128,
    "pattern": "^\\s*[^\\s\\u0000-\\u001f\\u007f-\\u009f]*\\s*$",
}
MAIL_FIELDS = {"email": EMAIL, "from_name": {"maxLength": 128}}
# What a mail body must hold: the link, or the code.
LINK_TEXT = {"allOf": [{"pattern": "\\$micro_verification_link"}]}
CODE_TEXT = {"allOf": [{"pattern": "\\$code"}]}
TEXT_CONTROL = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"


def _describe_request(schema: dict[str, Any], model: type[WireRequest]) -> None:
    """The request model's rules that the handlers check, in its JSON schema: required
    fields are present and not empty, one-of groups, and no control characters."""
    properties = schema.get("properties", {})
    for name, field in properties.items():
        allowed = TEXT_CONTROL if name in model.text_fields else NO_CONTROL
        if field.get("type") == "string" and "pattern" not in field:
            field["pattern"] = allowed
        items = field.get("items", {})
        if field.get("type") == "array" and items.get("type") == "string":
            items.setdefault("pattern", NO_CONTROL)
        if field.get("type") == "object" and isinstance(field.get("additionalProperties"), dict):
            names: dict[str, Any] = {"pattern": NO_CONTROL}
            if name == "profile":  # an account's profile: keys of 1 to 128 characters
                names.update(minLength=1, maxLength=128)
            field.setdefault("propertyNames", names)
            field["additionalProperties"].setdefault("pattern", allowed)
    for name, hints in model.field_hints.items():
        for key, hint in hints.items():
            # A hint about a list's items adds to what the items' type already says.
            if key == "items" and isinstance(properties[name].get("items"), dict):
                properties[name]["items"] = {**properties[name]["items"], **hint}
            else:
                properties[name][key] = hint
    for name in model.required_fields:
        properties[name]["minLength"] = max(1, properties[name].get("minLength", 0))
    if model.required_fields:
        schema["required"] = sorted(model.required_fields)
    if model.exactly_one_of:
        every = {name for group in model.exactly_one_of for name in group}
        schema["oneOf"] = [
            {
                "required": list(group),
                "properties": {
                    name: {"minLength": 1} if name in group else {"maxLength": 0}
                    for name in sorted(every)
                },
            }
            for group in model.exactly_one_of
        ]
    if model.one_of_fields:
        schema["anyOf"] = [
            {"required": [name], "properties": {name: {"minLength": 1}}}
            for name in model.one_of_fields
        ]


class WireRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
        json_schema_extra=_describe_request,
    )

    # Fields that hold text where TAB, LF and CR belong (mail bodies, profile values); every
    # other string, and every map key, refuses all control characters.
    text_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields the handler refuses when missing or empty (proto3 has no "required": these are
    # micro-user's checks, published in the OpenAPI document).
    required_fields: ClassVar[frozenset[str]] = frozenset()
    # At least one of these must be given (and not empty).
    one_of_fields: ClassVar[tuple[str, ...]] = ()
    # Exactly one of these groups of fields must be given (all its fields), the others empty.
    exactly_one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # What else the handlers check of a field, as JSON schema keywords (documentation only:
    # the handlers' own checks give the clearer messages).
    field_hints: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    @functools.cache
    def list_fields(cls) -> frozenset[str]:
        """The names (and lowerCamel aliases) of the fields that hold lists."""
        return frozenset(
            name
            for field_name, info in cls.model_fields.items()
            if typing.get_origin(info.annotation) is list
            for name in (field_name, info.alias or field_name)
        )


T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def wire_response(cls: type[T]) -> type[T]:
    """A response message: a frozen, slotted dataclass whose field names are the wire's.
    Handlers return it, ``encode`` writes it (orjson, as it stands), and the OpenAPI
    document describes it from the same class (pydantic; unknown fields refused)."""
    cls.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return dataclass(frozen=True, slots=True)(cls)


@wire_response
class Empty:
    """``{}``: what an endpoint that changes something and returns nothing answers."""


@wire_response
class AccountOut:
    """An account of the user service."""

    id: str
    username: str
    email: str
    created: Int64Out
    updated: Int64Out
    verified: bool
    verification_date: Int64Out
    profile: dict[str, str]

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            account.id,
            account.username,
            account.email,
            str(account.created),
            str(account.updated),
            account.verified,
            str(account.verification_date),
            account.profile,
        )


@wire_response
class SessionOut:
    """A login session; the empty one where Micro answers no session."""

    id: str
    userId: str  # noqa: N815 - the proto field really is named userId
    created: Int64Out
    expires: Int64Out

    @classmethod
    def of(cls, session: Session | None) -> SessionOut:
        if session is None:
            return cls("", "", "0", "0")
        return cls(session.id, session.account_id, str(session.created), str(session.expires))


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:3]:
        where = _location(error["loc"])
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown field '{where}'")
        elif error["type"] == "missing":
            problems.append(f"field '{where}' is required")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"field '{where}': {message}")
    extra = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {extra} more)" if extra > 0 else "")


def decode_body(body: bytes, error_id: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(error_id, f"malformed JSON body: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest(error_id, "the body must be a JSON object")
    return payload


# C0 controls, DEL and C1 controls; the second leaves out TAB, LF and CR.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _control_error(error_id: str, where: str, found: str) -> BadRequest:
    return BadRequest(
        error_id,
        f"field '{where}' contains the control character U+{ord(found):04X}; remove it",
    )


def _check_controls(value: Any, where: str, text: bool, error_id: str) -> None:
    if isinstance(value, str):
        found = (_CONTROL_IN_TEXT if text else CONTROL).search(value)
        if found:
            raise _control_error(error_id, where, found.group())
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if isinstance(key, str) else where
            if isinstance(key, str) and (found := CONTROL.search(key)):
                raise _control_error(error_id, f"{where} (a key)", found.group())
            _check_controls(item, CONTROL.sub("?", name), text, error_id)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_controls(item, f"{where}.{index}", text, error_id)


def refuse_controls(model: type[WireRequest], payload: dict[str, Any], error_id: str) -> None:
    """400 naming the field for a control character in any string of a request (NUL, C0, DEL,
    C1), before anything reaches a handler or the database; TAB, LF and CR only in the model's
    ``text_fields``. One check at decoding, for every endpoint."""
    text_fields = model.text_fields
    for key, value in payload.items():
        if found := CONTROL.search(key):
            raise _control_error(error_id, CONTROL.sub("?", key), found.group())
        _check_controls(value, key, key in text_fields or to_snake(key) in text_fields, error_id)


def parse_request(model: type[M], payload: dict[str, Any], error_id: str) -> M:
    refuse_controls(model, payload, error_id)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(error_id, describe_validation_error(exc)) from None


def encode(payload: Any) -> bytes:
    """A response message (``wire_response``) or plain JSON data, as JSON."""
    return orjson.dumps(payload)


def error_body(error: ServiceError) -> bytes:
    return orjson.dumps(error.to_wire())


def error_response(error: ServiceError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, MethodNotAllowed):
        headers["Allow"] = error.allow
    return Response(
        error_body(error), status_code=error.code, media_type="application/json", headers=headers
    )


def catalogue_checked(request: Request, error: ServiceError) -> ServiceError:
    """The error, or with ``MICRO_USER_STRICT_ERRORS`` (the test suites) a 500 when the
    catalogue (``micro_user/errors.py``) does not list its id with its status."""
    services = getattr(request.app.state, "services", None)
    if services is None or not services.settings.strict_errors or catalogued(error):
        return error
    log.error("error %s %d is not in the catalogue (micro_user/errors.py)", error.id, error.code)
    return ServiceError("micro-user.internal", f"uncatalogued error {error.id} {error.code}")


async def read_body(request: Request, limit: int, error_id: str) -> bytes:
    """The body, read up to ``limit`` bytes (``PayloadTooLarge`` past it, also when the
    declared length says so before anything is read)."""
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(error_id, f"the body is larger than {limit} bytes")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
