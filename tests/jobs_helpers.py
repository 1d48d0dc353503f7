"""Small helpers shared by the jobs tests: waiting for a condition and writing job scripts."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def script(directory: Path, name: str, code: str) -> list[str]:
    """Write a Python script and return the argv that runs it."""
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return [sys.executable, str(path)]


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
