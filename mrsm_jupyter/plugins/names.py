"""Plugin names and the directories they map to.

A name becomes a directory (``venvs/<name>``) and a module (``mrsm_plugins.<name>``), so only
lowercase identifiers are accepted: nothing a name holds can point outside the root
(``..``, ``/``, ``%2e``, NUL). Paths are resolved and checked once more before any file
operation, so a planted symlink does not lead outside either.

>>> validate_plugin_name("noaa_weather")
'noaa_weather'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.errors import PluginError

PLUGINS_DIR_ENV = "MRSM_JUPYTER_PLUGINS_DIR"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")


def validate_plugin_name(name: str) -> str:
    """``name`` if it is a lowercase identifier of at most 64 characters, else a PluginError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PluginError(
            str(name),
            "is not a valid plugin name.",
            "Use a lowercase Python identifier (letters, digits, _), e.g. 'noaa_weather'.",
        )
    return name


def plugins_dir() -> Path:
    """Where plugin modules live: ``$MRSM_JUPYTER_PLUGINS_DIR`` or ``<root>/plugins``. Not
    created here (every sync looks for plugins; only installing one creates it)."""
    env = os.environ.get(PLUGINS_DIR_ENV)
    return Path(env).expanduser() if env else root_dir() / "plugins"


def venvs_dir() -> Path:
    """Where each plugin's virtual environment lives: ``<root>/venvs``."""
    path = root_dir() / "venvs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def inside(parent: Path, name: str) -> Path:
    """``parent / name`` for a valid name, refused if it resolves outside ``parent``
    (a symlink planted in the directory, say)."""
    path = parent / validate_plugin_name(name)
    if not path.resolve().is_relative_to(parent.resolve()):
        raise PluginError(
            name, f"resolves outside {parent}.", "Remove the link and install the plugin again."
        )
    return path
