"""``-d``: any action as a background job, repeated by ``--loop``, ``--schedule`` or ``--cron``.

    %mrsm sync pipes -m temperature -d --name temps --schedule "every 10 minutes"

The job runs ``jupyter mrsm`` with the same words minus the job options, and with the shell's
default instance written out: a background process does not know a notebook's ``%config``.
Starting returns at once; ``show logs NAME --follow`` shows what the job prints.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from typing import cast

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.grammar import ActionRequest, action_argv
from mrsm_jupyter.actions.job_summary import jobs_outcome, status_text
from mrsm_jupyter.actions.outcome import ActionOutcome
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.jobs.api import Job, get_jobs
from mrsm_jupyter.jobs.errors import ScheduleError
from mrsm_jupyter.jobs.model import RESTART_POLICIES, RestartPolicy
from mrsm_jupyter.jobs.names import MAX_NAME_LENGTH
from mrsm_jupyter.jobs.schedule import Schedule

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def schedule_text(
    *,
    loop: bool = False,
    min_seconds: float | None = None,
    schedule: str | None = None,
    cron: str | None = None,
) -> str | None:
    """The job schedule the options ask for, checked; None for a single run.

    >>> schedule_text(loop=True, min_seconds=30)
    'every 30 seconds'
    """
    looping = loop or min_seconds is not None
    options = (("--loop", looping), ("--schedule", schedule), ("--cron", cron))
    given = [flag for flag, value in options if value]
    if len(given) > 1:
        raise ActionArgumentError(f"Give one of --loop, --schedule or --cron, not {' and '.join(given)}.")
    if looping:
        text, flag = f"every {min_seconds or 1:g} seconds", "--min-seconds"
    elif schedule or cron:
        text, flag = str(schedule or cron), given[0]
    else:
        return None
    try:
        parsed = Schedule.parse(text)
    except ScheduleError as exc:
        raise ActionArgumentError(f"{flag}: {exc}") from None
    if cron and parsed.cron is None:
        raise ActionArgumentError(
            f"--cron {cron!r} is not a cron line; give five fields such as '*/5 * * * *', "
            f"or use --schedule {shlex.quote(cron)}."
        )
    return parsed.text


def schedule_of(request: ActionRequest) -> str | None:
    return schedule_text(
        loop=request.loop, min_seconds=request.min_seconds, schedule=request.schedule, cron=request.cron
    )


def restart_policy(text: str | None) -> RestartPolicy:
    """``--restart`` as a policy (``never`` when not given)."""
    if text is None:
        return "never"
    if text not in RESTART_POLICIES:
        choices = ", ".join(RESTART_POLICIES)
        raise ActionArgumentError(f"--restart {text!r} is not a policy; use one of {choices}.")
    return cast(RestartPolicy, text)


def foreground_request(request: ActionRequest, context: ActionContext) -> ActionRequest:
    """What the job itself runs: no job options, and the instance spelled out."""
    return replace(
        request,
        daemon=False,
        name=None,
        loop=False,
        min_seconds=None,
        schedule=None,
        cron=None,
        restart=None,
        instance=request.instance or context.instance,
    )


def default_job_name(request: ActionRequest, taken: set[str]) -> str:
    """A readable name from the action and its first metric (``sync-pipes-temperature``), made unique."""
    wanted = [key for key in request.metric_keys or request.connector_keys if not key.startswith("_")]
    words = [request.action or "", request.subaction or "", *wanted[:1]]
    base = _NOT_IN_NAMES.sub("-", "-".join(w for w in words if w)).strip("-._")
    base = base[: MAX_NAME_LENGTH - 8] or "job"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def _started_message(job: Job, argv: list[str], prog: str) -> str:
    status = status_text(job.record)
    when = f"; it is {status}" if status != "running" else ""
    return (
        f"Started job {job.name!r} in the background: `jupyter mrsm {shlex.join(argv)}`{when}. "
        f"Follow its log with `{prog} show logs {job.name} --follow`; "
        f"stop it with `{prog} stop jobs {job.name} -y`."
    )


def start_action_job(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Start the action as a background job and return at once (``-d``)."""
    if request.acts_on_jobs:
        raise ActionArgumentError(f"{request.words} manages background jobs itself; run it without -d.")
    if not request.daemon:
        example = shlex.join(action_argv(replace(request, daemon=True)))
        raise ActionArgumentError(
            f"{request.words}: --name, --restart, --loop, --schedule and --cron are for background jobs; "
            f"add -d, e.g. `{context.prog} {example}`."
        )
    schedule = schedule_of(request)
    argv = action_argv(foreground_request(request, context))
    name = request.name or default_job_name(request, set(get_jobs()))
    job = Job(name, action=argv, schedule=schedule, restart=restart_policy(request.restart))
    job.start()
    return jobs_outcome(request.words, _started_message(job, argv, context.prog), [job])
