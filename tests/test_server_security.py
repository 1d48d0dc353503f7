"""Security of the REST API, on an in-process Jupyter server (pytest-jupyter's ``jp_serverapp``).

R6: every mrsm route and method, found from the server's own routing table, answers 403
without credentials (unauthenticated access turned off); cookie-authenticated POSTs need the
XSRF token. R12: a planted password never appears in an answer. R5: hostile keys, params,
bounds and bodies through REST change no catalog.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sql_capture import capture
from tornado.httpclient import HTTPResponse
from tornado.routing import PathMatches, Rule
from traitlets.config import Config

from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.errors import ConnectorError, PipeError
from mrsm_jupyter.jupyter.server.base import error_info
from mrsm_jupyter.jupyter.server.routes import ROUTES

Fetch = Callable[..., Awaitable[HTTPResponse]]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
PASSWORD = "planted-S3cret%x"
TOKEN = "planted-t0ken-xyz"


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"mrsm_jupyter": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            }
        }
    )


def _rules(router: Any) -> Iterator[Rule]:
    for rule in getattr(router, "rules", []):
        yield rule
        yield from _rules(rule.target)


def mrsm_patterns(serverapp: Any) -> list[str]:
    """Path patterns of the mrsm routes in the server's routing table."""
    found = []
    for rule in _rules(serverapp.web_app.default_router):
        if isinstance(rule.matcher, PathMatches) and "/mrsm/api" in rule.matcher.regex.pattern:
            found.append(rule.matcher.regex.pattern)
    return found


def concrete_path(pattern: str) -> str:
    """A URL path the pattern matches: each group filled with a harmless key."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "k", pattern).rstrip("$").replace("/?", "")
    return path.replace("\\", "")


@pytest.fixture
def fetch(
    jp_serverapp: Any, http_server_client: Any, jp_auth_header: dict[str, str], jp_base_url: str
) -> Fetch:
    """Like ``jp_fetch``, for a path already percent-encoded (keys may hold ``/`` and ``%``),
    with its query string."""

    def fetch_url(path: str, **kwargs: Any) -> Awaitable[HTTPResponse]:
        headers = {**jp_auth_header, **kwargs.pop("headers", {})}
        return http_server_client.fetch(jp_base_url + path, headers=headers, request_timeout=30, **kwargs)

    return fetch_url


async def call(fetch: Fetch, method: str, path: str, **kwargs: Any) -> HTTPResponse:
    body = kwargs.pop("body", b"{}" if method in ("POST", "PUT", "PATCH") else None)
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return await fetch(path, method=method, body=body, raise_error=False, headers=headers, **kwargs)


async def test_every_route_and_method_refuses_anonymous_requests(jp_serverapp: Any, fetch: Fetch) -> None:
    patterns = mrsm_patterns(jp_serverapp)
    assert len(patterns) == len(ROUTES)
    base = jp_serverapp.base_url
    for pattern in patterns:
        path = concrete_path(pattern)[len(base) :]
        for method in METHODS:
            answer = await call(fetch, method, path, headers={"Authorization": ""})
            assert answer.code == 403, (method, path, answer.code)
            wrong = await call(fetch, method, path, headers={"Authorization": "token wrong"})
            assert wrong.code == 403, (method, path, wrong.code)
    assert (await call(fetch, "GET", "mrsm/api/instances")).code == 200


async def _login_cookies(jp_serverapp: Any, fetch: Fetch) -> dict[str, str]:
    page = await fetch("login", headers={"Authorization": ""}, raise_error=False)
    cookies = {k: v.value for k, v in SimpleCookie(page.headers.get("Set-Cookie", "")).items()}
    body = urlencode({"password": jp_serverapp.identity_provider.token, "_xsrf": cookies["_xsrf"]})
    login = await fetch(
        "login",
        method="POST",
        body=body,
        headers={"Authorization": "", "Cookie": f"_xsrf={cookies['_xsrf']}"},
        follow_redirects=False,
        raise_error=False,
    )
    for header in login.headers.get_list("Set-Cookie"):
        cookies |= {k: v.value for k, v in SimpleCookie(header).items()}
    return cookies


async def test_cookie_posts_need_the_xsrf_token(jp_serverapp: Any, fetch: Fetch) -> None:
    cookies = await _login_cookies(jp_serverapp, fetch)
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = json.dumps({"connector_keys": "xsrf", "metric_key": "m", "instance_keys": "sql:memory"}).encode()
    read = await call(fetch, "GET", "mrsm/api/instances", headers={"Authorization": "", "Cookie": header})
    assert read.code == 200  # the cookie authenticates
    for method, path in (("POST", "mrsm/api/pipes"), ("DELETE", "mrsm/api/pipes/xsrf/m/None")):
        payload = body if method == "POST" else None
        refused = await call(
            fetch, method, path, body=payload, headers={"Authorization": "", "Cookie": header}
        )
        assert refused.code == 403, (method, refused.code)
    headers = {"Authorization": "", "Cookie": header, "X-XSRFToken": cookies["_xsrf"]}
    assert (await call(fetch, "POST", "mrsm/api/pipes", body=body, headers=headers)).code == 201


async def test_planted_secrets_appear_in_no_answer(
    jp_serverapp: Any, fetch: Fetch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MRSM_SQL_PLANTED", f"postgresql://mrsm:{quote(PASSWORD)}@127.0.0.1:9/nowhere")
    monkeypatch.setenv(
        "MRSM_API_PLANTED", json.dumps({"uri": f"http://127.0.0.1:9/?token={TOKEN}", "retries": 0})
    )
    monkeypatch.setenv("MRSM_SQL_JSONED", json.dumps({"flavor": "postgresql", "password": PASSWORD}))
    paths = ["instances", "connectors", "pipes", "openapi.json"]
    for keys in ("sql:planted", "api:planted", "sql:jsoned"):
        paths += [f"pipes?instance_keys={keys}", f"pipes/a/b/None/data?instance_keys={keys}"]
        paths += [f"pipes/a/b/None?instance_keys={keys}", f"pipes/a/b/None/rowcount?instance_keys={keys}"]
    answers = []
    for path in paths:
        answer = await call(fetch, "GET", "mrsm/api/" + path)
        assert answer.code < 500 or answer.code == 503, (path, answer.code, answer.body)
        answers.append(answer.body.decode())
    text = "\n".join(answers)
    assert "***" in text  # the planted connectors were shown, masked
    for secret in (PASSWORD, quote(PASSWORD), quote(PASSWORD, safe=""), TOKEN):
        assert secret not in text


HOSTILE = "x'); DROP TABLE mrsm_pipes; --"
HOSTILE_KEYS = [HOSTILE, 'a"; DELETE FROM mrsm_pipes; --', "m%s:x\\", "../../etc/passwd", "None"]


def catalog(instance: str) -> Any:
    """Tables, columns and registrations of the instance (the test may use SQL; handlers may not)."""
    db = get_connector(instance).db
    with db.session() as s:
        columns = s.fetchall(
            "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY 1, 2"
        )
        pipes = s.fetchall("SELECT * FROM mrsm_pipes ORDER BY pipe_id")
    return columns, [tuple(map(str, row)) for row in pipes]


def hostile_requests(path: str) -> list[tuple[str, str, Any]]:
    hostile_params = [{HOSTILE: 1}, {"id": HOSTILE}, {"id": [HOSTILE, "_" + HOSTILE]}, {"dt": HOSTILE}]
    found: list[tuple[str, str, Any]] = []
    for params in hostile_params:
        found += [("GET", f"{path}/data?params={quote(json.dumps(params))}", None)]
        found += [("POST", f"{path}/clear", {"params": params})]
    for bound in (HOSTILE, "2024-01-01'; DROP TABLE mrsm_pipes; --", "1; DROP TABLE mrsm_pipes"):
        found += [("GET", f"{path}/rowcount?begin={quote(bound)}", None)]
        found += [("POST", f"{path}/clear", {"begin": bound})]
    found += [("GET", f"{path}/data?select_columns={quote(HOSTILE)}", None)]
    found += [("GET", f"{path}/distinct?column={quote(HOSTILE)}", None)]
    found += [("GET", f"{path}/data?cursor={quote(HOSTILE)}", None)]
    found += [("POST", f"{path}/data", "not json")]
    return found


async def test_hostile_requests_change_no_catalog(
    fetch: Fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MRSM_SQL_HOSTILE", f"duckdb:///{tmp_path / 'hostile.duckdb'}")
    instance = "?instance_keys=sql:hostile"
    body = {
        "connector_keys": "safe",
        "metric_key": "m",
        "parameters": {"columns": {"datetime": "dt", "id": "id"}},
    }
    created = await call(fetch, "POST", f"mrsm/api/pipes{instance}", body=json.dumps(body))
    assert created.code == 201, created.body
    rows = json.dumps([{"dt": "2024-01-01T00:00:00+00:00", "id": 1, "v": 1.0}])
    assert (await call(fetch, "POST", f"mrsm/api/pipes/safe/m/None/data{instance}", body=rows)).code == 200
    before = catalog("sql:hostile")
    with capture(monkeypatch) as log:
        await _send_hostile_requests(fetch, instance)
    # The statement hook (R5): no hostile value reached SQL text outside a quoted identifier.
    assert log.bound("DROP TABLE mrsm_pipes") > 0
    assert log.leaks("DROP TABLE mrsm_pipes") == [] and log.leaks("DELETE FROM mrsm_pipes") == []
    assert catalog("sql:hostile") == before
    hostile = {"connector_keys": HOSTILE, "metric_key": HOSTILE, "location_key": HOSTILE}
    assert (await call(fetch, "POST", f"mrsm/api/pipes{instance}", body=json.dumps(hostile))).code == 201
    columns, pipes = catalog("sql:hostile")
    assert columns == before[0] and pipes[:-1] == before[1] and pipes[-1][1:4] == (HOSTILE, HOSTILE, HOSTILE)


async def _send_hostile_requests(fetch: Fetch, instance: str) -> None:
    for key in HOSTILE_KEYS:
        for path in ("pipes/safe/m/None", "pipes/" + "/".join(quote(k, safe="") for k in (key, key, key))):
            for method, url, payload in hostile_requests(path):
                sep = "&" if "?" in url else "?"
                text = payload if isinstance(payload, str) or payload is None else json.dumps(payload)
                answer = await call(fetch, method, f"mrsm/api/{url}{sep}instance_keys=sql:hostile", body=text)
                assert answer.code < 500, (method, url, answer.code, answer.body)
        for method in ("DELETE", "PATCH"):
            parameters = quote(json.dumps({"target": HOSTILE}))
            url = "mrsm/api/pipes/" + "/".join(quote(k, safe="") for k in (key, "m", "loc"))
            url += f"{instance}&parameters={parameters}"
            body = None if method == "DELETE" else json.dumps({"parameters": {"target": HOSTILE}})
            answer = await call(fetch, method, url, body=body)
            assert answer.code < 500, (method, url, answer.code)


def test_errors_are_scrubbed_of_every_configured_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRSM_SQL_PLANTED", f"postgresql://mrsm:{quote(PASSWORD)}@127.0.0.1:9/nowhere")
    monkeypatch.setenv("MRSM_API_PLANTED", f"http://127.0.0.1:9/?token={TOKEN}")
    leaky = [
        ConnectorError(f"cannot parse postgresql://mrsm:{PASSWORD}@127.0.0.1:9/nowhere"),
        PipeError("pipe", f"the driver said {quote(PASSWORD)}", f"retry with token {TOKEN}"),
    ]
    for exc in leaky:
        text = json.dumps(error_info(exc, 400))
        assert PASSWORD not in text and quote(PASSWORD) not in text and TOKEN not in text
        assert "***" in text
