"""``fetch(pipe, begin, end)`` functions defined in this process (by ``%%pipe`` cells).

The engine cannot fetch from Python code living in a kernel, so the shells keep the
functions here and ``sync pipes`` (and the pipe widget) call them before handing the rows
to ``pipe.sync``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mrsm_jupyter.pipes.bounds import Bound
from mrsm_jupyter.pipes.pipe import Pipe

Fetcher = Callable[[Pipe, Bound, Bound], Any]
PipeIdentity = tuple[str, str, str | None, str]

_fetchers: dict[PipeIdentity, Fetcher] = {}
_lock = threading.Lock()


def register_fetcher(pipe: Pipe, fetch: Fetcher) -> None:
    """Use ``fetch`` whenever ``pipe`` is synced without rows in this process."""
    with _lock:
        _fetchers[pipe.keys] = fetch


def fetcher_for(pipe: Pipe) -> Fetcher | None:
    with _lock:
        return _fetchers.get(pipe.keys)


def forget_fetcher(pipe: Pipe) -> None:
    with _lock:
        _fetchers.pop(pipe.keys, None)
