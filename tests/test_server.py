"""The REST API of the server extension, against a real Jupyter server (``api_server``)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from mrsm_jupyter.connectors.api import APIConnector
from mrsm_jupyter.errors import ConnectorUnreachableError
from mrsm_jupyter.jupyter.server.payloads import ARROW_STREAM, NEXT_CURSOR_HEADER, ROW_COUNT_HEADER
from mrsm_jupyter.jupyter.server.routes import ROUTES
from mrsm_jupyter.jupyter.server.wire import ipc_to_table, table_to_ipc

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def rest(api_server: str) -> Iterator[httpx.Client]:
    base, token = api_server.split("?token=")
    with httpx.Client(
        base_url=base + "mrsm/api/", headers={"Authorization": f"token {token}"}, timeout=60
    ) as client:
        yield client


def path_of(metric: str, location: str = "None", connector: str = "rest") -> str:
    return "pipes/" + "/".join(quote(k, safe="") for k in (connector, metric, location))


def rows(n: int, ids: int = 3, start: int = 0) -> list[dict[str, Any]]:
    """``n`` rows, ``ids`` rows per minute (ties on the datetime column)."""
    return [
        {
            "dt": (T0 + timedelta(minutes=(i + start) // ids)).isoformat(),
            "id": (i + start) % ids,
            "v": i + start,
        }
        for i in range(n)
    ]


def register(rest: httpx.Client, metric: str, **parameters: Any) -> str:
    body = {"connector_keys": "rest", "metric_key": metric, "parameters": parameters}
    answer = rest.post("pipes", json=body)
    assert answer.status_code == 201, answer.text
    return path_of(metric)


def sensor(rest: httpx.Client, n: int, ids: int = 3) -> str:
    path = register(rest, f"m{uuid.uuid4().hex[:10]}", columns={"datetime": "dt", "id": "id"})
    assert rest.post(f"{path}/data", json=rows(n, ids)).json()["inserted"] == n
    return path


def read_all(rest: httpx.Client, path: str, **query: Any) -> list[list[dict[str, Any]]]:
    """Every page of a read, following the cursor."""
    pages, cursor = [], None
    while True:
        answer = rest.get(f"{path}/data", params={**query, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages.append(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_instances_and_connectors(rest: httpx.Client) -> None:
    instances = rest.get("instances").json()
    assert {"keys": "sql:local", "flavor": "duckdb"} in instances
    assert any(c["keys"] == "sql:local" for c in rest.get("connectors").json())


def test_a_pipe_from_registration_to_deletion(rest: httpx.Client, metric: str) -> None:
    path = register(rest, metric, columns={"datetime": "dt", "id": "id"}, tags=["rest"])
    listed = rest.get("pipes", params={"metric_keys": metric, "instance_keys": "sql:local"}).json()
    assert listed == [
        {"connector_keys": "rest", "metric_key": metric, "location_key": None, "instance_keys": "sql:local"}
    ]
    assert rest.get("pipes", params={"metric_keys": metric, "tags": "_rest"}).json() == []
    assert rest.get(f"{path}/exists").json() == {"exists": False}
    synced = rest.post(f"{path}/data", json={"dt": [T0.isoformat()], "id": [1], "v": [1.5]}).json()
    assert synced["inserted"] == 1 and synced["dtypes"]["dt"].startswith("datetime")
    detail = rest.get(path).json()
    assert detail["columns"] == {"datetime": "dt", "id": "id"} and detail["tags"] == ["rest"]
    assert rest.get(f"{path}/columns").json() == {"columns": {"dt": "datetime", "id": "int", "v": "float"}}
    assert rest.get(f"{path}/rowcount", params={"begin": T0.isoformat()}).json() == {"rowcount": 1}
    assert datetime.fromisoformat(rest.get(f"{path}/sync_time").json()["sync_time"]) == T0
    assert rest.get(f"{path}/distinct", params={"column": "id"}).json() == {"values": [1]}
    edited = {**detail["parameters"], "fetch": {"backtrack_minutes": 5}}
    assert rest.patch(path, json={"parameters": edited}).json()["action"] == "edited"
    assert rest.get(path).json()["parameters"]["fetch"] == {"backtrack_minutes": 5}
    assert rest.post(f"{path}/clear", json={"params": {"id": 2}}).json()["rows"] == 0
    assert rest.post(f"{path}/deduplicate").json()["rows"] == 0
    assert rest.post(f"{path}/drop").json()["action"] == "dropped"
    assert rest.delete(path).json()["action"] == "deleted"
    gone = rest.get(path)
    assert gone.status_code == 404 and gone.json()["type"] == "PipeNotRegisteredError"


def test_pages_bring_every_row_once_in_order(rest: httpx.Client) -> None:
    path = sensor(rest, 2_000, ids=7)
    pages = read_all(rest, path, page_rows=300)
    assert [len(p) for p in pages] == [300] * 6 + [200]
    got = [(r["dt"], r["id"]) for p in pages for r in p]
    assert got == sorted({(r["dt"], r["id"]) for p in pages for r in p}) and len(got) == 2_000
    backwards = [(r["dt"], r["id"]) for p in read_all(rest, path, page_rows=450, order="desc") for r in p]
    assert backwards == got[::-1]
    limited = read_all(rest, path, page_rows=300, limit=700, select_columns="v")
    assert [len(p) for p in limited] == [300, 300, 100] and set(limited[0][0]) == {"v"}


def test_pages_are_bounded_by_bytes_too(rest: httpx.Client) -> None:
    path = sensor(rest, 500)
    pages = read_all(rest, path, page_rows=10_000, page_bytes=2_000)
    assert len(pages) > 5 and sum(len(p) for p in pages) == 500


def test_arrow_pages_carry_the_cursor_in_headers(rest: httpx.Client) -> None:
    path = sensor(rest, 1_000)
    tables, cursor = [], None
    while True:
        query = {"page_rows": 400, **({"cursor": cursor} if cursor else {})}
        answer = rest.get(f"{path}/data", params=query, headers={"Accept": ARROW_STREAM})
        assert answer.headers["Content-Type"] == ARROW_STREAM
        tables.append(ipc_to_table(answer.content))
        assert int(answer.headers[ROW_COUNT_HEADER]) == tables[-1].num_rows
        cursor = answer.headers.get(NEXT_CURSOR_HEADER)
        if not cursor:
            break
    table = pa.concat_tables(tables)
    assert [t.num_rows for t in tables] == [400, 400, 200]
    assert table.column("v").to_pylist() == list(range(1_000))
    assert table.schema.field("dt").type == pa.timestamp("us", tz="UTC")


def test_pages_stay_whole_while_rows_are_inserted(rest: httpx.Client) -> None:
    """Rows inserted during a read (new times, and new ids at the cursor's time) never make a
    row arrive twice or out of order, and every row that was there at the start arrives."""
    path = sensor(rest, 3_000, ids=10)
    before = {(r["dt"], r["id"]) for p in read_all(rest, path, page_rows=3_000) for r in p}
    stop = threading.Event()

    def insert() -> None:
        minute = 300
        while not stop.is_set():
            batch = [
                {"dt": (T0 + timedelta(minutes=m)).isoformat(), "id": i, "v": -1}
                for m in (minute, minute % 300)
                for i in (10 + minute, -minute)
            ]
            rest.post(f"{path}/data", json=batch)
            minute += 1

    writer = threading.Thread(target=insert)
    writer.start()
    try:
        got = [(r["dt"], r["id"]) for p in read_all(rest, path, page_rows=97) for r in p]
    finally:
        stop.set()
        writer.join()
    assert len(got) == len(set(got)), "a row arrived twice"
    assert got == sorted(got), "rows arrived out of order"
    assert before <= set(got)


def test_a_cursor_belongs_to_its_query(rest: httpx.Client) -> None:
    path = sensor(rest, 50)
    cursor = rest.get(f"{path}/data", params={"page_rows": 10}).json()["next_cursor"]
    other = rest.get(f"{path}/data", params={"page_rows": 10, "order": "desc", "cursor": cursor})
    assert other.status_code == 400 and "another query" in other.json()["error"]


def test_arrow_uploads_sync_a_chunk(rest: httpx.Client, metric: str) -> None:
    path = register(rest, metric, columns={"datetime": "dt"})
    table = pa.table({"dt": pa.array([T0, T0 + timedelta(1)], pa.timestamp("us", tz="UTC")), "v": [1, 2]})
    answer = rest.post(f"{path}/data", content=table_to_ipc(table), headers={"Content-Type": ARROW_STREAM})
    assert answer.json()["inserted"] == 2
    assert (
        rest.post(f"{path}/data", content=table_to_ipc(table), headers={"Content-Type": ARROW_STREAM}).json()[
            "unchanged"
        ]
        == 2
    )


def test_sync_trigger_fetches_on_the_server(rest: httpx.Client) -> None:
    source_path = sensor(rest, 30)
    source_metric = source_path.split("/")[2]
    derived = f"d{uuid.uuid4().hex[:10]}"
    definition = f"SELECT dt, id, v * 2 AS doubled FROM {{{{ Pipe('rest', '{source_metric}') }}}}"
    body = {
        "connector_keys": "sql:local",
        "metric_key": derived,
        "parameters": {"columns": {"datetime": "dt", "id": "id"}, "fetch": {"definition": definition}},
    }
    assert rest.post("pipes", json=body).status_code == 201
    result = rest.post(path_of(derived, connector="sql:local") + "/sync", json={}).json()
    assert result["inserted"] == 30


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], Any, int]] = [
    ("GET", "data", {"params": "{not json"}, None, 400),
    ("GET", "data", {"params": "[1]"}, None, 400),
    ("GET", "data", {"params": json.dumps({"id": {"$gt": 1}})}, None, 400),
    ("GET", "data", {"params": json.dumps({"nope": 1})}, None, 400),
    ("GET", "data", {"begin": "yesterday"}, None, 400),
    ("GET", "data", {"begin": "5"}, None, 400),
    ("GET", "data", {"page_rows": "0"}, None, 400),
    ("GET", "data", {"page_rows": "many"}, None, 400),
    ("GET", "data", {"order": "sideways"}, None, 400),
    ("GET", "data", {"format": "xml"}, None, 400),
    ("GET", "data", {"cursor": "bm90IGEgY3Vyc29y"}, None, 400),
    ("GET", "data", {"select_columns": "nope"}, None, 400),
    ("GET", "data", {"parameters": "[]"}, None, 400),
    ("GET", "rowcount", {"end": "2024-13-45"}, None, 400),
    ("GET", "distinct", {}, None, 400),
    ("GET", "data", {"instance_keys": "sql:nowhere"}, None, 404),
    ("GET", "data", {"instance_keys": "nonsense"}, None, 400),
    ("POST", "data", {}, b"{not json", 400),
    ("POST", "data", {}, b"[1, 2]", 400),
    ("POST", "data", {}, json.dumps([{"dt": "not a time", "id": 1}]).encode(), 400),
    ("POST", "data", {}, json.dumps([{"dt": None, "id": 1}]).encode(), 400),
    ("POST", "data", {}, b'{"id": [1, 2], "v": []}', 400),  # columns of different lengths
    ("POST", "data", {}, b'{"id": 1, "v": 2}', 400),  # scalars, not columns
    ("POST", "data", {}, b'[{"": 1, "id": 1}]', 400),  # a column with an empty name
    ("POST", "clear", {}, b'{"begin": "soon"}', 400),
    ("POST", "clear", {}, b'{"params": {"nope": 1}}', 400),
    ("PATCH", "", {}, b'{"parameters": 3}', 400),
    ("PATCH", "", {}, b"", 400),
]


@pytest.mark.parametrize(("method", "suffix", "query", "body", "status"), BAD_REQUESTS)
def test_bad_input_answers_4xx_with_a_json_error(
    rest: httpx.Client, method: str, suffix: str, query: dict[str, Any], body: Any, status: int
) -> None:
    path = sensor(rest, 3)
    url = f"{path}/{suffix}" if suffix else path
    answer = rest.request(
        method, url, params=query, content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["error"] and error["type"] and "Unhandled" not in error["error"]


def test_bad_keys_and_bodies_for_registration(rest: httpx.Client) -> None:
    for body in ({}, {"connector_keys": "a"}, {"connector_keys": "a\x00b", "metric_key": "m"}, [1]):
        answer = rest.post("pipes", json=body)
        assert answer.status_code == 400, (body, answer.text)
    control = rest.get("pipes/a%0Ab/m/None")
    assert control.status_code == 400 and "control characters" in control.json()["error"]


def _validator(document: dict[str, Any], path: str, method: str, status: int, content: str) -> Any:
    schema = document["paths"][path][method]["responses"][str(status)]["content"][content]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def test_answers_match_the_openapi_document(rest: httpx.Client, metric: str) -> None:
    document = rest.get("openapi.json").json()
    assert set(document["paths"]) == {"/" + template for template, _ in ROUTES}
    pipe_path = "/pipes/{connector_keys}/{metric_key}/{location_key}"
    path = sensor(rest, 10)
    calls: list[tuple[str, str, str, dict[str, Any], int]] = [
        ("get", "/instances", "instances", {}, 200),
        ("get", "/connectors", "connectors", {}, 200),
        ("get", "/pipes", "pipes", {"rowcount": "true"}, 200),
        ("get", pipe_path, path, {}, 200),
        ("get", pipe_path + "/columns", f"{path}/columns", {}, 200),
        ("get", pipe_path + "/rowcount", f"{path}/rowcount", {}, 200),
        ("get", pipe_path + "/sync_time", f"{path}/sync_time", {}, 200),
        ("get", pipe_path + "/exists", f"{path}/exists", {}, 200),
        ("get", pipe_path + "/distinct", f"{path}/distinct", {"column": "dt"}, 200),
        ("get", pipe_path + "/data", f"{path}/data", {"page_rows": 4}, 200),
        ("get", pipe_path + "/data", f"{path}/data", {"params": "{"}, 400),
        ("get", pipe_path, path_of(metric), {}, 404),
    ]
    for method, template, url, query, status in calls:
        answer = rest.request(method.upper(), url, params=query)
        assert answer.status_code == status, answer.text
        _validator(document, template, method, status, "application/json").validate(answer.json())
    synced = rest.post(f"{path}/data", json=rows(2, start=50))
    _validator(document, pipe_path + "/data", "post", 200, "application/json").validate(synced.json())
    dropped = rest.post(f"{path}/drop")
    _validator(document, pipe_path + "/drop", "post", 200, "application/json").validate(dropped.json())


def wait_for_job(rest: httpx.Client, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = rest.get(f"jobs/{name}").json()
        if job["state"] not in ("running", "restarting"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {name} still runs: {job}")


async def follow_log(api_server: str, name: str, count: int) -> list[str]:
    base, token = api_server.split("?token=")
    url = base.replace("http", "ws", 1) + f"mrsm/api/jobs/{name}/logs/ws?lines=10"
    request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
    socket = await websocket_connect(request)
    try:
        return [str(await asyncio.wait_for(socket.read_message(), 10)) for _ in range(count)]
    finally:
        socket.close()


def test_jobs_run_log_and_go(rest: httpx.Client, api_server: str) -> None:
    name = f"job-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "command": [sys.executable, "-c", "print('hello from a job')"]}
    created = rest.post("jobs", json=body)
    assert created.status_code == 201, created.text
    assert wait_for_job(rest, name)["last_result"]["ok"] is True
    assert name in [job["name"] for job in rest.get("jobs").json()]
    lines = rest.get(f"jobs/{name}/logs", params={"lines": 50}).json()["lines"]
    assert any("hello from a job" in line for line in lines)
    followed = asyncio.run(follow_log(api_server, name, len(lines)))
    assert any("hello from a job" in line for line in followed)
    assert rest.post(f"jobs/{name}/stop").json()["state"] == "stopped"
    assert rest.post(f"jobs/{name}/jump").status_code == 400
    assert rest.delete(f"jobs/{name}").status_code == 204
    missing = rest.get(f"jobs/{name}")
    assert missing.status_code == 404 and missing.json()["job"] == name
    for bad in ({"name": "../escape", "command": ["true"]}, {"name": "x", "command": "true"}, {"name": "y"}):
        assert rest.post("jobs", json=bad).status_code == 400, bad


def test_a_million_rows_page_through_once_in_order_while_rows_arrive(rest: httpx.Client, metric: str) -> None:
    path = register(rest, metric, columns={"datetime": "dt", "id": "id"})
    n = 1_000_000
    table = pa.table(
        {
            "dt": pa.array([T0 + timedelta(seconds=i // 4) for i in range(n)], pa.timestamp("us", tz="UTC")),
            "id": [i % 4 for i in range(n)],
            "v": list(range(n)),
        }
    )
    for start in range(0, n, 250_000):
        chunk = table_to_ipc(table.slice(start, 250_000))
        assert (
            rest.post(f"{path}/data", content=chunk, headers={"Content-Type": ARROW_STREAM}).status_code
            == 200
        )
    stop = threading.Event()

    def insert() -> None:
        second = n // 4
        while not stop.is_set():
            late = [{"dt": (T0 + timedelta(seconds=second)).isoformat(), "id": 9, "v": -1}]
            early = [{"dt": (T0 + timedelta(seconds=second % (n // 4))).isoformat(), "id": -1, "v": -1}]
            rest.post(f"{path}/data", json=late + early)
            second += 1

    writer = threading.Thread(target=insert)
    writer.start()
    values: list[int] = []
    try:
        cursor = None
        while True:
            query = {"page_rows": 100_000, "format": "arrow", **({"cursor": cursor} if cursor else {})}
            answer = rest.get(f"{path}/data", params=query)
            page = ipc_to_table(answer.content)
            values += [v for v in page.column("v").to_pylist() if v >= 0]
            cursor = answer.headers.get(NEXT_CURSOR_HEADER)
            if not cursor:
                break
    finally:
        stop.set()
        writer.join()
    assert values == list(range(n))


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_QUERY = st.fixed_dictionaries(
    {},
    optional={
        "begin": _TEXT | st.integers().map(str),
        "end": _TEXT,
        "params": _TEXT | st.dictionaries(_TEXT, st.none() | st.integers() | _TEXT).map(json.dumps),
        "order": _TEXT,
        "limit": _TEXT | st.integers().map(str),
        "page_rows": _TEXT | st.integers().map(str),
        "page_bytes": st.integers().map(str),
        "cursor": _TEXT,
        "select_columns": _TEXT,
        "format": st.sampled_from(["json", "arrow", "csv"]),
        "parameters": _TEXT,
    },
)


@pytest.fixture(scope="module")
def fuzzed_pipe(rest: httpx.Client) -> str:
    return sensor(rest, 20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_QUERY, route=st.sampled_from(["data", "rowcount", "distinct", "sync_time", "columns"]))
def test_no_query_makes_the_server_fail(
    rest: httpx.Client, fuzzed_pipe: str, query: dict[str, str], route: str
) -> None:
    answer = rest.get(f"{fuzzed_pipe}/{route}", params=query)
    assert answer.status_code < 500, (query, answer.text)


def test_fingerprint_routes_answer_and_refuse_bad_questions(rest: httpx.Client) -> None:
    path = sensor(rest, 40, ids=4)
    spec = {
        "columns": [["dt", "datetime"], ["id", "int"], ["v", "int"]],
        "datetime_column": "dt",
        "key_columns": ["id"],
    }
    summary = rest.post(f"{path}/fingerprint", json={"spec": spec})
    assert summary.status_code == 200, summary.text
    assert summary.json()["rows"] == 40 and summary.json()["key_spread"] >= 1
    grid = {"origin": summary.json()["low"], "width": 60_000_000, "buckets": 2}
    leaves = rest.post(f"{path}/fingerprint/leaves", json={"spec": spec, "grid": grid}).json()
    assert sum(leaves["rows"]) == 40 and len(leaves["leaves"]) == len(leaves["sums"]) > 1
    some = rest.post(
        f"{path}/fingerprint/rows", json={"spec": spec, "grid": grid, "leaves": leaves["leaves"][:1]}
    )
    assert some.headers["Content-Type"].startswith(ARROW_STREAM)
    assert ipc_to_table(some.content).num_rows == leaves["rows"][0]
    for route, body in (
        ("fingerprint", {"spec": {"columns": "dt"}}),
        ("fingerprint/leaves", {"spec": spec}),
        ("fingerprint/leaves", {"spec": spec, "grid": {**grid, "width": 0}}),
        ("fingerprint/rows", {"spec": spec, "leaves": ["1; DROP TABLE x"]}),
    ):
        refused = rest.post(f"{path}/{route}", json=body)
        assert refused.status_code == 400 and refused.json()["type"] == "WireFormatError", (
            route,
            refused.text,
        )


def test_an_unknown_instance_or_connector_is_a_documented_404(rest: httpx.Client) -> None:
    """Schemathesis found these 404s undocumented: every operation naming an instance or a
    connector (path, query or body) declares 404, and the answer names the unknown keys."""
    document = rest.get("openapi.json").json()
    path = sensor(rest, 3)
    nope = {"instance_keys": "sql:nope"}
    calls: list[tuple[str, str, str, dict[str, Any], Any]] = [
        ("patch", "/pipes/{connector_keys}/{metric_key}/{location_key}", path, nope, {"parameters": {}}),
        (
            "get",
            "/pipes/{connector_keys}/{metric_key}/{location_key}/rowcount",
            f"{path}/rowcount",
            nope,
            None,
        ),
        ("get", "/pipes", "pipes", nope, None),
        ("get", "/runs", "runs", nope, None),
        ("post", "/pipes", "pipes", {}, {"connector_keys": "rest", "metric_key": "m", **nope}),
        (
            "post",
            "/pipes/{connector_keys}/{metric_key}/{location_key}/sync",
            path_of("m", connector="sql:nope") + "/sync",
            {},
            {},
        ),
    ]
    for method, template, url, query, body in calls:
        answer = rest.request(method.upper(), url, params=query, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        assert answer.json()["type"] == "ConnectorError" and "sql:nope" in answer.json()["error"]
        _validator(document, template, method, 404, "application/json").validate(answer.json())


def test_a_pipe_without_a_table_takes_empty_batches_and_refuses_fingerprints(
    rest: httpx.Client, metric: str
) -> None:
    """Schemathesis long mode got raw database errors here: an empty batch (no columns) tried
    to create a table of no columns, and a fingerprint read a table that did not exist."""
    path = register(rest, metric, columns={"datetime": "dt", "id": "id"})
    for empty in (b"[]", b"[{}]", b"{}"):
        synced = rest.post(f"{path}/data", content=empty, headers={"Content-Type": "application/json"})
        assert synced.status_code == 200, synced.text
        assert (synced.json()["inserted"], synced.json()["created_table"]) == (0, False)
    assert rest.get(f"{path}/exists").json()["exists"] is False
    spec = {"columns": [["dt", "datetime"]], "datetime_column": "dt", "key_columns": ["id"]}
    for route in ("fingerprint", "fingerprint/leaves", "fingerprint/rows"):
        grid = {"origin": 0, "width": 60_000_000, "buckets": 2}
        refused = rest.post(f"{path}/{route}", json={"spec": spec, "grid": grid})
        assert refused.status_code == 400, (route, refused.text)
        assert "has no table to fingerprint yet" in refused.json()["error"], refused.text


def test_an_instance_that_does_not_answer_is_a_documented_503(rest: httpx.Client) -> None:
    """Unknown keys are 404; an instance that is defined but down is 503, saying so."""
    document = rest.get("openapi.json").json()
    answer = rest.get("pipes", params={"instance_keys": "sql:unreachable"})
    assert answer.status_code == 503, answer.text
    info = answer.json()
    assert info["type"] == "ConnectorUnreachableError" and "cannot connect" in info["error"]
    assert "127.0.0.1:9" in info["error"] and "Check that the server is running" in info["error"]
    _validator(document, "/pipes", "get", 503, "application/json").validate(info)


def test_an_api_instance_that_does_not_answer_says_so() -> None:
    connector = APIConnector("down", {"uri": "http://127.0.0.1:9", "retries": 0})
    with pytest.raises(ConnectorUnreachableError, match=r"cannot reach http://127\.0\.0\.1:9/ .* 1 tries"):
        connector.fetch_pipes_keys([], [], [], [])
