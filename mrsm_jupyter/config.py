"""Where things live and which connectors exist.

Connectors come from the config file (``<root>/config.json``, key ``connectors``) and from
environment variables ``MRSM_<TYPE>_<LABEL>=<uri or JSON>``, the same variables Meerschaum
reads. Environment variables win.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mrsm_jupyter.errors import ConfigError

ROOT_ENV = "MRSM_JUPYTER_ROOT"
_ENV_PREFIX = "MRSM_"
# Meerschaum variables that are settings, not connectors; MRSM_TEST_* are this project's test
# suite's own settings (MRSM_TEST_RUN, MRSM_TEST_POSTGRESQL, ...).
_NOT_CONNECTOR_TYPES = {"ROOT", "JUPYTER", "CONFIG", "PATCH", "NOASK", "NOSPIN", "DEBUG", "TEST"}


def root_dir() -> Path:
    """The root directory: ``$MRSM_JUPYTER_ROOT`` or a per-user data directory."""
    env = os.environ.get(ROOT_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs  # noqa: PLC0415  (only needed when no root is set)

        path = Path(platformdirs.user_data_dir("mrsm_jupyter"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_config_file() -> dict[str, Any]:
    path = root_dir() / "config.json"
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix or remove it.") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold a JSON object.")
    return loaded


def _parse_env_value(name: str, value: str) -> dict[str, Any]:
    value = value.strip()
    if value.startswith("{"):
        try:
            attrs = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"${name} holds invalid JSON ({exc}).") from exc
        if not isinstance(attrs, dict):
            raise ConfigError(f"${name} must be a URI or a JSON object.")
        return attrs
    return {"uri": value}


def connector_attributes(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Every configured connector as ``{"type:label": attributes}``."""
    found: dict[str, dict[str, Any]] = {}
    file_connectors = _read_config_file().get("connectors", {})
    for typ, labels in file_connectors.items():
        for label, attrs in labels.items():
            found[f"{typ}:{label}"] = attrs if isinstance(attrs, dict) else {"uri": str(attrs)}
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if is_connector_variable(name):
            typ, label = name[len(_ENV_PREFIX) :].split("_", 1)
            found[f"{typ.lower()}:{label.lower()}"] = _parse_env_value(name, value)
    return found


def is_connector_variable(name: str) -> bool:
    """Whether an environment variable defines a connector (``MRSM_<TYPE>_<LABEL>``)."""
    if not name.startswith(_ENV_PREFIX):
        return False
    parts = name[len(_ENV_PREFIX) :].split("_", 1)
    return len(parts) == 2 and parts[0] not in _NOT_CONNECTOR_TYPES and bool(parts[1])
