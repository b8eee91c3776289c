"""The neuron base (registered memory, charge → fire → reset) and the neurons beyond LIF.

IF, QIF, EIF and Izhikevich are checked against spikingjelly 2.0.0 (skipped without it);
ALIF against a hand loop written here.
"""
import math

import pytest
import torch
from torch import nn

from snnlib import surrogate
from snnlib.neuron import (ALIF, EIF, IF, LIF, PLIF, QIF, BaseNode, Izhikevich, MemoryModule, detach_net,
                           has_memory, reset_net)

try:
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate
except ImportError:
    functional = neuron = sj_surrogate = None
needs_sj = pytest.mark.skipif(neuron is None, reason="spikingjelly is not installed")

SURROGATES = ["Sigmoid", "ATan"]
T_VALUES = [1, 2, 7]
# (ours, spikingjelly's name, extra keyword arguments, the input's scale)
MODELS = {
    "IF": (IF, "IFNode", {}, 1.5),
    "QIF": (QIF, "QIFNode", {}, 2.5),
    "EIF": (EIF, "EIFNode", {}, 2.5),
    "Izhikevich": (Izhikevich, "IzhikevichNode", dict(a=0.5, b=0.3, tau_w=3.0), 3.0),
}


def assert_close(got, want, what, rel=1e-6):
    # "within 1e-6 relative": errors measured against the tensor's own scale
    scale = want.abs().max().clamp_min(1e-30)
    err = ((got - want).abs().max() / scale).item()
    assert err <= rel, f"{what}: relative error {err:.2e}"


def run(node, x, weights):
    """Two calls (state carries over); a loss on the spikes and on the final potential."""
    x = x.clone().requires_grad_()
    s1 = node(x)
    s2 = node(x * 0.7)
    loss = (s1 * weights[0]).sum() + (s2 * weights[1]).sum() + (node.v * weights[2]).sum()
    loss.backward()
    return torch.stack([s1, s2]), node.v.detach(), x.grad


def inputs(T, scale, seed):
    shape = (T, 3, 5)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=gen) * scale - 0.5
    weights = [torch.randn(shape, generator=gen), torch.randn(shape, generator=gen),
               torch.randn(shape[1:], generator=gen)]
    return x, weights


# --- parity with spikingjelly ----------------------------------------------------------------

@needs_sj
@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("name", SURROGATES)
@pytest.mark.parametrize("v_reset", [0.0, None])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_equal_to_spikingjelly(model, T, name, v_reset, detach_reset):
    ours_cls, theirs_name, extra, scale = MODELS[model]
    x, weights = inputs(T, scale, seed=T * 10 + SURROGATES.index(name))
    kw = dict(v_reset=v_reset, detach_reset=detach_reset, **extra)
    if model in ("QIF", "EIF") and v_reset == 0.0:
        kw["v_reset"] = -0.1  # their default; spikingjelly needs v_rest >= v_reset (v_rest=0)
    ours = ours_cls(surrogate_function=getattr(surrogate, name)(), **kw)
    theirs = getattr(neuron, theirs_name)(surrogate_function=getattr(sj_surrogate, name)(), step_mode="m", **kw)
    s_a, v_a, g_a = run(ours, x, weights)
    s_b, v_b, g_b = run(theirs, x, weights)
    case = f"{model} {name} v_reset={kw['v_reset']} detach={detach_reset} T={T}"
    assert s_a.sum() > 0, f"no spikes, the test would prove little: {case}"
    assert torch.equal(s_a, s_b), f"spikes differ: {case}"
    assert torch.equal(v_a, v_b), f"potentials differ: {case}"
    assert_close(g_a, g_b, f"input gradient {case}")
    if model == "Izhikevich":
        assert torch.equal(ours.w, theirs.w), f"recovery differs: {case}"


@needs_sj
@pytest.mark.parametrize("model", list(MODELS))
def test_defaults_are_spikingjellys(model):
    import inspect

    ours_cls, theirs_name, _, _ = MODELS[model]
    ours = inspect.signature(ours_cls).parameters
    theirs = inspect.signature(getattr(neuron, theirs_name)).parameters
    assert list(ours) == list(theirs)
    for arg in ours:
        if arg not in ("step_mode", "surrogate_function"):
            assert ours[arg].default == theirs[arg].default, arg
    assert ours["step_mode"].default == "m"  # multi-step by default, as snnlib's LIF


@needs_sj
@pytest.mark.parametrize("model", list(MODELS))
def test_store_v_seq_and_single_step_match_spikingjelly(model):
    ours_cls, theirs_name, extra, scale = MODELS[model]
    x, _ = inputs(5, scale, seed=3)
    ours = ours_cls(store_v_seq=True, **extra)
    theirs = getattr(neuron, theirs_name)(step_mode="m", store_v_seq=True, **extra)
    assert torch.equal(ours(x), theirs(x))
    assert torch.equal(ours.v_seq, theirs.v_seq)
    single, theirs_s = ours_cls(step_mode="s", **extra), getattr(neuron, theirs_name)(step_mode="s", **extra)
    for xt in x:
        assert torch.equal(single(xt), theirs_s(xt))
    assert torch.equal(single.v, theirs_s.v)


# --- ALIF against a hand loop -----------------------------------------------------------------

def alif_by_hand(x, tau, tau_a, beta, v_th, v_reset, decay_input, sg, detach_reset):
    rho = math.exp(-1.0 / tau_a)
    v = torch.full_like(x[0], 0.0 if v_reset is None else v_reset)
    a = torch.zeros_like(x[0])
    leak_to = 0.0 if v_reset is None else v_reset
    spikes = []
    for t in range(x.shape[0]):
        h = v + (x[t] - (v - leak_to)) / tau if decay_input else v - (v - leak_to) / tau + x[t]
        threshold = v_th + beta * a
        s = sg(h - threshold)
        sr = s.detach() if detach_reset else s
        v = h - sr * threshold if v_reset is None else sr * v_reset + (1.0 - sr) * h
        a = rho * a + s
        spikes.append(s)
    return torch.stack(spikes), v, a


@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("v_reset", [0.0, None])
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("decay_input", [True, False])
def test_alif_matches_the_hand_loop(T, v_reset, detach_reset, decay_input):
    gen = torch.Generator().manual_seed(T)
    x = torch.rand(T, 4, 6, generator=gen) * 2.5
    w = torch.randn(T, 4, 6, generator=gen)
    kw = dict(tau=2.0, tau_a=5.0, beta=0.7, v_threshold=1.0, v_reset=v_reset)
    node = ALIF(decay_input=decay_input, detach_reset=detach_reset, surrogate_function=surrogate.ATan(), **kw)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    s_a = node(xa)
    ((s_a * w).sum() + node.v.sum()).backward()
    s_b, v_b, a_b = alif_by_hand(xb, kw["tau"], kw["tau_a"], kw["beta"], kw["v_threshold"], v_reset, decay_input,
                                 surrogate.ATan(), detach_reset)
    ((s_b * w).sum() + v_b.sum()).backward()
    assert torch.equal(s_a, s_b) and torch.equal(node.v, v_b) and torch.equal(node.a, a_b)
    assert_close(xa.grad, xb.grad, "ALIF input gradient")


def test_alif_adapts_and_beta_zero_is_lif():
    x = torch.full((20, 1), 1.5)
    plain = LIF(backend="reference")(x)
    assert torch.equal(ALIF(beta=0.0)(x), plain)
    adaptive = ALIF(beta=0.5, tau_a=10.0)(x)
    assert adaptive.sum() < plain.sum()  # a raised threshold fires less
    node = ALIF()
    node(x)
    assert node.a.item() > 0 and [n for n, _ in node.named_memories()] == ["v", "v_seq", "a"]


# --- state: registered memory ------------------------------------------------------------------

ALL = [IF, QIF, EIF, Izhikevich, ALIF, LIF, PLIF]


@pytest.mark.parametrize("cls", ALL)
def test_reset_restores_the_registered_values(cls):
    node = cls()
    rest = {name: value for name, value in node.named_memories()}
    node(torch.rand(4, 3) * 3)
    assert isinstance(node.v, torch.Tensor)
    node.reset()
    for name, value in node.named_memories():
        assert value == rest[name] and type(value) is type(rest[name]), name


@pytest.mark.parametrize("cls", [IF, Izhikevich, ALIF, LIF])
def test_detach_cuts_the_graph_and_keeps_values(cls):
    node = cls(surrogate_function=surrogate.ATan())
    x = (torch.rand(3, 5) * 3).requires_grad_()
    node(x)
    before = {n: v.clone() for n, v in node.named_memories() if isinstance(v, torch.Tensor)}
    assert node.v.requires_grad
    detach_net(nn.Sequential(node))
    for name, value in node.named_memories():
        if isinstance(value, torch.Tensor):
            assert not value.requires_grad and torch.equal(value, before[name])
    x2 = (torch.rand(3, 5) * 3).requires_grad_()
    node(x2).sum().backward()  # truncated BPTT: the gradient stops at the detached state
    assert x.grad is None and x2.grad is not None


@pytest.mark.parametrize("cls", [IF, Izhikevich, ALIF, LIF, PLIF])
def test_to_float64_and_state_dict_round_trip(cls):
    node = cls()
    node(torch.rand(3, 4) * 3)
    node.to(torch.float64)
    for _, value in node.named_memories():
        if isinstance(value, torch.Tensor):
            assert value.dtype == torch.float64
    state = node.state_dict()
    assert not {name for name, _ in node.named_memories()} & set(state)  # state is not saved
    fresh = cls().to(torch.float64)
    fresh.load_state_dict(state)
    x = torch.rand(5, 4, dtype=torch.float64) * 3
    node.reset()
    assert torch.equal(node(x), fresh(x)) and torch.equal(node.v, fresh.v)


def test_memory_registration_rules():
    module = MemoryModule()
    module.register_memory("trace", torch.zeros(2))
    module.trace = module.trace + 1
    module.reset()
    assert torch.equal(module.trace, torch.zeros(2)) and module.reset_value("trace").sum() == 0
    with pytest.raises(KeyError, match="already registered"):
        module.register_memory("trace", 0.0)
    with pytest.raises(KeyError, match="already has an attribute"):
        module.register_memory("training", 0.0)
    with pytest.raises(ValueError, match="identifier"):
        module.register_memory("not a name", 0.0)


class Recorder(nn.Module):
    """Not a neuron: a module with its own reset() and detach() (like a metric)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def reset(self):
        self.calls.append("reset")

    def detach(self):
        self.calls.append("detach")


def test_reset_net_touches_only_modules_with_memory():
    rec = Recorder()
    net = nn.ModuleList([nn.Linear(3, 3), IF(), nn.ModuleList([ALIF(), rec]), Izhikevich(a=0.5, b=0.3)])
    for node in (net[1], net[2][0], net[3]):
        node(torch.rand(4, 2, 3) * 3)
    assert not has_memory(rec) and has_memory(net[1])
    reset_net(net)
    detach_net(net)
    assert rec.calls == []
    assert net[1].v == 0.0 and net[2][0].a == 0.0 and net[3].w == 0.0


@needs_sj
def test_spikingjelly_reset_net_and_detach_net_act_on_them():
    net = nn.Sequential(IF(), ALIF(), Izhikevich(a=0.5, b=0.3), neuron.LIFNode(step_mode="m"))
    x = (torch.rand(4, 2, 3) * 3).requires_grad_()
    first = net(x)
    functional.detach_net(net)
    assert not net[1].a.requires_grad and not net[2].w.requires_grad
    functional.reset_net(net)
    assert net[0].v == 0.0 and net[1].a == 0.0 and net[2].w == 0.0 and net[3].v == 0.0
    assert torch.equal(net(x), first)
    net(x)
    reset_net(net)  # snnlib's reset_net resets spikingjelly's neurons too
    assert net[3].v == 0.0 and net[0].v == 0.0


def test_a_new_neuron_writes_one_charge_method():
    class Leaky(BaseNode):
        def neuronal_charge(self, x):
            self.v = 0.5 * self.v + x

    x = torch.rand(6, 4) * 2
    s = Leaky(v_reset=None)(x)
    v, want = torch.zeros(4), []
    for xt in x:
        h = 0.5 * v + xt
        want.append((h >= 1.0).float())
        v = h - want[-1]
    assert torch.equal(s, torch.stack(want))
    with pytest.raises(NotImplementedError, match="neuronal_charge"):
        BaseNode()(x)


# --- bad arguments and input ------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: IF(v_threshold=float("nan")), "v_threshold must be a finite number; got nan"),
    (lambda: IF(v_reset="0"), "v_reset must be a finite number, or None"),
    (lambda: IF(step_mode="x"), "step_mode must be 's' or 'm'; got 'x'"),
    (lambda: QIF(tau=1.0), "tau must be a finite number > 1; got 1.0"),
    (lambda: QIF(a0=0.0), "a0 must be a finite number > 0; got 0.0"),
    (lambda: QIF(v_reset=1.5), "v_threshold must be > v_reset"),
    (lambda: EIF(v_rest=-0.5), "v_rest must be >= v_reset"),
    (lambda: EIF(delta_T=-1.0), "delta_T must be a finite number > 0"),
    (lambda: Izhikevich(tau_w=0.0), "tau_w must be a finite number > 0; got 0.0"),
    (lambda: Izhikevich(b=True), "b must be a finite number; got True"),
    (lambda: ALIF(tau_a=0.0), "tau_a must be a finite number > 0"),
    (lambda: ALIF(tau=0.5), "tau must be a finite number > 1"),
    (lambda: ALIF(beta=float("inf")), "beta must be a finite number; got inf"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_bad_input():
    with pytest.raises(TypeError, match="IF expects a floating-point tensor; got torch.int64"):
        IF()(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"QIF\(step_mode='m'\) expects \[T, N, ...\].*got shape \[5\]"):
        QIF()(torch.rand(5))
    node = Izhikevich()
    node(torch.rand(3, 4))
    with pytest.raises(ValueError, match=r"Izhikevich state v has shape \[4\] but this input needs \[2\]"):
        node(torch.rand(3, 2))
    with pytest.raises(TypeError, match="surrogate_function must be callable"):
        EIF(surrogate_function=1.0)
