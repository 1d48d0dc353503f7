"""The TypeScript interfaces of ``labextension/src/api.ts`` mirror the Python payload types.

An interface named like a TypedDict of ``mrsm_jupyter.jupyter.server.payloads`` must have the
same fields, the same optional ones (``NotRequired`` / ``total=False`` <-> ``?``) and the same
types, Python types read as TypeScript: ``str`` -> ``string``, ``int``/``float`` -> ``number``,
``None`` -> ``null``, ``list[X]`` -> ``X[]``, ``dict[str, X]`` -> ``Record<string, X>``,
``Any`` -> ``unknown``, a TypedDict -> its name; TypeScript aliases (``WireBound``) are expanded.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from mrsm_jupyter.jupyter.server import payloads

API_TS = Path(__file__).parents[1] / "labextension" / "src" / "api.ts"
# Every payload the sidebar's client sends or reads; each must be mirrored.
USED_BY_THE_SIDEBAR = {
    "InstanceInfo",
    "PipeInfo",
    "PipeDetail",
    "RegisterRequest",
    "RowcountInfo",
    "SyncTimeInfo",
    "SyncResultInfo",
    "VerifyResultInfo",
    "ActionInfo",
    "RowcountBuckets",
    "JobInfo",
    "JobResultInfo",
}


def typescript_of(tp: Any) -> str:
    """The TypeScript spelling of a Python payload type."""
    origin, args = get_origin(tp), get_args(tp)
    simple = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
    if tp is Any:
        return "unknown"
    if tp in simple:
        return simple[tp]
    if is_typeddict(tp):
        return str(tp.__name__)
    if origin is NotRequired:
        return typescript_of(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(typescript_of(a) for a in args)
    if origin is Literal:
        return " | ".join(f"'{a}'" for a in args)
    if origin is list:
        inner = typescript_of(args[0])
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if origin is dict:
        return f"Record<{typescript_of(args[0])}, {typescript_of(args[1])}>"
    raise TypeError(f"no TypeScript spelling for {tp!r}: extend typescript_of")


def members(text: str, aliases: dict[str, str]) -> set[str]:
    """The members of a union, aliases expanded, spacing normalized."""
    found: set[str] = set()
    for member in (m.strip() for m in text.split("|")):
        if member in aliases:
            found |= members(aliases[member], aliases)
        else:
            found.add(re.sub(r"\s+", " ", member))
    return found


def interfaces(source: str) -> dict[str, dict[str, tuple[bool, str]]]:
    """``{interface: {field: (optional, type)}}`` from the TypeScript source."""
    found = {}
    for name, body in re.findall(r"export interface (\w+) \{([^}]*)\}", source):
        fields = re.findall(r"^\s*(\w+)(\??):\s*([^;]+);", body, re.MULTILINE)
        found[name] = {field: (mark == "?", text.strip()) for field, mark, text in fields}
    return found


def test_the_sidebar_payloads_are_mirrored() -> None:
    mirrored = set(interfaces(API_TS.read_text()))
    assert mirrored >= USED_BY_THE_SIDEBAR, USED_BY_THE_SIDEBAR - mirrored
    assert all(is_typeddict(getattr(payloads, name, None)) for name in USED_BY_THE_SIDEBAR)


@pytest.mark.parametrize("name", sorted(USED_BY_THE_SIDEBAR))
def test_interface_mirrors_the_payload(name: str) -> None:
    source = API_TS.read_text()
    aliases = dict(re.findall(r"export type (\w+) =\s*([^;]+);", source))
    ts_fields = interfaces(source)[name]
    declared = getattr(payloads, name)
    hints = get_type_hints(declared, include_extras=True)
    assert set(ts_fields) == set(hints), f"{name}: fields differ"
    for field, hint in hints.items():
        optional, ts_type = ts_fields[field]
        # __optional_keys__ misses NotRequired under postponed annotations (payloads.py has them).
        not_required = get_origin(hint) is NotRequired or field in declared.__optional_keys__
        assert optional == not_required, f"{name}.{field}: optional differs"
        expected = members(typescript_of(hint), aliases)
        assert members(ts_type, aliases) == expected, f"{name}.{field}: {ts_type} is not {expected}"


def test_the_reading_of_python_types() -> None:
    assert typescript_of(list[str]) == "string[]"
    assert typescript_of(dict[str, Any]) == "Record<string, unknown>"
    assert typescript_of(typing.Optional[int]) == "number | null"  # noqa: UP045 (the old spelling too)
    assert members("WireBound", {"WireBound": "string | number | null"}) == {"string", "number", "null"}
    with pytest.raises(TypeError):
        typescript_of(bytes)
