"""Background jobs: actions, commands, notebooks and cells run by detached runners, watched by a supervisor.

See :mod:`mrsm_jupyter.jobs.api` for the calls users make, and
:mod:`mrsm_jupyter.jobs.supervisor` for the daemon that restarts, schedules and restores jobs.
"""

from __future__ import annotations

from mrsm_jupyter.jobs.api import Job, get_jobs, restore_jobs, save_jobs
from mrsm_jupyter.jobs.backoff import RestartBackoff
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import JobRecord, JobResult, JobSpec
from mrsm_jupyter.jobs.schedule import Schedule
from mrsm_jupyter.jobs.supervisor import JobSupervisor

__all__ = [
    "Job",
    "JobLog",
    "JobRecord",
    "JobResult",
    "JobSpec",
    "JobSupervisor",
    "RestartBackoff",
    "Schedule",
    "get_jobs",
    "restore_jobs",
    "save_jobs",
]
