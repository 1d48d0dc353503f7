"""Widgets for pipes: :class:`PipeWidget` (table, chart, selectors, sync and clear) and its
:class:`PipeTableWidget` (facts and paginated rows, on anywidget with bundled JavaScript).

>>> from mrsm_jupyter.jupyter.widgets import PipeWidget
>>> PipeWidget(pipe)  # doctest: +SKIP
"""

from mrsm_jupyter.jupyter.widgets.pipe_widget import PipeWidget
from mrsm_jupyter.jupyter.widgets.table import PipeTableWidget

__all__ = ["PipeTableWidget", "PipeWidget"]
