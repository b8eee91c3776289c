"""Figure helpers shared by every chapter (first used in *Getting started*).

All helpers take numpy arrays, torch tensors or nested lists, check shapes before
drawing, and return a ``plotly.graph_objects.Figure`` styled with :data:`TEMPLATE`.
Interaction is client-side plotly (sliders, buttons), so it keeps working in the static
book where no kernel runs.

Defaults that make a good figure the easy path: every axis has a title; the legend sits
right of the plot, clear of the title and of sliders; slider and animation figures keep
their axes fixed over all steps (:func:`snnlib.viz.axes.fix_ranges`); log axes get
readable ticks; heatmap colour scales span the data unless a fixed range is asked for, and
0/1 data get two colours, not a gradient.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType

from .._checks import integer
from .axes import LEGEND_RIGHT, axis_keys, fix_ranges, readable_log_axes

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


def _layout(fig: go.Figure, title: str | None, xlabel: str | None, ylabel: str | None,
            legend: dict | None = None) -> go.Figure:
    """The shared style: template, font, title, axis titles on *every* axis the figure has
    (``xlabel``/``ylabel`` where an axis has none yet), the legend right of the plot
    (:data:`~snnlib.viz.axes.LEGEND_RIGHT`) and readable ticks on log axes."""
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        title=dict(text=title) if title else None,
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=legend or LEGEND_RIGHT,
    )
    for key in axis_keys(fig) or ["xaxis", "yaxis"]:
        axis = fig.layout[key] if key in fig.layout else None
        if axis is None or not axis.title.text:
            fig.update_layout({key: dict(title=dict(text=xlabel if key[0] == "x" else ylabel))})
    return readable_log_axes(fig)


def figure(traces: Sequence[BaseTraceType] = (), *, title: str | None = None, xlabel: str = "x",
           ylabel: str = "y", **layout: Any) -> go.Figure:
    """A figure of ready-made ``traces`` (e.g. :func:`membrane_traces`) with snnlib's style
    and axis titles — use it instead of ``go.Figure(traces)`` in a chapter. Extra keyword
    arguments go to ``update_layout``."""
    fig = _layout(go.Figure(list(traces)), title, xlabel, ylabel)
    return fig.update_layout(**layout) if layout else fig


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
    log_x: bool = False,
    log_y: bool = False,
    xrange: Sequence[float] | None = None,
    yrange: Sequence[float] | None = None,
) -> go.Figure:
    """Line (trace) plot of one series ``[L]`` or several ``[K, L]``, e.g. membrane potentials over time.

    Args:
        y: ``[L]`` or ``[K, L]`` values; each row is one trace.
        x: ``[L]`` positions (default ``0 .. L-1``, e.g. time steps).
        names: ``K`` legend entries.
        xlabel, ylabel: axis titles (default ``"index"`` (or ``"x"`` when ``x`` is given)
            and ``"value"``: pass real ones).
        mode: plotly's ``'lines'``, ``'markers'`` or ``'lines+markers'``.
        step: draw a staircase (``line_shape='hv'``), right for discrete-time signals.
        log_x, log_y: logarithmic axes, with ticks at the data's positions when there are
            few of them (channels 16, 32, … 512), else 1-2-5 steps or decades.
        xrange, yrange: fixed axis ranges (in data units, also on log axes), e.g. to keep
            the scale still while a widget redraws the figure.
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
    _axis_range(fig, "xaxis", xrange, log_x)
    _axis_range(fig, "yaxis", yrange, log_y)
    return _layout(fig, title, xlabel or ("index" if x is None else "x"), ylabel or "value")


def _axis_range(fig: go.Figure, key: str, rng: Sequence[float] | None, log: bool) -> None:
    """Make axis ``key`` logarithmic and/or fix its range ``rng`` (given in data units)."""
    if log:
        fig.update_layout({key: dict(type="log")})
    if rng is not None:
        lo, hi = (float(v) for v in rng)
        if log:
            if lo <= 0 or hi <= 0:
                raise ValueError(f"a log axis needs a positive range; got {list(rng)}")
            lo, hi = np.log10(lo), np.log10(hi)
        fig.update_layout({key: dict(range=[lo, hi], autorange=False)})


#: colour scales with a neutral middle (plotly's diverging scales): data of both signs are
#: drawn on a scale symmetric about 0, so the middle colour means zero.
DIVERGING = {name.lower() for name in dir(pc.diverging) if not name.startswith("_")}


def _scale_colours(colorscale: Any) -> tuple[str, str]:
    """The colours at the two ends of a plotly colour scale (a name or a list)."""
    scale = go.Heatmap(colorscale=colorscale).colorscale
    return scale[0][1], scale[-1][1]


def is_binary(values: np.ndarray) -> bool:
    """Whether every finite value is 0 or 1 (a spike raster, a mask) and there is one."""
    finite = values[np.isfinite(values)]
    return finite.size > 0 and bool(np.all((finite == 0) | (finite == 1)))


def heatmap(
    z: Any,
    x: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    xlabel: str = "column",
    ylabel: str = "row",
    colorscale: Any = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    colorbar_title: str | None = None,
    zrange: Sequence[float] | None = None,
    binary: bool | None = None,
    binary_labels: Sequence[str] = ("0", "1"),
) -> go.Figure:
    """Heatmap of a matrix ``[rows, cols]``, e.g. an attention map ``[T, C]`` or a raster ``[N, T]``.

    Row 0 is drawn at the top, as matrices are read.

    Colours: by default the colour scale spans the data (``zmin``/``zmax`` are the data's
    minimum and maximum; symmetric about 0 for a diverging scale such as ``"RdBu"`` when
    the data have both signs), so a map whose values span 0.49–0.52 is not drawn in one
    flat colour. A fixed scale is an explicit choice: ``zrange=(0, 1)`` (or ``zmin``/
    ``zmax``), e.g. to compare maps drawn side by side — the chapter should say so.

    0/1 data (a spike raster, a mask; detected unless ``binary`` says otherwise) get a
    discrete scale of the colour scale's two end colours and a colour bar with two ticks
    labelled ``binary_labels`` (e.g. ``("no spike", "spike")``), not a gradient.
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
    if zrange is not None:
        if zmin is not None or zmax is not None:
            raise ValueError("give the fixed colour range either as zrange or as zmin/zmax, not both")
        if len(zrange) != 2 or not float(zrange[0]) < float(zrange[1]):
            raise ValueError(f"zrange must be (low, high) with low < high; got {tuple(zrange)}")
        zmin, zmax = (float(v) for v in zrange)
    if len(binary_labels) != 2:
        raise ValueError(f"binary_labels must name the two values 0 and 1; got {tuple(binary_labels)}")
    binary = is_binary(zs) if binary is None else bool(binary)
    colorbar = dict(title=dict(text=colorbar_title)) if colorbar_title else {}
    if binary:
        off, on = _scale_colours(colorscale)
        colorscale = [[0.0, off], [0.5, off], [0.5, on], [1.0, on]]
        zmin, zmax = 0.0, 1.0
        colorbar.update(tickmode="array", tickvals=[0.25, 0.75], ticktext=list(binary_labels), len=0.35,
                        y=1, yanchor="top")
    else:
        finite = zs[np.isfinite(zs)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 1.0
        name = colorscale.lower() if isinstance(colorscale, str) else ""
        if zmin is None and zmax is None and name.removesuffix("_r") in DIVERGING and lo < 0 < hi:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        zmin = lo if zmin is None else zmin
        zmax = hi if zmax is None else zmax
        if zmin == zmax:  # constant data: one colour, a readable bar
            zmin, zmax = zmin - 0.5, zmax + 0.5
    fig = go.Figure(
        go.Heatmap(
            z=zs,
            x=xs,
            y=ys,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar=colorbar or None,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, xlabel, ylabel)


def sweep(
    build: Callable[[Any], Sequence[BaseTraceType]],
    values: Sequence[Any],
    *,
    label: str,
    active: int = 0,
    title: str | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    fmt: Callable[[Any], str] = str,
    log_x: bool = False,
    log_y: bool = False,
    xrange: Sequence[float] | None = None,
    yrange: Sequence[float] | None = None,
) -> go.Figure:
    """A figure with a slider over ``values``; ``build(value)`` returns that step's traces.

    Every step's traces are computed in Python once and stored in the figure; the slider
    only toggles visibility, so it works in the static book with no kernel.

    The axes stay still while the slider moves: each axis gets a fixed range from the data
    of *all* steps with a 5 % margin (:func:`snnlib.viz.axes.fix_ranges`; categorical axes
    are left to plotly), unless ``xrange``/``yrange`` fix it (data units, also on log
    axes). Heatmap traces that set no ``zmin``/``zmax`` share one colour range over all
    steps, fitted to the data of all steps. ``log_x``/``log_y`` make the axes logarithmic
    with readable ticks.

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
    _share_colour_range(per_step)
    fig = go.Figure()
    for s, traces in enumerate(per_step):
        for trace in traces:
            trace.visible = s == active
            fig.add_trace(trace)
    steps = []
    for s, v in enumerate(values):
        visible = [i // n == s for i in range(n * len(values))]
        steps.append(dict(method="update", label=fmt(v), args=[{"visible": visible}]))
    _axis_range(fig, "xaxis", None, log_x)
    _axis_range(fig, "yaxis", None, log_y)
    fix_ranges(fig)
    _axis_range(fig, "xaxis", xrange, log_x)
    _axis_range(fig, "yaxis", yrange, log_y)
    _layout(fig, title, xlabel, ylabel)
    fig.update_layout(
        sliders=[dict(active=active, currentvalue=dict(prefix=f"{label} = "), pad=dict(t=40), steps=steps)]
    )
    return fig


def _share_colour_range(per_step: list[list]) -> None:
    """Heatmaps in the same place of every step, none with ``zmin``/``zmax`` set, get the
    colour range of all their data together, so a colour means one value on every step."""
    for slot in range(len(per_step[0])):
        traces = [step[slot] for step in per_step]
        if not all(t.type == "heatmap" and t.zmin is None and t.zmax is None and t.zauto is not True
                   for t in traces):
            continue
        values = np.concatenate([np.asarray(t.z, dtype=float).ravel() for t in traces if t.z is not None])
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        for t in traces:
            t.update(zmin=lo, zmax=hi)


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
                    duration_us: int | None = None, xlabel: str = "x (pixel)",
                    ylabel: str = "y (pixel)") -> go.Figure:
    """An event stream (tonic structured array ``x, y, t, p``) as an animation of ``frames`` time
    windows — ON events green, OFF events red — with play/pause buttons and a slider that work in
    the static book (plotly frames). Introduced in chapter 2.

    The axes are fixed to the sensor (every frame's events inside), and the animation does not
    start by itself: it plays from the ▶ button only (:func:`snnlib.viz.show` renders it
    without plotly's auto-play)."""
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
    fig.update_xaxes(range=[-0.5, width - 0.5], autorange=False, constrain="domain")
    fig.update_yaxes(range=[height - 0.5, -0.5], autorange=False, scaleanchor="x")
    return _layout(fig, title, xlabel, ylabel)


def history(hist, *, title: str | None = "Training", held_out: str = "test") -> go.Figure:
    """Loss and accuracy per epoch from :class:`snnlib.train.History` (or its list of dicts).

    The legend says which is which: the training curves are means over each epoch's batches
    while the weights changed; the ``held_out`` curves (``val_*`` entries; name the set the
    loader held, ``"test"`` by default) are measured after each epoch."""
    epochs = getattr(hist, "epochs", hist)
    if not epochs:
        raise ValueError("history is empty: train for at least one epoch")
    x = [e.get("epoch", i + 1) for i, e in enumerate(epochs)]
    fig = go.Figure()
    label = {"train": "training {} (mean over the epoch)", "val": f"{held_out} {{}} (after the epoch)"}
    for metric, color, axis in (("loss", "#2563eb", "y"), ("acc", "#dc2626", "y2")):
        for split, dash in (("train", "solid"), ("val", "dash")):
            key = f"{split}_{metric}"
            if key in epochs[0]:
                name = label[split].format("accuracy" if metric == "acc" else "loss")
                fig.add_trace(go.Scatter(x=x, y=[e[key] for e in epochs], name=name, yaxis=axis,
                                         line=dict(dash=dash, color=color)))
    fig.update_layout(yaxis2=dict(title="accuracy", overlaying="y", side="right", range=[0, 1.02], automargin=True,
                                  tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".0%", showgrid=False))
    # the right-hand side holds the accuracy axis: the legend goes below the plot, in the
    # figure's bottom margin (container coordinates), under the x-axis title
    fig = _layout(fig, title, "epoch", "loss",
                  legend=dict(orientation="h", x=0, xanchor="left", y=0, yanchor="bottom", yref="container"))
    return fig.update_layout(margin_b=90)
