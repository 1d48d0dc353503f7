"""InfluxDB 1.x line protocol, built column by column with Arrow compute.

``measurement,tag=value field=1.5,count=2i,name="text" 1704067200000000000``

Escaping (as InfluxDB 1.x parses it): measurement names escape commas and spaces; tag keys,
tag values and field keys escape commas, equal signs and spaces; string field values are
double-quoted with backslashes and double quotes escaped. A backslash just before one of
those characters, or at the end of a name or tag, cannot be written unambiguously, and
neither can a newline: such names and tag values are refused before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

_MEASUREMENT_SPECIALS = ", "
_KEY_SPECIALS = ",= "
# What the parser cannot take back: a newline, or a backslash before a special or at the end.
_UNWRITABLE = r"\n|\\([,= ]|$)"


class LineProtocolError(ValueError):
    """A name or tag value that line protocol cannot carry."""


def _check_text(text: str, what: str) -> None:
    if re.search(_UNWRITABLE, text):
        raise LineProtocolError(
            f"{what} {text!r} has a newline, or a backslash at its end or before ',', '=' or ' ', "
            "which InfluxDB's line protocol cannot carry"
        )


def _escape(text: str, specials: str) -> str:
    for char in specials:
        text = text.replace(char, "\\" + char)
    return text


def escape_measurement(name: str) -> str:
    _check_text(name, "the measurement name")
    if name.startswith("#"):  # a line starting with '#' is a comment
        raise LineProtocolError(f"the measurement name {name!r} starts with '#', which marks a comment")
    return _escape(name, _MEASUREMENT_SPECIALS)


def escape_key(name: str) -> str:
    """A tag key or field key."""
    _check_text(name, "the column name")
    return _escape(name, _KEY_SPECIALS)


def _escape_array(array: pa.Array, specials: str) -> pa.Array:
    for char in specials:
        array = pc.replace_substring(array, pattern=char, replacement="\\" + char)
    return array


def _tag_pairs(name: str, text: pa.Array) -> pa.Array:
    """``key=value`` per row; null where the row has no value (InfluxDB has no empty tags)."""
    bad = pc.match_substring_regex(text, _UNWRITABLE)
    if pc.any(bad).as_py():
        _check_text(str(pc.filter(text, bad)[0].as_py()), f"the value of {name!r}")
    text = pc.if_else(pc.equal(text, ""), None, text)
    return pc.binary_join_element_wise(escape_key(name), _escape_array(text, _KEY_SPECIALS), "=")


def _field_text(name: str, values: pa.Array) -> pa.Array:
    """A field's values as line protocol text, by storage kind."""
    if pa.types.is_string(values.type):
        quoted = _escape_array(values, '\\"')
        return pc.binary_join_element_wise('"', quoted, '"', "")
    if pa.types.is_floating(values.type):
        if pc.any(pc.invert(pc.fill_null(pc.is_finite(values), True))).as_py():
            raise LineProtocolError(
                f"column {name!r} holds NaN or infinite values, which InfluxDB cannot store"
            )
        return values.cast(pa.string())
    if pa.types.is_integer(values.type):
        return pc.binary_join_element_wise(values.cast(pa.string()), "i", "")
    return values.cast(pa.string())  # booleans: true / false


def lines(
    measurement: str,
    times: pa.Array,
    tags: Mapping[str, pa.Array],
    fields: Mapping[str, pa.Array],
) -> pa.Array:
    """One line per row. ``tags`` hold text; ``fields`` storage values; ``times`` nanoseconds.

    Every row needs at least one non-null field; the caller guarantees it.
    """
    pairs = [_tag_pairs(name, text) for name, text in tags.items()]
    field_pairs = [
        pc.binary_join_element_wise(escape_key(name), _field_text(name, values), "=")
        for name, values in fields.items()
    ]
    series = pa.array([escape_measurement(measurement)] * len(times), pa.string())
    if pairs:
        tag_set = _join_skipping_nulls(pairs)
        tag_set = pc.if_else(pc.equal(tag_set, ""), None, tag_set)
        series = pc.binary_join_element_wise(series, tag_set, ",", null_handling="skip")
    field_set = _join_skipping_nulls(field_pairs)
    return pc.binary_join_element_wise(series, field_set, times.cast(pa.string()), " ")


def _join_skipping_nulls(parts: Sequence[pa.Array]) -> pa.Array:
    """Comma-joined non-null parts per row (Arrow drops null rows when joining one array)."""
    if len(parts) == 1:
        return pc.fill_null(parts[0], "")
    return pc.binary_join_element_wise(*parts, ",", null_handling="skip")


def bodies(rows: pa.Array, max_bytes: int) -> Iterator[bytes]:
    """Request bodies of whole lines, each at most about ``max_bytes``."""
    chunk: list[str] = []
    size = 0
    for line in rows.to_pylist():
        if chunk and size + len(line) > max_bytes:
            yield "\n".join(chunk).encode()
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        yield "\n".join(chunk).encode()


def check_names(names: Sequence[str]) -> None:
    for name in names:
        escape_key(name)
