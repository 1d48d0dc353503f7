"""Errors of background jobs; all derive from :class:`mrsm_jupyter.errors.JobError`."""

from __future__ import annotations

from mrsm_jupyter.errors import JobError, MrsmError

__all__ = [
    "InvalidJobNameError",
    "JobError",
    "JobNotFoundError",
    "JobPathError",
    "JobSpecError",
    "JobStateError",
    "JobTimeoutError",
    "ScheduleError",
    "SupervisorRunningError",
]


class InvalidJobNameError(JobError, ValueError):
    """The name cannot name a job (path separators, ``..``, control characters, too long...)."""


class JobPathError(JobError):
    """A job's file would live outside the jobs directory (a symbolic link points out)."""


class JobNotFoundError(JobError, LookupError):
    """No job of that name is registered."""


class JobSpecError(JobError, ValueError):
    """What the job should run is malformed (kind, schedule, parameters, restart policy)."""


class JobStateError(JobError):
    """The job is in the wrong state for the operation (e.g. starting a running job)."""


class JobTimeoutError(JobError, TimeoutError):
    """Waiting for a job took longer than allowed."""


class ScheduleError(MrsmError, ValueError):
    """A schedule string is neither ``every N seconds|minutes|hours|days`` nor a cron line."""


class SupervisorRunningError(MrsmError):
    """Another supervisor already watches this root directory."""
