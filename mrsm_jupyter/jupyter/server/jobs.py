"""Routes for background jobs: list, create (and start), start, stop, pause, resume, delete,
and logs (the newest lines, or followed live over a websocket)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs.api import Job, get_jobs
from mrsm_jupyter.jobs.errors import JobNotFoundError
from mrsm_jupyter.jobs.model import JobRecord
from mrsm_jupyter.jupyter.server.base import AUTH_RESOURCE, MrsmHandler, authorized_to, error_info, status_of
from mrsm_jupyter.jupyter.server.openapi import Operation, Query, operation
from mrsm_jupyter.jupyter.server.payloads import JobCreateRequest, JobInfo, JobLogs, JobResultInfo
from mrsm_jupyter.jupyter.server.wire import WireFormatError

ACTIONS = ("start", "stop", "pause", "resume", "restart")
LINES = Query("lines", "How many of the newest lines (default 100).", int)
NO_SUCH_JOB = {"404": "no such job"}


def job_info(record: JobRecord) -> JobInfo:
    result = record.last_result
    spec = record.spec
    return JobInfo(
        name=record.name,
        kind=spec.kind,
        state=record.state,
        argv=list(spec.argv),
        schedule=spec.schedule,
        restart=spec.restart,
        pid=record.pid,
        started=None if record.started is None else record.started.isoformat(),
        ended=None if record.ended is None else record.ended.isoformat(),
        next_run=None if record.next_run is None else record.next_run.isoformat(),
        runs=record.runs,
        last_result=None
        if result is None
        else JobResultInfo(ok=result.ok, exit_code=result.exit_code, message=result.message),
    )


def _list_jobs() -> list[JobInfo]:
    found = []
    for job in get_jobs().values():
        try:
            found.append(job_info(job.record))
        except JobNotFoundError:  # deleted meanwhile
            continue
    return found


def _create_job(body: dict[str, Any]) -> JobInfo:
    """A job is created by starting it, as in the Python API."""
    words = {key: body.get(key) for key in ("action", "command")}
    for key, value in words.items():
        if value is not None and not (isinstance(value, list) and all(isinstance(w, str) for w in value)):
            raise WireFormatError(f"{key} must be a list of strings.")
    code = body.get("code")
    if code is not None and not isinstance(code, str):
        raise WireFormatError("code must be a string.")
    if code is None and not any(words.values()):
        raise WireFormatError("a new job needs what to run: action, command or code.")
    job = Job(
        str(body.get("name", "")),
        action=words["action"],
        command=words["command"],
        code=code,
        schedule=body.get("schedule"),
        restart=body.get("restart", "never"),
    )
    job.start()
    return job_info(job.record)


def _act(name: str, action: str) -> JobInfo:
    if action not in ACTIONS:
        raise WireFormatError(f"unknown job action {action!r}; use one of {', '.join(ACTIONS)}.")
    job = Job(name)
    getattr(job, action)()
    return job_info(job.record)


class JobsHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(Operation("Every job.", response=list[JobInfo]))
    async def get(self) -> None:
        self.send_json(await self.call(_list_jobs))

    @web.authenticated
    @authorized_to("execute")
    @operation(Operation("Create and start a job.", response=JobInfo, request=JobCreateRequest, status=201))
    async def post(self) -> None:
        body = self.body_object()
        self.send_json(await self.call(lambda: _create_job(body)), status=201)


class JobHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(Operation("One job.", response=JobInfo, extra_responses=NO_SUCH_JOB))
    async def get(self, name: str) -> None:
        self.send_json(await self.call(lambda: job_info(Job(name).record)))

    @web.authenticated
    @authorized_to("execute")
    @operation(Operation("Stop the job and remove it and its logs.", status=204, extra_responses=NO_SUCH_JOB))
    async def delete(self, name: str) -> None:
        await self.call(Job(name).delete)
        self.set_status(204)
        self.finish()


class JobActionHandler(MrsmHandler):
    @web.authenticated
    @authorized_to("execute")
    @operation(
        Operation(
            f"Act on a job; action is one of {', '.join(ACTIONS)}.",
            response=JobInfo,
            extra_responses=NO_SUCH_JOB,
        )
    )
    async def post(self, name: str, action: str) -> None:
        self.send_json(await self.call(lambda: _act(name, action)))


class JobLogsHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "The newest lines of the job's log.",
            response=JobLogs,
            query=(LINES,),
            extra_responses=NO_SUCH_JOB,
        )
    )
    async def get(self, name: str) -> None:
        lines = self.query_int("lines", 100, 0, 100_000) or 0
        tail = await self.call(lambda: Job(name).logs.tail(lines))
        self.send_json(JobLogs(name=name, lines=tail))


class JobLogsSocket(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """The job's log, followed: the newest ``lines`` lines, then each new line as a message."""

    auth_resource = AUTH_RESOURCE

    def get_login_url(self) -> str:
        raise web.HTTPError(403)

    @ws_authenticated
    @authorized
    @operation(
        Operation(
            "Websocket: the job's log lines, followed live.", query=(LINES,), extra_responses=NO_SUCH_JOB
        )
    )
    async def get(self, name: str) -> None:
        self._closed = threading.Event()
        try:
            self._job_log = await asyncio.get_running_loop().run_in_executor(None, lambda: Job(name).logs)
        except MrsmError as exc:  # before the upgrade: the JSON error the other routes give
            status = status_of(exc)
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error_info(exc, status)))
            return
        await super().get(name)

    def open(self, name: str) -> None:
        super().open()
        loop = asyncio.get_running_loop()
        text = (self.get_query_argument("lines", "100") or "100").strip()
        lines = int(text) if text.isdigit() else 100
        follower = threading.Thread(target=self._follow, args=(loop, lines), daemon=True, name=f"log-{name}")
        follower.start()

    def _follow(self, loop: asyncio.AbstractEventLoop, lines: int) -> None:
        for line in self._job_log.follow(lines=lines, stop_when=self._closed.is_set):
            if self._closed.is_set():
                return
            loop.call_soon_threadsafe(self._send, line)

    def _send(self, line: str) -> None:
        try:
            self.write_message(line)
        except WebSocketClosedError:
            self._closed.set()

    def on_close(self) -> None:
        self._closed.set()
        super().on_close()
