"""Installing, listing, setting up and removing plugins: the Python API the actions call."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.environments import InstallReport, install_requirements, remove_environment
from mrsm_jupyter.plugins.loading import Plugin, find_plugins, get_plugin, read_plugin
from mrsm_jupyter.plugins.manager import reload_plugins
from mrsm_jupyter.plugins.names import inside, plugins_dir, validate_plugin_name
from mrsm_jupyter.plugins.runner import DEFAULT_TIMEOUT, run_plugin
from mrsm_jupyter.plugins.worker import PLUGINS_PACKAGE


@dataclass
class SetupResult:
    """A plugin made ready: its requirements' report and what its ``setup()`` returned."""

    plugin: Plugin
    report: InstallReport
    setup_value: Any = None


def _copy_into_plugins_dir(source: Path) -> Plugin:
    """Copy a module (``name.py``) or package directory into the plugins directory."""
    is_module = source.is_file() and source.suffix == ".py"
    if not is_module and not (source / "__init__.py").is_file():
        raise PluginError(
            source.name, f"{source} is neither a .py module nor a package.", "Give one of those."
        )
    name = validate_plugin_name(source.stem if is_module else source.name)
    directory = plugins_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = inside(directory, name).with_suffix(".py") if is_module else inside(directory, name)
    # Read first: a plugin whose source does not parse is not installed at all.
    read_plugin(name, f"{PLUGINS_PACKAGE}.{name}", source if is_module else source / "__init__.py")
    _remove_source(directory, name)
    if is_module:
        shutil.copy2(source, target)
    else:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return read_plugin(name, f"{PLUGINS_PACKAGE}.{name}", target if is_module else target / "__init__.py")


def _remove_source(directory: Path, name: str) -> bool:
    module, package = inside(directory, name).with_suffix(".py"), inside(directory, name)
    if package.is_dir() and not package.is_symlink():
        shutil.rmtree(package)
        return True
    for path in (module, package):
        if path.is_file() or path.is_symlink():
            path.unlink()
            return True
    return False


def install_plugin(path_or_name: str) -> SetupResult:
    """Install a plugin from a path (a ``.py`` module or a package directory, copied into the
    plugins directory), or, given the name of an installed plugin, install its requirements
    again; then its ``required`` packages go into its own environment."""
    source = Path(path_or_name).expanduser()
    looks_like_path = any(sep in path_or_name for sep in ("/", "\\")) or path_or_name.endswith(".py")
    if looks_like_path or (source.exists() and path_or_name not in find_plugins()):
        if not source.exists():
            raise PluginError(source.stem, f"{source} does not exist.", "Check the path.")
        plugin = _copy_into_plugins_dir(source)
    else:
        plugin = get_plugin(path_or_name)
    report = install_requirements(plugin)
    reload_plugins()
    return SetupResult(plugin, report)


def uninstall_plugin(name: str) -> bool:
    """Remove the plugin from the plugins directory and delete its environment. Whether
    anything was removed (a plugin from an entry point is removed with pip instead)."""
    plugin = find_plugins().get(validate_plugin_name(name))
    if plugin is not None and plugin.origin != "directory":
        raise PluginError(
            name, "comes from an installed package (an entry point).", "Uninstall that package with pip."
        )
    removed = plugins_dir().is_dir() and _remove_source(plugins_dir(), name)
    removed = remove_environment(name) or removed
    reload_plugins()
    return removed


def setup_plugin(name: str, timeout: float = DEFAULT_TIMEOUT) -> SetupResult:
    """Install the plugin's requirements, then run its ``setup()`` (if any) in its environment."""
    plugin = get_plugin(name)
    report = install_requirements(plugin)
    value = run_plugin(plugin, "setup", timeout=timeout).value if "setup" in plugin.functions else None
    if isinstance(value, (list, tuple)) and value and value[0] is False:
        raise PluginError(
            name, f"setup() failed: {value[1] if len(value) > 1 else ''}", "Fix the plugin's setup()."
        )
    return SetupResult(plugin, report, value)


def get_plugins() -> list[Plugin]:
    """Every installed plugin (plugins directory and entry points), by name."""
    return sorted(find_plugins().values(), key=lambda p: p.name)
