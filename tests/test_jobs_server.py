"""The server extension brings saved jobs back: it starts the root's supervisor when jobs are
stored there (pm2's resurrect), and none when there are none."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from jobs_helpers import wait_until

from mrsm_jupyter.jobs.api import Job
from mrsm_jupyter.jobs.supervisor import running_supervisor
from mrsm_jupyter.jupyter.server.extension import resurrect_saved_jobs

LOG = logging.getLogger("test_jobs_server")


def test_no_saved_jobs_no_supervisor(jobs_root: Path) -> None:
    resurrect_saved_jobs(LOG)
    assert running_supervisor(jobs_root) is None


def test_saved_jobs_start_the_supervisor(jobs_root: Path) -> None:
    job = Job("saved-once", command=[sys.executable, "-c", "print('hello')"])
    job.start()  # restart policy "never" and no schedule: no supervisor yet
    job.wait(timeout=30)
    assert running_supervisor(jobs_root) is None
    resurrect_saved_jobs(LOG)
    supervisor = wait_until(lambda: running_supervisor(jobs_root), what="the supervisor")
    resurrect_saved_jobs(LOG)  # idempotent: the same supervisor, not a second one
    assert running_supervisor(jobs_root) == supervisor
