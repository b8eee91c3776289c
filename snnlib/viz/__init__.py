"""Plotly figures for every chapter, and one way to show them everywhere.

Every figure helper returns a ``plotly.graph_objects.Figure``; :func:`show` displays it
so that it renders in JupyterLab, VS Code, Colab and the static book without a network
connection (introduced in *Getting started*).
"""
from __future__ import annotations

from .display import show
from .figures import event_animation, heatmap, history, line, membrane, membrane_traces, raster, sweep
from .tables import show_table, table

__all__ = ["show", "line", "heatmap", "sweep", "raster", "membrane", "membrane_traces", "event_animation",
           "history", "table", "show_table"]
