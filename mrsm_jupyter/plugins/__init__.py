"""Plugins: Python modules that fetch rows for pipes and extend mrsm_jupyter through hooks.

See :mod:`.hookspecs` for the hooks, :mod:`.api` for installing and running plugins. This
package's top imports only pluggy, so ``from mrsm_jupyter.plugins import hookimpl`` is cheap.
"""

from mrsm_jupyter.plugins.hookspecs import hookimpl

__all__ = ["hookimpl"]
