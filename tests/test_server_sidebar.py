"""The routes the JupyterLab sidebar adds to the REST API: row counts per time bucket (its
sparkline) and the verify trigger, against the real Jupyter server of ``api_server``."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
from test_server import (
    _validator,
    path_of,
    register,
    rest,  # noqa: F401 (the fixture, reused by name)
    rows,
    sensor,
)

from mrsm_jupyter.jupyter.server.activity import bucket_edges

PIPE_PATH = "/pipes/{connector_keys}/{metric_key}/{location_key}"


def test_bucket_edges_cover_every_value_once() -> None:
    assert bucket_edges(0, 9, 5) == [0, 2, 4, 6, 8, 10]
    assert bucket_edges(7, 7, 3) == [7, 8, 9, 10]
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    edges = bucket_edges(t0, t0 + timedelta(hours=4), 4)
    assert edges[0] == t0 and edges[-1] == t0 + timedelta(hours=4, microseconds=1)
    widths = {b - a for a, b in itertools.pairwise(edges)}
    assert len(edges) == 5 and max(widths) - min(widths) <= timedelta(microseconds=1)


def test_rowcount_buckets_count_each_row_once(rest: httpx.Client) -> None:  # noqa: F811
    document = rest.get("openapi.json").json()
    path = sensor(rest, 30, ids=3)  # 3 rows a minute over minutes 0 to 9
    answer = rest.get(f"{path}/rowcount_buckets", params={"buckets": 5})
    assert answer.status_code == 200, answer.text
    _validator(document, PIPE_PATH + "/rowcount_buckets", "get", 200, "application/json").validate(
        answer.json()
    )
    buckets = answer.json()
    assert buckets["counts"] == [6, 6, 6, 6, 6]
    assert buckets["begin"] == "2024-01-01T00:00:00+00:00"
    one = rest.get(f"{path}/rowcount_buckets", params={"buckets": 1}).json()
    assert one["counts"] == [30]
    assert rest.get(f"{path}/rowcount_buckets", params={"buckets": 0}).status_code == 400
    assert rest.get(f"{path}/rowcount_buckets", params={"buckets": 101}).status_code == 400


def test_rowcount_buckets_of_an_empty_pipe(rest: httpx.Client, metric: str) -> None:  # noqa: F811
    path = register(rest, metric, columns={"datetime": "dt"})
    answer = rest.get(f"{path}/rowcount_buckets")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"begin": None, "end": None, "counts": []}


def test_verify_resyncs_what_changed_at_the_source(rest: httpx.Client, metric: str) -> None:  # noqa: F811
    document = rest.get("openapi.json").json()
    raw = register(rest, metric, columns={"datetime": "dt", "id": "id"})
    assert rest.post(f"{raw}/data", json=rows(12)).json()["inserted"] == 12
    definition = f"SELECT * FROM {{{{ Pipe('rest', '{metric}', instance='sql:local') }}}}"
    body = {
        "connector_keys": "sql:local",
        "metric_key": f"{metric}_copy",
        "parameters": {"columns": {"datetime": "dt", "id": "id"}, "fetch": {"definition": definition}},
    }
    assert rest.post("pipes", json=body).status_code == 201
    copy = path_of(f"{metric}_copy", connector="sql:local")
    assert rest.post(f"{copy}/sync", json={"begin": "2024-01-01"}).json()["inserted"] == 12

    changed = [{**row, "v": -1} for row in rows(3)]  # the first minute's rows, corrected
    assert rest.post(f"{raw}/data", json=changed).json()["updated"] == 3
    answer = rest.post(f"{copy}/verify", json={})
    assert answer.status_code == 200, answer.text
    _validator(document, PIPE_PATH + "/verify", "post", 200, "application/json").validate(answer.json())
    verified = answer.json()
    assert verified["success"] is True and verified["updated"] == 3 and verified["chunks_changed"] >= 1
    data = rest.get(f"{copy}/data", params={"params": '{"v": -1}'}).json()
    assert data["row_count"] == 3
    assert rest.post(f"{copy}/verify", json={"deletes": "yes"}).status_code == 400
