"""Diagnostics: every sync, verify and job run leaves a record in its instance (``mrsm_runs``).

>>> from mrsm_jupyter.diagnostics import get_runs  # doctest: +SKIP
>>> get_runs(instance="sql:main", begin="2026-01-01")  # doctest: +SKIP

``get_runs`` reads them as a DataFrame; ``%mrsm show diagnostics`` draws them.
"""
