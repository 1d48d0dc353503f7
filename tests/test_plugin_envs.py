"""One environment per plugin: created fast, requirements installed from local wheels,
reused from the kernel or another plugin's environment (bytes and seconds saved, measured),
conflicting versions kept apart, the kernel's environment never touched."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plugin_helpers import build_wheel, write_plugin

from mrsm_jupyter import Pipe
from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.api import install_plugin, uninstall_plugin
from mrsm_jupyter.plugins.environments import ensure_environment, kernel_paths, venv_python, venv_site
from mrsm_jupyter.plugins.loading import get_plugin
from mrsm_jupyter.plugins.reuse import distributions

FETCH_VERSION = """
required = {required!r}

def fetch(pipe, begin, end):
    import {module} as package
    version = getattr(package, "VERSION", getattr(package, "ANSWER", ""))
    return [{{"dt": "2024-01-01", "version": str(version)}}]
"""


def plugin_with(tmp_path: Path, name: str, required: list[str], module: str) -> Path:
    code = FETCH_VERSION.format(required=required, module=module)
    return write_plugin(tmp_path / "src", name, code)


def fetched(name: str, metric: str) -> str:
    pipe = Pipe(f"plugin:{name}", metric, instance="sql:memory", columns={"datetime": "dt"})
    pipe.sync()
    return str(pipe.get_data()["version"].iloc[0])


def test_an_environment_is_created_in_milliseconds_without_pip(plugin_root: Path) -> None:
    started = time.perf_counter()
    environment = ensure_environment("quick")
    seconds = time.perf_counter() - started
    print(f"\nvenv creation: {seconds * 1000:.0f} ms")
    assert venv_python(environment).exists() and seconds < 5
    assert not list(venv_site(environment).glob("pip*"))
    assert environment == plugin_root / "venvs" / "quick"


def test_requirements_reused_from_another_plugin_are_linked_not_installed(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    first = install_plugin(str(plugin_with(tmp_path, "first", ["tinyuser==1.0"], "tinyuser"))).report
    assert sorted(first.installed) == ["tinydep==1.0", "tinyuser==1.0"]
    assert first.linked == [] and first.bytes_saved == 0
    second = install_plugin(str(plugin_with(tmp_path, "second", ["tinyuser>=1"], "tinyuser"))).report
    # tinyuser and, through its metadata, its dependency tinydep: both linked, no pip run.
    assert second.installed == []
    assert sorted(second.linked) == ["tinydep==1.0 (from first)", "tinyuser==1.0 (from first)"]
    assert second.bytes_saved >= 409_600 and second.seconds_saved > 0
    assert second.seconds < first.seconds
    print(
        f"\nreuse: first install {first.seconds:.3f} s; second (linked) {second.seconds:.3f} s; "
        f"saved {second.bytes_saved:,} bytes and {second.seconds_saved:.3f} s"
    )
    blob = Path("tinydep") / "blob.bin"
    first_blob, second_blob = (venv_site(plugin_root / "venvs" / n) / blob for n in ("first", "second"))
    assert first_blob.stat().st_ino == second_blob.stat().st_ino  # one copy on disk
    assert fetched("second", metric) == "42"
    # Removing the first plugin leaves the second one's (linked) packages working.
    uninstall_plugin("first")
    assert second_blob.exists() and fetched("second", f"{metric}b") == "42"
    assert set(distributions([venv_site(plugin_root / "venvs" / "second")])) == {"tinydep", "tinyuser"}


def test_requirements_the_kernel_satisfies_are_reused_from_it(plugin_root: Path, tmp_path: Path) -> None:
    report = install_plugin(
        str(plugin_with(tmp_path, "tables", ["pyarrow>=10", "packaging"], "pyarrow"))
    ).report
    assert report.installed == [] and report.linked == []
    assert sorted(r.split("==")[0].lower() for r in report.from_kernel) == ["packaging", "pyarrow"]
    assert report.bytes_saved > 10_000_000
    print(f"\nkernel reuse: {report.bytes_saved:,} bytes not installed in {report.seconds:.3f} s")
    assert not list(venv_site(plugin_root / "venvs" / "tables").glob("pyarrow*"))


def test_conflicting_versions_live_side_by_side(plugin_root: Path, tmp_path: Path, metric: str) -> None:
    kernel_before = {name: dist.version for name, dist in distributions(kernel_paths()).items()}
    old = install_plugin(str(plugin_with(tmp_path, "old", ["tinyver==1.0"], "tinyver"))).report
    new = install_plugin(str(plugin_with(tmp_path, "new", ["tinyver==2.0"], "tinyver"))).report
    assert (old.installed, new.installed, new.linked) == (["tinyver==1.0"], ["tinyver==2.0"], [])
    assert fetched("old", metric) == "1.0"
    assert fetched("new", f"{metric}n") == "2.0"
    # The kernel's environment got neither, and nothing in it changed.
    assert importlib.util.find_spec("tinyver") is None
    assert {name: dist.version for name, dist in distributions(kernel_paths()).items()} == kernel_before


def test_a_requirement_pip_cannot_find_names_the_plugin(plugin_root: Path, tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"plugin 'lost'.*pip could not install nosuchpackage==9"):
        install_plugin(str(plugin_with(tmp_path, "lost", ["nosuchpackage==9"], "nosuchpackage")))
    with pytest.raises(PluginError, match=r"plugin 'bad'.*invalid requirement"):
        install_plugin(str(plugin_with(tmp_path, "bad", ["not a requirement !"], "x")))


def test_a_plugin_installed_as_a_package_with_an_entry_point(
    plugin_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    house = tmp_path / "house"
    house.mkdir()
    code = (
        "required = ['tinyver==2.0']\n"
        "def fetch(pipe, begin, end):\n"
        "    import tinyver\n"
        "    return [{'dt': '2024-01-01', 'version': tinyver.VERSION}]\n"
    )
    entry_points = "[mrsm_jupyter.plugins]\ntinyplug = tinyplug\n"
    files = {"tinyplug/__init__.py": code, "tinyplug-1.0.dist-info/entry_points.txt": entry_points}
    build_wheel(house, "tinyplug", "1.0", files)
    # Installed into a directory of its own on the kernel's path, not into the kernel's environment.
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(house), "--quiet"]
    subprocess.run([*pip, "--target", str(site), "tinyplug"], check=True, timeout=300)
    monkeypatch.syspath_prepend(str(site))
    plugin = get_plugin("tinyplug")
    assert (plugin.origin, plugin.module, plugin.required) == ("entry point", "tinyplug", ("tinyver==2.0",))
    assert install_plugin("tinyplug").report.installed == ["tinyver==2.0"]
    assert fetched("tinyplug", metric) == "2.0"
    with pytest.raises(PluginError, match="Uninstall that package with pip"):
        uninstall_plugin("tinyplug")
