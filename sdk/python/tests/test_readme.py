"""The README's examples run against a live server, and print what the README shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).parent.parent / "README.md"
# A python block, and the text block right after it, when there is one: its output.
EXAMPLE = re.compile(r"```python\n(?P<code>.*?)```\s*(?:```text\n(?P<output>.*?)```)?", re.S)


def test_readme_examples_run_and_print_what_it_shows(
    server: Any, admin_key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICRO_USER_ADDRESS", server.base_url)
    monkeypatch.setenv("MICRO_USER_KEY", admin_key)
    text = README.read_text()
    examples = list(EXAMPLE.finditer(text))
    assert len(examples) >= 5
    for example in examples:
        line = text.count("\n", 0, example.start("code"))
        # Padded so that a traceback points at the README's own line numbers.
        code = compile("\n" * line + example["code"], str(README), "exec")
        exec(code, {"__name__": "readme"})
        assert capsys.readouterr().out == (example["output"] or ""), f"README.md line {line}"
