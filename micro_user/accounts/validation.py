"""Normalising and checking what clients send about accounts.

Each check raises ``BadRequest`` with an id naming the check and a detail that
says what to fix.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from micro_user.errors import BadRequest

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


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def normalize_email(value: str, *, check_id: str = "users-email-format") -> str:
    email = value.strip().lower()
    if not email:
        raise BadRequest(check_id, "email is required")
    if len(email) > EMAIL_MAX:
        raise BadRequest(check_id, f"email is longer than {EMAIL_MAX} characters")
    if not EMAIL_RE.match(email):
        raise BadRequest(check_id, f"email {email!r} has a wrong format")
    return email


def normalize_username(value: str) -> str:
    username = value.strip().lower()
    if len(username) > USERNAME_MAX:
        raise BadRequest(
            "users-username-format", f"username is longer than {USERNAME_MAX} characters"
        )
    if _has_control(username) or any(ch.isspace() for ch in username):
        raise BadRequest(
            "users-username-format", "username must not contain spaces or control characters"
        )
    return username


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
