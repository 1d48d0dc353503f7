"""What a sync did, in numbers; unpacks as Meerschaum's ``(success, message)``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class SyncResult:
    """Rows inserted, updated and left unchanged by one sync (of one or many batches).

    >>> success, message = SyncResult("demo", inserted=3)
    >>> success, message
    (True, 'demo: inserted 3, updated 0, unchanged 0 rows in 0.000 s.')
    """

    pipe: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duration: float = 0.0
    batches: int = 0
    # Bytes of the normalized batches (Arrow) handed to the instance.
    nbytes: int = field(default=0, repr=False)
    columns_added: list[str] = field(default_factory=list)
    columns_widened: list[str] = field(default_factory=list)
    created_table: bool = False
    success: bool = True

    @property
    def message(self) -> str:
        """One line: the pipe, rows inserted, updated and unchanged, and the duration."""
        text = (
            f"{self.pipe}: inserted {self.inserted:,}, updated {self.updated:,}, "
            f"unchanged {self.unchanged:,} rows in {self.duration:.3f} s."
        )
        if self.created_table:
            text += f" Created its table with columns {self.columns_added}."
        elif self.columns_added:
            text += f" Added columns {self.columns_added}."
        if self.columns_widened:
            text += f" Widened columns {self.columns_widened}."
        return text

    @property
    def rows(self) -> int:
        """Rows the sync looked at: inserted + updated + unchanged."""
        return self.inserted + self.updated + self.unchanged

    def __iter__(self) -> Iterator[bool | str]:
        yield self.success
        yield self.message

    def __bool__(self) -> bool:
        return self.success

    def __str__(self) -> str:
        return self.message

    def add(self, other: SyncResult) -> None:
        """Fold another batch's result into this one."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duration += other.duration
        self.batches += other.batches
        self.nbytes += other.nbytes
        self.created_table = self.created_table or other.created_table
        self.columns_added += [c for c in other.columns_added if c not in self.columns_added]
        self.columns_widened += [c for c in other.columns_widened if c not in self.columns_widened]

    def _repr_html_(self) -> str:
        from html import escape  # noqa: PLC0415

        cells = "".join(
            f"<td>{value}</td>"
            for value in (
                f"{self.inserted:,}",
                f"{self.updated:,}",
                f"{self.unchanged:,}",
                f"{self.duration:.3f} s",
            )
        )
        return (
            f"<table><caption>{escape(self.pipe)}</caption><tr><th>inserted</th><th>updated</th>"
            f"<th>unchanged</th><th>duration</th></tr><tr>{cells}</tr></table>"
        )


@dataclass
class ActionResult:
    """The outcome of a maintenance action; unpacks as ``(success, message)`` too."""

    pipe: str
    action: str
    rows: int | None = None
    duration: float = 0.0
    success: bool = True

    @property
    def message(self) -> str:
        """One line: the pipe, what was done and how many rows it touched."""
        rows = "" if self.rows is None else f" ({self.rows:,} rows)"
        return f"{self.pipe}: {self.action}{rows}."

    def __iter__(self) -> Iterator[bool | str]:
        yield self.success
        yield self.message

    def __bool__(self) -> bool:
        return self.success

    def __str__(self) -> str:
        return self.message
