"""mrsm_jupyter: Meerschaum-style time-series pipes, native in Jupyter.

>>> import mrsm_jupyter as mrsm
>>> pipe = mrsm.Pipe("demo", "temperature", instance="sql:memory", columns={"datetime": "dt"})

The public names are imported on first use, so ``%load_ext mrsm_jupyter`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.registry import get_connector, make_connector
    from mrsm_jupyter.errors import JobError, MrsmError, PipeError
    from mrsm_jupyter.jobs.api import Job, get_jobs
    from mrsm_jupyter.pipes.listing import get_pipes
    from mrsm_jupyter.pipes.pipe import Pipe
    from mrsm_jupyter.pipes.result import ActionResult, SyncResult

_LAZY = {
    "Pipe": "mrsm_jupyter.pipes.pipe",
    "get_pipes": "mrsm_jupyter.pipes.listing",
    "get_connector": "mrsm_jupyter.connectors.registry",
    "make_connector": "mrsm_jupyter.connectors.registry",
    "SyncResult": "mrsm_jupyter.pipes.result",
    "ActionResult": "mrsm_jupyter.pipes.result",
    "MrsmError": "mrsm_jupyter.errors",
    "PipeError": "mrsm_jupyter.errors",
    "JobError": "mrsm_jupyter.errors",
    "Job": "mrsm_jupyter.jobs.api",
    "get_jobs": "mrsm_jupyter.jobs.api",
}

__all__ = [
    "ActionResult",
    "Job",
    "JobError",
    "MrsmError",
    "Pipe",
    "PipeError",
    "SyncResult",
    "__version__",
    "get_connector",
    "get_jobs",
    "get_pipes",
    "make_connector",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mrsm_jupyter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mrsm_jupyter``: the ``%mrsm`` and ``%%pipe`` magics and HTML reprs."""
    # Imported here: importing the package must not import IPython.
    from mrsm_jupyter.jupyter.magics import load  # noqa: PLC0415

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from mrsm_jupyter.jupyter.magics import unload  # noqa: PLC0415

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """``jupyter server`` finds the REST API here; the module is imported only when loading."""
    return [{"module": "mrsm_jupyter.jupyter.server.extension"}]
