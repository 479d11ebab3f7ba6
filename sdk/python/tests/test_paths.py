"""Request paths: the shared cases of sdk/conformance/paths.json (every SDK runs them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from microuser.paths import AmbiguousPath, canonical_path
from microuser.rules import resource_for_path

CASES = json.loads(
    (Path(__file__).resolve().parents[2] / "conformance" / "paths.json").read_text()
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_case(case: dict[str, Any]) -> None:
    if case["path"] is None:
        with pytest.raises(AmbiguousPath):
            canonical_path(case["target"])
        return
    path = canonical_path(case["target"])
    assert path == case["path"]
    if case["resource"] is None:
        with pytest.raises(AmbiguousPath):
            resource_for_path(path, "app.example")
    else:
        assert str(resource_for_path(path, "app.example")) == case["resource"]


def test_canonical_paths_are_fixed_points() -> None:
    """A canonical path that needs no encoding is its own canonical form."""
    for case in CASES:
        path = case["path"]
        if path is not None and path.isascii() and " " not in path and "%" not in path:
            assert canonical_path(path) == path


def test_ambiguous_path_is_a_value_error_saying_why() -> None:
    with pytest.raises(ValueError, match="encoded '/'"):
        canonical_path("/public/..%2fadmin")
