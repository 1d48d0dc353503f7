"""The jobs widget: one row per job with its status, last result, times and a live log tail.

>>> JobsWidget()  # doctest: +SKIP

A background thread reads the job records and logs every ``poll_seconds`` and sets the
widgets' values (trait updates from a thread reach the frontend), so the notebook's kernel
stays free. Buttons stop, pause or resume, restart and delete (after a confirmation) a job;
they work in a thread of their own too, since a stop waits for the job's processes to end.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from html import escape

import ipywidgets as w

from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.actions.job_summary import JobSummary, summarize
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs.api import Job, get_jobs
from mrsm_jupyter.jupyter.widgets.bootstrap import BootstrapJobWidget

logger = logging.getLogger(__name__)
DEFAULT_POLL_SECONDS = 1.0
DEFAULT_LOG_LINES = 8
STATE_COLORS = {
    "running": "#2e7d32",
    "paused": "#ef6c00",
    "stopped": "#616161",
    "failed": "#c62828",
    "scheduled": "#1565c0",
    "restarting": "#ef6c00",
}
_HIDDEN = "none"
_SHOWN = ""
_LOG_STYLE = (
    "margin:0;max-height:12em;overflow:auto;font-size:0.85em;"
    "background:var(--jp-layout-color2,#f5f5f5);padding:4px"
)


def _log_stamp(job: Job) -> tuple[int, int] | None:
    """Size and modification time of the job's log: it is read again only when they change."""
    try:
        stat = os.stat(job.logs.path)
    except (OSError, MrsmError):
        return None
    return stat.st_size, stat.st_mtime_ns


class JobRow(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """One job: name, status, what it runs, times, last result, log tail and buttons."""

    def __init__(self, job: Job, *, log_lines: int, on_change: Callable[[], None]) -> None:
        self.job = job
        self.log_lines = log_lines
        self.on_change = on_change
        self.summary: JobSummary | None = None
        self._stamp: tuple[int, int] | None = None
        self.title, self.status, self.times = w.HTML(), w.HTML(), w.HTML()
        self.result, self.log_tail, self.message = w.HTML(), w.HTML(), w.HTML()
        self.stop_button = w.Button(description="Stop", icon="stop")
        self.pause_button = w.Button(description="Pause", icon="pause")
        self.restart_button = w.Button(description="Restart", icon="refresh")
        self.delete_button = w.Button(description="Delete…", icon="trash", button_style="warning")
        self.confirm_button = w.Button(description="Yes, delete", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self._show_confirmation(False)
        self._wire()
        buttons = w.HBox(
            [
                self.stop_button,
                self.pause_button,
                self.restart_button,
                self.delete_button,
                self.confirm_button,
                self.cancel_button,
            ]
        )
        facts = w.HBox([self.title, self.status, self.times, self.result])
        super().__init__(children=[facts, buttons, self.message, self.log_tail])
        self.layout.border_bottom = "1px solid #ddd"

    def __repr__(self) -> str:
        return f"JobRow({self.job.name!r})"

    def close(self) -> None:
        for box in self.children:
            for child in getattr(box, "children", ()):
                child.close()
            box.close()
        super().close()

    def _wire(self) -> None:
        self.stop_button.on_click(lambda _: self.act("Stopping", self.job.stop))
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.restart_button.on_click(lambda _: self.act("Restarting", self.job.restart))
        self.delete_button.on_click(lambda _: self.ask_delete())
        self.confirm_button.on_click(lambda _: self.confirm_delete())
        self.cancel_button.on_click(lambda _: self.cancel_delete())

    def show(self, summary: JobSummary) -> None:
        """Show a job's summary and enable the buttons that apply to its state."""
        self.summary = summary
        color = STATE_COLORS.get(summary.state, "inherit")
        self.title.value = f"<b>{escape(summary.name)}</b> <code>{escape(summary.runs)}</code>"
        self.status.value = f'<span style="color:{color};font-weight:bold">{escape(summary.status)}</span>'
        times = [f"started {summary.started}" if summary.started else "never started"]
        times += [f"ended {summary.ended}"] if summary.ended else []
        self.times.value = f"<small>{escape(', '.join(times))}</small>"
        result_color = "inherit" if summary.ok is not False else STATE_COLORS["failed"]
        self.result.value = f'<span style="color:{result_color}">{escape(summary.result)}</span>'
        ended = summary.state in ("stopped", "failed")
        self.stop_button.disabled = ended
        self.pause_button.description = "Resume" if summary.state == "paused" else "Pause"
        self.pause_button.disabled = summary.state not in ("running", "scheduled", "paused")
        self.restart_button.description = "Start" if ended else "Restart"

    def show_log(self) -> None:
        """Show the newest lines of the log, reading it only when it changed."""
        stamp = _log_stamp(self.job)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        lines = self.job.logs.tail(self.log_lines) if stamp is not None else []
        text = escape("\n".join(lines))
        self.log_tail.value = f'<pre class="mrsm-log" style="{_LOG_STYLE}">{text}</pre>'

    def say(self, text: str, *, error: bool = False) -> None:
        color = STATE_COLORS["failed"] if error else "inherit"
        self.message.value = f'<span style="color:{color}">{escape(text)}</span>' if text else ""

    def act(self, doing: str, operation: Callable[[], None]) -> threading.Thread:
        """Run ``operation`` in a thread (a stop waits for processes); show its error, then refresh."""
        self.say(f"{doing} {self.job.name}…")

        def work() -> None:
            # Nobody can catch what a button's thread raises: the row says it, the log keeps it.
            try:
                operation()
                self.say("")
            except Exception as exc:
                if not isinstance(exc, MrsmError):
                    logger.exception("%s job %r failed", doing.lower(), self.job.name)
                self.say(one_line(exc), error=True)
            try:
                self.on_change()
            except Exception:
                logger.exception("refreshing the jobs widget failed")

        thread = threading.Thread(target=work, name=f"mrsm-job-{self.job.name}", daemon=True)
        thread.start()
        return thread

    def toggle_pause(self) -> None:
        paused = self.summary is not None and self.summary.state == "paused"
        self.act("Resuming" if paused else "Pausing", self.job.resume if paused else self.job.pause)

    def _show_confirmation(self, shown: bool) -> None:
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _SHOWN if shown else _HIDDEN

    def ask_delete(self) -> None:
        self.say(f"Delete job {self.job.name!r} and its log? A running job is stopped first.")
        self._show_confirmation(True)

    def cancel_delete(self) -> None:
        self._show_confirmation(False)
        self.say("Nothing was deleted.")

    def confirm_delete(self) -> None:
        self._show_confirmation(False)
        self.act("Deleting", self.job.delete)


class JobsWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Every job (or the ``names`` given), kept up to date by a background thread.

    ``close()`` ends the thread. ``New job…`` opens a :class:`BootstrapJobWidget` below.
    """

    def __init__(
        self,
        *,
        names: Sequence[str] | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        log_lines: int = DEFAULT_LOG_LINES,
    ) -> None:
        self.names = list(names) if names is not None else None
        self.poll_seconds = poll_seconds
        self.log_lines = log_lines
        self.rows: dict[str, JobRow] = {}
        self.header = w.HTML()
        self.rows_box = w.VBox()
        self.new_button = w.Button(description="New job…", icon="plus")
        self.new_button.on_click(lambda _: self.open_bootstrap())
        self.bootstrap: BootstrapJobWidget | None = None
        self._lock = threading.RLock()
        self._closed = threading.Event()
        super().__init__(children=[self.header, self.rows_box, self.new_button])
        self.refresh()
        self._watcher = threading.Thread(target=self._watch, name="mrsm-jobs-widget", daemon=True)
        self._watcher.start()

    def __repr__(self) -> str:
        return f"JobsWidget({len(self.rows)} jobs)"

    def _wanted_jobs(self) -> dict[str, Job]:
        jobs = get_jobs()
        return jobs if self.names is None else {n: job for n, job in jobs.items() if n in self.names}

    def refresh(self) -> None:
        """Read every job's record and log again; add rows for new jobs, drop deleted ones."""
        with self._lock:
            if self._closed.is_set():
                return  # a button's thread finishing after close() must not bring rows back
            shown: dict[str, JobRow] = {}
            for name, job in self._wanted_jobs().items():
                row = self.rows.get(name) or JobRow(job, log_lines=self.log_lines, on_change=self.refresh)
                try:
                    row.show(summarize(job.record))
                    row.show_log()
                except MrsmError:
                    continue  # deleted meanwhile, or a broken record: `show jobs` names the problem
                shown[name] = row
            for name in self.rows.keys() - shown.keys():
                self.rows[name].close()
            if list(shown) != list(self.rows):
                self.rows_box.children = list(shown.values())
            self.rows = shown
            count = f"{len(shown)} job(s)" if shown else "No jobs yet; start one with `-d` or New job…"
            self.header.value = f"<b>Jobs</b> <small>{escape(count)}</small>"

    def _watch(self) -> None:
        while not self._closed.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:
                # A watcher that dies leaves a frozen widget; log and keep watching.
                logger.exception("refreshing the jobs widget failed")

    def open_bootstrap(self) -> BootstrapJobWidget:
        """Show the guided form that starts a new job, under the rows."""
        if self.bootstrap is None:
            self.bootstrap = BootstrapJobWidget(on_started=lambda _outcome: self.refresh())
            self.children = [self.header, self.rows_box, self.new_button, self.bootstrap]
        return self.bootstrap

    def close(self) -> None:
        """Stop watching, and close the rows with the widget."""
        self._closed.set()
        with self._lock:
            for row in self.rows.values():
                row.close()
            self.rows = {}
        super().close()
