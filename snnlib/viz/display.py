"""Display a plotly figure so it renders in every front end, offline (chapter *Getting started*).

Why not ``fig.show()``: under a plain Jupyter kernel plotly picks the
``application/vnd.plotly.v1+json`` renderer only, which JupyterLab and VS Code draw but
the static book drops; the ``notebook*`` renderers inline 4.8 MB of plotly.js per page
or fetch it from a CDN. :func:`show` emits one bundle instead:

* ``application/vnd.plotly.v1+json`` — drawn natively by JupyterLab and VS Code;
* ``text/html`` — a ``<div>`` plus a call to ``Plotly.newPlot``, *without* plotly.js,
  which the book's site serves once for every page (``_config.yml``);
* ``text/plain`` — a one-line description for terminals and text logs.

Colab sandboxes every output in its own frame, so there the HTML carries plotly.js from
the CDN (Colab is online by definition).
"""
from __future__ import annotations

import json
import sys
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _describe(fig: go.Figure) -> str:
    title = fig.layout.title.text or "untitled"
    return f"<plotly figure {title!r}: {len(fig.data)} trace(s)>"


def mime_bundle(fig: go.Figure, colab: bool | None = None) -> dict[str, Any]:
    """The MIME bundle :func:`show` displays for ``fig``."""
    if not isinstance(fig, go.Figure):
        raise TypeError(f"expected a plotly.graph_objects.Figure, got {type(fig).__name__}")
    colab = _in_colab() if colab is None else colab
    if colab:
        html = pio.to_html(fig, include_plotlyjs="cdn", full_html=False, include_mathjax=False)
        return {"text/html": html, "text/plain": _describe(fig)}
    html = pio.to_html(fig, include_plotlyjs=False, full_html=False, include_mathjax=False)
    return {
        PLOTLY_MIME: json.loads(pio.to_json(fig, validate=False)),
        "text/html": html,
        "text/plain": _describe(fig),
    }


def show(fig: go.Figure) -> None:
    """Display ``fig`` in a notebook (any front end, offline), or print a summary in a script."""
    bundle = mime_bundle(fig)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython: nothing can draw it
        print(bundle["text/plain"])
        return
    if get_ipython() is None:
        print(bundle["text/plain"])
        return
    display(bundle, raw=True)
