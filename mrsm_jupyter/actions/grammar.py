"""The action grammar shared by ``%mrsm`` and ``jupyter mrsm``: words, keys and options.

>>> request = parse_action(["sync", "pipes", "-m", "temperature", "_humidity", "--begin", "2024-01-01"])
>>> request.words, request.metric_keys, request.begin
('sync pipes', ['temperature', '_humidity'], '2024-01-01')

Keys keep Meerschaum's ``_`` negation (``-m _humidity`` excludes that metric); the pipe
listing resolves it. Words after ``jobs``, ``logs`` or ``plugins`` are names (``stop jobs temps``).
:func:`action_argv` turns a request back into words, so a request can become a background
job's command line. Nothing here imports the engine, so ``%load_ext`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from mrsm_jupyter.actions.errors import ActionArgumentError

TimeArg = str | int | None
# Objects whose actions take names after them; the singular is accepted (``start job temps``).
NAMED_OBJECTS = ("jobs", "logs", "plugins")
_JOB_OBJECTS = ("jobs", "logs")
_SINGULAR = {"job": "jobs", "log": "logs", "plugin": "plugins"}
RESTART_CHOICES = ("never", "on-failure", "always")


@dataclass(frozen=True)
class ActionRequest:
    """One parsed action: what to do and to which pipes."""

    action: str | None = None
    subaction: str | None = None
    connector_keys: list[str] = field(default_factory=list)
    metric_keys: list[str] = field(default_factory=list)
    location_keys: list[str] = field(default_factory=list)
    instance: str | None = None
    tags: list[str] = field(default_factory=list)
    begin: TimeArg = None
    end: TimeArg = None
    params: dict[str, Any] | None = None
    yes: bool = False
    daemon: bool = False
    name: str | None = None
    to_instance: str | None = None
    limit: int | None = None
    help: bool = False
    # Job or plugin names, for the actions on jobs, logs and plugins (``stop jobs temps humidity``).
    names: list[str] = field(default_factory=list)
    loop: bool = False
    min_seconds: float | None = None
    schedule: str | None = None
    cron: str | None = None
    restart: str | None = None
    follow: bool = False
    lines: int | None = None
    notebook: str | None = None
    parameters: dict[str, Any] | None = None

    @property
    def words(self) -> str:
        """The action as typed, e.g. ``"sync pipes"``."""
        return " ".join(w for w in (self.action, self.subaction) if w)

    @property
    def keys_text(self) -> str:
        """The key options as typed, for messages such as "No pipes match -m x"."""
        parts = []
        for flag, keys in (
            ("-c", self.connector_keys),
            ("-m", self.metric_keys),
            ("-l", self.location_keys),
            ("-t", self.tags),
        ):
            if keys:
                parts.append(f"{flag} {' '.join(keys)}")
        return " ".join(parts) or "(no keys)"

    @property
    def repeats(self) -> bool:
        """Whether ``--loop``, ``--min-seconds``, ``--schedule`` or ``--cron`` was given."""
        return self.loop or self.min_seconds is not None or bool(self.schedule) or bool(self.cron)

    @property
    def acts_on_jobs(self) -> bool:
        """Actions on jobs and logs take job names and manage background runs themselves."""
        return self.subaction in _JOB_OBJECTS

    @property
    def asks_for_a_job(self) -> bool:
        """``-d``, or options that only a background job of this action could follow."""
        job_options = self.repeats or self.restart is not None or self.name is not None
        return self.daemon or (job_options and not self.acts_on_jobs)


class RaisingParser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting (a magic must not exit the kernel)."""

    def error(self, message: str) -> NoReturn:
        raise ActionArgumentError(f"{message}. See `--help`.")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ActionArgumentError(message or f"the parser stopped (status {status}).")


def _time_arg(text: str) -> str | int:
    """An integer axis value or an ISO 8601 datetime; parsed early to fail with a clear line."""
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        datetime.fromisoformat(stripped)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 datetime (e.g. 2024-01-31 or 2024-01-31T12:00+00:00) nor an integer"
        ) from None
    return stripped


def json_object_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'{text!r} must be a JSON object, e.g. \'{{"station": "north"}}\'')
    return value


def _limit_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    jobs = parser.add_argument_group("background jobs")
    jobs.add_argument("-d", "--daemon", action="store_true", help="run as a background job")
    jobs.add_argument("--name", help="the background job's name")
    jobs.add_argument("--loop", action="store_true", help="run again and again (with -d)")
    jobs.add_argument("--min-seconds", type=_seconds_arg, metavar="S", help="seconds between loop starts")
    jobs.add_argument("--schedule", metavar="WHEN", help="e.g. 'every 10 minutes' or a cron line")
    jobs.add_argument("--cron", metavar="LINE", help="a cron line, e.g. '*/5 * * * *'")
    jobs.add_argument("--restart", choices=RESTART_CHOICES, help="restart policy (default: never)")
    jobs.add_argument("--notebook", metavar="PATH", help="the notebook a job runs (start job)")
    jobs.add_argument("--parameters", type=json_object_arg, metavar="JSON", help="a notebook's parameters")
    jobs.add_argument("--follow", action="store_true", help="show logs as they are written")
    jobs.add_argument("--lines", type=_limit_arg, metavar="N", help="log lines to show (show logs)")


def build_parser(prog: str = "mrsm") -> argparse.ArgumentParser:
    """The one parser: positional words, then the key and window options."""
    parser = RaisingParser(
        prog=prog, add_help=False, description="Run an action on pipes.", allow_abbrev=False
    )
    parser.add_argument("words", nargs="*", metavar="ACTION", help="e.g. `show pipes`, `sync pipes`")
    keys = parser.add_argument_group("pipe keys (prefix a key with _ to exclude it)")
    keys.add_argument(
        "-c", "--connector-keys", nargs="+", action="extend", default=[], metavar="KEYS", help="e.g. sql:src"
    )
    keys.add_argument(
        "-m", "--metric-keys", nargs="+", action="extend", default=[], metavar="KEYS", help="e.g. temperature"
    )
    keys.add_argument(
        "-l", "--location-keys", nargs="+", action="extend", default=[], metavar="KEYS", help="e.g. home"
    )
    keys.add_argument(
        "-t", "--tags", nargs="+", action="extend", default=[], metavar="TAGS", help="the pipes' tags"
    )
    keys.add_argument(
        "-i", "--instance", "--mrsm-instance", dest="instance", metavar="INSTANCE", help="e.g. sql:main"
    )
    window = parser.add_argument_group("rows (windows are half-open: begin <= datetime < end)")
    window.add_argument("--begin", type=_time_arg, help="ISO 8601 datetime or integer")
    window.add_argument("--end", type=_time_arg, help="ISO 8601 datetime or integer (excluded)")
    window.add_argument("--params", type=json_object_arg, metavar="JSON", help="filter or parameters (JSON)")
    window.add_argument("--limit", type=_limit_arg, help="rows to show (show data)")
    other = parser.add_argument_group("other")
    other.add_argument("-y", "--yes", action="store_true", help="confirm destructive actions")
    other.add_argument("--to-instance", metavar="INSTANCE", help="destination of `copy pipes`")
    other.add_argument("-h", "--help", action="store_true", help="show this help")
    _add_job_options(parser)
    return parser


_PARSER = build_parser()


def _reject_unknown(unknown: Sequence[str], parser: argparse.ArgumentParser) -> None:
    if not unknown:
        return
    first = unknown[0]
    options = [s for action in parser._actions for s in action.option_strings]
    close = difflib.get_close_matches(first.split("=", 1)[0], options, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else " See `--help`."
    raise ActionArgumentError(f"Unrecognized argument {first!r}.{hint}")


def split_line(line: str) -> list[str]:
    """Split a magic's line as a shell would (quotes keep JSON together)."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise ActionArgumentError(f"Cannot split {line!r}: {exc}. Check the quotes.") from None


def _split_words(words: list[str]) -> tuple[str | None, str | None, list[str]]:
    """The action, its object (``job`` read as ``jobs``) and the job names after ``jobs`` or ``logs``."""
    subaction = words[1].lower() if len(words) > 1 else None
    subaction = _SINGULAR.get(subaction or "", subaction)
    if len(words) > 2 and subaction not in NAMED_OBJECTS:
        raise ActionArgumentError(
            f"Unexpected word {words[2]!r} after {' '.join(words[:2])!r}; "
            "give keys with -c, -m or -l (e.g. `sync pipes -m temperature`)."
        )
    return (words[0].lower() if words else None), subaction, words[2:]


def parse_action(argv: str | Sequence[str]) -> ActionRequest:
    """Parse a command line (a string is split as a shell would) into an :class:`ActionRequest`."""
    if isinstance(argv, str):
        argv = split_line(argv)
    namespace, unknown = _PARSER.parse_known_args(list(argv))
    _reject_unknown(unknown, _PARSER)
    words: list[str] = namespace.words
    action, subaction, names = _split_words(words)
    return ActionRequest(
        action=action,
        subaction=subaction,
        connector_keys=namespace.connector_keys,
        metric_keys=namespace.metric_keys,
        location_keys=namespace.location_keys,
        instance=namespace.instance,
        tags=namespace.tags,
        begin=namespace.begin,
        end=namespace.end,
        params=namespace.params,
        yes=namespace.yes,
        daemon=namespace.daemon,
        name=namespace.name,
        to_instance=namespace.to_instance,
        limit=namespace.limit,
        help=namespace.help or not words,
        names=names,
        loop=namespace.loop,
        min_seconds=namespace.min_seconds,
        schedule=namespace.schedule,
        cron=namespace.cron,
        restart=namespace.restart,
        follow=namespace.follow,
        lines=namespace.lines,
        notebook=namespace.notebook,
        parameters=namespace.parameters,
    )


# The inverse of parse_action: (flag, field, kind) in the order they are written back.
_WRITTEN_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("-c", "connector_keys", "keys"),
    ("-m", "metric_keys", "keys"),
    ("-l", "location_keys", "keys"),
    ("-t", "tags", "keys"),
    ("-i", "instance", "value"),
    ("--begin", "begin", "value"),
    ("--end", "end", "value"),
    ("--params", "params", "json"),
    ("--limit", "limit", "value"),
    ("--to-instance", "to_instance", "value"),
    ("--notebook", "notebook", "value"),
    ("--parameters", "parameters", "json"),
    ("--lines", "lines", "value"),
    ("--follow", "follow", "flag"),
    ("-y", "yes", "flag"),
    ("-d", "daemon", "flag"),
    ("--name", "name", "value"),
    ("--loop", "loop", "flag"),
    ("--min-seconds", "min_seconds", "value"),
    ("--schedule", "schedule", "value"),
    ("--cron", "cron", "value"),
    ("--restart", "restart", "value"),
)


def _option_words(flag: str, kind: str, value: Any) -> list[str]:
    if kind == "keys":
        return [flag, *value] if value else []
    if kind == "flag":
        return [flag] if value else []
    if value is None:
        return []
    text = json.dumps(value) if kind == "json" else f"{value:g}" if isinstance(value, float) else str(value)
    # "--begin=-5": a value that starts with a dash would read as an option.
    return [f"{flag}={text}"] if text.startswith("-") and flag.startswith("--") else [flag, text]


def action_argv(request: ActionRequest) -> list[str]:
    """The words that parse back into ``request``: ``parse_action(action_argv(r)) == r``.

    >>> action_argv(parse_action("sync pipes -m temperature -d --schedule 'every 10 minutes'"))
    ['sync', 'pipes', '-m', 'temperature', '-d', '--schedule', 'every 10 minutes']
    """
    argv = [word for word in (request.action, request.subaction) if word] + list(request.names)
    for flag, attribute, kind in _WRITTEN_OPTIONS:
        argv += _option_words(flag, kind, getattr(request, attribute))
    return argv + (["--help"] if request.help and argv else [])


def help_text(actions: Sequence[str], prog: str = "mrsm") -> str:
    """Usage, options and the list of actions."""
    listing = "\n".join(f"  {name}" for name in actions)
    return f"{build_parser(prog).format_help()}\nactions:\n{listing}\n"
