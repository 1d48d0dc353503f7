"""A systemd user unit that starts the supervisor at boot, so saved jobs come back (pm2 startup).

Writing the unit enables nothing; :func:`enable_instructions` says what to run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

UNIT_NAME = "mrsm-jupyter-supervisor.service"


def default_unit_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def _quote(arg: str) -> str:
    """One ExecStart word: systemd expands % specifiers and $ variables, so both are escaped."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def unit_text(root: Path, python: str) -> str:
    command = " ".join(
        _quote(arg) for arg in (python, "-m", "mrsm_jupyter.jobs.supervisor", "--root", str(root))
    )
    environment = _quote(f"MRSM_JUPYTER_ROOT={root}")
    return (
        "[Unit]\n"
        f"Description=mrsm_jupyter job supervisor for {str(root).replace('%', '%%')}\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={command}\n"
        f"Environment={environment}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # Only the supervisor stops with the unit; jobs keep running and are re-attached.
        "KillMode=process\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def install_systemd_unit(root: Path, *, unit_path: Path | None = None, python: str | None = None) -> Path:
    """Write the unit file (replacing an older one) and return its path."""
    path = unit_path if unit_path is not None else default_unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(root, python or sys.executable), encoding="utf-8")
    return path


def enable_instructions(path: Path) -> str:
    return (
        "  systemctl --user daemon-reload\n"
        f"  systemctl --user enable --now {path.name}\n"
        "  loginctl enable-linger $USER   # start at boot, before you log in"
    )
