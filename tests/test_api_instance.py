"""What the ``api:`` instance adds to the contract (tests/test_contract.py runs it too):
errors that name the connector and the pipe, retries, chunked uploads, paged streaming reads,
progress bars, and fetching from a remote pipe."""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.api import APIConnector
from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.errors import ConnectorError, PipeError
from mrsm_jupyter.pipes.bounds import Window

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def api_instance(uri: str, **attributes: Any) -> str:
    """A fresh ``api:`` connector (its own label) with these attributes."""
    label = f"t{uuid.uuid4().hex[:8]}"
    os.environ[f"MRSM_API_{label.upper()}"] = json.dumps({"uri": uri, **attributes})
    return f"api:{label}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def frame(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(minutes=i + start) for i in range(n)],
            "id": [i % 3 for i in range(n)],
            "value": [float(i + start) for i in range(n)],
        }
    )


def test_errors_name_the_callers_pipe_and_connector(api_server: str, metric: str) -> None:
    instance = api_instance(api_server)
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt"})
    pipe.sync(frame(3))
    with pytest.raises(PipeError, match=rf"Pipe\('test', '{metric}', instance='{instance}'\): has no column"):
        pipe.get_data(params={"nope": 1})


def test_an_unreachable_server_is_retried_then_named(metric: str) -> None:
    instance = api_instance(f"http://127.0.0.1:{closed_port()}/?token=hidden-token-1", retries=1)
    with pytest.raises(ConnectorError, match=rf"{instance}: cannot reach .* after 2 tries") as caught:
        mrsm.Pipe("test", metric, instance=instance).exists()
    assert "hidden-token-1" not in str(caught.value)
    assert "hidden-token-1" not in repr(get_connector(instance))


def test_a_wrong_token_is_refused_clearly(api_server: str, metric: str) -> None:
    instance = api_instance(api_server.split("?", maxsplit=1)[0] + "?token=wrong")
    with pytest.raises(ConnectorError, match=rf"{instance}: GET .* was refused .*Check the token"):
        mrsm.Pipe("test", metric, instance=instance).exists()


def test_a_server_without_the_extension_is_named(api_server: str, metric: str) -> None:
    base, token = api_server.split("?token=")
    instance = api_instance(f"{base}elsewhere/?token={token}")
    with pytest.raises(ConnectorError, match="Is mrsm_jupyter installed and enabled"):
        mrsm.Pipe("test", metric, instance=instance).exists()


def test_a_uri_is_required() -> None:
    with pytest.raises(ConnectorError, match="needs a URI like http://host:8888"):
        APIConnector("nouri", {"uri": "ftp://x"})


def test_large_batches_upload_in_bounded_chunks(
    api_server: str, metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = api_instance(api_server, chunk_bytes=4_000)
    connector = get_connector(instance)
    posts: list[int] = []
    request = connector._request

    def counting(method: str, path: str, **kwargs: Any) -> Any:
        if method == "POST" and path.endswith("/data"):
            posts.append(len(kwargs["content"]))
        return request(method, path, **kwargs)

    monkeypatch.setattr(connector, "_request", counting)
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    result = pipe.sync(frame(1_000))
    assert (result.inserted, result.batches) == (1_000, 1)
    assert len(posts) > 5 and max(posts) < 8_000
    assert pipe.get_rowcount() == 1_000


def test_reads_follow_pages_and_stream(
    api_server: str, metric: str, capsys: pytest.CaptureFixture[str]
) -> None:
    instance = api_instance(api_server, page_rows=7, progress=True)
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    pipe.sync(frame(100))
    df = pipe.get_data()
    assert df["value"].tolist() == [float(i) for i in range(100)]
    assert "100/100" in capsys.readouterr().err
    connector = get_connector(instance)
    pages = list(connector.read_pipe_batches(pipe, None, [Window()], None, "asc"))
    assert [p.num_rows for p in pages] == [7] * 14 + [2]


def test_an_api_connector_as_source_fetches_a_remote_pipe(api_server: str, metric: str) -> None:
    instance = api_instance(api_server)
    remote = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    remote.sync(frame(20))
    local = mrsm.Pipe(
        instance,
        metric,
        instance="sql:memory",
        columns={"datetime": "dt", "id": "id"},
        parameters={"fetch": {"pipe": {"connector_keys": "test", "metric_key": metric}}},
    )
    assert local.sync().inserted == 20
    remote.sync(frame(5, start=20))
    assert local.sync(begin=T0 + timedelta(minutes=18)).inserted == 5
    pd.testing.assert_frame_equal(local.get_data(), remote.get_data())
    with pytest.raises(PipeError, match=f"has no remote pipe to fetch from {instance}"):
        mrsm.Pipe(instance, f"{metric}_bare", instance="sql:memory").sync()
