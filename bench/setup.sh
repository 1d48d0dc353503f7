#!/usr/bin/env bash
# Create the virtual environments of the contenders that cannot share the project's venv
# (Meerschaum 4.1.7 and dlt 1.x), under bench/.venvs/, and the scratch PostgreSQL database.
# Idempotent: a venv whose stamp file matches its requirement list is left alone.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "${BENCH_DIR}")"
VENVS_DIR="${BENCH_DIR}/.venvs"
PYTHON="${PYTHON:-python3}"
PG_DATABASE="${MRSM_BENCH_PGDB:-mrsm_bench}"

MEERSCHAUM_REQS="meerschaum==4.1.7 duckdb-engine duckdb psycopg[binary] pandas pyarrow numpy"
# dlt 1.31's dataset reads call sqlglot with an argument that sqlglot 30 removed.
DLT_REQS="dlt[duckdb,postgres]>=1,<2 sqlglot<30 pandas pyarrow numpy"
# Packages Meerschaum installs at run time into MRSM_VENVS_DIR: installed once, here.
MEERSCHAUM_RUNTIME_STAMP="meerschaum==4.1.7 duckdb postgresql"

quiet_pip() {
    # pip's index configuration warns about absent local mirrors; hide only those lines.
    "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

is_current() {
    [[ -f "$1" && "$(cat "$1")" == "$2" ]]
}

make_venv() {
    local name="$1" reqs="$2"
    local venv="${VENVS_DIR}/${name}"
    if is_current "${venv}/.bench-stamp" "${reqs}"; then
        echo "bench/setup.sh: ${name} venv is up to date"
        return
    fi
    echo "bench/setup.sh: building the ${name} venv (${reqs})"
    "${PYTHON}" -m venv "${venv}"
    quiet_pip "${venv}/bin/python" -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086  # the requirement list is split on purpose
    quiet_pip "${venv}/bin/python" -m pip install --quiet ${reqs}
    echo "${reqs}" > "${venv}/.bench-stamp"
}

ensure_database() {
    if psql -U postgres -h localhost -d "${PG_DATABASE}" -c "select 1" >/dev/null 2>&1; then
        return 0
    fi
    createdb -U postgres -h localhost "${PG_DATABASE}" && echo "bench/setup.sh: created ${PG_DATABASE}"
}

warm_meerschaum_runtime() {
    # One tiny sync per flavor, so that Meerschaum's runtime installs happen now, not in a
    # timed operation (the benchmark runs it with MRSM_NO_AUTO_INSTALL=1).
    local runtime="${VENVS_DIR}/meerschaum_runtime" scratch
    if is_current "${runtime}/.bench-stamp" "${MEERSCHAUM_RUNTIME_STAMP}"; then
        echo "bench/setup.sh: Meerschaum's runtime packages are installed"
        return
    fi
    echo "bench/setup.sh: installing Meerschaum's runtime packages (one small sync per flavor)"
    scratch="$(mktemp -d)"
    mkdir -p "${runtime}" "${scratch}/root"
    (
        cd "${REPO_DIR}"
        export MRSM_ROOT_DIR="${scratch}/root" MRSM_VENVS_DIR="${runtime}" PYTHONPATH="${REPO_DIR}"
        export MRSM_SQL_BENCHDUCK="duckdb:///${scratch}/warm.duckdb"
        export MRSM_SQL_BENCHPG="postgresql+psycopg://postgres@localhost:5432/${PG_DATABASE}"
        "${VENVS_DIR}/meerschaum/bin/python" -m bench.warm_meerschaum
    ) > "${scratch}/warm.log" 2>&1 || { tail -20 "${scratch}/warm.log"; exit 1; }
    rm -rf "${scratch}"
    echo "${MEERSCHAUM_RUNTIME_STAMP}" > "${runtime}/.bench-stamp"
}

mkdir -p "${VENVS_DIR}"
make_venv meerschaum "${MEERSCHAUM_REQS}"
make_venv dlt "${DLT_REQS}"
ensure_database || echo "bench/setup.sh: PostgreSQL is not reachable; its runs will be skipped"
warm_meerschaum_runtime
