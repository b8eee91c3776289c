import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from snnlib import viz
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
    assert names == ["train loss", "val loss", "train acc", "val acc"]
    assert list(fig.data[3].y) == [0.4, 0.75] and fig.data[3].yaxis == "y2"
    with pytest.raises(ValueError, match="history is empty"):
        viz.history([])


def test_markdown_table_layout_alignment_and_escaping():
    text = viz.table(["name", "max |h|"], [("a", 1), ("b|c", 2.5)], align="lr")
    assert text.splitlines() == ["| name | max \\|h\\| |", "|---|--:|", "| a | 1 |", "| b\\|c | 2.5 |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells; the header has 2"):
        viz.table(["x", "y"], [("only",)])
    with pytest.raises(ValueError, match="one of l/c/r per column"):
        viz.table(["x"], [], align="lx")
