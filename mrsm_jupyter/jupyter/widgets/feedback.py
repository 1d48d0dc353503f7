"""What the widgets tell a user while they work: a status line and a progress bar over batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from html import escape
from typing import Any

import ipywidgets as w


def status_html(text: str, *, error: bool = False) -> str:
    """One status line (red for an error); empty text clears it."""
    color = "var(--jp-error-color1, #c00)" if error else "inherit"
    return f'<span style="color:{color}">{escape(text)}</span>' if text else ""


def count_batches(progress: w.IntProgress, batches: Iterable[Any]) -> Iterator[Any]:
    """Pass ``batches`` on, moving ``progress`` after each one is merged (their number is not
    known ahead, so the bar always shows one more to come until the last)."""
    progress.value, progress.max = 0, 1
    for batch in batches:
        yield batch
        progress.value += 1
        progress.max = progress.value + 1
    progress.max = max(progress.value, 1)
