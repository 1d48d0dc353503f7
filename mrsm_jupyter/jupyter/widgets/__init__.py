"""Widgets for pipes and jobs: :class:`PipeWidget` (table, chart, selectors, sync and clear) and
its :class:`PipeTableWidget` (facts and paginated rows, on anywidget with bundled JavaScript);
:class:`JobsWidget` (every job, live) and :class:`BootstrapJobWidget` (start a new one);
:class:`PipeWizard` (define, register and sync a new pipe).

>>> from mrsm_jupyter.jupyter.widgets import PipeWidget
>>> PipeWidget(pipe)  # doctest: +SKIP
"""

from mrsm_jupyter.jupyter.widgets.bootstrap import BootstrapJobWidget
from mrsm_jupyter.jupyter.widgets.jobs import JobsWidget
from mrsm_jupyter.jupyter.widgets.pipe_widget import PipeWidget
from mrsm_jupyter.jupyter.widgets.pipe_wizard import PipeWizard
from mrsm_jupyter.jupyter.widgets.table import PipeTableWidget

__all__ = ["BootstrapJobWidget", "JobsWidget", "PipeTableWidget", "PipeWidget", "PipeWizard"]
