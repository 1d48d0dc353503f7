"""The Grafana dashboards in ``grafana/``: provisioning files that load, and every panel's SQL
run against a real PostgreSQL instance holding recorded runs, with Grafana's macros expanded
as its PostgreSQL data source expands them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from conftest import _postgresql_database, _worker
from diagnostics_helpers import recorded_history

from mrsm_jupyter.diagnostics.runs import get_runs, throughput

GRAFANA = Path(__file__).resolve().parents[1] / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
INTERVAL_SECONDS = 3600
# What each panel must answer (Grafana maps these columns to fields by name).
EXPECTED_COLUMNS = {
    "Sync throughput (rows/s)": ["time", "rows_per_second"],
    "Sync latency (s)": ["time", "latency_p50", "latency_p95"],
    "Rows per pipe": ["pipe", "inserted", "updated", "unchanged"],
    "Failed runs": ["time", "metric", "failed"],
    "Job restarts": ["job", "runs", "failed", "restarts", "last_exit_code", "last_run"],
    "Behind schedule": ["name", "kind", "last_success", "interval_seconds", "late_by_seconds"],
    "Failed runs (newest)": ["time", "kind", "name", "duration", "exit_code", "error"],
}


def expand_macros(sql: str, begin: datetime, end: datetime) -> str:
    """Grafana's PostgreSQL macros, as its data source expands them before running a query."""
    frm, to = (f"'{t.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'" for t in (begin, end))
    sql = re.sub(
        r"\$__timeGroupAlias\((\w+),\s*\$__interval\)",
        lambda m: f'floor(extract(epoch from {m[1]})/{INTERVAL_SECONDS})*{INTERVAL_SECONDS} AS "time"',
        sql,
    )
    sql = re.sub(r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} BETWEEN {frm} AND {to}", sql)
    sql = sql.replace("$__timeFrom()", frm).replace("$__timeTo()", to)
    assert "$" not in sql, f"a macro this test does not expand: {sql}"
    return sql


def panels() -> list[dict[str, Any]]:
    found = []
    for path in DASHBOARDS:
        found += json.loads(path.read_text())["panels"]
    return found


@pytest.fixture(scope="module")
def recorded_instance(monkeypatch_module: pytest.MonkeyPatch) -> tuple[str, datetime]:
    """A PostgreSQL database of its own holding ``recorded_history`` (Grafana's view of it)."""
    uri = _postgresql_database(f"mrsm_test_{_worker()}_grafana")
    monkeypatch_module.setenv("MRSM_SQL_GRAFANA", uri)
    now = datetime.now(UTC)
    recorded_history("sql:grafana", now)
    return uri, now


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_provisioning_points_the_dashboards_at_one_postgresql_source() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "mrsm.yaml").read_text())
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "mrsm.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "grafana-postgresql-datasource" and providers["providers"][0]["type"] == "file"
    assert DASHBOARDS, "no dashboards in grafana/dashboards"
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"] and "id" not in dashboard  # provisioning sets ids
    for panel in panels():
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert all(t["datasource"]["uid"] == source["uid"] and t["rawSql"] for t in panel["targets"])


def test_every_panel_query_runs_and_answers_its_columns(recorded_instance: tuple[str, datetime]) -> None:
    uri, now = recorded_instance
    assert sorted(p["title"] for p in panels()) == sorted(EXPECTED_COLUMNS)
    answers: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(uri) as con:
        for panel in panels():
            for target in panel["targets"]:
                cur = con.execute(expand_macros(target["rawSql"], now - timedelta(days=2), now))
                columns = [d.name for d in cur.description or []]
                assert columns == EXPECTED_COLUMNS[panel["title"]], panel["title"]
                answers[panel["title"]] = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    assert all(answers.values()), [title for title, rows in answers.items() if not rows]
    late = answers["Behind schedule"]
    assert [(r["name"], r["interval_seconds"]) for r in late] == [("src/late", 3600)]
    assert [
        (r["job"], r["runs"], r["failed"], r["restarts"], r["last_exit_code"])
        for r in answers["Job restarts"]
    ] == [("loader", 3, 2, 2, 0)]
    pipes = {r["pipe"]: r for r in answers["Rows per pipe"]}
    assert pipes["src/late"]["inserted"] == 2000 and pipes["src/steady"]["unchanged"] == 24 * 40
    assert sum(r["failed"] for r in answers["Failed runs"]) == 4


def test_throughput_agrees_with_the_notebook_dashboard(recorded_instance: tuple[str, datetime]) -> None:
    """Grafana's hourly buckets and ``%mrsm show diagnostics``'s give the same figures."""
    uri, now = recorded_instance
    (panel,) = [p for p in panels() if p["title"] == "Sync throughput (rows/s)"]
    with psycopg.connect(uri) as con:
        rows = con.execute(
            expand_macros(panel["targets"][0]["rawSql"], now - timedelta(days=2), now)
        ).fetchall()
    grafana = {datetime.fromtimestamp(float(t), UTC): float(v) for t, v in rows if v is not None}
    points = throughput(get_runs(instance="sql:grafana"), "1h").dropna(subset=["rows_per_second"])
    notebook = {
        t.to_pydatetime(): v for t, v in zip(points["started"], points["rows_per_second"], strict=True)
    }
    assert grafana.keys() == notebook.keys() and len(grafana) >= 24
    assert all(grafana[t] == pytest.approx(notebook[t]) for t in grafana)
