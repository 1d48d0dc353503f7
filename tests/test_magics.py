"""``%mrsm``, ``%%pipe``, ``%config MrsmMagics`` and the HTML reprs, in an in-process IPython shell."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import mrsm_jupyter as mrsm
from mrsm_jupyter.actions import ActionOutcome, UnknownActionError
from mrsm_jupyter.jupyter.magics import MrsmMagics

FETCH_CELL = """
from datetime import datetime, timedelta, UTC

START = datetime(2024, 1, 1, tzinfo=UTC)

def fetch(pipe, begin, end):
    for day in range(3):
        yield [
            {"ts": START + timedelta(days=day, hours=h), "station": s, "temp": float(h)}
            for h in range(24)
            for s in ("north", "south")
        ]
"""


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mrsm_jupyter")
    shell.run_line_magic("config", "MrsmMagics.instance = 'sql:memory'")
    shell.run_line_magic("config", "MrsmMagics.progress = False")
    shell.run_line_magic("config", "MrsmMagics.row_limit = 10")
    yield shell
    shell.run_line_magic("unload_ext", "mrsm_jupyter")


def test_pipe_cell_defines_syncs_and_returns_the_pipe(ip: InteractiveShell, metric: str) -> None:
    cell = ip.run_cell(f"%%pipe demo {metric} lab --columns dt=ts,id=station\n{FETCH_CELL}")
    assert cell.success
    pipe = cell.result
    assert isinstance(pipe, mrsm.Pipe) and pipe.keys == ("demo", metric, "lab", "sql:memory")
    assert pipe.columns == {"datetime": "ts", "id": "station"}
    assert pipe.get_rowcount() == 144
    assert "fetch" not in ip.user_ns, "the cell's own names stay out of the user's namespace"

    # The cell's fetch stays with the pipe: `%mrsm sync pipes` uses it again.
    again = ip.run_cell(f"res = %mrsm sync pipes -m {metric}\nres")
    res = ip.user_ns["res"]
    assert again.result is res and isinstance(res, ActionOutcome)
    assert (res.results[0].inserted, res.results[0].unchanged) == (0, 144)


def test_sql_cell_becomes_the_fetch_definition(ip: InteractiveShell, metric: str) -> None:
    assert ip.run_cell(f"%%pipe demo {metric}raw --columns dt=ts,id=station\n{FETCH_CELL}").success
    sql = (
        f"SELECT ts, station, temp * 2 AS temp FROM {{{{ Pipe('demo', '{metric}raw') }}}}\n"
        "WHERE station = 'north'"
    )
    cell = ip.run_cell(f"%%pipe sql:memory {metric} --columns dt=ts\n-- doubled north readings\n{sql}")
    assert cell.success
    pipe = cell.result
    assert pipe.parameters["fetch"]["definition"].endswith(sql)
    assert pipe.get_rowcount() == 72 and pipe.get_value("temp") == 46.0


def test_no_sync_only_registers(ip: InteractiveShell, metric: str) -> None:
    cell = ip.run_cell(f"%%pipe demo {metric} --no-sync\n{FETCH_CELL}")
    assert cell.result.is_registered and not cell.result.exists()


def test_line_magic_uses_the_configured_defaults(ip: InteractiveShell, metric: str) -> None:
    ip.run_cell(f"%%pipe demo {metric} --columns dt=ts,id=station\n{FETCH_CELL}")
    ip.run_line_magic("config", "MrsmMagics.row_limit = 3")
    shown = ip.run_line_magic("mrsm", f"show data -m {metric}")
    frame = next(iter(shown.frames.values()))
    assert len(frame) == 3
    html = ip.display_formatter.format(shown)[0]["text/html"]
    assert "<table" in html and "Newest 3 rows of 1 pipe(s)." in html
    magics = next(c for c in ip.configurables if isinstance(c, MrsmMagics))
    assert (magics.instance, magics.row_limit, magics.progress) == ("sql:memory", 3, False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%mrsm snyc pipes", "UnknownActionError: Unknown action 'snyc'. Did you mean 'sync'?"),
        ("%mrsm show pipes --params '{\"a\": '", "is not valid JSON"),
        ("%mrsm sync pipes --instnace sql:x", "Did you mean '--instance'?"),
        (
            "%mrsm clear pipes -m nothing_here",
            "NoPipesError: clear pipes: no registered pipes match -m nothing_here",
        ),
        ("%%pipe demo\nx = 1", "the following arguments are required: metric_key"),
        ("%%pipe demo m --columns dt\nx = 1", "--columns item 'dt' must look like role=column"),
        ("%%pipe demo m --sync --no-sync\nx = 1", "not allowed with argument --sync"),
        ("%%pipe demo m\nx = 1", "The %%pipe cell must define fetch(pipe, begin, end)"),
        ("%%pipe other:src m\nSELECT 1", "a SQL body needs a sql:<label> connector"),
        ("%%pipe sql:nowhere m\nSELECT 1", "ConnectorError: No connector 'sql:nowhere'"),
    ],
)
def test_errors_print_one_line_and_no_traceback(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str, expected: str
) -> None:
    cell = ip.run_cell(line)
    out, err = capsys.readouterr()
    assert cell.success and cell.result is None
    assert len(err.strip().splitlines()) == 1 and expected in err
    assert err.rstrip().endswith("(add --traceback for the traceback)")
    assert "Traceback" not in out + err


def test_help(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_cell("%%pipe --help\n# IPython refuses an empty cell body").result is None
    assert capsys.readouterr().out.startswith("usage: %%pipe [-i INSTANCE] [--columns COLUMNS]")
    outcome = ip.run_line_magic("mrsm", "--help")
    assert outcome.message.startswith("usage: %mrsm") and "deduplicate pipes" in outcome.message


def test_traceback_flag_raises(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    cell = ip.run_cell("%mrsm --traceback snyc pipes")
    assert isinstance(cell.error_in_exec, UnknownActionError)
    assert "Traceback" in capsys.readouterr().out


def test_failed_pipes_are_listed_and_the_rest_done(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], metric: str
) -> None:
    ip.run_cell(f"%%pipe demo {metric} --columns dt=ts,id=station\n{FETCH_CELL}")
    ip.run_line_magic("mrsm", f"register pipes -c demo -m {metric}b")
    capsys.readouterr()
    outcome = ip.run_line_magic("mrsm", f"sync pipes -m {metric} {metric}b")
    err = capsys.readouterr().err
    assert not outcome.success and outcome.results[0].unchanged == 144
    assert f"Pipe('demo', '{metric}b', instance='sql:memory'): has no source to fetch from" in err
    html = ip.display_formatter.format(outcome)[0]["text/html"]
    assert 'style="color:#c00"' in html and f"{metric}b" in html


def test_destructive_actions_need_yes(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], metric: str
) -> None:
    ip.run_cell(f"%%pipe demo {metric} --columns dt=ts,id=station\n{FETCH_CELL}")
    assert ip.run_line_magic("mrsm", f"clear pipes -m {metric}") is None
    assert "Add -y to confirm" in capsys.readouterr().err
    cleared = ip.run_line_magic("mrsm", f"clear pipes -m {metric} -y --begin 2024-01-03")
    assert cleared.results[0].rows == 48


def test_progress_bars_per_pipe_and_batch(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], metric: str
) -> None:
    ip.run_line_magic("config", "MrsmMagics.progress = True")
    ip.run_cell(f"%%pipe demo {metric} --columns dt=ts,id=station --no-sync\n{FETCH_CELL}")
    ip.run_line_magic("mrsm", f"sync pipes -m {metric}")
    err = capsys.readouterr().err
    assert "sync pipes: 100%" in err and "1/1" in err
    assert f"Pipe('demo', '{metric}', instance='sql:memory')" in err and "batch" in err


def test_html_reprs_are_deterministic(ip: InteractiveShell, metric: str) -> None:
    pipe = ip.run_cell(f"%%pipe demo {metric} --columns dt=ts,id=station\n{FETCH_CELL}").result
    html = ip.display_formatter.format(pipe)[0]["text/html"]
    assert (
        html == ip.display_formatter.format(mrsm.Pipe("demo", metric, instance="sql:memory"))[0]["text/html"]
    )
    for fact in (metric, "sql:memory", "144", "2024-01-03T23:00:00+00:00", "station", "datetime"):
        assert fact in html
    assert " at 0x" not in html
    listed = ip.display_formatter.format([pipe, pipe])[0]
    assert "2 pipes" in listed["text/html"]
    assert "text/html" not in ip.display_formatter.format([1, 2])[0]
    connector = ip.display_formatter.format(pipe.instance_connector)[0]["text/html"]
    assert "sql:memory" in connector and "SQLConnector" in connector


def test_unload_removes_magics_and_reprs(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "mrsm_jupyter")
    assert "mrsm" not in ip.magics_manager.magics["line"] and "pipe" not in ip.magics_manager.magics["cell"]
    assert "text/html" not in ip.display_formatter.format(mrsm.Pipe("demo", "x", instance="sql:memory"))[0]
    ip.run_line_magic("load_ext", "mrsm_jupyter")  # for the fixture's own unload


def test_load_ext_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, time\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "t = time.perf_counter()\n"
        "ip.run_line_magic('load_ext', 'mrsm_jupyter')\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = sorted(m for m in ('pandas', 'sqlalchemy', 'duckdb', 'plotly', 'pyarrow', 'ipywidgets') "
        "if m in sys.modules)\n"
        "print(f'{elapsed:.4f}', ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    elapsed, heavy = done.stdout.split(" ")
    assert heavy.strip() == ""  # the deterministic part: nothing heavy is imported
    # Timing is measured by bench/load_ext.py (target 0.3 s); a timed assertion on a shared
    # machine under coverage is flaky, so this bound only catches a pathological regression.
    assert float(elapsed) < 3.0
