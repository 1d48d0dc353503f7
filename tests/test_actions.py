"""The action grammar and every action, through the same entry point both shells use."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.actions import (
    ActionArgumentError,
    ActionContext,
    ActionOutcome,
    ConfirmationError,
    NoPipesError,
    UnknownActionError,
    action_names,
    parse_action,
    run_action,
)
from mrsm_jupyter.actions.fetchers import register_fetcher
from mrsm_jupyter.actions.maintenance import merge_parameters
from mrsm_jupyter.actions.registry import ACTIONS, find_action
from mrsm_jupyter.pipes.bounds import Bound

START = datetime(2024, 1, 1, tzinfo=UTC)


def run(line: str | list[str], instance: str = "sql:memory", **context: Any) -> ActionOutcome:
    return run_action(parse_action(line), ActionContext(instance=instance, **context))


def hourly_batches(pipe: mrsm.Pipe, begin: Bound, end: Bound) -> Iterator[list[dict[str, Any]]]:
    """Two days of hourly readings for two stations, one batch per day."""
    for day in range(2):
        yield [
            {"dt": START + timedelta(days=day, hours=h), "station": s, "value": float(h)}
            for h in range(24)
            for s in ("north", "south")
        ]


# The grammar: tables of command lines, no database.
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("show pipes", {"action": "show", "subaction": "pipes", "help": False}),
        ("SYNC Pipes -m a b -m c", {"action": "sync", "metric_keys": ["a", "b", "c"]}),
        (
            "sync pipes -c sql:src -l _home None",
            {"connector_keys": ["sql:src"], "location_keys": ["_home", "None"]},
        ),
        ("clear pipes -y --begin 2024-01-01 --end 5", {"yes": True, "begin": "2024-01-01", "end": 5}),
        ('show data --params \'{"station": ["a", "b"]}\'', {"params": {"station": ["a", "b"]}}),
        (
            "sync pipes -i sql:x -t a _b -d --name nightly",
            {"instance": "sql:x", "tags": ["a", "_b"], "daemon": True},
        ),
        ("copy pipes --to-instance sql:backup", {"to_instance": "sql:backup"}),
        ("show data --limit 3", {"limit": 3}),
        ("", {"help": True, "action": None}),
        ("sync pipes --help", {"help": True, "action": "sync"}),
    ],
)
def test_parse(line: str, expected: dict[str, Any]) -> None:
    request = parse_action(line)
    assert {key: getattr(request, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("show pipes --params '{bad'", r"--params: '\{bad' is not valid JSON"),
        ("show pipes --params '[1]'", "must be a JSON object"),
        ("show pipes --begin yesterday", "'yesterday' is not an ISO 8601 datetime"),
        ("show pipes --limit 0", "not a positive integer"),
        ("show pipes --instnace sql:x", "Did you mean '--instance'"),
        ("sync pipes temperature", "Unexpected word 'temperature'.*-m"),
        ("sync pipes -m 'temp", "Check the quotes"),
        ("show pipes -m", "expected at least one argument"),
    ],
)
def test_parse_errors_say_what_to_type(line: str, message: str) -> None:
    with pytest.raises(ActionArgumentError, match=message):
        parse_action(line)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("snyc pipes", "Unknown action 'snyc'. Did you mean 'sync'"),
        ("show pipez", "Unknown action 'show pipez'. Did you mean 'show pipes'"),
        (
            "show",
            "'show' needs one of: columns, connectors, data, diagnostics, jobs, logs, pipes, plugins, "
            "rowcounts, version",
        ),
        ("register pipe", "Did you mean 'register pipes'"),
    ],
)
def test_unknown_actions_suggest_the_closest(line: str, message: str) -> None:
    with pytest.raises(UnknownActionError, match=message):
        run(line)


def test_every_action_resolves_to_a_documented_function() -> None:
    assert {"show jobs", "show logs", "start jobs", "stop jobs", "delete jobs"} <= set(ACTIONS)
    for name in action_names():
        function = find_action(parse_action(name))
        assert callable(function) and function.__doc__, name
    help_text = run("--help").message
    assert all(name in help_text for name in action_names())


# Actions on every instance flavor.
def test_pipe_lifecycle(instance: str, metric: str) -> None:
    params = json.dumps({"columns": {"datetime": "dt", "id": "station"}})
    registered = run(
        f"register pipes -c demo -m {metric} {metric}x -l lab --params '{params}' -t t1", instance
    )
    assert registered.success and [r.action for r in registered.results] == ["registered", "registered"]
    again = run(f"register pipes -c demo -m {metric} -l lab", instance)
    assert "already registered" in again.results[0].action

    listed = run(f"show pipes -m {metric} {metric}x _{metric}x", instance)
    assert [p.metric_key for p in listed.pipes] == [metric]
    for pipe in mrsm.get_pipes(metric_keys=[metric, f"{metric}x"], instance=instance, as_list=True):
        register_fetcher(pipe, hourly_batches)

    synced = run(f"sync pipes -m {metric} {metric}x", instance)
    assert [r.inserted for r in synced.results] == [96, 96]
    assert "inserted 192, updated 0, unchanged 0 rows" in synced.message
    assert run(f"sync pipes -m {metric}", instance).results[0].unchanged == 96

    counts = run(
        f'show rowcounts -m {metric} --begin 2024-01-02 --params \'{{"station": "north"}}\'', instance
    )
    assert counts.tables[0].rows[0][1] == "24" and counts.message.startswith("24 rows")
    data = run(f"show data -m {metric} --limit 3", instance)
    frame = next(iter(data.frames.values()))
    assert len(frame) == 3 and frame["dt"].is_monotonic_increasing
    assert frame["dt"].iloc[-1] == START + timedelta(days=1, hours=23)
    columns = run(f"show columns -m {metric}", instance).tables[0].rows
    assert {(c, r) for _, c, _, r in columns} >= {("dt", "datetime"), ("station", "id"), ("value", "")}

    edited = run(f'edit pipes -m {metric}x --params \'{{"tags": ["t2"]}}\'', instance)
    assert edited.success
    assert [p.metric_key for p in run("show pipes -t t2", instance).pipes] == [f"{metric}x"]
    assert mrsm.Pipe("demo", f"{metric}x", "lab", instance=instance).columns["id"] == "station"

    with pytest.raises(ConfirmationError, match="Add -y"):
        run(f"clear pipes -m {metric}", instance)
    cleared = run(f"clear pipes -m {metric} -y --begin 2024-01-02", instance)
    assert cleared.results[0].rows == 48
    assert run(f"deduplicate pipes -m {metric}", instance).results[0].rows == 0
    run(f"drop pipes -m {metric} -y", instance)
    assert not mrsm.Pipe("demo", metric, "lab", instance=instance).exists()
    run(f"delete pipes -m {metric} {metric}x -y", instance)
    assert run(f"show pipes -m {metric} {metric}x", instance).pipes == []


def test_selecting_no_pipes_names_the_keys(metric: str) -> None:
    with pytest.raises(NoPipesError, match=f"no registered pipes match -m {metric} on sql:memory"):
        run(f"sync pipes -m {metric}")


def test_register_needs_plain_keys(metric: str) -> None:
    with pytest.raises(ActionArgumentError, match="needs connector and metric keys"):
        run(f"register pipes -m {metric}")
    with pytest.raises(ActionArgumentError, match="negated key '_x'"):
        run(f"register pipes -c demo -m _x {metric}")
    with pytest.raises(ActionArgumentError, match="edit pipes needs --params"):
        run(f"edit pipes -m {metric}")
    with pytest.raises(ActionArgumentError, match="sync pipes does not take --params"):
        run(f"sync pipes -m {metric} --params '{{\"a\": 1}}'")


def test_one_failing_pipe_does_not_stop_the_others(metric: str) -> None:
    run(f"register pipes -c demo -m {metric} {metric}b")
    register_fetcher(mrsm.Pipe("demo", metric, instance="sql:memory"), hourly_batches)
    outcome = run(f"sync pipes -m {metric} {metric}b")
    success, summary = outcome
    assert not success and [r.inserted for r in outcome.results] == [96]
    assert len(outcome.failures) == 1
    assert f"Pipe('demo', '{metric}b', instance='sql:memory'): has no source to fetch from" in summary


def test_sql_pipes_sync_after_the_pipes_they_read(metric: str) -> None:
    raw = mrsm.Pipe("demo", f"{metric}raw", instance="sql:memory", columns={"datetime": "dt"})
    raw.sync({"dt": [START, START + timedelta(hours=1)], "value": [1.0, 2.0]})
    definition = f"SELECT dt, value * 10 AS value FROM {{{{ Pipe('demo', '{metric}raw') }}}}"
    params = json.dumps({"columns": {"datetime": "dt"}, "fetch": {"definition": definition}})
    # A list, as a shell passes it: the definition's quotes need no escaping.
    run(["register", "pipes", "-c", "sql:memory", "-m", metric, "--params", params])
    synced = run(f"sync pipes -c sql:memory -m {metric}", progress=True)
    assert synced.results[0].inserted == 2
    assert mrsm.Pipe("sql:memory", metric, instance="sql:memory").get_value("value") == 20.0


def test_copy_pipes_to_another_instance(metric: str, root_dir: Any) -> None:
    os.environ["MRSM_SQL_COPYDEST"] = f"duckdb:///{root_dir / 'copy.duckdb'}"
    source = mrsm.Pipe("demo", metric, instance="sql:memory", columns={"datetime": "dt", "id": "station"})
    source.sync(next(hourly_batches(source, None, None)))
    with pytest.raises(ActionArgumentError, match="needs a destination"):
        run(f"copy pipes -m {metric}")
    with pytest.raises(ActionArgumentError, match="is the pipes' own instance"):
        run(f"copy pipes -m {metric} --to-instance sql:memory")
    copied = run(f"copy pipes -m {metric} --to-instance sql:copydest --begin 2024-01-01T12:00")
    assert copied.results[0].inserted == 24
    assert mrsm.Pipe("demo", metric, instance="sql:copydest").get_rowcount() == 24


def test_connectors_are_listed_without_passwords() -> None:
    os.environ["MRSM_SQL_LISTED"] = "postgresql://user:hunter2@db.example:5432/warehouse"
    outcome = run("show connectors")
    text = outcome.to_text()
    assert "sql:listed" in text and "user:***@db.example" in text and "hunter2" not in text
    assert "sql:local" in text and "sql:memory" in text


def test_api_connector_tokens_are_not_listed() -> None:
    os.environ["MRSM_API_LISTEDTEAM"] = "http://127.0.0.1:8888/?token=s3cret-token-9"
    os.environ["MRSM_SQL_LISTEDATTRS"] = '{"flavor": "postgresql", "host": "db", "password": "hunter3"}'
    text = run("show connectors").to_text()
    assert "api:listedteam" in text and "token=***" in text and "s3cret-token-9" not in text
    assert "password=***" in text and "hunter3" not in text
    os.environ["MRSM_SQL_LISTEDFILE"] = "duckdb:////data/x.duckdb"
    assert "duckdb:////data/x.duckdb" in run("show connectors -c sql:listedfile").to_text()


def test_version_and_text_rendering() -> None:
    outcome = run("show version")
    assert outcome.message == f"mrsm_jupyter {mrsm.__version__}"
    lines = outcome.to_text().splitlines()
    assert lines[:3] == ["Versions", "package       version", "------------  -------"]
    assert repr(outcome) == "<ActionOutcome 'show version': success, 0 pipes>"


def test_merge_parameters_updates_mappings_one_level_deep() -> None:
    merged = merge_parameters(
        {"columns": {"datetime": "dt"}, "fetch": {"backtrack_minutes": 5}, "tags": ["a"]},
        {"columns": {"id": "s"}, "fetch": {"definition": "SELECT 1"}, "tags": []},
    )
    assert merged == {
        "columns": {"datetime": "dt", "id": "s"},
        "fetch": {"backtrack_minutes": 5, "definition": "SELECT 1"},
        "tags": [],
    }
