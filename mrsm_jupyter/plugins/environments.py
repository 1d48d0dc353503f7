"""One virtual environment per plugin, under ``<root>/venvs/<plugin>``.

An environment is created without pip (``venv --without-pip``, a few milliseconds); the
kernel's pip installs into it (``pip --python``). A ``.pth`` file puts the kernel's
site-packages after the environment's own, so a plugin's packages win over the kernel's
while pandas and pyarrow are shared. Requirements already satisfied elsewhere are reused
(:mod:`.reuse`); each environment keeps what pip installed, with the seconds and bytes it
took, in ``mrsm_installs.json``, which is how the time a reuse saves is known.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.loading import Plugin
from mrsm_jupyter.plugins.names import inside, venvs_dir
from mrsm_jupyter.plugins.reuse import (
    dist_bytes,
    distributions,
    link_distribution,
    parse_requirements,
    plan_reuse,
)

MANIFEST = "mrsm_installs.json"
_KERNEL_PTH = "_mrsm_kernel.pth"
PIP_TIMEOUT = 900


@dataclass
class InstallReport:
    """What installing a plugin's requirements did, and what reuse saved."""

    plugin: str
    installed: list[str] = field(default_factory=list)
    from_kernel: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    bytes_saved: int = 0
    seconds_saved: float = 0.0
    seconds: float = 0.0

    @property
    def line(self) -> str:
        return (
            f"{self.plugin}: installed {len(self.installed)}, reused {len(self.from_kernel)} from the kernel "
            f"and linked {len(self.linked)} from other plugins; saved {self.bytes_saved:,} bytes and "
            f"{self.seconds_saved:.2f} s ({self.seconds:.2f} s in all)."
        )


def venv_dir(plugin: str) -> Path:
    return inside(venvs_dir(), plugin)


def venv_python(environment: Path) -> Path:
    return environment / "bin" / "python"


def venv_site(environment: Path) -> Path:
    return environment / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def kernel_paths() -> list[str]:
    """This process's import path without its standard library: its site-packages, and the
    directories ``PYTHONPATH`` or editable installs add (where mrsm_jupyter itself may be)."""
    stdlib = sys.base_prefix
    return [
        p
        for p in sys.path
        if p and ("site-packages" in p or "dist-packages" in p or not p.startswith(stdlib))
    ]


def ensure_environment(plugin: str) -> Path:
    """The plugin's environment, created if missing; its link to the kernel's packages is
    refreshed (the kernel's path may have changed since)."""
    environment = venv_dir(plugin)
    if not venv_python(environment).exists():
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(environment)
    pth = venv_site(environment) / _KERNEL_PTH
    text = "\n".join(kernel_paths()) + "\n"
    if not pth.exists() or pth.read_text() != text:
        pth.write_text(text)
    return environment


def _manifest(environment: Path) -> dict[str, dict[str, float]]:
    path = environment / MANIFEST
    loaded = json.loads(path.read_text()) if path.exists() else {}
    return loaded if isinstance(loaded, dict) else {}


def _save_manifest(environment: Path, manifest: dict[str, dict[str, float]]) -> None:
    (environment / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _pip_install(plugin: str, environment: Path, requirements: list[str]) -> float:
    """Run the kernel's pip for the environment; pip reads its index options (``PIP_INDEX_URL``,
    ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``) from the environment variables and config as usual."""
    argv = [sys.executable, "-m", "pip", "--python", str(venv_python(environment)), "install"]
    argv += ["--disable-pip-version-check", "--no-input", "--quiet", *requirements]
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise PluginError(
            plugin, f"pip took over {PIP_TIMEOUT} s.", "Check the network or the index."
        ) from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise PluginError(
            plugin, f"pip could not install {', '.join(requirements)}:\n{tail}", "Fix `required`."
        )
    return time.perf_counter() - started


def _record_installed(
    environment: Path, before: dict[str, metadata.Distribution], seconds: float, report: InstallReport
) -> None:
    """Note what pip added, sharing its run time between the new packages by size."""
    after = distributions([venv_site(environment)])
    new = {
        name: dist
        for name, dist in after.items()
        if name not in before or before[name].version != dist.version
    }
    sizes = {name: dist_bytes(dist) for name, dist in new.items()}
    total = sum(sizes.values()) or 1
    manifest = _manifest(environment)
    for name, dist in new.items():
        manifest[name] = {"seconds": seconds * sizes[name] / total, "bytes": sizes[name]}
        report.installed.append(f"{dist.metadata['Name']}=={dist.version}")
    _save_manifest(environment, manifest)


def _link_reused(
    environment: Path, linked: list[tuple[metadata.Distribution, Path]], report: InstallReport
) -> None:
    manifest = _manifest(environment)
    for dist, source_site in linked:
        started = time.perf_counter()
        shared = link_distribution(dist, venv_site(environment))
        spent = time.perf_counter() - started
        name = canonicalize_name(dist.metadata["Name"])
        recorded = _manifest(source_site.parents[2]).get(name, {})
        report.linked.append(f"{dist.metadata['Name']}=={dist.version} (from {source_site.parents[2].name})")
        report.bytes_saved += shared
        report.seconds_saved += max(float(recorded.get("seconds", 0.0)) - spent, 0.0)
        # The linked copy took as long to install as the original, as far as any later reuse goes.
        manifest[name] = {"seconds": float(recorded.get("seconds", 0.0)), "bytes": shared}
    _save_manifest(environment, manifest)


def install_requirements(plugin: Plugin) -> InstallReport:
    """Make the plugin's ``required`` packages importable in its environment, reusing what
    the kernel or another plugin's environment already has at a satisfying version."""
    started = time.perf_counter()
    report = InstallReport(plugin.name)
    environment = ensure_environment(plugin.name)
    site = venv_site(environment)
    others = {
        venv_site(other): distributions([venv_site(other)])
        for other in sorted(venvs_dir().iterdir())
        if other != environment and venv_site(other).is_dir()
    }
    own = distributions([site])
    plan = plan_reuse(
        parse_requirements(plugin.name, plugin.required), own, distributions(kernel_paths()), others
    )
    for dist in plan.kernel:
        report.from_kernel.append(f"{dist.metadata['Name']}=={dist.version}")
        report.bytes_saved += dist_bytes(dist)
    _link_reused(environment, plan.linked, report)
    if plan.to_install:
        before = distributions([site])
        seconds = _pip_install(plugin.name, environment, [str(r) for r in plan.to_install])
        _record_installed(environment, before, seconds, report)
    report.seconds = time.perf_counter() - started
    return report


def remove_environment(plugin: str) -> bool:
    """Delete the plugin's environment (files linked into others stay there). Whether it existed."""
    environment = venv_dir(plugin)
    if not environment.exists():
        return False
    shutil.rmtree(environment)
    return True
