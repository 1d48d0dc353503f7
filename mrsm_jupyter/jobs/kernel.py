"""Kernel jobs: a cell's code or a notebook's code cells, run in order in a background kernel.

The kernel is started by jupyter_client's ``KernelManager`` inside the job's runner process,
with its connection file in the job's directory; outputs (streams, results, displays, errors)
go to the job's log as they arrive. Parameters become a cell placed after the notebook's cell
tagged ``parameters`` (papermill's convention, so they override its defaults), or first.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from mrsm_jupyter.jobs.errors import JobSpecError
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import JobRecord, JobResult, JsonValue
from mrsm_jupyter.jobs.names import job_file
from mrsm_jupyter.jobs.processes import ProcessIdentity

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_POLL_SECONDS = 0.2
_READY_TIMEOUT = 60.0
# On a stop, a kernel gets this long to shut down cleanly before it is killed.
_SHUTDOWN_SECONDS = 3.0


class JobStoppedError(Exception):
    """The runner was asked to stop while a cell ran."""


def parameters_cell(parameters: Mapping[str, JsonValue]) -> str:
    """Python source assigning each parameter; ``repr`` of JSON values is a Python literal."""
    lines = ["# Parameters given to the job"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    return "\n".join(lines)


def notebook_cells(path: Path, parameters: Mapping[str, JsonValue]) -> list[str]:
    """The code cells of a notebook, with the parameters cell injected."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    cells: list[str] = []
    injected_at = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cells.append(str(cell.source))
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            injected_at = len(cells)
    if parameters:
        cells.insert(injected_at, parameters_cell(parameters))
    return cells


@dataclass
class CellOutcome:
    error: str | None = None
    result: str | None = None


class KernelExecutor:
    """Runs code cells in a fresh kernel; stops at the first error, like ``Run All`` would."""

    def __init__(
        self,
        name: str,
        cells: list[str],
        *,
        kernel_name: str,
        cwd: Path,
        connection_file: Path,
        on_kernel: Callable[[str, ProcessIdentity], None],
    ) -> None:
        self.name = name
        self.cells = cells
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.connection_file = connection_file
        self.on_kernel = on_kernel
        self._stop = threading.Event()

    @classmethod
    def for_record(
        cls, record: JobRecord, *, root: Path, cwd: Path, on_kernel: Callable[[str, ProcessIdentity], None]
    ) -> KernelExecutor:
        spec = record.spec
        if spec.kind == "notebook":
            assert spec.notebook is not None
            try:
                cells = notebook_cells(Path(spec.notebook), spec.parameters)
            except (OSError, ValueError) as exc:
                raise JobSpecError(record.name, f"cannot read notebook {spec.notebook}: {exc}") from exc
            cwd = Path(spec.notebook).parent
        else:
            cells = ([parameters_cell(spec.parameters)] if spec.parameters else []) + [spec.code or ""]
        connection = job_file(record.name, "kernel.json", root, create_dir=True)
        return cls(
            record.name,
            cells,
            kernel_name=spec.kernel_name,
            cwd=cwd,
            connection_file=connection,
            on_kernel=on_kernel,
        )

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, log: JobLog) -> JobResult:
        manager = KernelManager(kernel_name=self.kernel_name, connection_file=str(self.connection_file))
        manager.start_kernel(cwd=str(self.cwd))
        client = manager.client()
        try:
            pid = manager.provisioner.pid if manager.provisioner else None  # type: ignore[attr-defined]
            if pid:
                self.on_kernel(str(manager.kernel_id), ProcessIdentity.of(int(pid)))
            client.start_channels()
            client.wait_for_ready(timeout=_READY_TIMEOUT)
            return self._run_cells(client, manager, log)
        except JobStoppedError:
            return JobResult(False, None, "stopped while a cell ran")
        finally:
            client.stop_channels()
            manager.shutdown_wait_time = _SHUTDOWN_SECONDS
            manager.shutdown_kernel(now=False)

    def _run_cells(self, client: BlockingKernelClient, manager: KernelManager, log: JobLog) -> JobResult:
        result: str | None = None
        for index, code in enumerate(self.cells, start=1):
            outcome = self._execute(client, manager, code, log)
            if outcome.error is not None:
                return JobResult(False, None, f"cell {index} of {len(self.cells)} failed: {outcome.error}")
            result = outcome.result if outcome.result is not None else result
        return JobResult(True, None, result if result is not None else f"ran {len(self.cells)} cells")

    def _execute(
        self, client: BlockingKernelClient, manager: KernelManager, code: str, log: JobLog
    ) -> CellOutcome:
        msg_id = client.execute(code, allow_stdin=False, stop_on_error=True)
        outcome = CellOutcome()
        while True:
            if self._stop.is_set():
                raise JobStoppedError
            try:
                message = client.get_iopub_msg(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not manager.is_alive():
                    outcome.error = "the kernel died"
                    return outcome
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if _handle_message(message["msg_type"], message["content"], outcome, log):
                return outcome


def _handle_message(kind: str, content: dict[str, Any], outcome: CellOutcome, log: JobLog) -> bool:
    """Log one output message; True once the cell is done (the kernel went idle)."""
    if kind == "stream":
        log.write(str(content.get("text", "")))
    elif kind in ("execute_result", "display_data"):
        text = str(content.get("data", {}).get("text/plain", ""))
        log.write(text)
        if kind == "execute_result":
            outcome.result = text
    elif kind == "error":
        outcome.error = f"{content.get('ename')}: {content.get('evalue')}"
        log.write(_ANSI.sub("", "\n".join(content.get("traceback", []))))
    elif kind == "status":
        return bool(content.get("execution_state") == "idle")
    return False
