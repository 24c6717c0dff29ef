#!/usr/bin/env bash
# The built wheel, installed as a user installs it (no dev tools), in a fresh virtual environment:
# import, `--help`, the hint for the missing [server] extra, then with the extras an emulator started
# from the installed package, one listing against it, and wandb:// registered with fsspec.
# Run by `make smoke` (part of `make test`).
set -euo pipefail
PYTHON=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$WORK/dist" "$ROOT" >/dev/null
WHEEL=$(ls "$WORK"/dist/artifactkit-*.whl)
"$PYTHON" -m venv --without-pip "$WORK/venv"
PY="$WORK/venv/bin/python"
pip_install() { "$PYTHON" -m pip --python "$PY" install --quiet --disable-pip-version-check "$@" 2>&1 | grep -v '^WARNING: Location' || true; }

pip_install "$WHEEL"
export HOME="$WORK/home" ARTIFACTKIT_DATA_DIR="$WORK/data" WANDB_CACHE_DIR="$WORK/cache"
unset WANDB_BASE_URL WANDB_API_KEY WANDB_ENTITY WANDB_PROJECT NETRC WANDB_CONFIG_DIR
cd "$WORK"

"$PY" -c "import artifactkit, sys; sys.exit(0 if artifactkit.Api else 1)" || fail "import artifactkit"
"$PY" -c "import filelock" 2>/dev/null && fail "filelock was installed on Linux (it is Windows-only)"
"$WORK/venv/bin/artifactkit" --help >/dev/null || fail "artifactkit --help"
"$PY" -m artifactkit --help >/dev/null || fail "python -m artifactkit --help"
set +e
hint=$("$WORK/venv/bin/artifactkit" serve 2>&1); code=$?
set -e
# The hint names what this installation came from (the package is not published yet): the wheel.
[ "$code" = 2 ] && grep -qF "pip install '${WHEEL}[server]'" <<<"$hint" || fail "serve without the extra: $hint"

pip_install "${WHEEL}[server,fsspec]"  # as the README says: the wheel, with its extras
"$PY" -c "import fsspec, sys; sys.exit(fsspec.get_filesystem_class('wandb').__name__ != 'ArtifactFileSystem')" \
  || fail "the [fsspec] extra does not register wandb://"
"$WORK/venv/bin/artifactkit" serve --demo --port 0 --data-dir "$WORK/emu" --ready-file "$WORK/ready.json" \
  >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || fail "the emulator did not start: $(cat "$WORK/serve.log")"
listing=$("$WORK/venv/bin/artifactkit" ls local/demo --local 2>"$WORK/ls.err") || fail "ls: $(cat "$WORK/ls.err")"
grep -qE "^digits +dataset +v1 " <<<"$listing" || fail "ls local/demo listed: $listing"
grep -q "using the local emulator" "$WORK/ls.err" || fail "ls did not say which server it used"
echo "smoke: the wheel installs, imports, runs --help, hints at [server], serves, lists, registers wandb:// ($(basename "$WHEEL"))"
