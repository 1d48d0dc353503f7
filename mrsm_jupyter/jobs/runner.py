"""The process that carries one run of a job: ``python -m mrsm_jupyter.jobs.runner ROOT NAME RUN_ID``.

It runs the job's executor, writes the output into the job's log, ends any process the run
left behind (systemd's control-group rule: a run's processes end with it), and records the
result. A runner whose run id is no longer the record's (a newer run started) does nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType

from mrsm_jupyter.diagnostics.recording import record_job_run
from mrsm_jupyter.jobs.control import finish_run
from mrsm_jupyter.jobs.executors import Executor, executor_for
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import JobRecord, JobResult, edit_record, load_record, record_lock
from mrsm_jupyter.jobs.processes import ProcessIdentity, end_run

_LEFTOVER_GRACE_SECONDS = 1.0


class _Runner:
    def __init__(self, root: Path, record: JobRecord, run_id: str) -> None:
        self.root = root
        self.record = record
        self.run_id = run_id
        self.log = JobLog.for_job(record.name, root)
        self.stop_requested = False
        self.executor: Executor | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        if self.executor is not None:
            self.executor.request_stop()

    def on_kernel(self, kernel_id: str, kernel: ProcessIdentity) -> None:
        with edit_record(self.record.name, self.root) as record:
            if record.run_id == self.run_id:
                record.kernel_id, record.kernel_pid, record.kernel_pid_started = (
                    kernel_id,
                    kernel.pid,
                    kernel.started,
                )
        self.log.write(f"[mrsm] kernel {kernel_id} started, pid {kernel.pid}")

    def run(self) -> JobResult:
        try:
            self.executor = executor_for(
                self.record, root=self.root, env=os.environ, on_kernel=self.on_kernel
            )
            if self.stop_requested:
                return JobResult(False, None, "stopped by request before it began")
            result = self.executor.run(self.log)
        except Exception as exc:
            # The traceback goes to the job's log: this process has no terminal to show it.
            self.log.write(traceback.format_exc())
            result = JobResult(False, None, f"{type(exc).__name__}: {exc}")
        if self.stop_requested:
            result = JobResult(False, result.exit_code, f"stopped by request ({result.message})")
        return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m mrsm_jupyter.jobs.runner ROOT NAME RUN_ID", file=sys.stderr)
        return 2
    root, name, run_id = Path(args[0]), args[1], args[2]
    with record_lock(name, root):  # the launcher holds it until the record names this run
        record = load_record(name, root)
    if record.run_id != run_id:
        return 0
    runner = _Runner(root, record, run_id)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, runner.on_signal)
    result = runner.run()
    end_run(run_id, None, _LEFTOVER_GRACE_SECONDS)
    ended = finish_run(root, name, run_id, result)
    if ended is None:
        runner.log.write(f"[mrsm] run {run_id[:8]} ended ({result.message}) after a newer run took over")
    else:
        record_job_run(ended, result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
