"""The README, run as a newcomer runs it: a fresh copy of the checkout (no .venv), a
temporary HOME, its start command, the curl quickstart, its command lines, and the Python
examples of this README and of the SDK's README, in either order."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SDK_README = ROOT / "sdk" / "python" / "README.md"
KEY = re.compile(r"\bmuk_[A-Za-z0-9_-]{20,}")
# The first start makes .venv and installs everything: minutes on a cold pip cache.
FIRST_START_SECONDS = 600


def indented_blocks(text: str) -> list[str]:
    """The README's indented (four-space) shell blocks, dedented."""
    blocks, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("    ") or (current and not line.strip()):
            current.append(line[4:])
        else:
            if any(part.strip() for part in current):
                blocks.append("\n".join(current).strip() + "\n")
            current = []
    return blocks


def fenced_python(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def section(text: str, heading: str) -> str:
    """The text from ``heading`` to the next heading of its level."""
    start = text.index(heading + "\n")
    level = heading.split(" ")[0] + " "
    end = text.find("\n" + level, start + len(heading))
    return text[start : end if end != -1 else len(text)]


def fresh_checkout(folder: Path) -> Path:
    """The files a clone of this checkout would have (tracked and new, as they are now)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return folder


class Started:
    """``./scripts/start`` running in the background, with everything it printed."""

    def __init__(self, checkout: Path, env: dict[str, str]) -> None:
        self.output: list[str] = []
        self.process = subprocess.Popen(
            ["./scripts/start"],
            cwd=checkout,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.base = f"http://localhost:{env['MICRO_USER_PORT']}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"start exited:\n{self.text()}"
            try:
                if httpx.get(self.base + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready within {seconds} s:\n{self.text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def started(checkout: Path, env: dict[str, str], seconds: float) -> Iterator[Started]:
    server = Started(checkout, env)
    try:
        server.wait_ready(seconds)
        yield server
    finally:
        server.stop()


def bash(script: str, checkout: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{script}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def python(code: str, checkout: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", code],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{code}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh checkout and the environment of someone who has never run micro-user."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of micro-user")
    folder = tmp_path_factory.mktemp("newcomer")
    checkout = fresh_checkout(folder / "micro-user")
    home = folder / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MICRO_USER_", "VIRTUAL_ENV", "PYTHON", "XDG_", "PYTEST"))
    }
    env["HOME"] = str(home)
    # pip's cache holds downloaded packages only; sharing it keeps the first start short.
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    return checkout, env


def test_the_readme_runs_as_written_from_a_fresh_checkout(newcomer):
    checkout, env = newcomer
    readme = README.read_text()
    blocks = indented_blocks(readme)
    assert blocks[0] == "./scripts/start\n" and blocks[1] == "./scripts/test\n"
    quickstart = next(block for block in blocks if block.startswith("KEY=muk_..."))
    port = str(free_port())
    env = {**env, "MICRO_USER_PORT": port}

    with started(checkout, env, FIRST_START_SECONDS) as server:
        keys = KEY.findall(server.text())
        assert len(keys) == 1, f"the first start prints one admin key:\n{server.text()}"
        key = keys[0]

        # The quickstart, pasted with the key and the port filled in.
        pasted = quickstart.replace("KEY=muk_...", f"KEY={key}").replace(
            "BASE=http://localhost:8080", f"BASE={server.base}"
        )
        answer = bash(pasted, checkout, env)
        assert '"username":"alice"' in answer.replace(" ", "")
        assert '"session":{' in answer.replace(" ", "")

        # The command lines, as written.
        lines = re.findall(r"^\s*(\.venv/bin/micro-user (?!serve)[^\n]*)$", readme, re.M)
        assert ".venv/bin/micro-user user read alice" in lines
        for line in lines:
            printed = bash(line, checkout, env)
            if line.endswith("user read alice"):
                assert json.loads(printed)["email"] == "alice@example.com"
            if line.endswith("session list alice"):
                assert len(json.loads(printed)) == 1
        made = bash(".venv/bin/micro-user key create", checkout, env)
        assert KEY.search(made), made

        # The Python examples: this README's, then the SDK README's.
        ours = (
            fenced_python(section(readme, "## From Python"))[0]
            .replace("muk_...", key)
            .replace("http://localhost:8080", server.base)
        )
        sdk_env = {**env, "MICRO_USER_ADDRESS": server.base, "MICRO_USER_KEY": key}
        python(ours, checkout, sdk_env)
        for example in fenced_python(SDK_README.read_text())[:2]:
            python(example, checkout, sdk_env)

    # A second start with nothing changed installs nothing; on a new data folder the SDK's
    # examples come first this time.
    env = {**env, "XDG_DATA_HOME": str(Path(env["HOME"]) / "second")}
    with started(checkout, env, 120) as server:
        said = server.text()
        assert "pip" not in said.lower() and "install" not in said.lower(), said
        key = KEY.findall(server.text())[0]
        sdk_env = {**env, "MICRO_USER_ADDRESS": server.base, "MICRO_USER_KEY": key}
        for example in fenced_python(SDK_README.read_text())[:2]:
            python(example, checkout, sdk_env)
        python(
            fenced_python(section(readme, "## From Python"))[0]
            .replace("muk_...", key)
            .replace("http://localhost:8080", server.base),
            checkout,
            sdk_env,
        )
