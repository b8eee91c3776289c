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

Every figure shown gets snnlib's defaults on a copy (:func:`snnlib.viz.axes.apply_defaults`:
readable log ticks, fixed axes for slider and animation figures, the legend clear of the
title), including figures a chapter builds or changes itself, and an animation never
starts on page load: the HTML is written without plotly's ``auto_play`` (which would call
``Plotly.animate`` as soon as the page opens), so it plays from its ▶ button only.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from .axes import apply_defaults

PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _describe(fig: go.Figure) -> str:
    title = fig.layout.title.text or "untitled"
    return f"<plotly figure {title!r}: {len(fig.data)} trace(s)>"


def to_html(fig: go.Figure, include_plotlyjs: bool | str = False) -> str:
    """``fig`` as an HTML ``<div>`` and script for a notebook output: no MathJax, no full page,
    and no auto-play — an animation waits for its ▶ button."""
    return pio.to_html(fig, include_plotlyjs=include_plotlyjs, full_html=False, include_mathjax=False,
                       auto_play=False)


def mime_bundle(fig: go.Figure, colab: bool | None = None, *, defaults: bool = True) -> dict[str, Any]:
    """The MIME bundle :func:`show` displays for ``fig``: with ``defaults`` (the default), of a
    copy of ``fig`` with :func:`~snnlib.viz.axes.apply_defaults` applied (``fig`` itself is
    not changed)."""
    if not isinstance(fig, go.Figure):
        raise TypeError(f"expected a plotly.graph_objects.Figure, got {type(fig).__name__}")
    if defaults:
        fig = apply_defaults(go.Figure(fig))
    colab = _in_colab() if colab is None else colab
    if colab:
        html = to_html(fig, include_plotlyjs="cdn")
        return {"text/html": html, "text/plain": _describe(fig)}
    html = to_html(fig)
    return {
        PLOTLY_MIME: json.loads(pio.to_json(fig, validate=False)),
        "text/html": html,
        "text/plain": _describe(fig),
    }


def show(fig: go.Figure, *, defaults: bool = True) -> None:
    """Display ``fig`` in a notebook (any front end, offline), or print a summary in a script.

    ``defaults=False`` shows the figure exactly as built (see :func:`mime_bundle`)."""
    bundle = mime_bundle(fig, defaults=defaults)
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
