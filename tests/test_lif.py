"""snnlib.neuron.LIF and snnlib.kernels against the reference loop and spikingjelly 2.0.0.

The fused CPU kernels are checked against the reference loop whether or not spikingjelly is
installed; only the comparisons with spikingjelly itself skip without it.
"""
import dataclasses
import itertools
import math

import pytest
import torch

from snnlib import kernels, surrogate
from snnlib.kernels import cpu as cpu_kernels
from snnlib.kernels import reference
from snnlib.kernels.contract import KERNEL_INDEX, SURROGATE_KERNELS, LIFParams
from snnlib.neuron import LIF, reset_net

try:
    from spikingjelly.activation_based import functional, monitor, neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate
except ImportError:
    functional = monitor = neuron = sj_surrogate = None
needs_sj = pytest.mark.skipif(neuron is None, reason="spikingjelly is not installed")

SURROGATES = ["Sigmoid", "ATan", "PiecewiseQuadratic", "PiecewiseExp", "SoftSign", "SuperSpike", "Erf"]
RESETS = [0.0, -0.2, None]
T_VALUES = [1, 2, 7, 16]
ODD_SHAPES = {1: (3, 5, 7), 2: (2, 11), 7: (5, 3, 2, 3), 16: (37,)}


def assert_grad_close(got, want, what):
    # "within 1e-6 relative": errors measured against the gradient's own scale
    scale = want.abs().max().clamp_min(1e-30)
    err = ((got - want).abs().max() / scale).item()
    assert err <= 1e-6, f"{what}: relative error {err:.2e}"


def run(node, x, gv_weight):
    """Two calls (state carries over), a loss on the spikes and the final potential."""
    x = x.clone().requires_grad_()
    s1 = node(x)
    s2 = node(x * 0.7)
    loss = (s1 * gv_weight[0]).sum() + (s2 * gv_weight[1]).sum() + (node.v * gv_weight[2]).sum()
    loss.backward()
    return torch.stack([s1, s2]), node.v.detach(), x.grad


def cases(T, name):
    """An input ``[T, ...]`` of odd shape, loss weights, and the LIF settings to try on it."""
    shape = (T, *ODD_SHAPES[T])
    gen = torch.Generator().manual_seed(T * 100 + SURROGATES.index(name))
    x = torch.rand(shape, generator=gen) * 2.5 - 0.5
    weights = [torch.randn(shape, generator=gen), torch.randn(shape, generator=gen),
               torch.randn(shape[1:], generator=gen)]
    return x, weights, itertools.product([True, False], [False, True])


@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("name", SURROGATES)
@pytest.mark.parametrize("v_reset", RESETS)
def test_fused_cpu_matches_the_reference(T, name, v_reset):
    x, weights, settings = cases(T, name)
    for decay_input, detach_reset in settings:
        kw = dict(tau=2.0 if T % 2 else 3.0, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset,
                  detach_reset=detach_reset, surrogate_function=getattr(surrogate, name)())
        s_a, v_a, g_a = run(LIF(backend="cpu", **kw), x, weights)
        s_b, v_b, g_b = run(LIF(backend="reference", **kw), x, weights)
        case = f"{name} v_reset={v_reset} decay={decay_input} detach={detach_reset} T={T}"
        assert torch.equal(s_a, s_b), f"spikes differ: {case}"
        assert torch.equal(v_a, v_b), f"potentials differ: {case}"
        assert_grad_close(g_a, g_b, f"input gradient {case}")


@needs_sj
@pytest.mark.parametrize("T", T_VALUES)
@pytest.mark.parametrize("name", SURROGATES)
@pytest.mark.parametrize("v_reset", RESETS)
@pytest.mark.parametrize("backend", ["auto", "reference"])
def test_drop_in_equal_to_spikingjelly(T, name, v_reset, backend):
    x, weights, settings = cases(T, name)
    for decay_input, detach_reset in settings:
        kw = dict(tau=2.0 if T % 2 else 3.0, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset,
                  detach_reset=detach_reset)
        ours = LIF(surrogate_function=getattr(surrogate, name)(), backend=backend, **kw)
        theirs = neuron.LIFNode(surrogate_function=getattr(sj_surrogate, name)(), step_mode="m", **kw)
        s_a, v_a, g_a = run(ours, x, weights)
        s_b, v_b, g_b = run(theirs, x, weights)
        case = f"{name} v_reset={v_reset} decay={decay_input} detach={detach_reset} T={T} {backend}"
        assert torch.equal(s_a, s_b), f"spikes differ: {case}"
        assert_grad_close(v_a, v_b, f"v {case}")
        assert_grad_close(g_a, g_b, f"input gradient {case}")


def test_auto_uses_the_fused_cpu_path_for_float32():
    x = torch.rand(4, 8)
    assert kernels.select_backend("auto", x, surrogate.Sigmoid()) == "cpu"
    assert kernels.select_backend("auto", x.double(), surrogate.Sigmoid()) == "reference"
    assert kernels.select_backend("auto", x, lambda z: (z >= 0).float()) == "reference"


@needs_sj
def test_spikingjelly_surrogates_run_fused():
    x = torch.rand(4, 8)
    assert kernels.select_backend("auto", x, sj_surrogate.ATan()) == "cpu"
    s, v, _ = kernels.lif_multi_step(x, 0.0, surrogate=sj_surrogate.ATan(alpha=3.0), backend="cpu")
    s_r, v_r, _ = kernels.lif_multi_step(x, 0.0, surrogate=surrogate.ATan(alpha=3.0), backend="reference")
    assert torch.equal(s, s_r) and torch.equal(v, v_r)


@needs_sj
def test_store_v_seq_matches_spikingjelly():
    x = torch.rand(6, 4, 3) * 2
    ours, theirs = LIF(store_v_seq=True), neuron.LIFNode(step_mode="m", store_v_seq=True)
    ours(x), theirs(x)
    assert torch.equal(ours.v_seq, theirs.v_seq)
    assert torch.equal(ours.v_seq[-1], ours.v)


def test_single_step_equals_multi_step():
    x = torch.rand(5, 3, 4) * 2
    multi, single = LIF(store_v_seq=True), LIF(step_mode="s", store_v_seq=True)
    expected = multi(x)
    got = torch.stack([single(xt) for xt in x])
    assert torch.equal(got, expected)
    assert torch.equal(single.v, multi.v) and torch.equal(single.v_seq, multi.v_seq)


@needs_sj
def test_single_step_matches_spikingjelly_single_step():
    x = torch.rand(5, 3, 4) * 2
    ours, theirs = LIF(step_mode="s"), neuron.LIFNode(step_mode="s")
    for xt in x:
        assert torch.equal(ours(xt), theirs(xt))
    assert torch.equal(ours.v, theirs.v)


def test_state_carries_until_reset_and_reset_net_resets():
    net = torch.nn.Sequential(torch.nn.Flatten(2), LIF(v_reset=-0.2))
    x = torch.rand(3, 2, 4, 4) * 2
    first = net(x)
    v_after_first = net[1].v.clone()
    net(x)
    assert not torch.equal(net[1].v, v_after_first)  # the second call started from the first's state
    reset_net(net)
    assert net[1].v == -0.2 and net[1].v_seq is None
    assert torch.equal(net(x), first)


@needs_sj
def test_spikingjelly_reset_net_resets_it():
    net = torch.nn.Sequential(torch.nn.Flatten(2), LIF(v_reset=-0.2))
    x = torch.rand(3, 2, 4, 4) * 2
    first = net(x)
    net(x)
    functional.reset_net(net)
    assert net[1].v == -0.2 and net[1].v_seq is None
    assert torch.equal(net(x), first)


def test_state_continues_exactly_across_calls():
    x = torch.rand(8, 5) * 2
    whole, split = LIF(), LIF()
    assert torch.equal(whole(x), torch.cat([split(x[:3]), split(x[3:])]))
    assert torch.equal(whole.v, split.v)


@needs_sj
def test_spikingjelly_monitors_record_it():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), LIF())
    outputs = monitor.OutputMonitor(net, LIF)
    potentials = monitor.AttributeMonitor("v", pre_forward=False, net=net, instance=LIF)
    x = torch.rand(5, 2, 3)
    y = net(x)
    assert len(outputs.records) == 1 and torch.equal(outputs.records[0], y)
    assert len(potentials.records) == 1 and torch.equal(potentials.records[0], net[1].v)
    outputs.remove_hooks(), potentials.remove_hooks()


@needs_sj
def test_set_step_mode_switches_it():
    net = torch.nn.Sequential(LIF())
    functional.set_step_mode(net, "s")
    assert net[0].step_mode == "s"


def test_gradient_reaches_the_initial_state():
    x = torch.rand(4, 6) * 2
    v0 = torch.rand(6, requires_grad=True)
    for backend in ("cpu", "reference"):
        v0.grad = None
        s, v, _ = kernels.lif_multi_step(x, v0, surrogate=surrogate.ATan(), backend=backend)
        (s.sum() + v.sum()).backward()
        if backend == "cpu":
            g_cpu = v0.grad.clone()
    assert_grad_close(g_cpu, v0.grad, "v_init gradient")


def test_non_contiguous_input():
    x = (torch.rand(5, 4, 3) * 2).transpose(1, 2)
    assert torch.equal(LIF()(x), LIF(backend="reference")(x))


def test_inference_without_grad_gives_the_same_spikes():
    x = torch.rand(6, 50) * 2
    with torch.no_grad():
        a = LIF()(x)
    assert torch.equal(a, LIF(backend="reference")(x.requires_grad_()).detach())


# --- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [1.0, 0.5, float("inf"), float("nan"), "2", True])
def test_bad_tau(tau):
    with pytest.raises(ValueError, match="tau must be a finite number > 1"):
        LIF(tau=tau)


def test_bad_arguments():
    with pytest.raises(ValueError, match="step_mode must be 's' or 'm'; got 'multi'"):
        LIF(step_mode="multi")
    with pytest.raises(ValueError, match="backend must be one of"):
        LIF(backend="cuda")
    with pytest.raises(ValueError, match="v_reset must be a finite number, or None"):
        LIF(v_reset=float("nan"))
    with pytest.raises(TypeError, match="surrogate_function must be callable"):
        LIF(surrogate_function=4.0)


def test_non_floating_input():
    with pytest.raises(TypeError, match="floating-point tensor; got torch.int64"):
        LIF()(torch.ones(3, 2, dtype=torch.long))


def test_wrong_rank_for_the_step_mode():
    with pytest.raises(ValueError, match=r"expects \[T, N, ...\].*got shape \[5\]"):
        LIF()(torch.rand(5))
    with pytest.raises(ValueError, match="one step"):
        LIF(step_mode="s")(torch.tensor(1.0))


def test_state_shape_mismatch_names_both_shapes():
    node = LIF()
    node(torch.rand(3, 4, 5))
    with pytest.raises(ValueError, match=r"state v has shape \[4, 5\] but this input needs \[2, 5\]; call reset"):
        node(torch.rand(3, 2, 5))


def test_forcing_a_backend_that_cannot_run_says_why():
    x = torch.rand(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="backend 'cpu' supports float32; got torch.float64"):
        LIF(backend="cpu")(x)
    with pytest.raises(ValueError, match="surrogates of snnlib.surrogate"):
        LIF(backend="cpu", surrogate_function=lambda z: (z >= 0).float())(x.float())


def test_triton_on_cpu_needs_the_interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    reason = kernels.why_not("triton", torch.rand(2, 3), surrogate.Sigmoid())
    assert reason is not None
    assert "CUDA tensor" in reason or "triton package" in reason


def test_lif_multi_step_checks_v_init_shape():
    with pytest.raises(ValueError, match=r"v_init must have shape \[4\]"):
        kernels.lif_multi_step(torch.rand(3, 4), torch.zeros(5))


# --- the CPU kernel's pieces -----------------------------------------------------------

def test_vectorised_exp_is_within_two_ulp():
    import numba
    import numpy as np

    @numba.njit
    def exp_all(z, out):
        for i in range(z.shape[0]):
            out[i] = cpu_kernels._exp(z[i])

    z = np.linspace(-87, 88, 200_001, dtype=np.float32)
    out = np.empty_like(z)
    exp_all(z, out)
    want = np.exp(z.astype(np.float64))
    ulp = np.spacing(want.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(out - want) / ulp) <= 2.0


@pytest.mark.parametrize("v_reset", RESETS)
@pytest.mark.parametrize("name", SURROGATES)
def test_fused_cpu_v_seq_and_v_init_gradient_match_the_reference(name, v_reset):
    gen = torch.Generator().manual_seed(SURROGATES.index(name))
    x = torch.rand(6, 3, 11, generator=gen) * 2.5 - 0.5
    v0 = torch.rand(3, 11, generator=gen) * 0.5
    w = [torch.randn(x.shape, generator=gen), torch.randn(v0.shape, generator=gen), torch.randn(x.shape, generator=gen)]
    out = []
    for backend in ("cpu", "reference"):
        xi, vi = x.clone().requires_grad_(), v0.clone().requires_grad_()
        s, v, vs = kernels.lif_multi_step(xi, vi, tau=3.0, v_reset=v_reset, surrogate=getattr(surrogate, name)(),
                                          store_v_seq=True, backend=backend)
        ((s * w[0]).sum() + (v * w[1]).sum() + (vs * w[2]).sum()).backward()
        out.append((s, v, vs, xi.grad, vi.grad))
    (s, v, vs, gx, gv), (s_r, v_r, vs_r, gx_r, gv_r) = out
    assert torch.equal(s, s_r) and torch.equal(v, v_r) and torch.equal(vs, vs_r)
    assert_grad_close(gx, gx_r, "input gradient")
    assert_grad_close(gv, gv_r, "v_init gradient")


def fused_and_reference(x, **kw):
    """Spikes, final v and input gradient from the CPU kernel and from the reference."""
    out = []
    for backend in ("cpu", "reference"):
        xi = x.clone().requires_grad_()
        s, v, _ = kernels.lif_multi_step(xi, 0.0, backend=backend, **kw)
        (s.sum() + v.sum()).backward()
        out.append((s.detach(), v.detach(), xi.grad))
    return out


def test_without_storage_use_count_outputs_are_fresh(monkeypatch):
    # torch._C._storage_Use_Count is private; without it the pool hands out fresh buffers
    monkeypatch.delattr(torch._C, "_storage_Use_Count")
    fresh = []
    real_fresh = cpu_kernels._fresh
    monkeypatch.setattr(cpu_kernels, "_fresh", lambda shape: fresh.append(shape) or real_fresh(shape))
    x = torch.rand(4, 1 << 17) * 2  # outputs of 2 MiB: above the pool's 1 MiB minimum
    for _ in range(2):
        (s, v, gx), (s_r, v_r, gx_r) = fused_and_reference(x)
        assert torch.equal(s, s_r) and torch.equal(v, v_r)
        assert_grad_close(gx, gx_r, "input gradient")
    assert len(fresh) == 4  # s and gx, twice: nothing reused ([N] outputs are below the minimum)


def test_without_madvise_allocations_are_plain(monkeypatch):
    monkeypatch.setattr(cpu_kernels, "_madvise", None)
    monkeypatch.setattr(cpu_kernels, "_OUTPUTS", cpu_kernels._OutputPool())  # so buffers are allocated now
    x = torch.rand(4, 1 << 19) * 2  # outputs of 8 MiB: large enough to be advised
    (s, v, gx), (s_r, v_r, gx_r) = fused_and_reference(x, surrogate=surrogate.ATan())
    assert torch.equal(s, s_r) and torch.equal(v, v_r)
    assert_grad_close(gx, gx_r, "input gradient")


def test_huge_page_advice_covers_whole_pages_inside_the_buffer(monkeypatch):
    calls = []
    monkeypatch.setattr(cpu_kernels, "_madvise", lambda start, length, advice: calls.append((start, length, advice)))
    buf = cpu_kernels._fresh((4, 1 << 19))
    (start, length, advice), = calls
    huge = cpu_kernels._HUGE
    assert advice == cpu_kernels._MADV_HUGEPAGE and start % huge == 0 and length % huge == 0 and length > 0
    assert buf.data_ptr() <= start and start + length <= buf.data_ptr() + buf.numel() * 4
    calls.clear()
    cpu_kernels._fresh((4, 1 << 10))
    assert calls == []  # small buffers are left alone


# --- the kernel contract -------------------------------------------------------------------

def test_every_builtin_surrogate_has_one_kernel_entry():
    assert set(KERNEL_INDEX) == set(surrogate.BUILTINS)
    assert [KERNEL_INDEX[e.cls] for e in SURROGATE_KERNELS] == list(range(len(SURROGATE_KERNELS)))
    assert len(cpu_kernels._SURROGATE_GRADS) == len(SURROGATE_KERNELS)
    base = surrogate.SurrogateFunction
    builtins = {c for c in vars(surrogate).values() if isinstance(c, type) and issubclass(c, base) and c is not base}
    assert builtins == set(surrogate.BUILTINS)  # a new surrogate class must be listed (and given a kernel entry)


def test_the_surrogate_module_knows_nothing_of_kernels():
    assert not hasattr(surrogate.SurrogateFunction, "kernel_id")
    assert not hasattr(surrogate.SurrogateFunction, "kernel_constants")


def test_kernel_constants_are_what_derivative_uses():
    # ATan: c1 = pi/2*alpha scales x, c2 = alpha/2 is the peak
    p = LIFParams(surrogate=surrogate.ATan(alpha=3.0))
    c1, c2 = p.constants
    assert SURROGATE_KERNELS[p.kernel].cls is surrogate.ATan
    assert c1 == math.pi / 2 * 3.0 and c2 == 1.5
    assert surrogate.ATan(alpha=3.0).derivative(torch.tensor(0.0)).item() == pytest.approx(c2)
    assert LIFParams(surrogate=surrogate.Sigmoid(alpha=3.0)).constants == (3.0, 0.0)


def test_lif_params_are_checked_and_converted_once():
    p = LIFParams(3, 0, 1, None, None, 1, 0)
    assert (p.tau, p.decay_input, p.v_threshold, p.v_reset, p.detach_reset, p.store_v_seq) == (3.0, False, 1.0, None,
                                                                                                True, False)
    assert type(p.tau) is float and isinstance(p.surrogate, surrogate.Sigmoid) and p.kernel == 0
    assert p.soft and p.v_rest == 0.0
    hard = LIFParams(v_reset=-0.2)
    assert not hard.soft and hard.v_rest == -0.2
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.tau = 4.0
    with pytest.raises(ValueError, match="tau must be a finite number > 1"):
        LIFParams(tau=1.0)
    assert LIFParams(surrogate=lambda z: z).kernel is None


class Flat(surrogate.Sigmoid):
    def derivative(self, x):
        return torch.ones_like(x)


@pytest.mark.parametrize("backend", ["cpu", "triton"])
@pytest.mark.parametrize("unknown", [Flat(), lambda z: (z >= 0).float(), surrogate.Sigmoid(spiking=False)],
                         ids=["subclass", "callable", "not spiking"])
def test_fused_backends_reject_other_surrogates(backend, unknown):
    x = torch.rand(5, 40) * 2
    assert kernels.select_backend("auto", x, unknown) == "reference"
    assert LIFParams(surrogate=unknown).kernel is None
    expected = "need a spiking surrogate" if getattr(unknown, "spiking", True) is False else \
        "not subclasses or other callables"
    with pytest.raises(ValueError, match=expected):
        kernels.lif_multi_step(x, 0.0, surrogate=unknown, backend=backend)


def test_the_cpu_backend_called_directly_rejects_other_surrogates():
    with pytest.raises(ValueError, match="not subclasses or other callables; got Flat"):
        cpu_kernels.lif_multi_step(torch.rand(3, 4), 0.0, LIFParams(surrogate=Flat()))


def test_warm_up_runs():
    cpu_kernels.warm_up()


def test_reference_is_the_documented_recursion():
    # one neuron, hand computed: tau=2, decay_input, hard reset to 0, threshold 1
    x = torch.tensor([[1.5], [1.5], [0.2], [2.0]])
    s, v, v_seq = reference.lif_multi_step(x, torch.zeros(1), LIFParams(2.0, True, 1.0, 0.0, store_v_seq=True))
    # h: 0.75 -> no spike; 0.75 + (1.5-0.75)/2 = 1.125 -> spike, v=0; 0.1; 0.1 + (2-0.1)/2 = 1.05 -> spike
    assert s.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]
    torch.testing.assert_close(v_seq.flatten(), torch.tensor([0.75, 0.0, 0.1, 0.0]))


# --- PLIF ----------------------------------------------------------------------------------

@needs_sj
@pytest.mark.parametrize("v_reset", RESETS)
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_plif_matches_spikingjelly(v_reset, decay_input, detach_reset):
    from snnlib.neuron import PLIF

    gen = torch.Generator().manual_seed(3)
    x = torch.rand(7, 4, 9, generator=gen) * 2.5 - 0.5
    weights = [torch.randn(7, 4, 9, generator=gen), torch.randn(7, 4, 9, generator=gen), torch.randn(4, 9, generator=gen)]
    kw = dict(init_tau=3.0, decay_input=decay_input, v_reset=v_reset, detach_reset=detach_reset)
    ours = PLIF(surrogate_function=surrogate.ATan(), **kw)
    theirs = neuron.ParametricLIFNode(surrogate_function=sj_surrogate.ATan(), step_mode="m", **kw)
    assert ours.w.item() == theirs.w.item() and ours.tau == pytest.approx(3.0)
    s_a, v_a, g_a = run(ours, x, weights)
    s_b, v_b, g_b = run(theirs, x, weights)
    assert torch.equal(s_a, s_b)
    assert_grad_close(v_a, v_b, "v")
    assert_grad_close(g_a, g_b, "input gradient")
    assert_grad_close(ours.w.grad, theirs.w.grad, "w gradient")


def test_plif_learns_tau():
    from snnlib.neuron import PLIF

    node = PLIF(init_tau=2.0)
    assert [name for name, _ in node.named_parameters()] == ["w"]
    (node(torch.rand(5, 8) * 2) * torch.randn(5, 8)).sum().backward()
    assert node.w.grad is not None and node.w.grad.item() != 0.0
    with pytest.raises(ValueError, match="tau must be a finite number > 1"):
        PLIF(init_tau=1.0)


# --- regressions found in review -----------------------------------------------------------

def test_constructor_is_positionally_compatible_with_lifnode():
    node = LIF(3.0, False, 0.8, None, surrogate.ATan(), True, "s", True)
    assert (node.tau, node.decay_input, node.v_threshold, node.v_reset, node.detach_reset,
            node.step_mode, node.store_v_seq) == (3.0, False, 0.8, None, True, "s", True)


def test_large_outputs_can_be_changed_in_place():
    x = (torch.rand(4, 300_000) * 2).requires_grad_()
    s = LIF(backend="cpu")(x)
    s.mul_(0.5)  # a pooled output is a plain tensor, not a view
    s.sum().backward()
    x_ref = x.detach().clone().requires_grad_()
    (LIF(backend="reference")(x_ref) * 0.5).sum().backward()
    assert_grad_close(x.grad, x_ref.grad, "gradient after an in-place change")


def test_pooled_buffers_are_not_shared_between_threads():
    from concurrent.futures import ThreadPoolExecutor

    inputs = [torch.rand(4, 1 << 17, generator=torch.Generator().manual_seed(i)) * 2 for i in range(8)]
    expected = [LIF(backend="reference")(x) for x in inputs]

    def work(i):
        results = []
        for _ in range(5):
            results.append(torch.equal(LIF(backend="cpu")(inputs[i]), expected[i]))
        return all(results)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(8)))


def test_a_pooled_buffer_is_reused_only_when_released():
    x = torch.rand(4, 1 << 17)
    with torch.no_grad():
        first = LIF(backend="cpu")(x)
        kept = first[1:]  # only a slice survives
        del first
        second = LIF(backend="cpu")(x * 0.5)
    assert kept.untyped_storage().data_ptr() != second.untyped_storage().data_ptr()
    assert torch.equal(kept, LIF(backend="reference")(x)[1:])


def test_subclassed_surrogates_run_on_the_reference_loop():
    x = torch.rand(5, 40) * 2
    assert kernels.select_backend("auto", x, Flat()) == "reference"
    with pytest.raises(ValueError, match="not subclasses"):
        kernels.select_backend("cpu", x, Flat())


def test_second_derivatives_through_the_fused_kernel_raise():
    x = (torch.rand(3, 20) * 2).requires_grad_()
    s = LIF(backend="cpu", surrogate_function=surrogate.ATan())(x)
    (g,) = torch.autograd.grad(s.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        g.sum().backward()


def test_empty_time_axis_is_a_clear_error():
    with pytest.raises(ValueError, match=r"T >= 1\); got shape \[0, 4\]"):
        LIF()(torch.rand(0, 4))
