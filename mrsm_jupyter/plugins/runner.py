"""The kernel side of running plugin code: one worker process per call.

The worker is the plugin environment's Python with the kernel's packages after its own
(:mod:`.environments`), so the plugin's code runs with its environment active and a plugin
that raises, hangs, prints without end or crashes the interpreter only ends its worker: the
kernel (or the Jupyter server) gets a :class:`~mrsm_jupyter.errors.PluginError` naming the
plugin and the pipe. Rows come back as Arrow IPC files, read one batch at a time.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.environments import ensure_environment, venv_python
from mrsm_jupyter.plugins.loading import Plugin
from mrsm_jupyter.plugins.names import plugins_dir
from mrsm_jupyter.plugins.worker import Bound, encode_bound

if TYPE_CHECKING:
    import pyarrow as pa

    from mrsm_jupyter.pipes.pipe import Pipe

DEFAULT_TIMEOUT = 600.0
# Lines of a worker's output kept for the error message (the rest is only counted).
TAIL_LINES = 40
_BOOTSTRAP = "import sys; from mrsm_jupyter.plugins.worker import main; sys.exit(main(sys.argv[1]))"
log = logging.getLogger(__name__)


@dataclass
class WorkerOutput:
    """What a worker printed: the last lines, and how many there were."""

    tail: deque[str]
    lines: int = 0

    def read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines += 1
            self.tail.append(raw.decode(errors="replace").rstrip())

    @property
    def text(self) -> str:
        skipped = self.lines - len(self.tail)
        head = [f"[{skipped:,} earlier lines not kept]"] if skipped > 0 else []
        return "\n".join(head + list(self.tail))


def pipe_view(pipe: Pipe) -> dict[str, Any]:
    """What the worker's pipe knows: keys, parameters and the newest sync time."""
    return {
        "connector_keys": pipe.connector_keys,
        "metric_key": pipe.metric_key,
        "location_key": pipe.location_key,
        "instance_keys": pipe.instance_keys,
        "parameters": pipe.parameters,
        "sync_time": encode_bound(pipe.get_sync_time()) if pipe.is_registered else None,
    }


def _environment(environment: Path) -> dict[str, str]:
    """The plugin's environment active: ``VIRTUAL_ENV`` and its ``bin`` first on ``PATH``;
    ``PYTHONPATH`` dropped, since the kernel's path is added after the plugin's own."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(environment)
    env["PATH"] = f"{environment / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _start(plugin: Plugin, work: Path) -> subprocess.Popen[bytes]:
    environment = ensure_environment(plugin.name)
    return subprocess.Popen(
        [str(venv_python(environment)), "-c", _BOOTSTRAP, str(work)],
        cwd=work,
        env=_environment(environment),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Its own process group: a timeout ends the worker and anything it started.
        start_new_session=True,
    )


def _wait(process: subprocess.Popen[bytes], timeout: float, output: WorkerOutput) -> bool:
    """Wait for the worker, reading its output; end its process group after ``timeout``.
    Whether it finished in time."""
    assert process.stdout is not None
    reader = threading.Thread(target=output.read, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False
    finally:
        reader.join(timeout=5)
        process.stdout.close()
    return True


def _failure(plugin: Plugin, call: str, pipe: Pipe | None, problem: str, output: WorkerOutput) -> PluginError:
    printed = f"\nIts last output:\n{output.text}" if output.lines else ""
    return PluginError(
        plugin.name, f"{call} {problem}{printed}", "Fix the plugin, or run it alone to see more.", pipe=pipe
    )


def _answer(
    plugin: Plugin,
    call: str,
    pipe: Pipe | None,
    work: Path,
    process: subprocess.Popen[bytes],
    output: WorkerOutput,
) -> Any:
    """The value the call returned; a PluginError if it raised or the worker died."""
    result = work / "result.json"
    if not result.exists():
        raise _failure(plugin, call, pipe, f"crashed (exit status {process.returncode}).", output)
    answer = json.loads(result.read_text())
    if not answer["ok"]:
        problem = f"raised {answer['type']}: {answer['message']}\n{answer['traceback'].rstrip()}"
        raise _failure(plugin, call, pipe, problem, output)
    return answer


@dataclass
class WorkerResult:
    """A finished call: its returned value, and the batches it wrote (read lazily)."""

    value: Any
    work: tempfile.TemporaryDirectory[str]

    def batches(self) -> Iterator[pa.Table]:
        import pyarrow as pa  # noqa: PLC0415 (the engine's dependency, loaded when rows come back)

        try:
            for path in sorted(Path(self.work.name).glob("batch-*.arrow")):
                with pa.memory_map(str(path)) as source:
                    yield pa.ipc.open_file(source).read_all()
        finally:
            self.work.cleanup()


def run_plugin(
    plugin: Plugin,
    call: str,
    *,
    pipe: Pipe | None = None,
    begin: Bound = None,
    end: Bound = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> WorkerResult:
    """Run ``plugin.<call>`` in a worker; its value and batches, or a PluginError."""
    if call not in plugin.functions:
        raise PluginError(
            plugin.name, f"defines no {call}().", f"Add {call}() to {plugin.source}.", pipe=pipe
        )
    work = tempfile.TemporaryDirectory(prefix=f"mrsm-plugin-{plugin.name}-")
    request: dict[str, Any] = {"call": call, "module": plugin.module, "plugins_dir": str(plugins_dir())}
    request |= {"begin": encode_bound(begin), "end": encode_bound(end)}
    request["pipe"] = pipe_view(pipe) if pipe is not None else None
    Path(work.name, "request.json").write_text(json.dumps(request, default=str))
    output = WorkerOutput(deque(maxlen=TAIL_LINES))
    try:
        process = _start(plugin, Path(work.name))
        if not _wait(process, timeout, output):
            stopped = f"did not finish within {timeout:g} s and was stopped."
            raise _failure(plugin, call, pipe, stopped, output)
        answer = _answer(plugin, call, pipe, Path(work.name), process, output)
    except PluginError:
        work.cleanup()
        raise
    if output.lines:
        log.info("plugin %s printed %d line(s); the last:\n%s", plugin.name, output.lines, output.text)
    return WorkerResult(answer["value"], work)
