"""Helpers for the plugin tests: tiny wheels built on the spot, plugin sources, a root of
their own (so no test needs the network or sees another test's environments)."""

from __future__ import annotations

import base64
import hashlib
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    wheelhouse: Path, name: str, version: str, files: Mapping[str, str | bytes], requires: Sequence[str] = ()
) -> Path:
    """A pure-Python wheel holding ``files`` (path -> content), as a build backend writes it:
    the files, then METADATA, WHEEL and a RECORD with sha256 digests."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    contents = {path: (text if isinstance(text, bytes) else text.encode()) for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = metadata.encode()
    contents[f"{dist_info}/WHEEL"] = wheel.encode()
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{dist_info}/RECORD,,"]
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = wheelhouse / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return target


def write_plugin(directory: Path, name: str, code: str) -> Path:
    """A plugin module ``name.py`` in ``directory`` (a source to install from)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path
