"""Axis defaults that make readable figures the easy path (first used in *Getting started*).

* :func:`fix_ranges` — a slider or animation figure keeps its axes still: each axis gets a
  range from the data of *every* step or frame (with a small margin), so moving the slider
  changes the curve, not the scale it is read against.
* :func:`log_ticks` / :func:`readable_log_axes` — a log axis gets explicit ticks: the data's
  own positions when there are few (ranks 1, 2, 4, 8 …), otherwise 1-2-5 steps or whole
  decades, labelled ``1``, ``20``, ``500``, ``10⁶`` — never plotly's ``9 1 2 3 … 10``.
* :func:`apply_defaults` — both of the above, plus a legend kept out of the title band, for
  figures a chapter builds or changes itself; :func:`snnlib.viz.show` applies it to every
  figure it displays.
"""
from __future__ import annotations

import math
import re
from typing import Iterable

import numpy as np
import plotly.graph_objects as go

MARGIN = 0.05          # fraction of the data's span added on each side of a fixed range
FEW_POSITIONS = 10     # at most this many distinct values on a log axis: tick each of them

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# --- which data a trace draws on which axis ----------------------------------------------

def _axis_names(trace) -> tuple[str, str]:
    """The layout keys (``'xaxis'``, ``'yaxis2'`` …) of the axes a cartesian trace is drawn on."""
    xa = getattr(trace, "xaxis", None) or "x"
    ya = getattr(trace, "yaxis", None) or "y"
    return "xaxis" + xa[1:], "yaxis" + ya[1:]


def _numbers(values) -> np.ndarray | None:
    """``values`` as a float array, or ``None`` when they are categories (strings, dates)."""
    if values is None:
        return np.zeros(0)
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(float).ravel()
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None


def _positions(values, n: int) -> np.ndarray | None:
    """Positions along an axis: ``values``, or plotly's default ``0 .. n-1`` when absent."""
    return np.arange(n, dtype=float) if values is None else _numbers(values)


def _cell_edges(centres: np.ndarray) -> np.ndarray:
    """The outer edges of heatmap cells centred on ``centres``."""
    if len(centres) == 0:
        return centres
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    c = np.sort(centres)
    return np.array([c[0] - (c[1] - c[0]) / 2, c[-1] + (c[-1] - c[-2]) / 2])


def _error_span(values: np.ndarray, err) -> list[np.ndarray]:
    """``values`` widened by a trace's symmetric or asymmetric error bars, where it has them."""
    if err is None or err.visible is False or err.array is None:
        return [values]
    plus = _numbers(err.array)
    minus = _numbers(err.arrayminus) if err.symmetric is False and err.arrayminus is not None else plus
    if plus is None or minus is None or len(plus) != len(values) or len(minus) != len(values):
        return [values]
    return [values + plus, values - minus]


def trace_extents(trace) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]] | None]:
    """``{axis key: (data, edges)}`` for one trace: ``data`` are drawn values (a fixed range
    adds a margin around them), ``edges`` are exact limits (heatmap cell borders, a bar's
    base at 0). ``None`` for an axis means its extent is unknown (categories, or a trace
    type this module does not read), so no range should be fixed for it."""
    xk, yk = _axis_names(trace)
    kind = trace.type
    if kind in ("scatter", "scattergl"):
        y = _numbers(trace.y)
        n = len(y) if y is not None else len(np.asarray(trace.x)) if trace.x is not None else 0
        x = _positions(trace.x, n)
        return {
            xk: None if x is None else (_error_span(x, trace.error_x), []),
            yk: None if y is None else (_error_span(y, trace.error_y), []),
        }
    if kind == "bar":
        horizontal = trace.orientation == "h"
        values = _numbers(trace.x if horizontal else trace.y)
        n = 0 if values is None else len(values)
        where = _positions(trace.y if horizontal else trace.x, n)
        vk, pk = (xk, yk) if horizontal else (yk, xk)
        return {
            vk: None if values is None else (_error_span(values, trace.error_x if horizontal else trace.error_y),
                                             [np.zeros(1)]),
            pk: None if where is None else ([], [_cell_edges(np.unique(where))]),
        }
    if kind == "heatmap":
        z = np.asarray(trace.z if trace.z is not None else [[]], dtype=object)
        rows = len(z)
        cols = len(z[0]) if rows else 0
        x, y = _positions(trace.x, cols), _positions(trace.y, rows)
        return {
            xk: None if x is None else ([], [_cell_edges(x)]),
            yk: None if y is None else ([], [_cell_edges(y)]),
        }
    return {xk: None, yk: None}


def _all_traces(fig: go.Figure) -> list:
    return list(fig.data) + [t for frame in (fig.frames or ()) for t in (frame.data or ())]


def _layout_axis(fig: go.Figure, key: str):
    return fig.layout[key] if key in fig.layout else None


def data_ranges(fig: go.Figure) -> dict[str, list[float]]:
    """The fixed range of every axis whose extent the figure's data determine: all traces
    of every slider step and every animation frame, with a margin of :data:`MARGIN` of the
    span on each side of drawn values (none beyond cell edges or a bar's base). On a log
    axis the range is in decades (``log10``), as plotly expects."""
    collected: dict[str, tuple[list, list] | None] = {}
    for trace in _all_traces(fig):
        for key, extent in trace_extents(trace).items():
            if key in collected and collected[key] is None:
                continue
            if extent is None:
                collected[key] = None
                continue
            data, edges = collected.setdefault(key, ([], []))
            data.extend(extent[0])
            edges.extend(extent[1])
    ranges = {}
    for key, extent in collected.items():
        if extent is None:
            continue
        axis = _layout_axis(fig, key)
        log = axis is not None and axis.type == "log"
        data = np.concatenate([np.zeros(0), *extent[0]])
        edges = np.concatenate([np.zeros(0), *extent[1]])
        if log:
            data, edges = data[data > 0], edges[edges > 0]
            data, edges = np.log10(data), np.log10(edges)
        data, edges = data[np.isfinite(data)], edges[np.isfinite(edges)]
        if data.size == 0 and edges.size == 0:
            continue
        every = np.concatenate([data, edges])
        lo, hi = float(every.min()), float(every.max())
        span = hi - lo
        pad = MARGIN * span if span > 0 else (0.5 if log or lo == 0 else 0.1 * abs(lo))
        if data.size:
            lo = min(float(data.min()) - pad, float(edges.min()) if edges.size else math.inf)
            hi = max(float(data.max()) + pad, float(edges.max()) if edges.size else -math.inf)
        if lo == hi:
            lo, hi = lo - pad, hi + pad
        ranges[key] = [lo, hi]
    return ranges


def fix_ranges(fig: go.Figure, *, overwrite: bool = True) -> go.Figure:
    """Set every axis of ``fig`` whose extent the data determine to :func:`data_ranges`.

    With ``overwrite=False`` only axes without a range (and without an explicit
    ``autorange``) are set: a range the chapter chose stays. An axis drawn reversed
    (``autorange='reversed'``) keeps its orientation. Returns ``fig``."""
    for key, (lo, hi) in data_ranges(fig).items():
        axis = _layout_axis(fig, key)
        current = None if axis is None else axis.range
        autorange = None if axis is None else axis.autorange
        if not overwrite and (current is not None or autorange is not None):
            continue
        reverse = autorange == "reversed" or (current is not None and current[0] is not None
                                               and current[1] is not None and current[0] > current[1])
        fig.update_layout({key: dict(range=[hi, lo] if reverse else [lo, hi], autorange=False)})
    return fig


# --- readable ticks on log axes -------------------------------------------------------------

def tick_text(value: float, power: bool | None = None) -> str:
    """A short label for a tick: ``0.01``, ``20``, ``5000``, ``10⁶``, ``2×10⁶``.

    ``power`` forces (or forbids) the ``10ⁿ`` form; by default it is used outside
    ``[0.001, 100000)``."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if power is None:
        power = not 1e-3 <= abs(value) < 1e5
    if not power:
        return f"{value:.0f}" if value == round(value) and abs(value) < 1e5 else f"{value:.3g}"
    exponent = math.floor(math.log10(abs(value)) + 1e-12)
    mantissa = value / 10**exponent
    if abs(mantissa - round(mantissa)) < 1e-9:
        mantissa = round(mantissa)
    text = "10" + str(exponent).translate(_SUPERSCRIPT)
    return text if mantissa == 1 else f"{mantissa:.3g}×{text}"


def log_ticks(values: Iterable[float]) -> tuple[list[float], list[str]]:
    """Tick positions and labels for a log axis showing ``values``.

    At most :data:`FEW_POSITIONS` distinct positive values: a tick at each (ranks 1, 2, 4,
    8 …: the values the text names). Otherwise 1-2-5 steps when the data span at most two
    decades (1 … 9 when that leaves fewer than three ticks inside the data), whole decades
    up to eight, and every k-th decade beyond, labelled ``10ⁿ`` when they reach 10⁵ or
    below 0.001. The ticks bracket the data: the first is at or below its minimum, the last
    at or above its maximum."""
    v = np.asarray(list(values), dtype=float)
    v = np.unique(v[np.isfinite(v) & (v > 0)])
    if v.size == 0:
        return [], []
    if v.size <= FEW_POSITIONS:
        ticks = [float(x) for x in v]
        return ticks, [tick_text(t) for t in ticks]
    lo, hi = math.floor(math.log10(v[0]) + 1e-12), math.ceil(math.log10(v[-1]) - 1e-12)
    decades = max(hi - lo, 1)
    if decades <= 2:
        for mantissas in ((1, 2, 5), range(1, 10)):
            ladder = [m * 10.0**e for e in range(lo, hi + 1) for m in mantissas]
            inside = [t for t in ladder if v[0] * (1 - 1e-12) <= t <= v[-1] * (1 + 1e-12)]
            if len(inside) >= 3:
                break
        first = max([t for t in ladder if t <= v[0] * (1 + 1e-12)], default=ladder[0])
        last = min([t for t in ladder if t >= v[-1] * (1 - 1e-12)], default=ladder[-1])
        ticks = [t for t in ladder if first <= t <= last]
        return ticks, [tick_text(t) for t in ticks]
    step = max(1, math.ceil(decades / 8))
    top = lo + step * math.ceil((hi - lo) / step)
    ticks = [10.0**e for e in range(lo, top + 1, step)]
    power = ticks[-1] >= 1e5 or ticks[0] < 1e-3
    return ticks, [tick_text(t, power) for t in ticks]


def axis_values(fig: go.Figure, key: str) -> np.ndarray:
    """Every numeric value the figure's traces (and frames) draw on the axis ``key``."""
    out = []
    for trace in _all_traces(fig):
        extent = trace_extents(trace).get(key)
        if extent is not None:
            out.extend(extent[0])
            out.extend(e for e in extent[1] if not (e.size == 1 and e[0] == 0))  # a bar's base is not data
    return np.concatenate([np.zeros(0), *out])


def axis_keys(fig: go.Figure) -> list[str]:
    """Layout keys (``'xaxis'``, ``'yaxis2'`` …) of every cartesian axis ``fig`` draws on or defines."""
    keys = {k for t in _all_traces(fig) for k in _axis_names(t) if hasattr(t, "xaxis")}
    keys |= {k for k in fig.layout.to_plotly_json() if re.fullmatch(r"[xy]axis\d*", k)}
    return sorted(keys)


def readable_log_axes(fig: go.Figure) -> go.Figure:
    """Give every log axis of ``fig`` that has no explicit ticks the ticks of
    :func:`log_ticks` for the data drawn on it. Returns ``fig``."""
    for key in axis_keys(fig):
        axis = _layout_axis(fig, key)
        if axis is None or axis.type != "log" or axis.tickvals is not None:
            continue
        ticks, text = log_ticks(axis_values(fig, key))
        if ticks:
            fig.update_layout({key: dict(tickmode="array", tickvals=ticks, ticktext=text)})
    return fig


# --- the legend and the title ----------------------------------------------------------------

#: where every snnlib figure puts its legend: right of the plot area, from its top down,
#: so it can overlap neither the title (above the plot) nor a slider (below it).
LEGEND_RIGHT = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", yref="paper")


def legend_in_title_band(fig: go.Figure) -> bool:
    """Whether the legend's top may reach the band above the plot area where the title sits.

    The legend's height is not known before plotly.js draws it, so a legend anchored at its
    bottom or middle counts as reaching the band when it starts within the plot's top fifth."""
    legend = fig.layout.legend
    if legend.y is None:           # plotly's default: right of the plot, its top at the plot's top
        return False
    y = legend.y
    anchor = legend.yanchor or "auto"
    if anchor == "auto":           # plotly.js: top above 2/3, bottom below 1/3, else middle
        anchor = "top" if y > 2 / 3 else "bottom" if y < 1 / 3 else "middle"
    if legend.yref == "container":  # the title sits in the container's top tenth
        return y > 0.9 if anchor == "top" else y > 0.7
    return y > 1 if anchor == "top" else y > 0.8


def apply_defaults(fig: go.Figure) -> go.Figure:
    """The defaults of :mod:`snnlib.viz` applied to a figure built or changed anywhere (in place;
    returns ``fig``): readable ticks on log axes; fixed axis ranges from all steps and frames
    for slider and animation figures that lack them (and recomputed where an axis was
    switched to log after the range was fixed); the legend moved out of the title band."""
    readable_log_axes(fig)
    if fig.layout.sliders or fig.frames:
        linear = data_ranges(go.Figure(fig).update_xaxes(type="linear").update_yaxes(type="linear"))
        for key, rng in data_ranges(fig).items():
            axis = _layout_axis(fig, key)
            current = None if axis is None else axis.range
            stale = axis is not None and axis.type == "log" and current is not None and key in linear \
                and sorted(current) == sorted(linear[key]) and sorted(current) != sorted(rng)
            if stale:
                fig.update_layout({key: dict(range=rng if current[0] <= current[1] else rng[::-1])})
        fix_ranges(fig, overwrite=False)
    if fig.layout.title.text and legend_in_title_band(fig):
        fig.update_layout(legend=LEGEND_RIGHT)
    return fig
