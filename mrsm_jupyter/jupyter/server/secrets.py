"""Keeping passwords, tokens and secrets out of every answer (R12).

Connector definitions are shown with their secrets replaced by ``***``, and every error text
is scrubbed of every secret any connector holds, whatever a driver put in its message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from mrsm_jupyter.config import connector_attributes
from mrsm_jupyter.errors import MrsmError

MASK = "***"
_SECRET_NAME = re.compile(r"pass|secret|token|api_?key|credential|auth", re.IGNORECASE)
# Shorter secrets are masked where they stand in a definition, but not hunted in free text.
_MIN_SCRUBBED_LENGTH = 3


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact_uri(uri: str) -> str:
    """The URI without its password and without secret query parameters."""
    try:
        parts = urlsplit(uri)
        netloc = parts.netloc
        query_secret = any(is_secret_name(k) for k, _ in parse_qsl(parts.query, True))
        if not query_secret and ":" not in netloc.rpartition("@")[0]:
            return uri  # nothing to hide; rebuilding would turn duckdb:///path into duckdb:/path
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{userinfo}@{host}"
        query = [(k, MASK if is_secret_name(k) else v) for k, v in parse_qsl(parts.query, True)]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), parts.fragment))
    except ValueError:
        return MASK


def redact_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A connector's attributes for display: secrets masked, URIs redacted."""
    shown: dict[str, Any] = {}
    for key, value in attrs.items():
        if is_secret_name(key):
            shown[key] = MASK
        elif isinstance(value, str) and "://" in value:
            shown[key] = redact_uri(value)
        elif isinstance(value, Mapping):
            shown[key] = redact_attributes(value)
        else:
            shown[key] = value
    return shown


def _uri_secrets(uri: str) -> set[str]:
    found: set[str] = set()
    try:
        parts = urlsplit(uri)
        userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        found |= {v for k, v in parse_qsl(parts.query, True) if is_secret_name(k)}
    except ValueError:
        pass
    return found


def secrets_of(attrs: Mapping[str, Any]) -> set[str]:
    """Every secret value in one connector's attributes (raw and percent-decoded)."""
    found: set[str] = set()
    for key, value in attrs.items():
        if isinstance(value, Mapping):
            found |= secrets_of(value)
        elif isinstance(value, str):
            if is_secret_name(key):
                found.add(value)
            elif "://" in value:
                found |= _uri_secrets(value)
    return found | {unquote(s) for s in found}


def all_secrets() -> set[str]:
    try:
        configured = connector_attributes()
    except MrsmError:  # a broken config file: its secrets cannot be known, nor leak from it
        return set()
    found: set[str] = set()
    for attrs in configured.values():
        found |= secrets_of(attrs)
    return {s for s in found if len(s) >= _MIN_SCRUBBED_LENGTH}


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (longest first)."""
    for secret in sorted(all_secrets(), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
