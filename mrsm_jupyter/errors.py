"""One exception hierarchy. Every message names the pipe, connector or job and says what to do."""

from __future__ import annotations


class MrsmError(Exception):
    """Base of every error raised by mrsm_jupyter."""


class ConfigError(MrsmError):
    """A setting or connector definition is missing or malformed."""


class ConnectorError(MrsmError):
    """A connector could not be found, built or reached."""


class ConnectorUnreachableError(ConnectorError):
    """A connector's server did not answer (down, or the URI's host or port is wrong)."""


class InvalidKeysError(MrsmError, ValueError):
    """Pipe keys, connector keys or identifiers that cannot be used."""


class InvalidBoundError(MrsmError, ValueError):
    """A ``begin`` or ``end`` that is neither a datetime, a date, an ISO 8601 string nor an int."""


class PipeError(MrsmError):
    """An operation on a pipe failed. The message starts with the pipe's name."""

    def __init__(self, pipe: object, problem: str, remedy: str = "") -> None:
        self.pipe = pipe
        self.problem = problem
        self.remedy = remedy
        text = f"{pipe}: {problem}"
        if remedy:
            text += f" {remedy}"
        super().__init__(text)


class PipeNotRegisteredError(PipeError):
    """The pipe has no registration on its instance."""


class SchemaError(PipeError):
    """The batch does not fit the pipe's table or declared dtypes."""


class BatchError(PipeError):
    """A batch could not be normalized (bad types, NaT in keys, unreadable input)."""


class SyncError(PipeError):
    """The database refused a batch; the table is unchanged."""


class LockTimeoutError(PipeError):
    """Another writer holds the pipe (or its database file) for too long."""


class JobError(MrsmError):
    """An operation on a background job failed. The message starts with the job's name."""

    def __init__(self, job: str, problem: str, remedy: str = "") -> None:
        self.job = job
        self.problem = problem
        self.remedy = remedy
        # repr() keeps hostile names (newlines, NUL) from forging lines in logs and messages.
        text = f"job {job[:80]!r}: {problem}"
        if remedy:
            text += f" {remedy}"
        super().__init__(text)


class PluginError(MrsmError):
    """A plugin could not be found, installed or run. The message names the plugin (and the
    pipe, when it ran for one) and says what to do."""

    def __init__(self, plugin: str, problem: str, remedy: str = "", *, pipe: object = None) -> None:
        self.plugin = plugin
        self.pipe = pipe
        self.problem = problem
        self.remedy = remedy
        # repr() keeps hostile names (newlines, NUL, "../") visible as they are.
        text = f"plugin {plugin[:80]!r}"
        if pipe is not None:
            text += f" (for {pipe})"
        text += f": {problem}"
        if remedy:
            text += f" {remedy}"
        super().__init__(text)
