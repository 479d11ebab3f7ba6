"""Normalising and checking what clients send about accounts.

Each check raises ``BadRequest`` with an id naming the check and a detail that
says what to fix.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from precis_i18n import get_profile

from micro_user.errors import BadRequest

# NUL, the other C0 controls, DEL and C1: never part of a name, an address or a parameter.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(text: str) -> str | None:
    """The first control character (NUL, C0, DEL, C1) in ``text``, if any."""
    found = CONTROL.search(text)
    return found.group() if found else None


ID_MAX = 128
USERNAME_MAX = 128
EMAIL_MAX = 254
PROFILE_MAX_ENTRIES = 64
PROFILE_KEY_MAX = 128
PROFILE_VALUE_MAX = 2048
NAMESPACE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
# proved by the verification mail, not by a regular expression.
EMAIL_RE = re.compile(
    r"^[^@\s]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"
)


# RFC 8265: usernames are PRECIS UsernameCaseMapped (width-mapped, so fullwidth letters become
# ASCII; lower-cased; NFC; no spaces, controls, format or invisible characters, symbols only
# from ASCII). The local part of an email is checked as PRECIS IdentifierClass (the same
# repertoire, but nothing is mapped: a fullwidth or compatibility character is refused, since
# it would name another mailbox).
_USERNAME = get_profile("UsernameCaseMapped")
_IDENTIFIER = get_profile("IdentifierClass")


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def _precis(profile: object, value: str, field: str, error_id: str) -> str:
    try:
        return str(profile.enforce(value))  # type: ignore[attr-defined]
    except UnicodeEncodeError as exc:
        found = exc.object[exc.start] if exc.start < len(exc.object) else ""
        what = f"the character U+{ord(found):04X}" if found else "this value"
        raise BadRequest(
            error_id,
            f"{field}: {what} is not allowed ({exc.reason.lower()}); use letters, digits and "
            "ASCII punctuation, without spaces, invisible or look-alike characters",
        ) from None


def _check_marks(value: str, field: str, error_id: str) -> None:
    """Refuse enclosing marks, and combining marks left on an ASCII character after NFC
    (overlays such as U+0338, or accents with no composed letter): they hide a familiar
    name under decoration. Marks that compose (é) or belong to a script are kept."""
    base = ""
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Me" or (category == "Mn" and base.isascii()):
            raise BadRequest(
                error_id, f"{field}: the combining mark U+{ord(ch):04X} is not allowed here"
            )
        if not category.startswith("M"):
            base = ch


def normalize_email(value: str, *, check_id: str = "users-email-format") -> str:
    email = unicodedata.normalize("NFC", value.strip().lower())
    if not email:
        raise BadRequest(check_id, "email is required")
    if len(email) > EMAIL_MAX:
        raise BadRequest(check_id, f"email is longer than {EMAIL_MAX} characters")
    for ch in email:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise BadRequest(
                check_id,
                f"email contains the invisible or control character U+{ord(ch):04X}; remove it",
            )
    if not EMAIL_RE.match(email):
        raise BadRequest(check_id, f"email {email!r} has a wrong format")
    local = email.rpartition("@")[0]
    if not local.isascii():
        _precis(_IDENTIFIER, local, "email", check_id)
        _check_marks(local, "email", check_id)
    return email


def lookup_email(value: str) -> str:
    """How an email given to find an account (Read, Login, the mail flows) is compared."""
    return unicodedata.normalize("NFC", value.strip().lower())


def normalize_username(value: str) -> str:
    username = value.strip()
    if not username:
        return ""
    if len(username) > USERNAME_MAX:
        raise BadRequest(
            "users-username-format", f"username is longer than {USERNAME_MAX} characters"
        )
    username = _precis(_USERNAME, username, "username", "users-username-format").lower()
    _check_marks(username, "username", "users-username-format")
    return username


def lookup_username(value: str) -> str:
    """How a username given to find an account is compared: as it would have been stored
    (``ＡＬＩＣＥ`` finds alice), or trimmed and lower-cased when it is not a valid username
    (accounts from before RFC 8265 usernames)."""
    try:
        return normalize_username(value)
    except BadRequest:
        return value.strip().lower()


def check_id(value: str) -> str:
    account_id = value.strip()
    if len(account_id) > ID_MAX:
        raise BadRequest("users-id-format", f"id is longer than {ID_MAX} characters")
    if _has_control(account_id) or any(ch.isspace() for ch in account_id):
        raise BadRequest("users-id-format", "id must not contain spaces or control characters")
    return account_id


def check_profile(profile: dict[str, str]) -> dict[str, str]:
    if len(profile) > PROFILE_MAX_ENTRIES:
        raise BadRequest(
            "users-profile-format", f"profile has more than {PROFILE_MAX_ENTRIES} entries"
        )
    for key, value in profile.items():
        if not key or len(key) > PROFILE_KEY_MAX:
            raise BadRequest(
                "users-profile-format", f"profile keys must be 1 to {PROFILE_KEY_MAX} characters"
            )
        if len(value) > PROFILE_VALUE_MAX:
            raise BadRequest(
                "users-profile-format",
                f"profile value of {key!r} is longer than {PROFILE_VALUE_MAX} characters",
            )
    return profile


def check_namespace(value: str) -> str:
    if not NAMESPACE_RE.match(value):
        raise BadRequest(
            "namespace-format",
            "a namespace is 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit",
        )
    return value


@lru_cache(maxsize=4)
def common_passwords(rank: int) -> frozenset[str]:
    """The ``rank`` most common passwords, from the frequency list zxcvbn ships (no network)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:rank])


def check_new_password(
    password: str,
    *,
    min_length: int,
    max_length: int,
    error_id: str,
    field: str = "password",
    common_rank: int = 0,
) -> str:
    if not password:
        raise BadRequest(error_id, f"{field} is required (at least {min_length} characters)")
    if len(password) < min_length:
        raise BadRequest(error_id, f"{field} must be at least {min_length} characters")
    if len(password) > max_length:
        raise BadRequest(error_id, f"{field} must be at most {max_length} characters")
    if common_rank and password.lower() in common_passwords(common_rank):
        raise BadRequest(error_id, f"{field} is one of the most common passwords; choose another")
    return password


def check_confirmation(new_password: str, confirm_password: str, *, error_id: str) -> None:
    if new_password != confirm_password:
        raise BadRequest(error_id, "new_password and confirm_password do not match")
