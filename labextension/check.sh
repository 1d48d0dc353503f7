#!/usr/bin/env bash
# Static checks of the JupyterLab extension: Prettier, ESLint, TypeScript.
#
# Usage: labextension/check.sh   (from any directory)
# Needs `jlpm` and `node` on PATH: activate a Python environment with jupyterlab
# (or jupyter_builder) installed. Installs node_modules from yarn.lock when they
# are missing or older than the lock. Exits non-zero if any check fails.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2

die() {
  echo "check.sh: $*" >&2
  exit 2
}

command -v node >/dev/null 2>&1 ||
  die "node is not on PATH; install Node.js >= 20.19 (e.g. apt-get install nodejs)."
command -v jlpm >/dev/null 2>&1 ||
  die "jlpm is not on PATH; activate the project's venv (pip install jupyterlab, or jupyter_builder)."

state=node_modules/.yarn-state.yml
if [[ ! -f $state || yarn.lock -nt $state || package.json -nt $state ]]; then
  echo "check.sh: installing dependencies from yarn.lock (jlpm install --immutable)"
  if ! jlpm install --immutable; then
    die "jlpm install --immutable failed. If package.json changed on purpose, run" \
      "'jlpm install' in labextension/ and commit the updated yarn.lock; otherwise" \
      "check that the npm registry is reachable."
  fi
fi

failed=()
run() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

run prettier jlpm prettier:check
run eslint jlpm eslint:check
run tsc jlpm typecheck

if ((${#failed[@]} > 0)); then
  echo "check.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "check.sh: prettier, eslint and tsc passed"
