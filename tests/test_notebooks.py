"""The tutorials in ``notebooks/`` run, and reproduce their stored outputs (nbval).

Each notebook runs in its own pytest subprocess: nbval runs a notebook's cells in order in one
kernel, which pytest-xdist's default distribution would split across workers. Timings, temporary
paths and widget ids are sanitized by ``notebooks/nbval_sanitize.cfg``. After an intended change,
store new outputs with::

    jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.store_widget_state=False \\
        --ExecutePreprocessor.record_timing=False notebooks/*.ipynb
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mrsm_jupyter.config import is_connector_variable

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SANITIZE = NOTEBOOKS_DIR / "nbval_sanitize.cfg"


LEARNING_PATH = [
    "quickstart.ipynb",
    "sql-pipes.ipynb",
    "tutorial-03-verify.ipynb",
    "tutorial-04-jobs.ipynb",
    "tutorial-plugins.ipynb",
    "tutorial-06-team-instance.ipynb",
    "howto-move-a-pipe-between-instances.ipynb",
    "howto-use-postgresql-or-mariadb.ipynb",
    "howto-read-a-meerschaum-instance.ipynb",
    "howto-cache-a-remote-pipe.ipynb",
    "howto-deduplicate-a-pipe.ipynb",
    "howto-recover-after-a-crash.ipynb",
    "faq.ipynb",
]


def test_the_tutorials_are_there() -> None:
    present = {p.name for p in NOTEBOOKS}
    assert present >= set(LEARNING_PATH)


def test_the_readme_links_every_notebook_in_order() -> None:
    readme = (NOTEBOOKS_DIR.parent / "README.md").read_text(encoding="utf-8")
    positions = [readme.find(f"(notebooks/{name})") for name in LEARNING_PATH]
    assert -1 not in positions, [n for n, p in zip(LEARNING_PATH, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    assert {p.name for p in NOTEBOOKS} <= set(LEARNING_PATH), "add the new notebook to LEARNING_PATH"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_stored_outputs_are_complete(notebook: Path) -> None:
    """nbval compares nothing for a cell stored unrun, so every code cell must have been run."""
    cells = nbformat.read(notebook, as_version=4).cells
    unrun = [i for i, cell in enumerate(cells) if cell.cell_type == "code" and cell.execution_count is None]
    assert not unrun, f"{notebook.name}: cells {unrun} were never run; run the notebook and save it."
    counts = [cell.execution_count for cell in cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{notebook.name}: run it in order in a new kernel."


def notebook_environment() -> dict[str, str]:
    """This environment without the connectors other tests in this worker defined
    (``MRSM_<TYPE>_<LABEL>``): a notebook sees only its own. ``MRSM_TEST_*`` settings stay."""
    return {name: value for name, value in os.environ.items() if not is_connector_variable(name)}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_reproduces_its_outputs(notebook: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(SANITIZE),
        str(notebook),
    ]
    done = subprocess.run(
        command,
        cwd=NOTEBOOKS_DIR.parent,
        env=notebook_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (
        f"{notebook.name} no longer reproduces its stored outputs (if the change is intended, store "
        f"new ones: see this module's docstring):\n{done.stdout[-8000:]}{done.stderr[-2000:]}"
    )
