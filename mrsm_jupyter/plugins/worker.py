"""The worker side: runs one call of a plugin (``fetch``, ``sync``, ``register`` or
``setup``) in the plugin's environment, then exits.

Started by :mod:`.runner` as ``<venv>/bin/python -c ... <work dir>``. It reads
``request.json`` from the work directory and writes there: each batch of rows as an Arrow
IPC file (``batch-00000.arrow``, ...) and ``result.json`` (a value, or the error with its
traceback). Everything the plugin prints goes to the runner, which keeps the tail. This
module imports only pyarrow beyond the standard library, and not mrsm_jupyter's engine.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
import types
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

PLUGINS_PACKAGE = "mrsm_plugins"
Bound = datetime | int | None


def encode_bound(value: Bound) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def decode_bound(value: Any) -> Bound:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class PluginPipe:
    """The pipe as a plugin sees it in the worker: its keys and parameters, its newest sync
    time, and ``sync(rows)``, which hands rows back to the kernel to merge."""

    def __init__(self, view: Mapping[str, Any], batches: BatchWriter) -> None:
        self.connector_keys: str = view["connector_keys"]
        self.metric_key: str = view["metric_key"]
        self.location_key: str | None = view["location_key"]
        self.instance_keys: str = view["instance_keys"]
        self.parameters: dict[str, Any] = dict(view["parameters"])
        self._sync_time = decode_bound(view.get("sync_time"))
        self._batches = batches

    @property
    def columns(self) -> dict[str, Any]:
        return dict(self.parameters.get("columns") or {})

    @property
    def dtypes(self) -> dict[str, Any]:
        return dict(self.parameters.get("dtypes") or {})

    def get_sync_time(self) -> Bound:
        return self._sync_time

    def sync(self, df: Any) -> tuple[bool, str]:
        """Queue rows (one batch or an iterator of batches) for the kernel to merge."""
        count = self._batches.write_all(df)
        return True, f"{count} batch(es) handed to the kernel"

    def __repr__(self) -> str:
        keys = [repr(self.connector_keys), repr(self.metric_key)]
        if self.location_key is not None:
            keys.append(repr(self.location_key))
        return f"Pipe({', '.join(keys)}, instance={self.instance_keys!r})"


class BatchWriter:
    """Writes each batch a plugin gives as an Arrow IPC file in the work directory."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.count = 0

    def write(self, batch: Any) -> None:
        import pyarrow as pa  # noqa: PLC0415 (only a call that returns rows needs it)

        table = to_arrow(batch)
        if table is None:
            return
        path = str(self.work / f"batch-{self.count:05d}.arrow")
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        self.count += 1

    def write_all(self, data: Any) -> int:
        before = self.count
        for batch in data if isinstance(data, Iterator) else [data]:
            self.write(batch)
        return self.count - before


def to_arrow(batch: Any) -> Any:
    """A DataFrame (pandas or polars), an Arrow table, a list of dicts or a dict of lists,
    as one Arrow table (``None`` stays ``None``)."""
    import pyarrow as pa  # noqa: PLC0415

    if batch is None:
        return None
    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if hasattr(batch, "to_arrow"):  # polars
        return batch.to_arrow()
    if type(batch).__module__.startswith("pandas"):
        return pa.Table.from_pandas(batch, preserve_index=False)
    if isinstance(batch, Mapping):
        return pa.Table.from_pydict(dict(batch))
    if isinstance(batch, (list, tuple)):
        return pa.Table.from_pylist(list(batch))
    raise TypeError(f"cannot turn a {type(batch).__name__} into rows; return a DataFrame or a list of dicts")


def import_plugin(module: str, plugins_dir: str) -> types.ModuleType:
    """Import the plugin; those of the plugins directory live under ``mrsm_plugins``."""
    if module.startswith(f"{PLUGINS_PACKAGE}.") and PLUGINS_PACKAGE not in sys.modules:
        package = types.ModuleType(PLUGINS_PACKAGE)
        package.__path__ = [plugins_dir]
        sys.modules[PLUGINS_PACKAGE] = package
    return importlib.import_module(module)


def _call(module: types.ModuleType, request: Mapping[str, Any], work: Path) -> Any:
    call = request["call"]
    if call == "setup":
        return module.setup()
    batches = BatchWriter(work)
    pipe = PluginPipe(request["pipe"], batches)
    if call == "register":
        return module.register(pipe)
    if call == "fetch":
        batches.write_all(module.fetch(pipe, decode_bound(request["begin"]), decode_bound(request["end"])))
        return batches.count
    returned = module.sync(pipe)
    if isinstance(returned, tuple) and returned and returned[0] is False:
        raise RuntimeError(str(returned[1] if len(returned) > 1 else "sync failed"))
    return batches.count


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def main(work_dir: str) -> int:
    work = Path(work_dir)
    request = json.loads((work / "request.json").read_text())
    try:
        module = import_plugin(request["module"], request["plugins_dir"])
        answer: dict[str, Any] = {"ok": True, "value": _jsonable(_call(module, request, work))}
    except BaseException as exc:  # (SystemExit too: everything goes back to the kernel)
        answer = {
            "ok": False,
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    sys.stdout.flush()
    (work / "result.json").write_text(json.dumps(answer))
    return 0 if answer["ok"] else 1
