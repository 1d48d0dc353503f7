"""R12: a password planted in a connection URI appears in no repr, log, error or widget.

The URI points at the real PostgreSQL server (which trusts local users, so the password is
accepted and real work happens) and at a port where nothing listens (so connecting fails).
Every log record at DEBUG, every error message with its chained causes and traceback, the
reprs and HTML of connectors, pipes and results, and a pipe widget's state are searched.
REST answers are covered by ``test_server_security.py``.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import clear_connector_cache, get_connector
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter.display import connector_html, pipe_html

PASSWORD = "planted-P4ss/w%rd"
FORMS = (PASSWORD, quote(PASSWORD), quote(PASSWORD, safe=""))


def leaked(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def exercise(instance: str, metric: str) -> list[str]:
    """Work and failures on the instance; every text a user could see, in order."""
    texts = [
        repr(get_connector(instance)),
        str(get_connector(instance)),
        connector_html(get_connector(instance)),
    ]
    pipe = mrsm.Pipe("secret", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    texts += [repr(pipe), pipe_html(pipe)]
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    attempts = [
        lambda: pipe.sync(pd.DataFrame({"dt": [t0], "id": [1], "v": [1.0]})),
        lambda: pipe.sync(pd.DataFrame({"dt": [t0], "id": [1], "v": ["text"]})),
        lambda: pipe.get_data(params={"nope": 1}),
        pipe.get_rowcount,
        pipe.verify,
    ]
    for attempt in attempts:
        try:
            result = attempt()
            texts += [repr(result), getattr(result, "_repr_html_", lambda: "")()]
        except MrsmError as exc:
            texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    return texts


@pytest.mark.parametrize("where", ["reachable", "unreachable"])
def test_a_planted_password_is_never_shown(
    where: str, instance_uris: dict[str, str], metric: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = sa.make_url(instance_uris["postgresql"]).set(password=PASSWORD)
    if where == "unreachable":
        url = url.set(port=9)
    os.environ["MRSM_SQL_R12"] = url.render_as_string(hide_password=False)
    clear_connector_cache()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)  # statements and pool events
    try:
        texts = exercise("sql:r12", metric)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    texts += [record.getMessage() for record in caplog.records]
    texts += ["".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info]
    assert len(texts) > 10
    assert [t for t in texts if leaked(t)] == []
    assert any("***" in t for t in texts), "the connector was never described: nothing was tested"
    if where == "reachable":
        assert mrsm.Pipe("secret", metric, instance="sql:r12").get_rowcount() == 1  # real work happened


def test_the_pipe_widget_state_holds_no_password(instance_uris: dict[str, str], metric: str) -> None:
    from mrsm_jupyter.jupyter.widgets.pipe_widget import PipeWidget  # noqa: PLC0415 (ipywidgets)

    url = sa.make_url(instance_uris["postgresql"]).set(password=PASSWORD)
    os.environ["MRSM_SQL_R12W"] = url.render_as_string(hide_password=False)
    pipe = mrsm.Pipe("secret", metric, instance="sql:r12w", columns={"datetime": "dt"})
    pipe.sync(pd.DataFrame({"dt": [pd.Timestamp("2024-01-01", tz="UTC")], "v": [1.0]}))
    widget = PipeWidget(pipe)
    states: list[Any] = []

    def walk(item: Any) -> None:
        if hasattr(item, "get_state"):
            states.append(item.get_state())
            for child in getattr(item, "children", ()):
                walk(child)

    walk(widget)
    walk(widget.table)
    text = json.dumps(states, default=repr) + repr(widget)
    assert len(states) > 3 and leaked(text) == []
    widget.close()
