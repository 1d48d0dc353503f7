"""Pipe keys: validation, negation (``_key``) and table naming."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from mrsm_jupyter.errors import InvalidKeysError

MAX_KEY_LENGTH = 255
NEGATION_PREFIX = "_"


def validate_key(value: object, what: str) -> str:
    """Return ``value`` as a usable key, or raise naming ``what`` is wrong with it."""
    if not isinstance(value, str):
        raise InvalidKeysError(f"{what} must be a string, got {type(value).__name__} {value!r}.")
    if not value:
        raise InvalidKeysError(f"{what} must not be empty.")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidKeysError(f"{what} is longer than {MAX_KEY_LENGTH} characters.")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidKeysError(f"{what} {value!r} contains control characters; remove them.")
    return value


def validate_location(value: object) -> str | None:
    """Location keys may be ``None`` (Meerschaum also writes the string ``"None"``)."""
    if value is None or value == "None":
        return None
    return validate_key(value, "location_key")


def default_target(connector_keys: str, metric_key: str, location_key: str | None) -> str:
    """Meerschaum's table naming: ``<connector with : as _>_<metric>[_<location>]``."""
    name = f"{connector_keys.replace(':', '_')}_{metric_key}"
    return name if location_key is None else f"{name}_{location_key}"


def split_negation(keys: Iterable[str | None] | None) -> tuple[list[str | None], list[str | None]]:
    """Split filter keys into (included, excluded); ``"_x"`` excludes ``x``.

    >>> split_negation(["a", "_b", None])
    (['a', None], ['b'])
    """
    include: list[str | None] = []
    exclude: list[str | None] = []
    for key in keys or []:
        if isinstance(key, str) and key.startswith(NEGATION_PREFIX) and len(key) > 1:
            exclude.append(None if key[1:] == "None" else key[1:])
        else:
            include.append(None if key == "None" else key)
    return include, exclude


def as_key_list(keys: str | Sequence[str | None] | None) -> list[str | None]:
    """Accept one key or many, as Meerschaum's ``get_pipes`` does."""
    if keys is None:
        return []
    if isinstance(keys, str):
        return [keys]
    return list(keys)
