"""snnlib.layers and snnlib.train: encoders, folding, the papers' losses, fit, checkpoints."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snnlib import layers, models, train
from snnlib.neuron import LIF

ROOT = Path(__file__).resolve().parent.parent


# --- layers ------------------------------------------------------------------------------------

def test_seq_to_ann_equals_a_loop_over_time():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = torch.rand(5, 4, 2, 6, 6)
    assert torch.allclose(layers.SeqToANN(conv)(x), torch.stack([conv(xt) for xt in x]), atol=1e-6)


def test_encoders():
    x = torch.rand(3, 1, 4, 4)
    direct = layers.DirectEncoder(5)(x)
    assert direct.shape == (5, 3, 1, 4, 4) and torch.equal(direct[2], x)
    gen = torch.Generator().manual_seed(0)
    spikes = layers.RateEncoder(2000, generator=gen)(x)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert (spikes.mean(0) - x).abs().max() < 0.05  # the rate estimates the intensity
    with pytest.raises(ValueError, match=r"intensities in \[0, 1\]"):
        layers.RateEncoder(3)(x * 2)
    with pytest.raises(ValueError, match="T must be an integer >= 1; got 0"):
        layers.DirectEncoder(0)
    assert layers.TimeFirst()(torch.zeros(2, 7, 3)).shape == (7, 2, 3)


def test_voting_averages_groups():
    x = torch.arange(12.0).reshape(1, 12)
    assert layers.Voting(3)(x).tolist() == [[1.0, 4.0, 7.0, 10.0]]
    with pytest.raises(ValueError, match="not a multiple of voting_size=5"):
        layers.Voting(5)(x)


# --- losses --------------------------------------------------------------------------------------

def test_losses_against_hand_computation():
    out = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]])  # [T=3, N=1, C=2]
    y = torch.tensor([0])
    rate = out.mean(0)  # [[2/3, 2/3]]
    assert math.isclose(train.mse_rate_loss(out, y).item(), ((2 / 3 - 1) ** 2 + (2 / 3) ** 2) / 2, rel_tol=1e-6)
    assert math.isclose(train.ce_mean_loss(out, y).item(), F.cross_entropy(rate, y).item(), rel_tol=1e-6)
    per_step = sum(F.cross_entropy(out[t], y).item() for t in range(3)) / 3
    assert math.isclose(train.tet_loss(out, y, lam=0).item(), per_step, rel_tol=1e-6)
    mse_phi = ((out - 1) ** 2).mean().item()
    assert math.isclose(train.tet_loss(out, y, lam=0.1).item(), 0.9 * per_step + 0.1 * mse_phi, rel_tol=1e-6)


def test_losses_check_shapes():
    with pytest.raises(ValueError, match=r"time-first \[T, N, C\]"):
        train.ce_mean_loss(torch.zeros(4, 10), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"class indices \[N\] = \[4\]"):
        train.tet_loss(torch.zeros(2, 4, 10), torch.zeros(3, dtype=torch.long))


# --- fit -----------------------------------------------------------------------------------------

def toy_data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 6, generator=g)
    y = (x[:, 0] > x[:, 1]).long()
    return torch.utils.data.TensorDataset(x, y)


def toy_model():
    torch.manual_seed(0)
    return nn.Sequential(layers.SeqToANN(nn.Linear(6, 16)), LIF(), layers.SeqToANN(nn.Linear(16, 2)))


def run(epochs=3, **kwargs):
    model = toy_model()
    history = train.fit(model, train.make_loader(toy_data(), 16, shuffle=True), train.make_loader(toy_data(48, 1), 48),
                        epochs=epochs, lr=0.02, encoder=layers.DirectEncoder(4), progress=False, seed=1, **kwargs)
    return model, history


def test_fit_learns_and_records_history():
    _, history = run(epochs=6)
    assert len(history) == 6 and set(history.epochs[0]) >= {"train_loss", "train_acc", "val_loss", "val_acc", "seconds"}
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.75


def test_fit_is_deterministic_on_cpu():
    (m1, h1), (m2, h2) = run(), run()
    assert h1["train_loss"] == h2["train_loss"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_checkpoint_resume_equals_an_uninterrupted_run(tmp_path):
    ckpt = tmp_path / "run.pt"
    full_model, full = run(epochs=4)
    run(epochs=2, checkpoint=ckpt)  # "interrupted" after 2 epochs
    resumed_model, resumed = run(epochs=4, checkpoint=ckpt, resume=True)
    assert len(resumed) == 4
    assert resumed["train_loss"] == pytest.approx(full["train_loss"], rel=1e-6)
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_state_is_reset_between_batches():
    model = toy_model()
    x = torch.rand(8, 6)
    first = train.predict(model, x, layers.DirectEncoder(4))
    assert torch.equal(train.predict(model, x, layers.DirectEncoder(4)), first)  # no state leaks across calls


def test_fit_bad_arguments():
    loader = train.make_loader(toy_data(), 8)
    with pytest.raises(ValueError, match="loss must be one of"):
        train.fit(toy_model(), loader, loss="hinge", progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1; got 0"):
        train.fit(toy_model(), loader, epochs=0, progress=False)
    with pytest.raises(ValueError, match="resume=True needs a checkpoint path"):
        train.fit(toy_model(), loader, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"time-first outputs \[T, N, classes\]"):
        train.fit(nn.Linear(6, 2), loader, progress=False)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        train.make_loader(toy_data(), 0)


def test_progress_bar_reports_epochs_loss_and_accuracy(capsys):
    model = toy_model()
    train.fit(model, train.make_loader(toy_data(), 16), epochs=2, encoder=layers.DirectEncoder(2), progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "epoch=2/2" in err and "loss=" in err and "acc=" in err


# --- the config loader of python -m snnlib.train ------------------------------------------------

def write_config(tmp_path, text):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, error", [
    ("dataset: {name: digits}\nmodel: {name: mlp}\nencodr: {name: direct}\n", "unknown \\['encodr'\\]"),
    ("dataset: {name: digits}\nmodel: {name: mlp}\ntrain: {lr: fast}\n", "train.lr must be a number; got 'fast'"),
    ("dataset: {upsample: 2}\nmodel: {name: mlp}\n", "section 'dataset' needs a 'name'"),
    ("dataset: {name: digits}\nmodel: {name: mlp}\ntrain: {epoch: 3}\n", "unknown train settings \\['epoch'\\]"),
    ("model: {name: mlp}\n", "missing \\['dataset'\\]"),
])
def test_bad_configs_say_what_is_wrong(tmp_path, text, error):
    from snnlib.train.__main__ import load_config

    with pytest.raises(ValueError, match=error):
        load_config(write_config(tmp_path, text))


def test_config_numbers_and_defaults(tmp_path):
    from snnlib.train.__main__ import load_config

    cfg = load_config(write_config(tmp_path, "dataset: {name: event_digits}\nmodel: {name: conv}\ntrain: {lr: 1e-3}\n"))
    assert cfg["train"]["lr"] == 0.001 and cfg["encoder"] == {"name": "time_first"}
    cfg = load_config(write_config(tmp_path, "dataset: {name: digits}\nmodel: {name: mlp}\ntrain:\n"))
    assert cfg["train"] == {} and cfg["encoder"]["name"] == "direct"


def test_resume_needs_more_epochs_and_works_across_ddp_wrapping(tmp_path):
    ckpt = tmp_path / "c.pt"
    run(epochs=2, checkpoint=ckpt)
    with pytest.raises(ValueError, match="already trained 2 epoch"):
        run(epochs=2, checkpoint=ckpt, resume=True)
    state = torch.load(ckpt, weights_only=False)
    assert not any(k.startswith("module.") for k in state["model"])  # saved unwrapped


def test_scheduler_needs_its_optimizer():
    model = toy_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, threshold=0.0)  # best = the minimum seen
    with pytest.raises(ValueError, match="needs the optimizer it was built with"):
        train.fit(model, train.make_loader(toy_data(), 16), scheduler=sched, progress=False)
    history = train.fit(model, train.make_loader(toy_data(), 16), train.make_loader(toy_data(32, 1), 32), epochs=2,
                        optimizer=opt, scheduler=sched, encoder=layers.DirectEncoder(2), progress=False)
    # the plateau scheduler was stepped once per epoch with the validation loss
    assert sched.last_epoch == 2 and sched.best == min(history["val_loss"])


def test_named_cosine_schedule_is_adam_with_cosine_annealing():
    # scheduler="cosine" builds the papers' CosineAnnealingLR(T_max=epochs) for fit's optimizer
    def run(**kw):
        torch.manual_seed(0)
        model = toy_model()
        if kw.pop("explicit", False):
            opt = torch.optim.Adam(model.parameters(), lr=0.05)
            kw.update(optimizer=opt, scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3))
        history = train.fit(model, train.make_loader(toy_data(), 16, shuffle=True, seed=0), epochs=3,
                            encoder=layers.DirectEncoder(2), progress=False, **kw)
        return history["train_loss"], [p.detach().clone() for p in model.parameters()]

    named, explicit = run(lr=0.05, scheduler="cosine"), run(explicit=True)
    assert named[0] == explicit[0] and all(torch.equal(a, b) for a, b in zip(named[1], explicit[1]))
    assert named[0] != run(lr=0.05)[0]  # without the schedule the run differs
    with pytest.raises(ValueError, match=r"scheduler must be a scheduler or one of \['cosine'\]; got 'step'"):
        train.fit(toy_model(), train.make_loader(toy_data(), 16), scheduler="step", progress=False)


@pytest.mark.parametrize("config, model, params", [
    ("configs/tcja_dvs128.yaml", "DVSGestureNet", 1_832_576),
    ("configs/tcja_cifar10dvs.yaml", "CIFAR10DVSNet", 11_369_450),
])
def test_paper_recipes_build_the_published_networks(config, model, params):
    from snnlib.train.__main__ import build_model, load_config

    cfg = load_config(ROOT / config)
    net = build_model(cfg, (2, 128, 128))
    assert type(net).__name__ == model and net.T == cfg["frames"]["T"]
    assert models.count_parameters(net) == params
    assert cfg["train"]["scheduler"] == "cosine" and cfg["train"]["epochs"] == 1024 and cfg["train"]["batch_size"] == 16


def test_cli_trains_a_paper_network_with_the_cosine_schedule_on_a_stand_in_dataset(tmp_path, monkeypatch):
    from snnlib.datasets import ArrayDataset, DatasetInfo
    from snnlib.train import __main__ as cli

    def fake_gesture(split, T):  # stands in for the DVS128 Gesture download: [T, 2, 32, 32] frames, 10 classes
        g = torch.Generator().manual_seed(int(split == "train"))
        n = 24 if split == "train" else 8
        info = DatasetInfo("dvs_gesture", split, n, (T, 2, 32, 32), 10, "fake", offline=True)
        return ArrayDataset((torch.rand(n, T, 2, 32, 32, generator=g) < 0.2).float(), np.arange(n) % 10, info)

    monkeypatch.setitem(cli.EVENT_DATASETS, "dvs_gesture", fake_gesture)
    path = write_config(tmp_path, "dataset: {name: dvs_gesture}\nframes: {T: 3}\n"
                        "model: {name: DVSGestureNet, channels: 4, size: 32, hidden: 8, classes: 10}\n"
                        "train: {epochs: 2, batch_size: 5, lr: 0.01, loss: mse_rate, scheduler: cosine, drop_last: true}\n")
    result = cli.main(["--config", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    assert len(result["history"]) == 2
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert state["scheduler"]["last_epoch"] == 2 and state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.0)
    bad = write_config(tmp_path, "dataset: {name: dvs_gesture}\nmodel: {name: DVSGestureNet}\ntrain: {scheduler: step}\n")
    with pytest.raises(ValueError, match="train.scheduler must be 'none' or 'cosine'; got 'step'"):
        cli.main(["--config", str(bad), "--out", str(tmp_path / "bad"), "--no-progress"])


# --- the one loop under every trainer (snnlib.train.engine) ---------------------------------------

from snnlib.train import engine  # noqa: E402


def regression_run(epochs, checkpoint=None, resume=False, log_every=25, progress=False):
    """A linear fit through run_loop with shuffled_batches, whose generator the checkpoint keeps."""
    torch.manual_seed(0)
    x = torch.randn(50, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(50)
    model = nn.Linear(3, 1)
    g = torch.Generator().manual_seed(5)

    def step(batch):
        xb, yb = batch
        loss = F.mse_loss(model(xb)[:, 0], yb)
        return engine.Step(loss, {"mse": loss.detach() * len(yb), "n": torch.tensor(float(len(yb)))},
                           weight=len(yb))

    history = engine.run_loop(model, engine.shuffled_batches(x, y, batch=8, generator=g), step,
                              torch.optim.SGD(model.parameters(), lr=0.05), epochs=epochs, seed=3,
                              checkpoint=checkpoint, resume=resume, generators=[g], progress=progress,
                              log_every=log_every)
    return model, history


def test_run_loop_reports_weighted_means_and_learns():
    _, history = regression_run(epochs=5)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert all(r["n"] == 1.0 for r in history)  # 50 samples in batches of 8, 8, ..., 2: weighted mean of 1
    assert history[-1]["mse"] < 0.1 * history[0]["mse"]


def test_run_loop_resume_restores_the_batch_generator(tmp_path):
    full_model, full = regression_run(epochs=4)
    regression_run(epochs=2, checkpoint=tmp_path / "c.pt")
    model, resumed = regression_run(epochs=4, checkpoint=tmp_path / "c.pt", resume=True)
    assert [r["mse"] for r in resumed] == [r["mse"] for r in full]
    assert torch.equal(model.weight, full_model.weight)


def test_run_loop_reads_metrics_once_per_log_interval(monkeypatch):
    reads = []
    real_read = engine.RunningMeans.read
    monkeypatch.setattr(engine.RunningMeans, "read", lambda self, **kw: reads.append(1) or real_read(self, **kw))
    regression_run(epochs=2, progress=False)  # 7 steps an epoch: one read at each epoch's end
    assert len(reads) == 2
    reads.clear()
    regression_run(epochs=2, progress=True, log_every=3)  # steps 3, 6 and 7 for the bar, + the epoch's end
    assert len(reads) == 2 * 4


def test_run_loop_checks_its_arguments():
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    endless = iter(lambda: torch.zeros(2, 1), None)
    with pytest.raises(ValueError, match="batches has no length: pass steps_per_epoch"):
        engine.run_loop(model, endless, lambda b: engine.Step(model(b).sum()), opt, progress=False)
    with pytest.raises(ValueError, match="amp needs a CUDA device; got cpu"):
        engine.run_loop(model, [torch.zeros(2, 1)], lambda b: engine.Step(model(b).sum()), opt, amp=True)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="needs plateau_metric"):
        engine.run_loop(model, [torch.zeros(2, 1)], lambda b: engine.Step(model(b).sum()), opt, scheduler=plateau)
    changing = iter([{"a": torch.tensor(1.0)}, {"b": torch.tensor(1.0)}])
    with pytest.raises(ValueError, match=r"every step must report the same sums \['a'\]; got \['b'\]"):
        engine.run_loop(model, [torch.zeros(2, 1)] * 2, lambda b: engine.Step(model(b).sum(), next(changing)),
                        opt, progress=False)


def test_one_registry_builds_every_network_the_cli_names(tmp_path):
    from snnlib.train.__main__ import build_model, load_config

    assert set(models.MODELS) >= {"conv", "mlp", "DVSGestureNet", "CIFAR10DVSNet", "NCaltech101Net", "PFAVGG",
                                  "FashionPFANet"}
    cfg = load_config(write_config(tmp_path, "dataset: {name: digits}\nencoder: {name: direct, T: 3}\n"
                                   "model: {name: FashionPFANet, size: 16, width: 8, hidden: 16}\n"))
    net = build_model(cfg, (1, 16, 16))
    assert isinstance(net, models.FashionPFANet)  # T taken from the encoder, the PFA map sized for it
    assert net(torch.rand(3, 2, 1, 16, 16)).shape == (3, 2, 10)
    with pytest.raises(ValueError, match="model must be one of"):
        models.build("ResNet")


def test_no_progress_bar_in_the_static_book(monkeypatch, capsys):
    # the static build sets SNNLIB_STATIC_BOOK=1: a bar there would be frozen on the page
    monkeypatch.setenv("SNNLIB_STATIC_BOOK", "1")
    train.fit(toy_model(), train.make_loader(toy_data(), 16), epochs=1, encoder=layers.DirectEncoder(2), progress=True)
    assert "training" not in capsys.readouterr().err
    monkeypatch.delenv("SNNLIB_STATIC_BOOK")
    train.fit(toy_model(), train.make_loader(toy_data(), 16), epochs=1, encoder=layers.DirectEncoder(2), progress=True)
    assert "training" in capsys.readouterr().err


def test_latency_coding_spikes_once_and_brighter_first():
    x = torch.tensor([[1.0, 0.75, 0.5, 0.0, 0.1]])
    spikes = layers.LatencyEncoder(5, threshold=0.05)(x)                # [T=5, 1, 5]
    assert spikes.shape == (5, 1, 5) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    first = spikes[:, 0].argmax(0).tolist()                             # step of each pixel's spike
    assert spikes.sum(0)[0].tolist() == [1, 1, 1, 0, 1]                 # at most one; p=0 below threshold
    assert first[:3] == [0, 1, 2] and first[4] == 4                     # round((1 - p)·(T - 1))
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\); got 1.5"):
        layers.LatencyEncoder(5, threshold=1.5)
    with pytest.raises(ValueError, match=r"latency coding needs intensities in \[0, 1\]"):
        layers.LatencyEncoder(5)(x * 2)


def test_delta_coding_on_a_known_signal():
    signal = torch.tensor([0.5, 0.5, 0.9, 0.95, 0.3, 0.3])[:, None]     # [T, N=1]
    events = layers.DeltaEncoder(0.2)(signal)[:, 0].tolist()
    assert events == [1.0, 0.0, 1.0, 0.0, -1.0, 0.0]                   # first step against zero
    assert layers.DeltaEncoder(0.2, off_spikes=False)(signal)[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="threshold must be a number > 0; got 0"):
        layers.DeltaEncoder(0)
    with pytest.raises(ValueError, match=r"floating-point signal \[T, N, ...\]"):
        layers.DeltaEncoder(0.1)(torch.zeros(5))


def test_tdbn_equals_spikingjelly_and_normalises_over_time_and_batch():
    sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 6, 6) * 3 + 1                          # [T, N, C, H, W]
    ours = layers.TDBatchNorm2d(5, alpha=0.5, v_threshold=2.0)
    theirs = sj_layer.ThresholdDependentBatchNorm2d(0.5, 2.0, 5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        assert torch.equal(a, b)
    y = ours(x)
    assert torch.equal(y, theirs(x))
    assert torch.equal(ours.running_mean, theirs.running_mean)
    # statistics over T, N, H, W together: every channel has mean 0 and std alpha * v_th
    per_channel = y.transpose(0, 2).flatten(1)
    assert torch.allclose(per_channel.mean(1), torch.zeros(5), atol=1e-5)
    assert torch.allclose(per_channel.var(1, unbiased=False).sqrt(), torch.full((5,), 1.0), atol=1e-3)
    ours.eval(), theirs.eval()
    assert torch.equal(ours(x), theirs(x))


def test_tdbn_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        layers.TDBatchNorm2d(4, alpha=0)
    with pytest.raises(ValueError, match="affine"):
        layers.TDBatchNorm2d(4, affine=False)
    with pytest.raises(ValueError, match=r"\[T, N, 4, H, W\]"):
        layers.TDBatchNorm2d(4)(torch.zeros(2, 4, 3, 3))
