"""One canonical form of a request path: what a gateway, a middleware and the rules judge.

A request target is judged by its canonical path, never by its raw text, so that
``/public/../admin``, ``/public/%2e%2e/admin`` and ``//x/../admin`` are all judged as
``/admin`` (the upstream, which normalises the path its own way, serves ``/admin``).
What stays ambiguous after canonicalisation is refused, because servers disagree on what
it means: an encoded ``/`` or ``\\``, a ``;`` (path parameters), control characters,
malformed percent-encoding, and anything but an origin-form target.

The algorithm (the same in every SDK; ``sdk/conformance/paths.json`` holds it and the
cases every implementation runs):

1. The target must start with ``/``: absolute-form (``http://...``), authority-form,
   ``*`` and empty targets are refused.
2. The path ends at the first ``?`` or ``#``.
3. Refused: any raw character outside printable ASCII, a raw ``\\`` and a raw ``;``.
4. Split on ``/``; decode each segment once (``%`` with two hex digits, UTF-8). Refused: a
   decoded ``/``, ``\\`` or ``;``, and any control character.
5. Empty segments (from ``//``) are dropped; a path ending in ``/`` keeps it.
6. Dot segments are removed as RFC 3986 section 5.2.4 says; ``..`` never climbs above the
   root; a path whose last segment was ``.`` or ``..`` ends in ``/``.
7. The result is ``/`` and the segments joined by ``/`` (decoded, not re-encoded).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["AmbiguousPath", "canonical_path"]

# Printable ASCII but ';' (0x3B) and '\' (0x5C).
_RAW = re.compile(r"[!-:<-\[\]-~]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_BAD_DECODED = re.compile(r"[/\\;\x00-\x1f\x7f-\x9f]")
_DOTS = (".", "..")


class AmbiguousPath(ValueError):  # noqa: N818 - named for what it is, as ValueError subclasses are
    """A request target that has no one meaning, so it is refused (the message says why)."""


def _decoded(segment: str) -> str:
    if _BAD_ESCAPE.search(segment):
        raise AmbiguousPath(f"malformed percent-encoding in {segment!r}")
    try:
        text = unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise AmbiguousPath(f"percent-encoding that is not UTF-8 in {segment!r}") from None
    bad = _BAD_DECODED.search(text)
    if bad is not None:
        what = {"/": "an encoded '/'", "\\": "an encoded '\\'", ";": "an encoded ';'"}.get(
            bad.group(), "an encoded control character"
        )
        raise AmbiguousPath(f"{what} in {segment!r}")
    return text


def canonical_path(target: str) -> str:
    """The canonical path of a request target (``/a/../b?x`` is ``/b``);
    ``AmbiguousPath`` when it has none."""
    if not target.startswith("/"):
        raise AmbiguousPath(
            f"the request target must be a path starting with '/', got {target[:64]!r}"
        )
    end = len(target)
    for mark in "?#":
        found = target.find(mark)
        if found != -1 and found < end:
            end = found
    path = target[:end]
    if _RAW.fullmatch(path) is None:
        raise AmbiguousPath(
            "the path holds a ';', a '\\', a space, a control or a non-ASCII character"
            " (percent-encode what is meant)"
        )
    if "%" not in path and "/." not in path and "//" not in path:
        return path  # nothing to decode, no dot or empty segments: already canonical
    segments: list[str] = []
    last = ""
    for raw in path.split("/")[1:]:
        last = _decoded(raw) if "%" in raw else raw
        if last == "..":
            if segments:
                segments.pop()
        elif last and last != ".":
            segments.append(last)
    if not segments:
        return "/"
    trailing = "/" if last == "" or last in _DOTS else ""
    return "/" + "/".join(segments) + trailing
