"""The contenders: one small module each, all implementing :class:`bench.contenders.base.Contender`.

The registry names modules as strings so that importing it pulls in no database library: a
worker imports only the one module it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("duckdb", "postgresql")


@dataclass(frozen=True)
class ContenderSpec:
    """Where a contender's code lives and which venv runs it (``None``: the project's)."""

    name: str
    modules: dict[str, str]
    venv: str | None = None


CONTENDERS: dict[str, ContenderSpec] = {
    "raw": ContenderSpec(
        name="raw",
        modules={
            "duckdb": "bench.contenders.raw_duckdb",
            "postgresql": "bench.contenders.raw_postgresql",
        },
    ),
    "mrsm_jupyter": ContenderSpec(
        name="mrsm_jupyter",
        modules={engine: "bench.contenders.mrsm_jupyter_" for engine in ENGINES},
    ),
    "meerschaum": ContenderSpec(
        name="meerschaum",
        modules={engine: "bench.contenders.meerschaum_" for engine in ENGINES},
        venv="meerschaum",
    ),
    "dlt": ContenderSpec(
        name="dlt",
        modules={engine: "bench.contenders.dlt_" for engine in ENGINES},
        venv="dlt",
    ),
}
