"""The error catalogue (micro_user/errors.py) is the one list of error ids: every id the
code raises is in it, nothing in it is unused, every endpoint has its own entry, and
docs/ERRORS.md is written from it. That every answer's (id, status) is listed is checked
by every suite at run time: their servers run with MICRO_USER_STRICT_ERRORS, which turns
an answer outside the catalogue into a 500."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from micro_user.errors import (
    CATALOGUE,
    BadRequest,
    NotFound,
    ServiceError,
    TooManyRequests,
    Unauthorized,
    catalogue_markdown,
    catalogued,
)
from micro_user.http.app import catalogue_checked
from micro_user.http.endpoints import registry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for p in (ROOT / "micro_user").rglob("*.py") if p.name != "errors.py"]
ERROR_CLASSES = (
    "ServiceError|BadRequest|Conflict|Unauthorized|Forbidden|NotFound|MethodNotAllowed|"
    "PayloadTooLarge|TooManyRequests|Unavailable"
)
# An id where it is written: raised, or kept in a variable for later raises.
RAISED = re.compile(rf'\b(?:{ERROR_CLASSES})\(\s*"([^"]+)"')
NAMED = re.compile(r'\b(?:error_id|ERROR_ID)(?:: str)? = "([^"]+)"|error_id="([^"]+)"')
CHECK_IDS = re.compile(r'"(users-[A-Za-z-]+|settings\.[a-z_]+)"')


def ids_in_the_code() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        found |= set(RAISED.findall(text)) | set(CHECK_IDS.findall(text))
        found |= {a or b for a, b in NAMED.findall(text)}
    return found


def test_every_id_the_code_writes_is_catalogued():
    assert ids_in_the_code() - set(CATALOGUE) == set()


def test_every_catalogued_id_is_used():
    endpoint_ids = {endpoint.error_id for endpoint in registry}
    unused = set(CATALOGUE) - ids_in_the_code() - endpoint_ids
    assert unused == set()


def test_each_endpoint_has_its_own_entry_and_only_endpoints_are_marked_so():
    endpoint_ids = {endpoint.error_id for endpoint in registry}
    assert len(endpoint_ids) == len(list(registry))  # one id per endpoint
    assert endpoint_ids == {id for id, kind in CATALOGUE.items() if kind.endpoint}


def test_the_documentation_is_written_from_the_catalogue():
    assert (ROOT / "docs" / "ERRORS.md").read_text() == catalogue_markdown(), (
        "run: python -m micro_user.errors > docs/ERRORS.md"
    )


def test_what_is_catalogued():
    assert catalogued(Unauthorized("user.login", "x"))
    assert catalogued(TooManyRequests("user.login", "x"))  # any endpoint may throttle
    assert not catalogued(NotFound("user.login", "x"))  # Login never says "not found"
    assert catalogued(BadRequest("users-email-check", "x"))
    assert not catalogued(TooManyRequests("users-email-check", "x"))  # not an endpoint
    assert not catalogued(BadRequest("user.signin", "x"))


def request_with(strict: bool):
    settings = SimpleNamespace(strict_errors=strict)
    app = SimpleNamespace(state=SimpleNamespace(services=SimpleNamespace(settings=settings)))
    return SimpleNamespace(app=app)


def test_strict_servers_answer_an_uncatalogued_error_with_a_500():
    stray = NotFound("user.login", "no such thing")
    assert catalogue_checked(request_with(False), stray) is stray  # production: as raised
    checked = catalogue_checked(request_with(True), stray)
    assert (checked.id, checked.code) == ("micro-user.internal", 500)
    listed = Unauthorized("user.login", "invalid credentials")
    assert catalogue_checked(request_with(True), listed) is listed
    assert isinstance(checked, ServiceError)
