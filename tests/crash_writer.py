"""A fork server of sync writers for the crash tests (R1, R2), and the oracle of what they write.

Started once as ``python tests/crash_writer.py``, it imports the engine, then forks a warm
writer per command, so a test can ``kill -9`` hundreds of real syncs without paying Python's
start-up each time. Commands and events are JSON lines on stdin and stdout:

- ``{"cmd": "run", "instance", "metric", "stop", "crash": point|null, "crash_batch": n}``
  forks a writer that syncs batches from the pipe's sync time up to ``stop``, printing
  ``started`` and then ``committed`` after each ``pipe.sync`` returns. With ``crash`` set, the
  writer kills itself with SIGKILL at that point of batch ``crash_batch`` (see ``CRASH_POINTS``).
- ``{"cmd": "sync", "instance", "metric", "rows": [...]}`` forks a writer syncing those rows.
- ``{"cmd": "kill", "pid"}`` sends SIGKILL and reaps; ``{"cmd": "wait", "pid"}`` reaps.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

ROWS = 400  # new keys per batch
UPDATED = ROWS // 4  # keys of the previous batch each batch rewrites
DRIFT = 3  # from this batch on, batches carry a new column
T0 = datetime(2024, 1, 1, tzinfo=UTC)
COLUMNS = {"datetime": "dt", "id": "id"}
Row = tuple[datetime, int, float, int, str | None]


def _row(b: int, i: int, writer: int) -> Row:
    return (T0 + timedelta(seconds=b * ROWS + i), i % 7, float(writer * 1000 + i), writer, _note(writer))


def _note(b: int) -> str | None:
    return f"b{b} 'quoted' \u00e9" if b >= DRIFT else None


def batch_rows(b: int) -> list[Row]:
    """Batch ``b``: ``ROWS`` new keys, and the first ``UPDATED`` keys of batch ``b - 1`` rewritten."""
    rows = [_row(b, i, b) for i in range(ROWS)]
    if b:
        rows += [_row(b - 1, i, b) for i in range(UPDATED)]
    return rows


def batch_frame(b: int) -> pd.DataFrame:
    rows = batch_rows(b)
    frame = pd.DataFrame(rows, columns=["dt", "id", "value", "batch", "note"])
    return frame if b >= DRIFT else frame.drop(columns="note")


def expected_rows(k: int) -> list[Row]:
    """The table after batches ``0..k`` committed (``k = -1``: nothing), sorted by key."""
    table: dict[tuple[datetime, int], Row] = {}
    for b in range(k + 1):
        for row in batch_rows(b):
            table[row[:2]] = row  # type: ignore[index]
    return sorted(table.values(), key=lambda r: (r[0], r[1]))


def next_batch(sync_time: datetime | None) -> int:
    """The batch to write next, from the newest committed datetime (the recorded sync state)."""
    if sync_time is None:
        return 0
    return int((sync_time - T0).total_seconds()) // ROWS + 1


# Crash points: (class path, method); the writer dies right after the method returns, inside
# the sync's transaction, or (``acknowledge``) after the sync returned, before it is reported.
CRASH_POINTS = {
    "registration": ("mrsm_jupyter.connectors.sql.registrations", "Registry", "insert"),
    "create_table": ("mrsm_jupyter.connectors.sql.connector", "SQLConnector", "_create_table"),
    "alter_table": ("mrsm_jupyter.connectors.sql.connector", "SQLConnector", "_alter_table"),
    "record_dtypes": ("mrsm_jupyter.connectors.sql.connector", "SQLConnector", "_remember_dtypes"),
    "merge_rows": ("mrsm_jupyter.connectors.sql.connector", "SQLConnector", "_merge_rows"),
    "acknowledge": ("mrsm_jupyter.connectors.sql.connector", "SQLConnector", "sync_pipe"),
}
_current = [-1]


def _die_after(method: Callable[..., Any], batch: int) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        answer = method(*args, **kwargs)
        if _current[0] == batch:
            os.kill(os.getpid(), signal.SIGKILL)
        return answer

    return wrapped


def _arm(point: str, batch: int) -> None:
    module_name, class_name, method_name = CRASH_POINTS[point]
    cls = getattr(sys.modules[module_name], class_name)
    setattr(cls, method_name, _die_after(getattr(cls, method_name), batch))


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _run(command: dict[str, Any]) -> None:
    import mrsm_jupyter as mrsm  # noqa: PLC0415 (imported by the server before forking)

    os.environ.update(command.get("env", {}))
    pipe = mrsm.Pipe("crash", command["metric"], instance=command["instance"], columns=COLUMNS)
    if command.get("crash"):
        _arm(command["crash"], int(command["crash_batch"]))
    _emit({"pid": os.getpid(), "event": "started"})
    if "rows" in command:
        frame = pd.DataFrame(command["rows"])
        pipe.sync(frame.assign(dt=pd.to_datetime(frame["dt"], utc=True)))
        _emit({"pid": os.getpid(), "event": "committed", "batch": 0})
        return
    for b in range(next_batch(pipe.get_sync_time()), int(command["stop"])):
        _current[0] = b
        pipe.sync(batch_frame(b))
        _emit({"pid": os.getpid(), "event": "committed", "batch": b})


def _fork(command: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        _run(command)
        code = 0
    except BaseException as exc:  # reported to the test, which decides
        _emit({"pid": os.getpid(), "event": "error", "error": f"{type(exc).__name__}: {exc}"})
        code = 1
    sys.stdout.flush()
    os._exit(code)


def serve() -> None:
    import importlib  # noqa: PLC0415

    # Warm imports, shared by every fork (the drivers are imported on first use otherwise).
    for module in (
        "mrsm_jupyter",
        "mrsm_jupyter.connectors.sql.connector",
        "mrsm_jupyter.connectors.sql.pgcopy",
        "pyarrow.compute",
        "psycopg",
        "pymysql",
        "sqlalchemy.dialects.postgresql.psycopg",
        "sqlalchemy.dialects.mysql.pymysql",
    ):
        importlib.import_module(module)

    _emit({"event": "ready"})
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] in ("run", "sync"):
            _emit({"event": "forked", "pid": _fork(command)})
        else:
            pid = int(command["pid"])
            if command["cmd"] == "kill":
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            _emit({"event": "reaped", "pid": pid, "status": status})


if __name__ == "__main__":
    serve()


class WriterServer:
    """The test's side of the fork server: start writers, kill them, collect their events."""

    def __init__(self, env: dict[str, str]) -> None:
        import queue  # noqa: PLC0415 (test side only)
        import subprocess  # noqa: PLC0415
        import threading  # noqa: PLC0415

        self.proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: dict[int, list[dict[str, Any]]] = {}
        threading.Thread(target=self._read, daemon=True).start()
        self._next(lambda e: e["event"] == "ready", timeout=60)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:  # a library printed to stdout: keep it, keep reading
                self.events.put({"event": "noise", "line": line})

    def _next(self, match: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict[str, Any]:
        while True:
            event = self.events.get(timeout=timeout)
            if "pid" in event:
                self.seen.setdefault(int(event["pid"]), []).append(event)
            if match(event):
                return event

    def _send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command, default=str) + "\n")
        self.proc.stdin.flush()

    def start(self, command: dict[str, Any]) -> int:
        """Fork a writer (``run`` or ``sync``) and wait until it has started."""
        self._send(command)
        pid = int(self._next(lambda e: e["event"] == "forked")["pid"])
        if any(e["event"] in ("started", "error") for e in self.seen.get(pid, [])):
            return pid  # the writer spoke before the server said it forked it
        try:
            self._next(lambda e: e.get("pid") == pid and e["event"] in ("started", "error"), timeout=60)
        except Exception as exc:
            raise AssertionError(f"writer {pid} never started: {self.finish(pid, kill=True)}") from exc
        return pid

    def finish(self, pid: int, kill: bool) -> list[dict[str, Any]]:
        """Kill (or wait for) the writer; return every event it printed."""
        self._send({"cmd": "kill" if kill else "wait", "pid": pid})
        self._next(lambda e: e["event"] == "reaped" and e["pid"] == pid, timeout=300)
        return self.seen.pop(pid)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
