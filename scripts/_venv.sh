# Sourced by the other scripts: make .venv (once) and install the project into it.
# An install is recorded in .venv/installed-<hash>, a hash of what was asked for and of the
# files that say what to install; asking again for the same thing does nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
install_stamp() {
  { printf '%s\n' "$@"; cat pyproject.toml sdk/python/pyproject.toml; } | sha256sum | cut -c1-16
}
install_project() {
  local stamp log
  stamp=".venv/installed-$(install_stamp "$@")"
  [ -f "$stamp" ] && [ -x .venv/bin/python ] && return 0
  log=".venv/install.log"
  mkdir -p .venv
  if [ ! -x .venv/bin/python ]; then
    echo "micro-user: making .venv and installing into it (once; about a minute)..." >&2
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip >"$log" 2>&1 || true
  else
    echo "micro-user: installing what changed into .venv..." >&2
  fi
  # pip's progress and the build's warnings go to a log, shown only when the install fails.
  if ! .venv/bin/python -m pip install --disable-pip-version-check "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "micro-user: the install failed (above; also in $log)" >&2
    return 1
  fi
  touch "$stamp"
}
