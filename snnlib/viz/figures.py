"""Figure helpers shared by every chapter (first used in *Getting started*).

All helpers take numpy arrays, torch tensors or nested lists, check shapes before
drawing, and return a ``plotly.graph_objects.Figure`` styled with :data:`TEMPLATE`.
Interaction is client-side plotly (sliders, buttons), so it keeps working in the static
book where no kernel runs.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from .._checks import integer

TEMPLATE = "plotly_white"
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13)


def as_array(values: Any, name: str) -> np.ndarray:
    """``values`` (array, tensor or list) as a float numpy array; tensors are detached."""
    if hasattr(values, "detach"):  # torch.Tensor without importing torch here
        values = values.detach().cpu().double().numpy()  # via float64: numpy has no bfloat16
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric (array, tensor or list); got {type(values).__name__}") from exc
    return arr


def _layout(fig: go.Figure, title: str | None, xlabel: str | None, ylabel: str | None) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title=dict(text=title) if title else None,
        xaxis_title=xlabel,
        yaxis_title=ylabel,
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
    )
    return fig


def line(
    y: Any,
    x: Any = None,
    names: Sequence[str] | None = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    mode: str = "lines",
    step: bool = False,
) -> go.Figure:
    """Line (trace) plot of one series ``[L]`` or several ``[K, L]``, e.g. membrane potentials over time.

    Args:
        y: ``[L]`` or ``[K, L]`` values; each row is one trace.
        x: ``[L]`` positions (default ``0 .. L-1``, e.g. time steps).
        names: ``K`` legend entries.
        mode: plotly's ``'lines'``, ``'markers'`` or ``'lines+markers'``.
        step: draw a staircase (``line_shape='hv'``), right for discrete-time signals.
    """
    ys = as_array(y, "y")
    if ys.ndim == 1:
        ys = ys[None]
    if ys.ndim != 2:
        raise ValueError(f"y must be [L] or [K, L]; got shape {list(ys.shape)}")
    k, length = ys.shape
    xs = np.arange(length) if x is None else as_array(x, "x")
    if xs.shape != (length,):
        raise ValueError(f"x must have shape [{length}] to match y's last dimension; got {list(xs.shape)}")
    if names is not None and len(names) != k:
        raise ValueError(f"names must have {k} entries, one per row of y; got {len(names)}")
    if mode not in ("lines", "markers", "lines+markers"):
        raise ValueError(f"mode must be 'lines', 'markers' or 'lines+markers'; got {mode!r}")
    fig = go.Figure()
    for i in range(k):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys[i],
                mode=mode,
                name=names[i] if names is not None else f"trace {i}",
                line_shape="hv" if step else "linear",
                showlegend=names is not None,
            )
        )
    return _layout(fig, title, xlabel, ylabel)


def heatmap(
    z: Any,
    x: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    colorbar_title: str | None = None,
) -> go.Figure:
    """Heatmap of a matrix ``[rows, cols]``, e.g. an attention map ``[T, C]`` or a raster ``[N, T]``.

    Row 0 is drawn at the top, as matrices are read.
    """
    zs = as_array(z, "z")
    if zs.ndim != 2:
        raise ValueError(f"z must be a matrix [rows, cols]; got shape {list(zs.shape)}")
    rows, cols = zs.shape
    xs = None if x is None else np.asarray(x)
    ys = None if y is None else np.asarray(y)
    if xs is not None and xs.shape != (cols,):
        raise ValueError(f"x must have {cols} labels, one per column of z; got shape {list(xs.shape)}")
    if ys is not None and ys.shape != (rows,):
        raise ValueError(f"y must have {rows} labels, one per row of z; got shape {list(ys.shape)}")
    fig = go.Figure(
        go.Heatmap(
            z=zs,
            x=xs,
            y=ys,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar=dict(title=dict(text=colorbar_title)) if colorbar_title else None,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, xlabel, ylabel)


def sweep(
    build: Callable[[Any], Sequence[go.BaseTraceType]],
    values: Sequence[Any],
    *,
    label: str,
    active: int = 0,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    fmt: Callable[[Any], str] = str,
) -> go.Figure:
    """A figure with a slider over ``values``; ``build(value)`` returns that step's traces.

    Every step's traces are computed in Python once and stored in the figure; the slider
    only toggles visibility, so it works in the static book with no kernel.

    Args:
        build: maps one parameter value to a list of plotly traces. Every value must give
            the same number of traces.
        values: the parameter values the slider steps through.
        label: the slider's name, e.g. ``"tau"``.
        active: index of the step shown first.
    """
    values = list(values)
    if not values:
        raise ValueError("sweep() needs at least one value")
    if not 0 <= active < len(values):
        raise ValueError(f"active must index values (0..{len(values) - 1}); got {active}")
    per_step = [list(build(v)) for v in values]
    n = len(per_step[0])
    if n == 0 or any(len(traces) != n for traces in per_step):
        raise ValueError(
            f"build() must return the same, non-zero number of traces for every value; "
            f"got {[len(t) for t in per_step]}"
        )
    fig = go.Figure()
    for s, traces in enumerate(per_step):
        for trace in traces:
            trace.visible = s == active
            fig.add_trace(trace)
    steps = []
    for s, v in enumerate(values):
        visible = [i // n == s for i in range(n * len(values))]
        steps.append(dict(method="update", label=fmt(v), args=[{"visible": visible}]))
    _layout(fig, title, xlabel, ylabel)
    fig.update_layout(
        sliders=[dict(active=active, currentvalue=dict(prefix=f"{label} = "), pad=dict(t=40), steps=steps)]
    )
    return fig


def raster(spikes: Any, x: Any = None, *, title: str | None = None, xlabel: str = "time step t",
           ylabel: str = "neuron", color: str = "#1f2937") -> go.Figure:
    """Spike raster of ``spikes [T, N]`` (time first, as snnlib stores them): a mark per spike.

    Introduced in chapter 1, *LIF neurons*.
    """
    s = as_array(spikes, "spikes")
    if s.ndim != 2:
        raise ValueError(f"spikes must be [T, N] (time first); got shape {list(s.shape)}")
    steps = np.arange(s.shape[0]) if x is None else as_array(x, "x")
    if steps.shape != (s.shape[0],):
        raise ValueError(f"x must have shape [{s.shape[0]}] (one per time step); got {list(steps.shape)}")
    t_idx, n_idx = np.nonzero(s)
    fig = go.Figure(go.Scatter(x=steps[t_idx], y=n_idx, mode="markers", name="spikes",
                               marker=dict(symbol="line-ns-open", size=10, color=color, line=dict(width=2))))
    fig.update_yaxes(range=[s.shape[1] - 0.5, -0.5])  # every neuron shown, neuron 0 on top
    return _layout(fig, title, xlabel, ylabel)


def membrane_traces(v: Any, spikes: Any = None, threshold: float | None = None, x: Any = None,
                    name: str = "v") -> list[go.Scatter]:
    """The traces of :func:`membrane` (a potential ``[T]``, its spikes, the threshold), for
    composing into slider figures with :func:`sweep`."""
    vs = as_array(v, "v")
    if vs.ndim != 1:
        raise ValueError(f"v must be one neuron's potential over time [T]; got shape {list(vs.shape)}")
    steps = np.arange(len(vs)) if x is None else as_array(x, "x")
    if steps.shape != vs.shape:
        raise ValueError(f"x must have shape {list(vs.shape)}; got {list(steps.shape)}")
    traces = [go.Scatter(x=steps, y=vs, mode="lines+markers", name=name, line=dict(color="#2563eb"),
                         marker=dict(size=4))]
    if spikes is not None:
        ss = as_array(spikes, "spikes")
        if ss.shape != vs.shape:
            raise ValueError(f"spikes must have the shape of v, {list(vs.shape)}; got {list(ss.shape)}")
        top = threshold if threshold is not None else float(np.nanmax(vs)) if vs.size else 1.0
        fired = ss > 0
        traces.append(go.Scatter(x=steps[fired], y=np.full(int(fired.sum()), top), mode="markers", name="spike",
                                 marker=dict(symbol="triangle-down", size=10, color="#dc2626")))
    if threshold is not None:
        traces.append(go.Scatter(x=[steps[0], steps[-1]] if len(steps) else [], y=[threshold, threshold],
                                 mode="lines", name="threshold", line=dict(dash="dash", color="#6b7280")))
    return traces


def membrane(v: Any, spikes: Any = None, threshold: float | None = None, x: Any = None, *,
             title: str | None = None, xlabel: str = "time step t", ylabel: str = "membrane potential") -> go.Figure:
    """One neuron's membrane potential ``[T]`` with its spikes and threshold (chapter 1)."""
    fig = go.Figure(membrane_traces(v, spikes, threshold, x))
    return _layout(fig, title, xlabel, ylabel)


def event_animation(events: np.ndarray, sensor_size: tuple, frames: int = 20, *, title: str | None = None,
                    duration_us: int | None = None) -> go.Figure:
    """An event stream (tonic structured array ``x, y, t, p``) as an animation of ``frames`` time
    windows — ON events green, OFF events red — with play/pause buttons and a slider that work in
    the static book (plotly frames). Introduced in chapter 2."""
    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise ValueError(f"events must be a structured array with fields x, y, t, p; got dtype {events.dtype}")
    integer("frames", frames)
    width, height = int(sensor_size[0]), int(sensor_size[1])
    end = int(duration_us if duration_us is not None else (events["t"].max() + 1 if len(events) else 1))
    edges = np.linspace(0, end, frames + 1)
    which = np.clip(np.searchsorted(edges, events["t"], side="right") - 1, 0, frames - 1)

    def traces(k):
        sel = events[which == k]
        return [go.Scatter(x=sel["x"][sel["p"] == p], y=sel["y"][sel["p"] == p], mode="markers", name=name,
                           marker=dict(size=5, color=color, symbol="square"))
                for p, name, color in ((1, "ON", "#16a34a"), (0, "OFF", "#dc2626"))]

    fig = go.Figure(traces(0), frames=[go.Frame(data=traces(k), name=str(k)) for k in range(frames)])
    label = lambda k: f"{edges[k] / 1000:.0f}–{edges[k + 1] / 1000:.0f} ms"  # noqa: E731
    fig.update_layout(
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.08, xanchor="left", yanchor="top", buttons=[
            dict(label="▶ play", method="animate",
                 args=[None, dict(frame=dict(duration=150, redraw=True), fromcurrent=True, transition=dict(duration=0))]),
            dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
        ])],
        sliders=[dict(active=0, x=0.2, len=0.8, y=-0.05, currentvalue=dict(prefix="window: "), steps=[
            dict(method="animate", label=label(k),
                 args=[[str(k)], dict(frame=dict(duration=0, redraw=True), mode="immediate")]) for k in range(frames)])],
    )
    fig.update_xaxes(range=[-0.5, width - 0.5], constrain="domain")
    fig.update_yaxes(range=[height - 0.5, -0.5], scaleanchor="x")
    return _layout(fig, title, "x", "y")


def history(hist, *, title: str | None = "Training") -> go.Figure:
    """Loss and accuracy per epoch from :class:`snnlib.train.History` (or its list of dicts)."""
    epochs = getattr(hist, "epochs", hist)
    if not epochs:
        raise ValueError("history is empty: train for at least one epoch")
    x = [e.get("epoch", i + 1) for i, e in enumerate(epochs)]
    fig = go.Figure()
    for key, dash in (("train_loss", "solid"), ("val_loss", "dash")):
        if key in epochs[0]:
            fig.add_trace(go.Scatter(x=x, y=[e[key] for e in epochs], name=key.replace("_", " "),
                                     line=dict(dash=dash, color="#2563eb")))
    for key, dash in (("train_acc", "solid"), ("val_acc", "dash")):
        if key in epochs[0]:
            fig.add_trace(go.Scatter(x=x, y=[e[key] for e in epochs], name=key.replace("_", " "), yaxis="y2",
                                     line=dict(dash=dash, color="#dc2626")))
    fig.update_layout(yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1.02],
                                  tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%", showgrid=False))
    return _layout(fig, title, "epoch", "loss")
