"""Plotly figures for every chapter, and one way to show them everywhere.

Every figure helper returns a ``plotly.graph_objects.Figure``; :func:`show` displays it
so that it renders in JupyterLab, VS Code, Colab and the static book without a network
connection (introduced in *Getting started*). The helpers' defaults (axis titles, fixed
axes on sliders, readable log ticks, colour scales fitted to the data, no auto-play) are
described in :mod:`snnlib.viz.figures` and :mod:`snnlib.viz.axes`.
"""
from __future__ import annotations

from .axes import apply_defaults, fix_ranges, log_ticks
from .display import show
from .live import interact
from .figures import event_animation, figure, heatmap, history, line, membrane, membrane_traces, raster, sweep
from .tables import show_markdown, show_table, table

__all__ = ["show", "figure", "line", "heatmap", "sweep", "raster", "membrane", "membrane_traces",
           "event_animation", "history", "table", "show_table", "show_markdown", "apply_defaults", "fix_ranges", "log_ticks",
           "interact"]
