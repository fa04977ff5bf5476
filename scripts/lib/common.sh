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

# pip_install VENV LABEL REQUIREMENT-FILE... [--require SPEC]: install the files (and SPEC,
# which replaces the files' line for its package) into VENV, then check that every requirement
# is there at an allowed version. A failure stops here, naming what is missing and the pip
# log; nothing is remembered, so the next run tries again.
pip_install() {
  local venv=$1 label=$2 pip_args=() check_args=()
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --require) pip_args+=("$2"); check_args+=(--require "$2"); shift ;;
      *) pip_args+=(-r "$1"); check_args+=("$1") ;;
    esac
    shift
  done
  log "installing $label into $venv"
  if ! "$venv/bin/pip" install -q --disable-pip-version-check "${pip_args[@]}" >"$venv/pip.log" 2>&1; then
    grep -v '^WARNING: Location' "$venv/pip.log" | tail -20 >&2
    die "pip install of $label failed (the whole log: $venv/pip.log)"
  fi
  "$venv/bin/python" "$REPO/scripts/lib/check_requirements.py" "${check_args[@]}" \
    || die "the virtual environment $venv lacks what the requirements above name (pip log: $venv/pip.log)"
}

# ensure_venv [VENV PYTHON ANSIBLE-CORE-SPEC]: the collection's venv with the modules'
# requirements and the test tools; by default .venv with ansible-core from
# tests/requirements.txt (2.21) on the first Python >= 3.12 found. The versions stage of
# scripts/test passes another folder, interpreter and ansible-core range.
ensure_venv() {
  local venv=${1:-$VENV} python=${2:-} core=${3:-} stamp want
  stamp="$venv/.geofoss-requirements"
  want=$( (cat "$REPO/requirements.txt" "$REPO/tests/requirements.txt"; echo "$python $core") | sha256sum | cut -c1-16)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  if [ -z "$python" ]; then python=$(find_python) || die "no working Python >= 3.12 found"; fi
  if [ ! -x "$venv/bin/python" ]; then
    log "creating the virtual environment $venv with $python"
    "$python" -m venv "$venv" || die "$python -m venv $venv failed"
  fi
  rm -f "$stamp"
  local tests="$REPO/tests/requirements.txt"
  if [ -n "$core" ]; then  # the test tools without their ansible-core line: CORE replaces it
    tests="$venv/tests-requirements.txt"
    grep -v '^ansible-core\b' "$REPO/tests/requirements.txt" >"$tests"
  fi
  pip_install "$venv" "the collection's requirements and test tools${core:+ ($core)}" \
    "$REPO/requirements.txt" "$tests" ${core:+--require "$core"}
  echo "$want" >"$stamp"
}

# load_netbox_env: NETBOX_URL, NETBOX_TOKEN (v2) and NETBOX_TOKEN_V1 of the local NetBox,
# exported; fails (instead of leaving them empty) when `local-netbox env` fails.
load_netbox_env() {
  local lines
  lines=$("$REPO/scripts/local-netbox" env) || { log "scripts/local-netbox env failed"; return 1; }
  eval "$lines"
  [ -n "${NETBOX_URL:-}" ] && [ -n "${NETBOX_TOKEN:-}" ] \
    || { log "scripts/local-netbox env gave no NETBOX_URL / NETBOX_TOKEN"; return 1; }
  lines=$("$REPO/scripts/local-netbox" env --v1) || { log "scripts/local-netbox env --v1 failed"; return 1; }
  NETBOX_TOKEN_V1=$(sed -n 's/^export NETBOX_TOKEN=//p' <<<"$lines")
  [ -n "$NETBOX_TOKEN_V1" ] || { log "scripts/local-netbox env --v1 gave no token"; return 1; }
  export NETBOX_URL NETBOX_TOKEN NETBOX_TOKEN_V1
}

# ansible-test downloads a get-pip script for each venv it makes, from a host these
# machines cannot reach. This stand-in bootstraps pip with ensurepip, then installs
# what ansible-test asked for.
ensure_get_pip_standin() {
  local venv=${1:-$VENV} version cache
  version=$("$venv/bin/python" - <<'PY'
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
  (cd "$dest" && git init -q) || die "git init in the collection tree $dest failed"
  echo "$dest"
}
