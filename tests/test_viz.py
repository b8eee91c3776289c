import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from snnlib import config, viz
from snnlib.viz.display import PLOTLY_MIME, mime_bundle


# --- line ---------------------------------------------------------------------------

def test_line_one_series_from_a_tensor():
    y = torch.tensor([0.0, 0.5, 0.75], requires_grad=True)
    fig = viz.line(y, title="u", xlabel="t", ylabel="u_t")
    assert len(fig.data) == 1
    np.testing.assert_array_equal(fig.data[0].x, [0, 1, 2])
    np.testing.assert_allclose(fig.data[0].y, [0.0, 0.5, 0.75])
    assert fig.layout.title.text == "u"
    assert fig.layout.xaxis.title.text == "t" and fig.layout.yaxis.title.text == "u_t"


def test_line_several_series_with_names_and_x():
    y = np.arange(6).reshape(2, 3)
    fig = viz.line(y, x=[10, 20, 30], names=["a", "b"], step=True)
    assert [t.name for t in fig.data] == ["a", "b"]
    np.testing.assert_array_equal(fig.data[1].y, [3, 4, 5])
    np.testing.assert_array_equal(fig.data[0].x, [10, 20, 30])
    assert fig.data[0].line.shape == "hv"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y=np.zeros((2, 3, 4))), r"\[L\] or \[K, L\]; got shape \[2, 3, 4\]"),
        (dict(y=np.zeros(3), x=[1, 2]), r"x must have shape \[3\].*got \[2\]"),
        (dict(y=np.zeros((2, 3)), names=["a"]), "names must have 2 entries.*got 1"),
        (dict(y=np.zeros(3), mode="bars"), "mode must be.*got 'bars'"),
    ],
)
def test_line_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.line(**kwargs)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="y must be numeric"):
        viz.line(["a", "b"])


# --- heatmap ------------------------------------------------------------------------

def test_heatmap_keeps_the_matrix_and_reads_top_down():
    z = torch.arange(6.0).reshape(2, 3)
    fig = viz.heatmap(z, x=["a", "b", "c"], y=["r0", "r1"], zmin=0, zmax=5, colorbar_title="value")
    (trace,) = fig.data
    assert isinstance(trace, go.Heatmap)
    np.testing.assert_array_equal(trace.z, z.numpy())
    assert list(trace.x) == ["a", "b", "c"] and list(trace.y) == ["r0", "r1"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert trace.colorbar.title.text == "value"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(z=np.zeros(4)), r"z must be a matrix \[rows, cols\]; got shape \[4\]"),
        (dict(z=np.zeros((2, 3)), x=[1, 2]), "x must have 3 labels"),
        (dict(z=np.zeros((2, 3)), y=[1, 2, 3]), "y must have 2 labels"),
    ],
)
def test_heatmap_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.heatmap(**kwargs)


# --- sweep --------------------------------------------------------------------------

def _build(scale):
    return [go.Scatter(x=[0, 1], y=[0, scale]), go.Scatter(x=[0, 1], y=[scale, 0])]


def test_sweep_slider_toggles_one_step_at_a_time():
    values = [1, 2, 3]
    fig = viz.sweep(_build, values, label="s", active=1)
    assert len(fig.data) == 6
    assert [t.visible for t in fig.data] == [False, False, True, True, False, False]
    (slider,) = fig.layout.sliders
    assert slider.active == 1 and slider.currentvalue.prefix == "s = "
    assert [s.label for s in slider.steps] == ["1", "2", "3"]
    for k, step in enumerate(slider.steps):
        visible = step.args[0]["visible"]
        assert visible == [i // 2 == k for i in range(6)]
        shown = [fig.data[i].y[1] for i, v in enumerate(visible) if v]
        assert shown[0] == values[k]  # the step shows the traces built for its value


def test_sweep_rejects_inconsistent_builders():
    with pytest.raises(ValueError, match="same, non-zero number of traces"):
        viz.sweep(lambda v: [go.Scatter()] * v, [1, 2], label="n")
    with pytest.raises(ValueError, match="at least one value"):
        viz.sweep(_build, [], label="s")
    with pytest.raises(ValueError, match=r"active must index values \(0..1\); got 2"):
        viz.sweep(_build, [1, 2], label="s", active=2)


# --- display ------------------------------------------------------------------------

def test_bundle_has_plotly_json_and_html_without_plotlyjs():
    fig = viz.line([1.0, 2.0], title="demo")
    bundle = mime_bundle(fig, colab=False)
    assert set(bundle) == {PLOTLY_MIME, "text/html", "text/plain"}
    y = bundle[PLOTLY_MIME]["data"][0]["y"]
    if isinstance(y, dict):  # plotly >= 6 stores arrays as base64 typed arrays
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    np.testing.assert_array_equal(y, [1.0, 2.0])
    json.dumps(bundle[PLOTLY_MIME])  # JSON-serialisable as the notebook stores it
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html
    # plotly.js itself is served once by the book's site, not inlined or fetched per figure.
    assert "cdn.plot.ly" not in html and len(html) < 100_000
    assert "mathjax" not in html.lower()
    assert bundle["text/plain"] == "<plotly figure 'demo': 1 trace(s)>"


def test_colab_bundle_loads_plotlyjs_itself():
    bundle = mime_bundle(viz.line([1.0, 2.0]), colab=True)
    assert PLOTLY_MIME not in bundle
    assert "cdn.plot.ly" in bundle["text/html"]


def test_mime_bundle_rejects_non_figures():
    with pytest.raises(TypeError, match="expected a plotly.graph_objects.Figure, got dict"):
        mime_bundle({"data": []})


def test_show_outside_ipython_prints_a_summary(capsys):
    viz.show(viz.heatmap(np.eye(2), title="eye"))
    assert capsys.readouterr().out.strip() == "<plotly figure 'eye': 1 trace(s)>"


def test_show_in_ipython_displays_the_raw_bundle(monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    viz.show(viz.line([0.0, 1.0]))
    ((bundle, raw),) = shown
    assert raw is True and PLOTLY_MIME in bundle and "text/html" in bundle


# --- raster and membrane -------------------------------------------------------------

def test_raster_marks_every_spike_at_its_time_and_neuron():
    spikes = torch.zeros(5, 3)
    spikes[1, 0] = spikes[4, 2] = spikes[4, 0] = 1
    fig = viz.raster(spikes)
    (trace,) = fig.data
    assert sorted(zip(trace.x.tolist(), trace.y.tolist())) == [(1, 0), (4, 0), (4, 2)]


def test_raster_rejects_non_matrix():
    with pytest.raises(ValueError, match=r"\[T, N\] \(time first\); got shape \[2, 2, 2\]"):
        viz.raster(np.zeros((2, 2, 2)))


def test_membrane_draws_potential_spikes_and_threshold():
    v = torch.tensor([0.2, 0.6, 0.0, 0.5])
    s = torch.tensor([0.0, 1.0, 0.0, 0.0])
    fig = viz.membrane(v, s, threshold=1.0)
    names = [t.name for t in fig.data]
    assert names == ["v", "spike", "threshold"]
    np.testing.assert_allclose(fig.data[0].y, v.numpy())
    assert list(fig.data[1].x) == [1] and list(fig.data[1].y) == [1.0]
    assert list(fig.data[2].y) == [1.0, 1.0]


def test_membrane_rejects_mismatched_spikes():
    with pytest.raises(ValueError, match=r"spikes must have the shape of v, \[3\]; got \[2\]"):
        viz.membrane(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"one neuron's potential over time \[T\]"):
        viz.membrane(np.zeros((3, 2)))


def test_bfloat16_tensors_are_accepted():
    spikes = (torch.rand(6, 4) > 0.5).to(torch.bfloat16)
    fig = viz.raster(spikes)
    assert len(fig.data[0].x) == int(spikes.float().sum())
    assert list(fig.layout.yaxis.range) == [3.5, -0.5]


# --- events and training history -----------------------------------------------------------

def test_event_animation_puts_each_event_in_one_frame():
    from snnlib.datasets import EVENT_DTYPE

    ev = np.zeros(4, EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = [1, 2, 3, 4], [0, 1, 2, 3], [0, 10, 55, 99], [1, 0, 1, 1]
    fig = viz.event_animation(ev, (5, 5, 2), frames=2, duration_us=100)
    assert len(fig.frames) == 2
    first, second = fig.frames
    assert list(first.data[0].x) == [1] and list(first.data[1].x) == [2]   # ON, OFF in 0-50 us
    assert list(second.data[0].x) == [3, 4] and len(second.data[1].x) == 0
    assert len(fig.layout.sliders[0].steps) == 2 and fig.layout.updatemenus[0].buttons[0].method == "animate"
    with pytest.raises(ValueError, match="fields x, y, t, p"):
        viz.event_animation(np.zeros(3), (5, 5, 2))


def test_history_plots_loss_and_accuracy():
    hist = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.2, "val_acc": 0.4},
            {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.7, "val_acc": 0.75}]
    fig = viz.history(hist)
    names = [t.name for t in fig.data]
    assert names == ["training loss (mean over the epoch)", "test loss (after the epoch)",
                     "training accuracy (mean over the epoch)", "test accuracy (after the epoch)"]
    assert list(fig.data[3].y) == [0.4, 0.75] and fig.data[3].yaxis == "y2"
    held_out = [t.name for t in viz.history(hist, held_out="validation").data]
    assert held_out[1] == "validation loss (after the epoch)"
    with pytest.raises(ValueError, match="history is empty"):
        viz.history([])


def test_markdown_table_layout_alignment_and_escaping():
    text = viz.table(["name", "max |h|"], [("a", 1), ("b|c", 2.5)], align="lr")
    assert text.splitlines() == ["| name | max \\|h\\| |", "|---|--:|", "| a | 1 |", "| b\\|c | 2.5 |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells; the header has 2"):
        viz.table(["x", "y"], [("only",)])
    with pytest.raises(ValueError, match="one of l/c/r per column"):
        viz.table(["x"], [], align="lx")


# --- defaults that make good figures the easy path ---------------------------------------------

from snnlib.viz import axes  # noqa: E402


def _events():
    from snnlib.datasets import EVENT_DTYPE

    ev = np.zeros(5, EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = [0, 2, 3, 4, 1], [0, 1, 2, 3, 4], [0, 10, 55, 80, 99], [1, 0, 1, 1, 0]
    return ev


def _scaled_pair(scale):
    return [go.Scatter(x=[0, 1, 2], y=[0, scale, -scale / 2], name="a"),
            go.Scatter(x=[0, 2], y=[scale, 0], name="b")]


# Every public figure function of snnlib.viz with small inputs: a new one must be added here.
FIGURES = {
    "figure": lambda: viz.figure([go.Scatter(x=[0, 1], y=[1, 2], name="a"), go.Scatter(x=[0, 1], y=[2, 1], name="b")],
                                 title="traces"),
    "line": lambda: viz.line(np.arange(6.0).reshape(2, 3), names=["a", "b"], title="line"),
    "heatmap": lambda: viz.heatmap(np.arange(6.0).reshape(2, 3), title="heatmap"),
    "sweep": lambda: viz.sweep(_scaled_pair, [1, 2, 3], label="s", title="sweep"),
    "raster": lambda: viz.raster(np.eye(4), title="raster"),
    "membrane": lambda: viz.membrane([0.2, 0.9, 0.0], [0, 1, 0], threshold=1.0, title="membrane"),
    "event_animation": lambda: viz.event_animation(_events(), (5, 5, 2), frames=2, duration_us=100, title="events"),
    "history": lambda: viz.history([{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5},
                                    {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8}]),
}


def _public_figure_functions():
    import inspect

    return {name for name in viz.__all__
            if callable(getattr(viz, name)) and not isinstance(getattr(viz, name), type)
            and inspect.signature(getattr(viz, name), eval_str=True).return_annotation is go.Figure
            and name not in ("apply_defaults", "fix_ranges")}  # these take a figure and return it


def _axes_of(fig):
    """Layout keys of every cartesian axis the figure draws on or defines."""
    keys = {k for k in fig.layout.to_plotly_json() if k[1:5] == "axis" and k[0] in "xy"}
    for trace in fig.data:
        keys.add("xaxis" + (trace.xaxis or "x")[1:])
        keys.add("yaxis" + (trace.yaxis or "y")[1:])
    return sorted(keys)


def test_the_figure_table_lists_every_public_figure_function():
    assert set(FIGURES) == _public_figure_functions()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_titles_every_axis(name):
    fig = FIGURES[name]()
    for key in _axes_of(fig):
        assert fig.layout[key].title.text, f"{name}: {key} has no title"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_no_legend_sits_in_the_title_band(name):
    fig = FIGURES[name]()
    legend = fig.layout.legend
    if legend.yref == "container":   # below the plot, in the bottom margin
        assert legend.y <= 0.1 and legend.yanchor == "bottom"
    else:                            # beside the plot, hanging from its top edge at most
        assert legend.y <= 1 and legend.yanchor == "top" and legend.x > 1
    assert not axes.legend_in_title_band(fig)


@pytest.mark.parametrize("y, anchor, ref, inside", [(1.02, "bottom", None, True), (1.1, "top", None, True),
                                                     (1.0, "top", None, False), (-0.2, "top", None, False),
                                                     (0.98, "bottom", "container", True),
                                                     (0.0, "bottom", "container", False)])
def test_legend_in_title_band_reads_the_legend_position(y, anchor, ref, inside):
    fig = go.Figure(layout=dict(legend=dict(y=y, yanchor=anchor, yref=ref)))
    assert axes.legend_in_title_band(fig) is inside


def test_apply_defaults_moves_a_legend_off_the_title():
    fig = go.Figure([go.Scatter(y=[1, 2], name="a"), go.Scatter(y=[2, 1], name="b")],
                    layout=dict(title="a title", legend=dict(orientation="h", y=1.02, yanchor="bottom")))
    axes.apply_defaults(fig)
    assert fig.layout.legend.y <= 1 and fig.layout.legend.yanchor == "top"


# slider and animation figures: fixed axes from every step

def _frame_data(fig, key):
    return np.concatenate([np.asarray(getattr(t, key), dtype=float) for t in fig.data])


def test_sweep_fixes_both_axes_to_the_data_of_every_step():
    values = [1, 2, 5]
    fig = viz.sweep(_scaled_pair, values, label="s", active=0)
    for key, letter in (("xaxis", "x"), ("yaxis", "y")):
        lo, hi = fig.layout[key].range
        data = _frame_data(fig, letter)
        assert fig.layout[key].autorange is False
        assert lo < data.min() and hi > data.max()                # every step inside, with a margin
        assert hi - lo <= 1.2 * (data.max() - data.min())       # and a small one
    # the range does not depend on the step shown first
    other = viz.sweep(_scaled_pair, values, label="s", active=2)
    assert list(other.layout.yaxis.range) == list(fig.layout.yaxis.range)


def test_sweep_ranges_follow_bars_heatmaps_and_error_bars():
    def build(k):
        return [go.Bar(x=[0, 1], y=[k, 2 * k]), go.Heatmap(z=np.full((3, 4), k), xaxis="x2", yaxis="y2"),
                go.Scatter(x=[0, 1], y=[0, 1], error_y=dict(array=[k, k]))]

    fig = viz.sweep(build, [1, 3], label="k")
    lo, hi = fig.layout.yaxis.range
    assert lo <= -3 and hi >= 6 and lo > -3.5     # error bar 1 - 3 .. bar 2·3, small margins
    assert list(fig.layout.xaxis2.range) == [-0.5, 3.5] and list(fig.layout.yaxis2.range) == [-0.5, 2.5]
    assert fig.layout.xaxis2.title.text and fig.layout.yaxis2.title.text


def test_sweep_leaves_categorical_axes_to_plotly():
    fig = viz.sweep(lambda k: [go.Bar(x=["a", "b"], y=[k, 1])], [1, 4], label="k")
    assert fig.layout.xaxis.range is None
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] > 4   # a bar's base stays at 0


def test_sweep_takes_explicit_ranges_and_log_axes():
    fig = viz.sweep(lambda k: [go.Scatter(x=[1, 10, 100], y=[k, 10 * k, 100 * k])], [1, 10], label="k",
                    log_x=True, log_y=True, yrange=(0.5, 2000))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    lo, hi = fig.layout.xaxis.range                     # decades, as plotly's log axes take them
    assert lo < 0 < 2 < hi < 2.2
    np.testing.assert_allclose(fig.layout.yaxis.range, np.log10([0.5, 2000]))
    assert list(fig.layout.xaxis.tickvals) == [1, 10, 100]


def test_sweep_heatmaps_share_one_colour_range_unless_they_set_their_own():
    fig = viz.sweep(lambda k: [go.Heatmap(z=[[0.5, 0.5 + k]]), go.Heatmap(z=[[k]], zmin=0, zmax=1)],
                    [0.01, 0.03], label="k")
    fitted = [(t.zmin, t.zmax) for t in fig.data[0::2]]
    assert fitted == [(0.5, 0.53)] * 2
    assert [(t.zmin, t.zmax) for t in fig.data[1::2]] == [(0, 1)] * 2


def test_event_animation_axes_hold_every_frame():
    fig = viz.event_animation(_events(), (5, 5, 2), frames=3, duration_us=100)
    xs = np.concatenate([np.asarray(t.x, dtype=float) for f in fig.frames for t in f.data])
    ys = np.concatenate([np.asarray(t.y, dtype=float) for f in fig.frames for t in f.data])
    xlo, xhi = fig.layout.xaxis.range
    ylo, yhi = sorted(fig.layout.yaxis.range)
    assert xlo < xs.min() and xs.max() < xhi and ylo < ys.min() and ys.max() < yhi
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False


def test_apply_defaults_fixes_axes_of_hand_built_slider_figures():
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1]), go.Scatter(x=[0, 1], y=[0, 10], visible=False)],
                    layout=dict(sliders=[dict(steps=[dict(method="update", args=[{"visible": [True, False]}]),
                                                     dict(method="update", args=[{"visible": [False, True]}])])],
                                xaxis_range=[0, 0.5]))
    axes.apply_defaults(fig)
    assert list(fig.layout.xaxis.range) == [0, 0.5]             # a range the chapter chose stays
    lo, hi = fig.layout.yaxis.range
    assert lo < 0 and hi > 10


def test_apply_defaults_recomputes_a_slider_range_when_the_axis_turns_log():
    fig = viz.sweep(lambda k: [go.Scatter(x=[1, 2], y=[1, 10 ** k])], [1, 3], label="k")
    axes.apply_defaults(fig.update_yaxes(type="log"))
    lo, hi = fig.layout.yaxis.range
    assert lo < 0 < 3 < hi < 3.5


# log axes: readable ticks

def test_line_log_axes_tick_the_data_positions_when_few():
    channels = np.array([16, 32, 64, 128, 256, 512])
    fig = viz.line(np.stack([4 * channels**2, (20.0 * channels) ** 2]), x=channels, log_x=True, log_y=True,
                   xlabel="channels C", ylabel="parameters")
    assert list(fig.layout.xaxis.tickvals) == channels.tolist()
    assert list(fig.layout.xaxis.ticktext) == ["16", "32", "64", "128", "256", "512"]
    ticks = np.asarray(fig.layout.yaxis.tickvals)
    assert ticks.min() <= 4 * 16**2 and ticks.max() >= (20 * 512) ** 2     # the ticks cover the data
    np.testing.assert_allclose(np.log10(ticks) % 1, 0, atol=1e-9)        # whole decades
    assert list(fig.layout.yaxis.ticktext)[:2] == ["10³", "10⁴"]


@pytest.mark.parametrize("values, ticks", [
    ([1, 2, 4, 8, 16, 32], [1, 2, 4, 8, 16, 32]),
    (np.linspace(1, 90, 40), [1, 2, 5, 10, 20, 50, 100]),
    (np.linspace(3, 7, 40), [3, 4, 5, 6, 7]),
    (np.geomspace(2e3, 3e8, 40), [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]),
])
def test_log_ticks_are_data_positions_1_2_5_steps_or_decades(values, ticks):
    got, text = viz.log_ticks(values)
    np.testing.assert_allclose(got, ticks)
    assert len(text) == len(got) and all(text)
    assert not any("e+" in t for t in text)


def test_show_gives_hand_built_log_axes_readable_ticks_without_changing_the_figure():
    ranks = [1, 2, 4, 8, 16]
    fig = go.Figure(go.Scatter(x=ranks, y=[50, 60, 62, 63, 63]), layout=dict(xaxis_type="log"))
    layout = mime_bundle(fig, colab=False)[PLOTLY_MIME]["layout"]
    assert layout["xaxis"]["tickvals"] == ranks and layout["xaxis"]["ticktext"] == ["1", "2", "4", "8", "16"]
    assert fig.layout.xaxis.tickvals is None                    # shown with defaults, not changed
    assert mime_bundle(fig, colab=False, defaults=False)[PLOTLY_MIME]["layout"]["xaxis"].get("tickvals") is None


def test_line_takes_fixed_ranges():
    fig = viz.line([0.0, 0.5, 0.9], yrange=(0, 1.05))
    assert list(fig.layout.yaxis.range) == [0, 1.05] and fig.layout.yaxis.autorange is False
    with pytest.raises(ValueError, match="positive range"):
        viz.line([1.0, 2.0], log_y=True, yrange=(0, 3))


# colour scales

def test_heatmap_colour_scale_spans_the_data_by_default():
    z = 0.5 + 0.03 * np.arange(6.0).reshape(2, 3) / 5
    (trace,) = viz.heatmap(z).data
    assert trace.zmin == pytest.approx(0.5) and trace.zmax == pytest.approx(0.53)


def test_heatmap_fixed_colour_scale_is_opt_in():
    z = 0.5 + 0.01 * np.arange(6.0).reshape(2, 3)
    (trace,) = viz.heatmap(z, zrange=(0, 1)).data
    assert (trace.zmin, trace.zmax) == (0, 1)
    (trace,) = viz.heatmap(z, zmin=0, zmax=1).data               # the older spelling still works
    assert (trace.zmin, trace.zmax) == (0, 1)
    with pytest.raises(ValueError, match="either as zrange or as zmin/zmax"):
        viz.heatmap(z, zrange=(0, 1), zmin=0)
    with pytest.raises(ValueError, match=r"zrange must be \(low, high\)"):
        viz.heatmap(z, zrange=(1, 0))


def test_heatmap_diverging_scale_is_centred_on_zero_and_constant_data_still_get_a_bar():
    (trace,) = viz.heatmap([[-1.0, 3.0]], colorscale="RdBu").data
    assert (trace.zmin, trace.zmax) == (-3, 3)
    (trace,) = viz.heatmap([[2.0, 2.0]]).data
    assert trace.zmin < 2 < trace.zmax


def test_binary_heatmap_gets_two_colours_and_two_labelled_ticks():
    spikes = (torch.rand(6, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    (trace,) = viz.heatmap(spikes, colorscale="Greys", binary_labels=("no spike", "spike")).data
    colours = {c for _, c in trace.colorscale}
    assert len(colours) == 2 and (trace.zmin, trace.zmax) == (0, 1)
    positions = [p for p, _ in trace.colorscale]
    assert positions == [0, 0.5, 0.5, 1]                              # a step, not a gradient
    assert list(trace.colorbar.tickvals) == [0.25, 0.75]
    assert list(trace.colorbar.ticktext) == ["no spike", "spike"]
    (continuous,) = viz.heatmap(spikes, binary=False).data
    assert continuous.colorbar.tickvals is None and continuous.colorscale[1][0] > 0


def test_non_binary_data_keep_a_continuous_scale():
    (trace,) = viz.heatmap([[0.0, 0.5, 1.0]]).data
    assert len({c for _, c in trace.colorscale}) > 2 and trace.colorbar.tickvals is None


# autoplay

def test_animations_do_not_play_on_page_load():
    fig = viz.event_animation(_events(), (5, 5, 2), frames=2, duration_us=100)
    for colab in (False, True):
        html = mime_bundle(fig, colab=colab)["text/html"]
        assert "Plotly.addFrames" in html and "Plotly.animate" not in html
    # they play from the button only
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.method == "animate" and play.args[0] is None


def test_figure_wraps_traces_with_the_shared_style():
    fig = viz.figure(viz.membrane_traces([0.1, 0.8, 0.0], [0, 1, 0], threshold=1.0), title="t",
                     xlabel="time step t", ylabel="V", height=300)
    assert [t.name for t in fig.data] == ["v", "spike", "threshold"]
    assert fig.layout.xaxis.title.text == "time step t" and fig.layout.yaxis.title.text == "V"
    assert fig.layout.height == 300 and fig.layout.template.layout.font is not None


# --- live widgets: in Jupyter and Colab only ------------------------------------------------

def test_interact_builds_sliders_from_the_functions_defaults(monkeypatch):
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.delenv("SNNLIB_STATIC_BOOK", raising=False)
    seen = []

    def plot(tau=4.0, gain=1.0):
        seen.append((tau, gain))

    widget = viz.interact(plot, tau=dict(min=1.1, max=16.0, step=0.1, description="τ"))
    sliders = [c for c in widget.widget.children if isinstance(c, ipywidgets.FloatSlider)]
    assert [(s.description, s.value, s.min, s.max) for s in sliders] == [("τ", 4.0, 1.1, 16.0)]
    sliders[0].value = 10.2  # moving the slider calls the function again
    assert seen[-1] == (10.2, 1.0)


def test_interact_creates_nothing_in_the_static_book(monkeypatch, capsys):
    monkeypatch.setenv("SNNLIB_STATIC_BOOK", "1")
    assert config.static_build()
    calls = []

    def plot(tau=4.0):
        calls.append(tau)
        print("drawn")

    assert viz.interact(plot, tau=dict(min=1.1, max=16.0)) is None
    assert calls == [4.0] and "drawn" not in capsys.readouterr().out  # run once, output discarded
    with pytest.raises(ZeroDivisionError):  # so a broken function still fails the notebook run
        viz.interact(lambda tau=4.0: 1 / 0, tau=dict(min=1.1, max=16.0))


def test_interact_checks_its_sliders():
    with pytest.raises(ValueError, match=r"'tau' must be an argument of plot with a default; .* \['gain'\]"):
        def plot(gain=1.0):
            pass
        viz.interact(plot, tau=dict(min=0, max=1))
    with pytest.raises(ValueError, match="slider 'gain' needs a dict with at least 'min' and 'max'"):
        viz.interact(lambda gain=1.0: None, gain=(0, 1))
