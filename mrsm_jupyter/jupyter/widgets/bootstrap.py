"""The guided "bootstrap job" widget: pick an action or a notebook, a schedule and a restart
policy, see the exact ``jupyter mrsm`` line, start it.

>>> BootstrapJobWidget()  # doctest: +SKIP

Starting runs that very line through the action grammar, so the preview is exactly what
runs, and what a terminal or a crontab would run.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Literal

import ipywidgets as w

from mrsm_jupyter.actions.daemon import schedule_of
from mrsm_jupyter.actions.errors import ActionArgumentError, one_line
from mrsm_jupyter.actions.grammar import NAMED_OBJECTS, RESTART_CHOICES, parse_action, split_line
from mrsm_jupyter.actions.outcome import ActionOutcome
from mrsm_jupyter.actions.registry import ActionContext, action_names, find_action, run_action
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs.names import validate_job_name
from mrsm_jupyter.jupyter.widgets.feedback import status_html

PROG = "jupyter mrsm"
SCHEDULE_PRESETS = (
    "every 1 minute",
    "every 10 minutes",
    "every 1 hour",
    "every 1 day",
    "*/5 * * * *",
    "0 * * * *",
    "0 6 * * *",
)
Source = Literal["action", "notebook"]


def runnable_actions() -> list[str]:
    """Actions a job can run: every action but those managing jobs themselves."""
    return [name for name in action_names() if name.split()[1] not in NAMED_OBJECTS]


def notebooks_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.ipynb"))


@dataclass(frozen=True)
class JobForm:
    """What the bootstrap form holds, as text; :meth:`argv` turns it into a command line.

    >>> JobForm(name="temps", options="-m temperature", schedule="every 10 minutes").argv()
    ['sync', 'pipes', '-m', 'temperature', '-d', '--name', 'temps', '--schedule', 'every 10 minutes']
    """

    source: Source = "action"
    name: str = ""
    action: str = "sync pipes"
    options: str = ""
    notebook: str = ""
    parameters: str = ""
    schedule: str = ""
    restart: str = "never"

    def argv(self) -> list[str]:
        """The words after ``jupyter mrsm``; raises :class:`MrsmError` when they cannot start a job."""
        name, schedule = self.name.strip(), self.schedule.strip()
        if self.source == "notebook":
            argv = self._notebook_words(name)
        else:
            argv = [*self.action.split(), *split_line(self.options), "-d"]
            argv += ["--name", name] if name else []
        argv += ["--schedule", schedule] if schedule else []
        argv += ["--restart", self.restart] if self.restart != "never" else []
        if name:
            validate_job_name(name)
        request = parse_action(argv)
        find_action(request)
        schedule_of(request)
        return argv

    def _notebook_words(self, name: str) -> list[str]:
        notebook, parameters = self.notebook.strip(), self.parameters.strip()
        if not notebook:
            raise ActionArgumentError("Pick the notebook the job runs.")
        if not name:
            raise ActionArgumentError("Give the job a name, e.g. nightly-report.")
        return ["start", "job", name, "--notebook", notebook] + (
            ["--parameters", parameters] if parameters else []
        )


class BootstrapJobWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """A form that previews the ``jupyter mrsm`` line of a new job and starts it."""

    def __init__(
        self,
        *,
        on_started: Callable[[ActionOutcome], None] | None = None,
        notebooks_dir: Path | None = None,
    ) -> None:
        self.on_started = on_started
        directory = notebooks_dir if notebooks_dir is not None else Path.cwd()
        self.source = w.ToggleButtons(options=["action", "notebook"], value="action", description="runs")
        self.name = w.Text(description="name", placeholder="temps (optional for an action)")
        self.action = w.Dropdown(description="action", options=runnable_actions(), value="sync pipes")
        self.options = w.Text(description="options", placeholder="-m temperature -i sql:local")
        self.notebook = w.Combobox(
            description="notebook", options=notebooks_in(directory), placeholder="report.ipynb"
        )
        self.parameters = w.Text(description="parameters", placeholder='{"threshold": 3}')
        self.schedule = w.Combobox(description="schedule", options=SCHEDULE_PRESETS, placeholder="once")
        self.restart = w.Dropdown(description="restart", options=RESTART_CHOICES, value="never")
        self.preview = w.HTML()
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.status = w.HTML()
        self.command = ""
        inputs = [self.source, self.name, self.action, self.options, self.notebook, self.parameters]
        for field in [*inputs, self.schedule, self.restart]:
            field.observe(lambda _change: self.update_preview(), names="value")
        self.start_button.on_click(lambda _: self.start())
        controls = [*inputs, self.schedule, self.restart, self.preview]
        super().__init__(children=[*controls, w.HBox([self.start_button, self.status])])
        self.update_preview()

    def __repr__(self) -> str:
        return f"BootstrapJobWidget({self.command!r})"

    @property
    def form(self) -> JobForm:
        return JobForm(
            source="notebook" if self.source.value == "notebook" else "action",
            name=self.name.value,
            action=self.action.value,
            options=self.options.value,
            notebook=self.notebook.value,
            parameters=self.parameters.value,
            schedule=self.schedule.value,
            restart=self.restart.value,
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.value = status_html(text, error=error)

    def update_preview(self) -> None:
        """Show the fields of the chosen source and the command line they make (or what is wrong)."""
        notebook = self.source.value == "notebook"
        for field, shown in ((self.action, not notebook), (self.options, not notebook)):
            field.layout.display = "" if shown else "none"
        for field in (self.notebook, self.parameters):
            field.layout.display = "" if notebook else "none"
        try:
            self.command = f"{PROG} {shlex.join(self.form.argv())}"
        except MrsmError as exc:
            self.command = ""
            self.preview.value = ""
            self.start_button.disabled = True
            self._say(one_line(exc), error=True)
            return
        self.preview.value = f'<code style="user-select:all">{escape(self.command)}</code>'
        self.start_button.disabled = False
        self._say("")

    def start(self) -> ActionOutcome | None:
        """Run the previewed line; say how it went."""
        try:
            outcome = run_action(parse_action(self.form.argv()), ActionContext(prog=PROG))
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
            return None
        self._say(outcome.message)
        if self.on_started is not None:
            self.on_started(outcome)
        return outcome
