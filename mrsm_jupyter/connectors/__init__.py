"""Connectors: sources and instances, looked up by ``"type:label"`` keys."""
