"""Kernel jobs with real kernels: a cell, a notebook with parameters, an error, and a stop."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import psutil
from jobs_helpers import wait_until

from mrsm_jupyter import Job
from mrsm_jupyter.jobs.processes import ProcessIdentity, run_processes


def test_a_cell_job_logs_its_output_and_ends_with_a_result(jobs_root: Path) -> None:
    job = Job("cell", code="import os\nprint('from the background kernel')\n6 * 7")
    job.start()
    result = job.wait(timeout=60)
    assert result is not None and result.ok and result.message == "42"
    record = job.record
    assert record.state == "stopped" and record.kernel_id
    log = "\n".join(job.logs.tail(20))
    assert "from the background kernel" in log
    assert f"kernel {record.kernel_id} started" in log


def _notebook(path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    defaults = nbformat.v4.new_code_cell("threshold = 1\nlabel = 'default'")
    defaults.metadata["tags"] = ["parameters"]
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A report"),
        nbformat.v4.new_code_cell("steps = ['imported']"),
        defaults,
        nbformat.v4.new_code_cell("print(f'label={label} threshold={threshold} steps={steps}')"),
        nbformat.v4.new_code_cell("threshold * 2"),
    ]
    nbformat.write(notebook, path)
    return path


def test_a_notebook_job_runs_its_cells_with_parameters(jobs_root: Path, tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "report.ipynb")
    job = Job("report", notebook=notebook, parameters={"threshold": 21, "label": "custom"})
    job.start()
    result = job.wait(timeout=60)
    assert result is not None and result.ok, job.logs.tail(30)
    assert result.message == "42", "the parameters override the notebook's defaults"
    assert any("label=custom threshold=21 steps=['imported']" in line for line in job.logs.tail(30))


def test_an_error_in_a_cell_fails_the_job_with_the_exception(jobs_root: Path) -> None:
    job = Job("broken", code="print('before')\n1 / 0")
    job.start()
    result = job.wait(timeout=60)
    assert result is not None and not result.ok
    assert "ZeroDivisionError" in result.message
    assert job.status == "failed"
    assert any("ZeroDivisionError" in line for line in job.logs.tail(30))


def test_stopping_a_kernel_job_shuts_its_kernel_down(jobs_root: Path) -> None:
    job = Job("long", code="import time\nprint('ready', flush=True)\ntime.sleep(60)")
    job.start()
    wait_until(lambda: any(line.endswith(" ready") for line in job.logs.tail(10)), timeout=60, what="ready")
    record = job.record
    assert record.kernel_pid is not None and record.kernel_pid_started is not None and record.run_id
    kernel = ProcessIdentity(record.kernel_pid, record.kernel_pid_started)
    assert kernel.is_alive()
    started = time.monotonic()
    job.stop(grace_seconds=8)
    assert time.monotonic() - started < 8, "the kernel shut down within the grace period"
    assert not kernel.is_alive()
    assert run_processes(record.run_id) == []
    assert job.status == "stopped"
    assert not (jobs_root / "jobs" / "long" / "kernel.json").exists(), "the connection file is cleaned up"
    assert psutil.pid_exists(record.kernel_pid) is False or not kernel.is_alive()
