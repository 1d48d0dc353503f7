"""A Meerschaum 4.x instance and ours pointed at the same database, both ways.

Meerschaum runs in its own virtual environment (``make meerschaum``), driven as a subprocess
through tests/meerschaum/driver.py, so neither package's imports disturb the other.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import clear_connector_cache

HERE = Path(__file__).parent
MEERSCHAUM_PYTHON = os.environ.get(
    "MRSM_TEST_MEERSCHAUM_PYTHON", str(HERE.parent / ".venv-meerschaum" / "bin" / "python")
)
FLAVORS = ["sqlite", "duckdb", "postgresql"]
ROWS: dict[str, list[Any]] = {
    "dt": ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00", "2024-01-02T00:00:00+00:00"],
    "id": [1, 2, 1],
    "i": [10, 2**40, -3],
    "f": [1.5, None, -0.25],
    "s": ["a", None, "é✓"],
    "b": [True, False, True],
}
Runner = Callable[[dict[str, Any]], Any]


@pytest.fixture
def meerschaum(tmp_path: Path) -> Runner:
    """Run one request through Meerschaum in a fresh root directory."""
    if not Path(MEERSCHAUM_PYTHON).exists():
        pytest.fail(f"Meerschaum's environment is missing at {MEERSCHAUM_PYTHON}: run `make meerschaum`.")
    root = tmp_path / "meerschaum_root"
    root.mkdir()
    settings = {
        "MRSM_ROOT_DIR": str(root),
        "MRSM_NO_AUTO_INSTALL": "1",
        "MRSM_NOASK": "1",
        "MRSM_NONINTERACTIVE": "1",
        "MRSM_CONFIG": json.dumps(
            {"pipes": {"cache": {"enabled": False}}, "system": {"experimental": {"uv_pip": False}}}
        ),
    }

    def run(request: dict[str, Any]) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MRSM_") or k.startswith("MRSM_SQL_")}
        env.update(settings)
        clear_connector_cache()  # DuckDB: one process may hold the file at a time
        done = subprocess.run(
            [MEERSCHAUM_PYTHON, str(HERE / "meerschaum" / "driver.py"), json.dumps(request)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for line in done.stdout.splitlines():
            if line.startswith("MRSM_RESULT "):
                return json.loads(line[len("MRSM_RESULT ") :])
        raise AssertionError(
            f"Meerschaum failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )

    return run


@pytest.fixture(params=FLAVORS)
def shared_instance(request: pytest.FixtureRequest, instance_uris: dict[str, str]) -> str:
    """Instance keys both tools know (Meerschaum needs the psycopg driver named)."""
    uri = instance_uris[request.param].replace("postgresql://", "postgresql+psycopg://")
    label = f"interop{request.param}"
    os.environ[f"MRSM_SQL_{label.upper()}"] = uri
    return f"sql:{label}"


def expected_frame() -> pd.DataFrame:
    df = pd.DataFrame(ROWS)
    df["dt"] = pd.to_datetime(df["dt"], utc=True)
    return df


def assert_same_values(got: dict[str, list[Any]] | pd.DataFrame, want: pd.DataFrame) -> None:
    frame = pd.DataFrame(got) if isinstance(got, dict) else got
    frame = frame[list(want.columns)].sort_values(["dt", "id"]).reset_index(drop=True)
    frame["dt"] = pd.to_datetime(frame["dt"], utc=True)
    for col in want.columns:
        left = [None if pd.isna(v) else v for v in frame[col].tolist()]
        right = [None if pd.isna(v) else v for v in want[col].tolist()]
        assert left == right, f"column {col}: {left} != {right}"


def test_meerschaum_pipes_are_listed_and_read_by_us(
    shared_instance: str, metric: str, meerschaum: Runner
) -> None:
    kwargs = {"columns": {"datetime": "dt", "id": "id"}, "tags": ["theirs"]}
    done = meerschaum(
        {
            "instance": shared_instance,
            "op": "sync",
            "keys": ["plugin:noaa", metric, None],
            "kwargs": kwargs,
            "data": ROWS,
            "utc_cols": ["dt"],
        }
    )
    assert done["success"], done
    pipes = mrsm.get_pipes(metric_keys=metric, tags=["theirs"], instance=shared_instance, as_list=True)
    assert [p.keys[:3] for p in pipes] == [("plugin:noaa", metric, None)]
    pipe = pipes[0]
    assert pipe.columns == {"datetime": "dt", "id": "id"}
    assert_same_values(pipe.get_data(), expected_frame())
    assert pipe.get_sync_time() == pd.Timestamp("2024-01-02", tz="UTC")


def test_our_pipes_are_listed_and_read_by_meerschaum(
    shared_instance: str, metric: str, meerschaum: Runner
) -> None:
    pipe = mrsm.Pipe(
        "demo",
        metric,
        "home",
        instance=shared_instance,
        columns={"datetime": "dt", "id": "id"},
        tags=["ours"],
    )
    pipe.sync(expected_frame())
    assert meerschaum({"instance": shared_instance, "op": "list", "tags": ["ours"]}) == [
        ["demo", metric, "home"]
    ]
    read = meerschaum({"instance": shared_instance, "op": "read", "keys": ["demo", metric, "home"]})
    assert read["sync_time"] == "2024-01-02T00:00:00+00:00"
    assert_same_values(read["data"], expected_frame())


def test_we_sync_changes_into_a_meerschaum_table(
    shared_instance: str, metric: str, meerschaum: Runner
) -> None:
    kwargs = {"columns": {"datetime": "dt", "id": "id"}}
    meerschaum(
        {
            "instance": shared_instance,
            "op": "sync",
            "keys": ["theirs", metric, None],
            "kwargs": kwargs,
            "data": ROWS,
            "utc_cols": ["dt"],
        }
    )
    pipe = mrsm.Pipe("theirs", metric, instance=shared_instance)
    changed = expected_frame().iloc[[0]].assign(f=9.5)
    later = (
        expected_frame().iloc[[1]].assign(dt=pd.Timestamp("2025-06-01", tz="UTC"))
    )  # a new partition on PostgreSQL
    result = pipe.sync(pd.concat([changed, later]))
    assert (result.inserted, result.updated) == (1, 1)
    read = meerschaum({"instance": shared_instance, "op": "read", "keys": ["theirs", metric, None]})
    want = pd.concat([expected_frame().assign(f=[9.5, None, -0.25]), later]).reset_index(drop=True)
    assert_same_values(read["data"], want)


@pytest.mark.parametrize("flavor", ["sqlite", "postgresql"])  # Meerschaum 4.1.7 cannot update rows on DuckDB
def test_meerschaum_syncs_changes_into_our_table(
    flavor: str, instance_uris: dict[str, str], metric: str, meerschaum: Runner
) -> None:
    os.environ["MRSM_SQL_INTEROPUPD"] = instance_uris[flavor].replace(
        "postgresql://", "postgresql+psycopg://"
    )
    instance = "sql:interopupd"
    pipe = mrsm.Pipe("ours", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    pipe.sync(expected_frame())
    rows = {k: [v[0]] for k, v in ROWS.items()} | {"f": [7.0]}
    done = meerschaum(
        {"instance": instance, "op": "sync", "keys": ["ours", metric, None], "data": rows, "utc_cols": ["dt"]}
    )
    assert done["success"], done
    clear_connector_cache()
    assert pipe.get_data(params={"id": 1}, limit=1)["f"].tolist() == [7.0]
    assert pipe.get_rowcount() == 3


def test_the_real_meerschaum_4_is_driven() -> None:
    version = subprocess.run(
        [MEERSCHAUM_PYTHON, "-c", "import meerschaum; print(meerschaum.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("MRSM_")},
            "MRSM_NO_AUTO_INSTALL": "1",
        },
    ).stdout.split()[-1]
    assert version.startswith("4."), version
