# Shared by scripts/test, scripts/demo and the benchmarks: the collection's virtual
# environment and the ansible_collections/geofoss/netbox tree that ansible-test needs.
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${GEOFOSS_VENV:-$REPO/.venv}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The same Python search as scripts/local-netbox (pyenv shims that fail don't count).
find_python() {
  "$REPO/scripts/local-netbox" python
}

# The collection's venv: ansible-core 2.21, the modules' requirements and the test tools.
ensure_venv() {
  local stamp="$VENV/.geofoss-requirements" want
  want=$(cat "$REPO/requirements.txt" "$REPO/tests/requirements.txt" | sha256sum | cut -c1-16)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  local python
  python=$(find_python) || die "no working Python >= 3.12 found"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the collection's virtual environment with $python"
    "$python" -m venv "$VENV"
  fi
  log "installing the collection's requirements and test tools"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO/requirements.txt" -r "$REPO/tests/requirements.txt" \
    2>&1 | grep -v '^WARNING: Location' >&2 || true
  "$VENV/bin/python" -c 'import ansible, requests, pydantic, pytest' || die "the virtual environment is incomplete"
  echo "$want" >"$stamp"
}

# ansible-test downloads a get-pip script for each venv it makes, from a host these
# machines cannot reach. This stand-in bootstraps pip with ensurepip, then installs
# what ansible-test asked for.
ensure_get_pip_standin() {
  local version cache
  version=$("$VENV/bin/python" - <<'PY'
import re, ansible_test, pathlib
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", src.read_text()).group(1))
PY
)
  cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
  mkdir -p "$(dirname "$cache")"
  cat >"$cache" <<'PY'
"""Offline stand-in for get-pip.py: ensurepip, then pip install the given arguments."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
PY
}

# A copy of the collection at <tmp>/ansible_collections/geofoss/netbox (tracked and new
# files, not ignored ones), so ansible-test sees a collection and the repository stays flat.
build_collection_tree() {
  local top="$1" dest="$1/ansible_collections/geofoss/netbox"
  rm -rf "$top/ansible_collections"
  mkdir -p "$dest"
  (cd "$REPO" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$dest" -xf -
  # ansible-test lists a collection's files with git when it is a repository
  (cd "$dest" && git init -q) || true
  echo "$dest"
}
