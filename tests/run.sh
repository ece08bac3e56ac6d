#!/usr/bin/env bash
# The whole test suite on a machine that may have nothing yet (the README's test command).
#
# Installs the project with its dev and ray extras into the current Python (activate a
# virtualenv first), the system tools the tests drive when they are missing (git, tmux, chromium,
# the Docker engine and debootstrap; needs root for those), starts the engine, builds the sandbox
# image (offline on a Debian base when no registry is reachable), then runs pytest, three test files at a time.
# Arguments go to pytest: `bash tests/run.sh -k sandbox -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== python packages"
"$python" -m pip install -q -e '.[dev,ray]'

echo "== system tools"
missing=()
for tool in git tmux chromium; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${missing[*]}: install them (e.g. sudo apt-get install ${missing[*]}) and run again" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== docker engine and sandbox image"
bash sandboxes/start-engine.sh
"$python" -m agent sandbox build --tag agent-sandbox:latest

echo "== tests"
# Three workers, each taking whole test files (most tests wait on Docker, git or a subprocess).
exec "$python" -m pytest -n 3 --dist loadfile "$@"
