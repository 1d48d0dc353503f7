"""PostgreSQL's binary COPY format to and from Arrow, vectorized with numpy.

A stream is a header, one tuple per row and a trailer (an int16 -1). A tuple is an int16 field
count, then per field an int32 byte length (-1 for NULL) and the value in its type's binary
form: int8/float8 big-endian, bool one byte, timestamp(tz) int64 microseconds and date int32
days since 2000-01-01, uuid 16 bytes, text (in the client encoding: UTF-8 here) and bytea raw
bytes, jsonb a version byte 1 then the text, numeric int16 ndigits, weight, sign and display
scale, then base-10000 digits.

Tuples are built and read a column at a time: field positions are cumulative lengths,
fixed-width values move one byte plane at a time, variable-width ones through one boolean mask
per column. No Python runs per row. The reader needs each tuple's size: PostgreSQL sends one
message per row, so the driver's receiving loop knows them (see the PostgreSQL flavor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from mrsm_jupyter.pipes.dtypes import NUMERIC_TYPE, arrow_type

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
# uint64 arrays (numpy's stubs type their shifts as signed, so they stay loosely typed).
Words = npt.NDArray[Any]
Limbs = list[Words]
Mask = npt.NDArray[np.bool_]
Convert = Callable[[pa.ChunkedArray], pa.ChunkedArray]

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, no flags, no header extension
TRAILER = b"\xff\xff"
# Chunks bound the temporary arrays (index planes, masks) to a fraction of the batch.
CHUNK_ROWS = 100_000
CHUNK_BYTES = 16 << 20
EPOCH_US = 946_684_800_000_000  # PostgreSQL's epoch, 2000-01-01, in Unix microseconds
EPOCH_DAYS = 10_957
# decimal128(38, 10) values times 100, in base 10000: 7 digits before the point, 3 after.
NUMERIC_SCALE = 10
NUMERIC_GROUPS = 10
NUMERIC_UNITS_GROUP = 6  # index (most significant first) of the 10^0 digit
NUMERIC_NEGATIVE = 0x4000
LIMB_MASK = np.uint64(0xFFFFFFFF)

# The type each canonical dtype travels as (the staging table's column type).
WIRE_OF_DTYPE: Mapping[str, str] = {
    "int": "int8",
    "float": "float8",
    "bool": "bool",
    "datetime": "timestamptz",
    "datetime_naive": "timestamp",
    "date": "date",
    "str": "text",
    "json": "jsonb",
    "uuid": "uuid",
    "bytes": "bytea",
    "numeric": "numeric",
}
DTYPE_OF_WIRE: Mapping[str, str] = {wire: dtype for dtype, wire in WIRE_OF_DTYPE.items()}
# Fixed-width types: their big-endian numpy type, and the Arrow type they are read as.
FIXED: Mapping[str, tuple[str, pa.DataType]] = {
    "int2": (">i2", pa.int64()),
    "int4": (">i4", pa.int64()),
    "int8": (">i8", pa.int64()),
    "float4": (">f4", pa.float64()),
    "float8": (">f8", pa.float64()),
    "bool": ("u1", pa.bool_()),
    "date": (">i4", pa.date32()),
    "timestamp": (">i8", pa.timestamp("us")),
    "timestamptz": (">i8", pa.timestamp("us", tz="UTC")),
    "uuid": ("V16", pa.string()),
}
# Variable-width types (their binary form is their bytes) and the Arrow type they are read as.
VARIABLE: Mapping[str, pa.DataType] = {
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "json", "jsonb"), pa.string()),
    "bytea": pa.binary(),
    "numeric": NUMERIC_TYPE,
}
WIRE_OF_OID: Mapping[int, str] = {
    16: "bool",
    17: "bytea",
    19: "name",
    20: "int8",
    21: "int2",
    23: "int4",
    25: "text",
    114: "json",
    700: "float4",
    701: "float8",
    1042: "bpchar",
    1043: "varchar",
    1082: "date",
    1114: "timestamp",
    1184: "timestamptz",
    1700: "numeric",
    2950: "uuid",
    3802: "jsonb",
}
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_HEX_VALUES = np.full(256, 255, np.uint8)
_HEX_VALUES[_HEX_DIGITS] = np.arange(16)
_HEX_VALUES[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)
_UUID_HYPHENS = [8, 13, 18, 23]
_UUID_DIGITS = np.delete(np.arange(36), _UUID_HYPHENS)


class CopyFormatError(ValueError):
    """Values the binary COPY format cannot carry, or a stream that is not well formed."""


@dataclass(frozen=True)
class _Field:
    """One column of a chunk: every row's byte length (-1: NULL), the present values' bytes
    back to back, their width when fixed, and jsonb's version byte before each value."""

    lengths: Ints
    data: Bytes
    width: int | None = None
    prefix: int | None = None


# Encoding.
def encode_binary_copy(table: pa.Table, dtypes: Sequence[str]) -> Iterator[bytes]:
    """The binary COPY stream of ``table``, whose columns have the canonical ``dtypes``, in chunks.

    Example::

        with cursor.copy("COPY t (dt, v) FROM STDIN (FORMAT BINARY)") as copy:
            for chunk in encode_binary_copy(batch, ["datetime", "float"]):
                copy.write(chunk)
    """
    if len(dtypes) != table.num_columns:
        raise CopyFormatError(f"{table.num_columns} columns but {len(dtypes)} dtypes")
    yield HEADER
    for start, stop in _ranges(_variable_ends(table, dtypes)):
        chunk = table.slice(start, stop - start)
        fields = [_encode_column(chunk.column(i).combine_chunks(), d) for i, d in enumerate(dtypes)]
        yield _tuples(fields, stop - start).tobytes()
    yield TRAILER


def _variable_ends(table: pa.Table, dtypes: Sequence[str]) -> Ints:
    """Cumulative bytes of the variable-width values, row by row (to cut chunks by size)."""
    sizes = np.zeros(table.num_rows, np.int64)
    for column, dtype in zip(table.columns, dtypes, strict=True):
        if dtype in ("str", "json", "bytes"):
            sizes += pc.binary_length(column.cast(arrow_type(dtype))).fill_null(0).to_numpy()
    return np.cumsum(sizes)


def _ranges(ends: Ints) -> Iterator[tuple[int, int]]:
    """Row ranges of at most CHUNK_ROWS rows and about CHUNK_BYTES (``ends``: cumulative bytes)."""
    start = 0
    while start < len(ends):
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + CHUNK_BYTES, "right"))
        stop = max(start + 1, min(stop, start + CHUNK_ROWS))
        yield start, stop
        start = stop


def _encode_column(array: pa.Array, dtype: str) -> _Field:
    wire = WIRE_OF_DTYPE[dtype]
    array = array.cast(arrow_type(dtype))
    present = pc.drop_null(array) if array.null_count else array
    lengths = np.full(len(array), -1, np.int64)
    valid = _validity(array)
    if wire in FIXED:
        matrix = _fixed_bytes(present, dtype)
        lengths[valid] = matrix.shape[1]
        return _Field(lengths, matrix.reshape(-1), matrix.shape[1])
    if wire == "numeric":
        present_lengths, data = _numeric_bytes(present)
    else:
        data, offsets = _buffers(present)
        present_lengths = np.diff(offsets)
    prefix = 1 if wire == "jsonb" else None
    lengths[valid] = present_lengths + (prefix is not None)
    return _Field(lengths, data, None, prefix)


def _fixed_bytes(present: pa.Array, dtype: str) -> Bytes:
    """The present values of a fixed-width column, one row of big-endian bytes each."""
    if dtype == "uuid":
        return _uuid_bytes(present)
    if dtype == "bool":
        return np.asarray(present.to_numpy(zero_copy_only=False), np.uint8).reshape(-1, 1)
    if dtype in ("datetime", "datetime_naive"):
        values = _shift(present.cast(pa.int64()).to_numpy(), -EPOCH_US, np.int64)
    elif dtype == "date":
        values = _shift(present.cast(pa.int32()).to_numpy().astype(np.int64), -EPOCH_DAYS, np.int32)
    else:
        values = present.to_numpy()
    wire_type = FIXED[WIRE_OF_DTYPE[dtype]][0]
    return values.astype(wire_type).view(np.uint8).reshape(len(values), np.dtype(wire_type).itemsize)


def _shift(values: Ints, delta: int, wire: type[np.signedinteger[Any]]) -> Ints:
    """``values + delta``, refusing the wire type's extremes on either side: PostgreSQL
    spells infinity with them, and Arrow has no infinite dates or timestamps."""
    bounds = np.iinfo(wire)
    if len(values):
        low, high = int(values.min()), int(values.max())
        if min(low, low + delta) <= bounds.min or max(high, high + delta) >= bounds.max:
            raise CopyFormatError("a date or timestamp is infinite or out of range")
    return values + delta


def _uuid_bytes(present: pa.Array) -> Bytes:
    """16 bytes per UUID text (any case, with or without hyphens and braces)."""
    data, offsets = _buffers(present)
    if len(present) and (np.diff(offsets) == 36).all():
        text = data.reshape(-1, 36)
        if (text[:, _UUID_HYPHENS] == ord("-")).all():  # canonical: no need to normalize
            return _hex_bytes(text[:, _UUID_DIGITS])
    digits = pc.utf8_trim(pc.replace_substring(present, "-", ""), "{}")
    if len(digits) and not pc.all(pc.equal(pc.binary_length(digits), 32)).as_py():
        raise CopyFormatError("a uuid column holds text that is not a UUID")
    return _hex_bytes(_buffers(digits)[0].reshape(-1, 32))


def _hex_bytes(text: Bytes) -> Bytes:
    """The bytes spelled by rows of hexadecimal digits."""
    nibbles = _HEX_VALUES[text]
    if (nibbles == 255).any():
        raise CopyFormatError("a uuid column holds text that is not a UUID")
    return ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8)


def _buffers(array: pa.Array) -> tuple[Bytes, Ints]:
    """The values of a binary-like array without NULLs, back to back, and their offsets."""
    if len(array) == 0:
        return np.empty(0, np.uint8), np.zeros(1, np.int64)
    array = array.cast(pa.large_binary())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def _tuples(fields: Sequence[_Field], n: int) -> Bytes:
    """The tuples of one chunk, back to back."""
    if all(f.width is not None for f in fields) and all((f.lengths >= 0).all() for f in fields):
        return _fixed_tuples(fields, n)
    sizes = 2 + sum((4 + np.maximum(f.lengths, 0) for f in fields), np.zeros(n, np.int64))
    ends = np.cumsum(sizes)
    buffer = np.empty(int(ends[-1]) if n else 0, np.uint8)
    _put(buffer, ends - sizes, np.full(n, len(fields), ">i2"))
    position = ends - sizes + 2
    for field in fields:
        _put(buffer, position, field.lengths.astype(">i4"))
        present = field.lengths >= 0
        starts, lengths = position[present] + 4, field.lengths[present]
        if field.width is not None:
            _put(buffer, starts, field.data.reshape(-1, field.width))
        elif field.prefix is not None:
            buffer[starts] = field.prefix
            buffer[_span_mask(len(buffer), starts + 1, lengths - 1)] = field.data
        else:
            buffer[_span_mask(len(buffer), starts, lengths)] = field.data
        position += 4 + np.maximum(field.lengths, 0)
    return buffer


def _fixed_tuples(fields: Sequence[_Field], n: int) -> Bytes:
    """Tuples of equal layout (fixed widths, no NULL): one structured array."""
    layout = [("count", ">i2")]
    for j, field in enumerate(fields):
        layout += [(f"length{j}", ">i4"), (f"value{j}", f"V{field.width}")]
    tuples = np.empty(n, np.dtype(layout))
    tuples["count"] = len(fields)
    for j, field in enumerate(fields):
        tuples[f"length{j}"] = field.width
        tuples[f"value{j}"] = field.data.view(f"V{field.width}")
    return tuples.view(np.uint8)


def _put(buffer: Bytes, positions: Ints, values: npt.NDArray[Any]) -> None:
    """Write each value's bytes at its position, one byte plane at a time."""
    if len(positions) == 0:
        return
    matrix = values.view(np.uint8).reshape(len(positions), -1)
    for byte in range(matrix.shape[1]):
        buffer[positions + byte] = matrix[:, byte]


def _span_mask(size: int, starts: Ints, lengths: Ints) -> Mask:
    """True over ``[start, start + length)`` for each span (sorted, never overlapping).

    Built from alternating runs of gaps and spans: a cumulative sum of +1/-1 marks is
    5x slower (numpy cannot vectorize an int8 accumulation).
    """
    if len(starts) == 0:
        return np.zeros(size, np.bool_)
    ends = starts + lengths
    runs = np.empty(2 * len(starts) + 1, np.int64)
    runs[0:-1:2] = starts - np.concatenate(([0], ends[:-1]))
    runs[1::2] = lengths
    runs[-1] = size - ends[-1]
    return np.repeat(np.arange(len(runs)) % 2 == 1, runs)


def _numeric_bytes(present: pa.Array) -> tuple[Ints, Bytes]:
    """``numeric`` values (binary form) of decimal128(38, 10) values: lengths and bytes."""
    negative, groups = _decimal_groups(present)
    nonzero = groups != 0
    some = nonzero.any(axis=1)
    first = np.where(some, nonzero.argmax(axis=1), NUMERIC_GROUPS)
    last = NUMERIC_GROUPS - 1 - nonzero[:, ::-1].argmax(axis=1)
    ndigits = np.where(some, last - first + 1, 0)
    weight = np.where(some, NUMERIC_UNITS_GROUP - first, 0)
    sign = np.where(negative & some, NUMERIC_NEGATIVE, 0)
    # Leading zero digits are dropped: shift each row's digits left to its first non-zero one.
    columns = np.minimum(first[:, None] + np.arange(NUMERIC_GROUPS), NUMERIC_GROUPS - 1)
    words = np.empty((len(groups), 4 + NUMERIC_GROUPS), ">i2")
    words[:, 0], words[:, 1], words[:, 2], words[:, 3] = ndigits, weight, sign, NUMERIC_SCALE
    words[:, 4:] = np.take_along_axis(groups, columns, axis=1)
    lengths = 8 + 2 * ndigits
    keep = np.arange(words.shape[1] * 2) < lengths[:, None]
    return lengths, words.view(np.uint8)[keep]


def _decimal_groups(present: pa.Array) -> tuple[Mask, Ints]:
    """Signs, and base-10000 digits (most significant first) of decimal128(38, 10) x 100."""
    if len(present) == 0:
        return np.zeros(0, np.bool_), np.zeros((0, NUMERIC_GROUPS), np.int64)
    start = 2 * present.offset
    words = np.frombuffer(present.buffers()[1], np.uint64)[start : start + 2 * len(present)]
    low, high = words[0::2], words[1::2]
    negative = (high >> 63) == 1
    low, high = _negate(negative, low, high)
    limbs = _trimmed([low & LIMB_MASK, low >> 32, high & LIMB_MASK, high >> 32])
    _multiply_add(limbs, 100, np.zeros(len(low), np.uint64))  # scale 12: whole digits after the point
    groups = []
    for _ in range(NUMERIC_GROUPS):
        groups.append(_divide(limbs, 10_000))
        limbs = _trimmed(limbs)
    return negative, np.stack(groups[::-1], axis=1).astype(np.int64)


def _negate(which: Mask, low: Words, high: Words) -> tuple[Words, Words]:
    """Two's complement negation of 128-bit integers (wrapping uint64 arithmetic)."""
    return np.where(which, ~low + 1, low), np.where(which, ~high + (low == 0), high)


def _multiply_add(limbs: Limbs, factor: int, addend: Words) -> None:
    """``limbs = limbs * factor + addend`` on 32-bit limbs held in uint64 (least significant
    first), adding a limb when the number outgrows them."""
    carry = addend
    for i, limb in enumerate(limbs):
        total = limb * factor + carry
        limbs[i], carry = total & LIMB_MASK, total >> 32
    if carry.any():
        limbs.append(carry)


def _trimmed(limbs: Limbs) -> Limbs:
    """Without the most significant limbs that are zero everywhere (typical values need
    two or three of the five a decimal128 can take: the arithmetic runs on those only)."""
    while len(limbs) > 1 and not limbs[-1].any():
        limbs.pop()
    return limbs


def _divide(limbs: Limbs, divisor: int) -> Words:
    """``limbs //= divisor`` in place; return the remainder."""
    remainder = np.zeros(len(limbs[0]), np.uint64)
    for i in reversed(range(len(limbs))):
        current = (remainder << 32) | limbs[i]
        limbs[i] = current // divisor
        remainder = current - limbs[i] * divisor
    return remainder


def _validity(array: pa.Array) -> Mask:
    if array.null_count == 0:
        return np.ones(len(array), np.bool_)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), np.bool_)


# Decoding.
def decode_binary_copy(
    tuples: Any, row_sizes: Sequence[int] | Ints, columns: Sequence[tuple[str, str]]
) -> pa.Table:
    """The table held by binary COPY ``tuples`` (no header, no trailer) of ``row_sizes`` bytes.

    ``columns`` names each field and its PostgreSQL type (``int8``, ``text``, ``jsonb``...);
    ints, floats and timestamps come back as int64, float64 and timestamp("us"[, "UTC"]).
    """
    buffer = np.frombuffer(tuples, np.uint8)
    sizes = np.asarray(row_sizes, np.int64)
    ends = np.cumsum(sizes)
    if (int(ends[-1]) if len(ends) else 0) != len(buffer):
        raise CopyFormatError("the tuples' sizes do not add up to the stream")
    wires = [wire for _, wire in columns]
    chunks = [_decode_rows(buffer, ends[a:b] - sizes[a:b], ends[a:b], wires) for a, b in _ranges(ends)]
    arrays = [pa.chunked_array([c[j] for c in chunks], type=_arrow_of_wire(w)) for j, w in enumerate(wires)]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in columns])


def _arrow_of_wire(wire: str) -> pa.DataType:
    return FIXED[wire][1] if wire in FIXED else VARIABLE[wire]


def _decode_rows(buffer: Bytes, starts: Ints, ends: Ints, wires: Sequence[str]) -> list[pa.Array]:
    """The columns of one chunk of tuples."""
    if (_read(buffer, starts, ">i2") != len(wires)).any():
        raise CopyFormatError(f"a tuple does not hold {len(wires)} fields")
    widths = [np.dtype(FIXED[w][0]).itemsize if w in FIXED else 0 for w in wires]
    if all(widths) and (ends - starts == 2 + 4 * len(wires) + sum(widths)).all():
        return _decode_fixed_rows(buffer[starts[0] : ends[-1]], wires, widths)
    position = starts + 2
    arrays = []
    for wire in wires:
        lengths = _read(buffer, position, ">i4")
        valid = lengths >= 0
        data_starts, present_lengths = position[valid] + 4, lengths[valid]
        position = position + 4 + np.maximum(lengths, 0)
        if (position > ends).any():
            raise CopyFormatError(f"a {wire} field overruns its tuple")
        arrays.append(_with_nulls(_decode_field(buffer, data_starts, present_lengths, wire), valid))
    if (position != ends).any():
        raise CopyFormatError("a tuple holds more bytes than its fields")
    return arrays


def _decode_fixed_rows(buffer: Bytes, wires: Sequence[str], widths: Sequence[int]) -> list[pa.Array]:
    """Tuples of equal layout (fixed widths, no NULL: the size says so) as one structured array."""
    layout: list[tuple[Any, ...]] = [("count", ">i2")]
    for j, width in enumerate(widths):
        layout += [(f"length{j}", ">i4"), (f"value{j}", np.uint8, (width,))]
    tuples = buffer.view(np.dtype(layout))
    arrays = []
    for j, (wire, width) in enumerate(zip(wires, widths, strict=True)):
        if (tuples[f"length{j}"] != width).any():
            raise CopyFormatError(f"a {wire} value is not {width} bytes")
        arrays.append(_decode_fixed(np.ascontiguousarray(tuples[f"value{j}"]), wire))
    return arrays


def _read(buffer: Bytes, positions: Ints, wire_type: str) -> Ints:
    """The big-endian integers at ``positions``."""
    size = np.dtype(wire_type).itemsize
    if len(positions) == 0:
        return np.empty(0, np.int64)
    return sliding_window_view(buffer, size)[positions].view(wire_type).reshape(-1).astype(np.int64)


def _decode_field(buffer: Bytes, starts: Ints, lengths: Ints, wire: str) -> pa.Array:
    """The present values of one column of a chunk."""
    if wire in FIXED:
        width = np.dtype(FIXED[wire][0]).itemsize
        if (lengths != width).any():
            raise CopyFormatError(f"a {wire} value is not {width} bytes")
        matrix = sliding_window_view(buffer, width)[starts] if len(starts) else np.empty((0, width), np.uint8)
        return _decode_fixed(matrix, wire)
    if wire == "jsonb":
        if len(starts) and (buffer[starts] != 1).any():
            raise CopyFormatError("a jsonb value has an unknown version")
        starts, lengths = starts + 1, lengths - 1
    data = _gather(buffer, starts, lengths)
    if wire == "numeric":
        return _decode_numeric(data, lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(
        VARIABLE[wire], len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _gather(buffer: Bytes, starts: Ints, lengths: Ints) -> Bytes:
    """The spans' bytes back to back (the mask covers only the chunk's bytes)."""
    if len(starts) == 0:
        return np.empty(0, np.uint8)
    low, high = int(starts[0]), int(starts[-1] + lengths[-1])
    return buffer[low:high][_span_mask(high - low, starts - low, lengths)]


def _decode_fixed(matrix: Bytes, wire: str) -> pa.Array:
    """Present fixed-width values, one row of big-endian bytes each."""
    if wire == "uuid":
        return _uuid_text(matrix)
    values = matrix.view(FIXED[wire][0]).reshape(-1)
    if wire == "bool":
        return pa.array(values != 0)
    if wire in ("timestamp", "timestamptz"):
        return pa.array(_shift(values.astype(np.int64), EPOCH_US, np.int64)).view(FIXED[wire][1])
    if wire == "date":
        days = _shift(values.astype(np.int64), EPOCH_DAYS, np.int32)
        return pa.array(days.astype(np.int32)).view(pa.date32())
    return pa.array(values.astype(FIXED[wire][1].to_pandas_dtype()))


def _uuid_text(matrix: Bytes) -> pa.Array:
    """Canonical text (lowercase, hyphenated) of 16-byte UUIDs."""
    hexes = np.empty((len(matrix), 32), np.uint8)
    hexes[:, 0::2], hexes[:, 1::2] = _HEX_DIGITS[matrix >> 4], _HEX_DIGITS[matrix & 15]
    text = np.insert(hexes, [8, 12, 16, 20], ord("-"), axis=1)
    offsets = np.arange(0, 36 * len(matrix) + 1, 36, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(matrix), [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def _decode_numeric(data: Bytes, lengths: Ints) -> pa.Array:
    """decimal128(38, 10) values of ``numeric`` fields (binary form) back to back."""
    width = int(lengths.max()) if len(lengths) else 8
    padded = np.zeros((len(lengths), width), np.uint8)
    padded[np.arange(width) < lengths[:, None]] = data
    words = padded.view(">i2").astype(np.int64)
    ndigits, weight, sign, digits = words[:, 0], words[:, 1], words[:, 2], words[:, 4:]
    if not np.isin(sign, (0, NUMERIC_NEGATIVE)).all():
        raise CopyFormatError("NaN and infinite numerics have no decimal128 value")
    # Digit k weighs 10000^(weight - k): its column, most significant first, in 10 groups.
    k = np.arange(digits.shape[1])
    column = (NUMERIC_UNITS_GROUP - weight)[:, None] + k
    used = (k < ndigits[:, None]) & (digits != 0)
    if (used & (column < 0)).any():
        raise CopyFormatError("a numeric value has more than 28 digits before the point")
    if (used & (column >= NUMERIC_GROUPS)).any():
        raise CopyFormatError("a numeric value has more than 10 decimal places")
    groups = np.zeros((len(lengths), NUMERIC_GROUPS), np.int64)
    rows = np.broadcast_to(np.arange(len(lengths))[:, None], column.shape)
    groups[rows[used], column[used]] = digits[used]
    return _decimal_array(sign == NUMERIC_NEGATIVE, groups)


def _decimal_array(negative: Mask, groups: Ints) -> pa.Array:
    """decimal128(38, 10) values from signs and base-10000 digits of the value x 100."""
    n = len(groups)
    limbs: Limbs = [np.zeros(n, np.uint64)]
    for k in range(NUMERIC_GROUPS):
        _multiply_add(limbs, 10_000, groups[:, k].astype(np.uint64))
    if (_divide(limbs, 100) != 0).any():
        raise CopyFormatError("a numeric value has more than 10 decimal places")
    limbs += [np.zeros(n, np.uint64)] * (4 - len(limbs))  # at most 4: |value| < 10^38 < 2^127
    low, high = _negate(negative, limbs[0] | (limbs[1] << 32), limbs[2] | (limbs[3] << 32))
    words = np.column_stack([low, high]).astype("<u8")
    return pa.Array.from_buffers(NUMERIC_TYPE, n, [None, pa.py_buffer(words)])


def _with_nulls(present: pa.Array, valid: Mask) -> pa.Array:
    """Spread the present values over the rows, NULL where ``valid`` is False."""
    if valid.all():
        return present
    indices = pa.array(np.cumsum(valid) - 1, mask=~valid)
    return present.take(indices)


def converter(wire: str, dtype: str | None) -> Convert | None:
    """How a column of a PostgreSQL type becomes its dtype's Arrow type, as the row reader
    makes it; None where there is no such conversion here."""
    if not wire or dtype is None:
        return None
    source, target = _arrow_of_wire(wire), arrow_type(dtype)
    if source == target:
        return _unchanged
    if pa.types.is_timestamp(source) and pa.types.is_timestamp(target):
        return lambda column: column.cast(target)  # naive values are UTC, as in Arrow
    if pa.types.is_integer(source) and dtype == "float":
        return lambda column: column.cast(target)
    if dtype == "bool" and (pa.types.is_integer(source) or pa.types.is_floating(source)):
        return lambda column: pc.not_equal(column, 0)
    return None


def _unchanged(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column


def without_header(message: Any) -> memoryview:
    """A stream's first message without its header (the first tuple may follow it)."""
    data = memoryview(message)
    if bytes(data[:11]) != HEADER[:11]:
        raise CopyFormatError("not a binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    return data[19 + extension :]
