"""The wheel carries the prebuilt labextension and enables both extensions on install.

``pip wheel`` builds it through hatch-jupyter-builder, which reuses the existing build output
(``make labbuild``; ``skip-if-exists`` in pyproject.toml) so this stays short. ``pip install``
puts it into a new virtual environment, whose ``jupyter`` must list the labextension and the
server extension as "enabled" and "OK".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import mrsm_jupyter

REPO = Path(__file__).resolve().parents[1]
PREBUILT = REPO / "mrsm_jupyter" / "labextension"
EXTENSION_NAME = "mrsm-jupyter-labextension"
SECONDS = 120
ANSI_COLOR = re.compile(r"\x1b\[[0-9;]*m")


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> str:
    done = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=SECONDS, env=env, cwd=cwd
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return ANSI_COLOR.sub("", done.stdout + done.stderr)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding only the installed wheel; its dependencies come from
    this environment's site-packages through a ``.pth`` line (nothing is downloaded)."""
    if not (PREBUILT / "static" / "style.js").exists():
        pytest.fail(f"No prebuilt labextension in {PREBUILT}: run `make labbuild` first.")
    wheels = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(REPO)])
    (wheel,) = wheels.glob("mrsm_jupyter-*.whl")
    assert wheel.name.startswith(f"mrsm_jupyter-{mrsm_jupyter.__version__}-")
    target = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(target)])
    # pip runs for the new environment's interpreter: with `--prefix` it would also uninstall
    # this environment's own (editable) mrsm_jupyter, taking it away from every later test.
    python = str(target / "bin" / "python")
    run([*pip, "--python", python, "install", "--no-deps", "--no-index", str(wheel)])
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(target), "platbase": str(target)}))
    # A plain path line: the other environment's own .pth files (its editable install) stay inactive.
    (purelib / "_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return target


def clean_env(tmp_path: Path) -> dict[str, str]:
    """No PYTHONPATH (the checkout), no Jupyter search paths, nor the user's config and data dirs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER"))}
    return env | {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}


def jupyter(venv: Path, tmp_path: Path, module: str, *args: str) -> str:
    """``python -m <module> <args>`` in the new environment (``jupyter labextension`` would run
    the ``jupyter-labextension`` script found first on PATH, of another environment)."""
    return run([str(venv / "bin" / "python"), "-m", module, *args], clean_env(tmp_path), cwd=tmp_path)


def section(listing: str, directory: Path) -> str:
    """The lines ``jupyter ... extension list`` prints under the heading naming ``directory``."""
    lines = listing.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().endswith(str(directory))]
    assert starts, f"{directory} is not in the listing:\n{listing}"
    body = []
    for line in lines[starts[0] + 1 :]:
        if line.strip().startswith(("/", "Config dir:")):
            break
        body.append(line)
    return "\n".join(body)


def test_the_wheel_installs_the_labextension_enabled(venv: Path, tmp_path: Path) -> None:
    installed = venv / "share" / "jupyter" / "labextensions" / EXTENSION_NAME
    assert (installed / "static" / "style.js").exists()
    assert (installed / "schemas" / EXTENSION_NAME / "sidebar.json").exists()
    assert json.loads((installed / "install.json").read_text())["packageName"] == "mrsm_jupyter"
    package = json.loads((REPO / "labextension" / "package.json").read_text())
    assert package["version"] == mrsm_jupyter.__version__
    listing = jupyter(venv, tmp_path, "jupyterlab.labextensions", "list")
    ours = section(listing, installed.parent)
    assert f"{EXTENSION_NAME} v{package['version']} enabled OK (python, mrsm_jupyter)" in ours, listing


def test_the_wheel_enables_the_server_extension(venv: Path, tmp_path: Path) -> None:
    listing = jupyter(venv, tmp_path, "jupyter_server.extension.serverextension", "list")
    ours = section(listing, venv / "etc" / "jupyter")
    assert "mrsm_jupyter enabled" in ours, listing
    assert f"mrsm_jupyter {mrsm_jupyter.__version__} OK" in ours, listing
    code = "import mrsm_jupyter.jupyter.server.extension as e; print(e.__file__)"
    # Not from the checkout: the working directory (first on sys.path) is elsewhere.
    imported = run([str(venv / "bin" / "python"), "-c", code], clean_env(tmp_path), cwd=tmp_path)
    assert imported.strip().startswith(str(venv)), imported
