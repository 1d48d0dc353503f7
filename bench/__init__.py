"""Benchmark harness for mrsm_jupyter: raw limit, mrsm_jupyter, Meerschaum and dlt side by side."""
