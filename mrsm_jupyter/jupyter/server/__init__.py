"""The Jupyter server extension: a Meerschaum-style REST API under ``<base_url>/mrsm/api/``.

Importing this package imports neither tornado nor jupyter_server: the ``api:`` connector
shares its payload types (:mod:`.payloads`) and wire format (:mod:`.wire`). The extension
itself is loaded from :mod:`.extension`.
"""
