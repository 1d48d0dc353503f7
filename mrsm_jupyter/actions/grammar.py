"""The action grammar shared by ``%mrsm`` and ``jupyter mrsm``: words, keys and options.

>>> request = parse_action(["sync", "pipes", "-m", "temperature", "_humidity", "--begin", "2024-01-01"])
>>> request.words, request.metric_keys, request.begin
('sync pipes', ['temperature', '_humidity'], '2024-01-01')

Keys keep Meerschaum's ``_`` negation (``-m _humidity`` excludes that metric); the pipe
listing resolves it. Nothing here imports the engine, so ``%load_ext`` stays fast.
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


def _params_arg(text: str) -> dict[str, Any]:
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


def build_parser(prog: str = "mrsm") -> argparse.ArgumentParser:
    """The one parser: positional words, then the key and window options."""
    parser = RaisingParser(
        prog=prog, add_help=False, description="Run an action on pipes.", allow_abbrev=False
    )
    parser.add_argument("words", nargs="*", metavar="ACTION", help="e.g. `show pipes`, `sync pipes`")
    keys = parser.add_argument_group("pipe keys (prefix a key with _ to exclude it)")
    keys.add_argument("-c", "--connector-keys", nargs="+", action="extend", default=[], metavar="KEYS")
    keys.add_argument("-m", "--metric-keys", nargs="+", action="extend", default=[], metavar="KEYS")
    keys.add_argument("-l", "--location-keys", nargs="+", action="extend", default=[], metavar="KEYS")
    keys.add_argument("-t", "--tags", nargs="+", action="extend", default=[], metavar="TAGS")
    keys.add_argument("-i", "--instance", "--mrsm-instance", dest="instance", metavar="INSTANCE")
    window = parser.add_argument_group("rows (windows are half-open: begin <= datetime < end)")
    window.add_argument("--begin", type=_time_arg, help="ISO 8601 datetime or integer")
    window.add_argument("--end", type=_time_arg, help="ISO 8601 datetime or integer (excluded)")
    window.add_argument("--params", type=_params_arg, metavar="JSON", help="filter or parameters, as JSON")
    window.add_argument("--limit", type=_limit_arg, help="rows to show (show data)")
    other = parser.add_argument_group("other")
    other.add_argument("-y", "--yes", action="store_true", help="confirm destructive actions")
    other.add_argument("-d", "--daemon", action="store_true", help="run as a background job")
    other.add_argument("--name", help="the background job's name")
    other.add_argument("--to-instance", metavar="INSTANCE", help="destination of `copy pipes`")
    other.add_argument("-h", "--help", action="store_true", help="show this help")
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


def parse_action(argv: str | Sequence[str]) -> ActionRequest:
    """Parse a command line (a string is split as a shell would) into an :class:`ActionRequest`."""
    if isinstance(argv, str):
        argv = split_line(argv)
    namespace, unknown = _PARSER.parse_known_args(list(argv))
    _reject_unknown(unknown, _PARSER)
    words: list[str] = namespace.words
    if len(words) > 2:
        raise ActionArgumentError(
            f"Unexpected word {words[2]!r} after {' '.join(words[:2])!r}; "
            "give keys with -c, -m or -l (e.g. `sync pipes -m temperature`)."
        )
    return ActionRequest(
        action=words[0].lower() if words else None,
        subaction=words[1].lower() if len(words) > 1 else None,
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
    )


def help_text(actions: Sequence[str], prog: str = "mrsm") -> str:
    """Usage, options and the list of actions."""
    listing = "\n".join(f"  {name}" for name in actions)
    return f"{build_parser(prog).format_help()}\nactions:\n{listing}\n"
