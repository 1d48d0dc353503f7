"""A real InfluxDB 1.x server for the tests: its own config, data directories and free ports."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

INFLUXD = "influxd"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _set(config: str, section: str | None, key: str, value: str) -> str:
    """Set ``key = value`` in ``[section]`` (or at the top) of a TOML file ``influxd config`` wrote."""
    start = 0 if section is None else config.index(f"[{section}]")
    stop = config.find("\n[", start + 1)
    stop = len(config) if stop < 0 else stop
    part, count = re.subn(
        rf"(?m)^(\s*){re.escape(key)} = .*$", rf"\g<1>{key} = {value}", config[start:stop], count=1
    )
    if not count:
        raise RuntimeError(f"influxd config has no {key} in [{section}]")
    return config[:start] + part + config[stop:]


def write_config(directory: Path, http_port: int, rpc_port: int) -> Path:
    """A config from ``influxd config`` with ports, directories and quiet logging of our own."""
    config = subprocess.run([INFLUXD, "config"], capture_output=True, text=True, check=True).stdout
    settings = [
        (None, "reporting-enabled", "false"),
        (None, "bind-address", f'"127.0.0.1:{rpc_port}"'),
        ("meta", "dir", f'"{directory / "meta"}"'),
        ("meta", "logging-enabled", "false"),
        ("data", "dir", f'"{directory / "data"}"'),
        ("data", "wal-dir", f'"{directory / "wal"}"'),
        ("data", "query-log-enabled", "false"),
        ("monitor", "store-enabled", "false"),
        ("http", "bind-address", f'"127.0.0.1:{http_port}"'),
        ("http", "log-enabled", "false"),
    ]
    for section, key, value in settings:
        config = _set(config, section, key, value)
    path = directory / "influxdb.conf"
    path.write_text(config)
    return path


@contextmanager
def influxdb_server(directory: Path) -> Iterator[str]:
    """Start ``influxd`` in ``directory``; yield its base URL; stop it afterwards."""
    http_port, rpc_port = _free_port(), _free_port()
    config = write_config(directory, http_port, rpc_port)
    log = directory / "influxd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([INFLUXD, "-config", str(config)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"influxd exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 204:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"influxd did not answer within 30 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
