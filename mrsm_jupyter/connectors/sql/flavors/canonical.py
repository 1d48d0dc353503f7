"""SQL pieces that turn values into the canonical integers of fingerprints.

Fingerprints (``connectors/sql/fingerprint.py``) must come out the same in every database
for the same values, so each piece here yields an integer that does not depend on the
engine: epoch microseconds, epoch days, 0/1, floors of scaled floats, the first 32 bits of
an MD5. The defaults are standard SQL as PostgreSQL speaks it; a flavor overrides the
pieces its database spells differently. Expressions go in and come out as SQL text.
"""

from __future__ import annotations


class CanonicalValues:
    """Integer arithmetic and conversions used by fingerprints (PostgreSQL spelling)."""

    def fence(self, subquery: str) -> str:
        """A derived table the planner keeps as it is: inlined, every expression the outer
        query uses twice would be computed twice per row (the row hash costs 2.4x; even
        PostgreSQL's parallel plan of the inlined query is slower: 0.82 s against 0.56 s
        per million rows)."""
        return f"{subquery} OFFSET 0"

    def modulo(self, a: str, b: str) -> str:
        """Remainder truncated toward zero (the sign of ``a``), as every engine here does."""
        return f"MOD({a}, {b})"

    def int_div(self, a: str, b: str) -> str:
        """Integer division truncated toward zero."""
        return f"(({a}) / ({b}))"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"

    def double(self, expr: str) -> str:
        return f"CAST({expr} AS DOUBLE PRECISION)"

    def floor_bigint(self, expr: str) -> str:
        return self.bigint(f"FLOOR({expr})")

    def clamp(self, expr: str, low: str, high: str) -> str:
        return f"LEAST(GREATEST({expr}, {low}), {high})"

    def epoch_us(self, expr: str) -> str:
        """Microseconds since 1970-01-01 UTC (naive datetimes are UTC wall times)."""
        # EXTRACT gives numeric seconds (exact); float seconds would lose microseconds after 2041.
        return self.bigint(f"EXTRACT(EPOCH FROM {expr}) * 1000000")

    def epoch_days(self, expr: str) -> str:
        return self.bigint(f"{expr} - DATE '1970-01-01'")

    def bool_int(self, expr: str) -> str:
        return f"CASE WHEN {expr} THEN 1 WHEN NOT {expr} THEN 0 END"

    def power_of_two(self, exponent: str) -> str:
        return f"(CAST(1 AS BIGINT) << CAST({exponent} AS INTEGER))"

    def bit_or(self, expr: str) -> str:
        """The aggregate OR of integers (of distinct powers of two, here)."""
        return f"BIT_OR({expr})"

    def md5_int32(self, expr: str, binary: bool) -> str:
        """The first 8 hex digits of the MD5 of the value's UTF-8 text (or bytes), as an integer."""
        data = expr if binary else f"CONVERT_TO(CAST({expr} AS TEXT), 'UTF8')"
        return self.bigint(f"CAST('x' || SUBSTR(MD5({data}), 1, 8) AS BIT(32))")
