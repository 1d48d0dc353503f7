"""``show jobs | logs``, ``start | stop | pause | restart | delete jobs NAME...``, ``save | restore jobs``.

Thin over :mod:`mrsm_jupyter.jobs.api`. An action on several jobs goes on when one fails;
the error, naming the job, is in the outcome's failures. ``stop`` and ``delete`` end runs, so
they ask first unless ``-y``, as ``clear pipes`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from mrsm_jupyter.actions.daemon import restart_policy, schedule_of
from mrsm_jupyter.actions.errors import ActionArgumentError, ConfirmationError
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.job_summary import jobs_outcome
from mrsm_jupyter.actions.outcome import ActionOutcome, PipeFailure, Table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs import api
from mrsm_jupyter.jobs.api import Job, get_jobs
from mrsm_jupyter.jobs.errors import JobNotFoundError
from mrsm_jupyter.jobs.model import JsonValue, RestartPolicy

DEFAULT_LOG_LINES = 20
# States a followed log waits no longer in: nothing will write to it until someone starts the job.
_ENDED = ("stopped", "failed")


def _named_jobs(request: ActionRequest, example: str) -> list[Job]:
    if not request.names:
        raise ActionArgumentError(f"{request.words} needs job names, e.g. `{example}`; see `show jobs`.")
    return [Job(name) for name in dict.fromkeys(request.names)]


def _each_job(jobs: list[Job], step: Callable[[Job], None]) -> tuple[list[Job], list[PipeFailure]]:
    done: list[Job] = []
    failures: list[PipeFailure] = []
    for job in jobs:
        try:
            step(job)
            done.append(job)
        except MrsmError as exc:
            failures.append(PipeFailure(job.name, exc))
    return done, failures


def _confirm(request: ActionRequest, context: ActionContext, verb: str, jobs: list[Job]) -> None:
    if request.yes:
        return
    names = ", ".join(job.name for job in jobs[:3]) + (f" and {len(jobs) - 3} more" if len(jobs) > 3 else "")
    if not context.confirm(f"{verb} {len(jobs)} job(s): {names}?"):
        raise ConfirmationError(f"{request.words}: cancelled; nothing was changed.")


def show_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Every job (or those named): status with the next run, what it runs, times and last result."""
    jobs = [Job(name) for name in request.names] if request.names else list(get_jobs().values())
    missing = [job for job in jobs if not job.exists]
    failures = [PipeFailure(job.name, JobNotFoundError(job.name, "no such job.")) for job in missing]
    found = [job for job in jobs if job not in missing]
    message = f"{len(found)} job(s)."
    if not jobs:
        message = f"No jobs yet; start one with `{context.prog} sync pipes -m METRIC -d --name NAME`."
    return jobs_outcome("show jobs", message, found, failures)


def show_logs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """The newest lines of each job's log (``--lines``, default 20); ``--follow`` prints new ones."""
    jobs = _named_jobs(request, "show logs temps")
    lines = request.lines or DEFAULT_LOG_LINES
    if request.follow:
        if len(jobs) != 1:
            raise ActionArgumentError("show logs --follow follows one job; name only one.")
        return _follow(jobs[0], lines, context)
    logs: dict[str, list[str]] = {}

    def read(job: Job) -> None:
        logs[job.name] = job.logs.tail(lines)

    done, failures = _each_job(jobs, read)
    message = f"The last {lines} line(s) of the logs of {', '.join(logs) or 'no job'}."
    return ActionOutcome("show logs", message, jobs=done, logs=logs, failures=failures)


def _follow(job: Job, lines: int, context: ActionContext) -> ActionOutcome:
    """Echo the log until the job is stopped or failed, or until interrupted (Ctrl-C, a notebook's stop)."""
    try:
        # The generator closes its file when it is dropped, on the way out of here.
        for line in job.logs.follow(lines=lines, stop_when=lambda: job.status in _ENDED):
            context.echo(line)
    except KeyboardInterrupt:
        return jobs_outcome("show logs", f"Stopped following {job.name!r}; the job goes on.", [job])
    message = f"Job {job.name!r} is {job.status}; nothing more will be written."
    return jobs_outcome("show logs", message, [job])


def _start_existing(job: Job, request: ActionRequest, prog: str) -> None:
    if not job.exists:
        raise JobNotFoundError(
            job.name,
            "no such job.",
            f"Create it with `{prog} start job {job.name} --notebook PATH`, "
            f"or run an action with `-d --name {job.name}`.",
        )
    record = job.record
    changed = request.repeats or request.restart is not None or request.parameters is not None
    if record.state == "paused" and not changed:
        job.resume()
        return
    if changed:
        spec = record.spec
        job.spec = replace(
            spec,
            schedule=schedule_of(request) if request.repeats else spec.schedule,
            restart=restart_policy(request.restart) if request.restart else spec.restart,
            parameters=request.parameters if request.parameters is not None else spec.parameters,
        )
        job.spec.check(job.name)
    job.start()


def start_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Start jobs again (a paused one resumes); with ``--notebook``, create (or replace) a notebook job."""
    jobs = _named_jobs(request, "start job temps")
    if request.notebook is not None:
        if len(jobs) != 1:
            raise ActionArgumentError("--notebook starts one job: `start job NAME --notebook PATH`.")
        job = Job(
            jobs[0].name,
            notebook=request.notebook,
            parameters=request.parameters,
            schedule=schedule_of(request),
            restart=restart_policy(request.restart),
        )
        job.start()
        message = f"Started job {job.name!r}: the notebook runs in a background kernel."
        return jobs_outcome(request.words, f"{message} {_follow_hint(job, context)}", [job])
    done, failures = _each_job(jobs, lambda job: _start_existing(job, request, context.prog))
    return jobs_outcome(request.words, f"Started {len(done)} of {len(jobs)} job(s).", done, failures)


def _follow_hint(job: Job, context: ActionContext) -> str:
    return f"Follow its log with `{context.prog} show logs {job.name} --follow`."


def stop_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Stop jobs for good (their processes or kernels end; no restart, no schedule); asks unless ``-y``."""
    jobs = _named_jobs(request, "stop jobs temps -y")
    _confirm(request, context, "Stop", jobs)
    done, failures = _each_job(jobs, lambda job: job.stop())
    message = f"Stopped {len(done)} of {len(jobs)} job(s); `start jobs` starts them again."
    return jobs_outcome(request.words, message, done, failures)


def pause_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Freeze running jobs (their processes wait) or hold scheduled ones; ``start jobs`` resumes them."""
    jobs = _named_jobs(request, "pause jobs temps")
    done, failures = _each_job(jobs, lambda job: job.pause())
    message = f"Paused {len(done)} of {len(jobs)} job(s); `start jobs` resumes them."
    return jobs_outcome(request.words, message, done, failures)


def restart_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Stop jobs (if they run) and start them again."""
    jobs = _named_jobs(request, "restart jobs temps")
    done, failures = _each_job(jobs, lambda job: job.restart())
    return jobs_outcome(request.words, f"Restarted {len(done)} of {len(jobs)} job(s).", done, failures)


def delete_jobs(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Stop jobs and remove them with their logs; asks unless ``-y``."""
    jobs = _named_jobs(request, "delete jobs temps -y")
    _confirm(request, context, "Delete (with their logs)", jobs)
    done, failures = _each_job(jobs, lambda job: job.delete())
    table = Table("Deleted jobs", ("job", "done"), tuple((job.name, "deleted") for job in done))
    message = f"Deleted {len(done)} of {len(jobs)} job(s) and their logs."
    return ActionOutcome(request.words, message, tables=[table], failures=failures)


def save_job_list(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Write the list of jobs with their states (pm2's save), for ``restore jobs``."""
    path = api.save_jobs()
    jobs = list(get_jobs().values())
    message = (
        f"Saved {len(jobs)} job(s) to {path}; `{context.prog} restore jobs` recreates them "
        "and starts those that were running or scheduled."
    )
    return jobs_outcome(request.words, message, jobs)


def restore_job_list(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Recreate the saved jobs and start those that ran when saved (pm2's resurrect)."""
    restored = api.restore_jobs()
    message = f"Restored {len(restored)} saved job(s); those that were running or scheduled run again."
    return jobs_outcome(request.words, message, restored)


def start_cell_job(
    name: str,
    code: str,
    *,
    schedule: str | None,
    restart: RestartPolicy,
    parameters: Mapping[str, JsonValue] | None,
    context: ActionContext,
) -> ActionOutcome:
    """``%%job NAME``: run a cell's code as a job in a background kernel (replacing a stopped job)."""
    job = Job(name, code=code, schedule=schedule, restart=restart, parameters=parameters)
    job.start()
    message = f"Started job {name!r}: the cell runs in a background kernel."
    return jobs_outcome("job", f"{message} {_follow_hint(job, context)}", [job])
