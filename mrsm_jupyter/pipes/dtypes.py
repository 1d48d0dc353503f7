"""Dtypes: Meerschaum's names, their canonical form, and their Arrow types.

Canonical names: ``int float str bool datetime datetime_naive date numeric json uuid bytes``.
Pandas dtype strings (``int64``, ``datetime64[ns, UTC]``, ``string``...) are accepted too.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.errors import InvalidKeysError

CANONICAL: Final = (
    "int",
    "float",
    "str",
    "bool",
    "datetime",
    "datetime_naive",
    "date",
    "numeric",
    "json",
    "uuid",
    "bytes",
)
# Widening ladder: a column only ever moves to the right.
LADDER: Final = ("int", "float", "numeric", "str")
NUMERIC_TYPE: Final = pa.decimal128(38, 10)
# Dtypes of points in time: numbers are never read as them (no epoch offsets).
TIME_DTYPES: Final = ("datetime", "datetime_naive", "date")
_NUMBER_TYPES: Final = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean)

_ALIASES: Final = {
    "int64": "int",
    "int32": "int",
    "int16": "int",
    "int8": "int",
    "integer": "int",
    "int64[pyarrow]": "int",
    "bigint": "int",
    "float64": "float",
    "float32": "float",
    "double": "float",
    "float64[pyarrow]": "float",
    "string": "str",
    "object": "str",
    "string[pyarrow]": "str",
    "text": "str",
    "boolean": "bool",
    "bool[pyarrow]": "bool",
    "decimal": "numeric",
    "jsonb": "json",
    "binary": "bytes",
    "date32": "date",
    "timestamp": "datetime",
    "timestamptz": "datetime",
}


def canonical_dtype(name: str) -> str:
    """Map any accepted dtype name to its canonical form, or say what is accepted."""
    lowered = name.strip().lower().replace(" ", "")
    if lowered in CANONICAL:
        return lowered
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    if lowered.startswith(("int", "uint")):
        return "int"
    if lowered.startswith("float"):
        return "float"
    if lowered.startswith(("numeric", "decimal")):
        return "numeric"
    if lowered.startswith(("datetime64", "timestamp")):
        return "datetime" if ("," in lowered or "tz" in lowered or "utc" in lowered) else "datetime_naive"
    raise InvalidKeysError(f"Unknown dtype {name!r}; use one of {', '.join(CANONICAL)} or a pandas dtype.")


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type a column of this canonical dtype is staged as."""
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "datetime_naive": pa.timestamp("us"),
        "date": pa.date32(),
        "numeric": NUMERIC_TYPE,
        "json": pa.string(),
        "uuid": pa.string(),
        "bytes": pa.binary(),
    }[dtype]


def dtype_of_arrow(typ: pa.DataType) -> str | None:
    """The canonical dtype of an Arrow type; ``None`` for the null type (no values yet)."""
    if pa.types.is_null(typ):
        return None
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ):
        return "float"
    if pa.types.is_decimal(typ):
        return "numeric"
    if pa.types.is_timestamp(typ):
        return "datetime" if typ.tz is not None else "datetime_naive"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_fixed_size_binary(typ):
        return "bytes"
    if pa.types.is_dictionary(typ):
        return dtype_of_arrow(typ.value_type)
    return "str"


# (declared, stored): a catalog type that stores values of another dtype. Where the catalog
# says the second, the pipe's dtypes say what the values are (Meerschaum stores bool as
# FLOAT on SQLite, JSON as TEXT, naive and aware datetimes alike on MySQL).
STORED_AS: Final = frozenset(
    {
        ("json", "str"),
        ("uuid", "str"),
        ("numeric", "str"),
        ("date", "str"),
        ("bool", "float"),
        ("bool", "int"),
        ("datetime", "datetime_naive"),
        ("datetime_naive", "datetime"),
        ("datetime", "str"),
        ("json", "bytes"),
    }
)
# Canonical dtypes as written to a registration, in names Meerschaum 4.x reads too.
MEERSCHAUM_NAMES: Final = {"datetime": "datetime64[us, UTC]", "datetime_naive": "datetime64[us]"}


def meerschaum_name(dtype: str) -> str:
    return MEERSCHAUM_NAMES.get(dtype, dtype)


def ladder_rank(dtype: str) -> int | None:
    return LADDER.index(dtype) if dtype in LADDER else None


def reinterprets(array: pa.ChunkedArray, dtype: str) -> bool:
    """Whether casting these numbers (or booleans) to ``dtype`` changes what they say: points
    in time would read them as epoch offsets, ``bool`` any number but 0 and 1 as true.

    Such values are left to the schema plan, which widens the column to text or refuses them.
    """
    typ = array.type
    if not any(test(typ) for test in _NUMBER_TYPES) or array.null_count == len(array):
        return False
    if dtype in TIME_DTYPES:
        return True
    if dtype != "bool" or pa.types.is_boolean(typ):
        return False
    truth_values = pa.array([0, 1]).cast(typ)
    return not pc.all(pc.is_in(pc.drop_null(array), value_set=truth_values)).as_py()
