"""The Triton kernels against the reference loop.

Without a GPU they run under Triton's interpreter (conftest.py sets TRITON_INTERPRET=1 before
anything imports them); shapes stay small because the interpreter is slow. With a GPU the
same tests run the compiled kernels on CUDA tensors, and the CUDA-only tests run too.
"""
import itertools
import os

import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (dev extra)")

from snnlib import kernels, surrogate  # noqa: E402
from snnlib.kernels import reference  # noqa: E402
from snnlib.kernels.contract import LIFParams  # noqa: E402

CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"
pytestmark = pytest.mark.skipif(
    not CUDA and os.environ.get("TRITON_INTERPRET") != "1",
    reason="no GPU and TRITON_INTERPRET is not 1",
)
SURROGATES = [surrogate.Sigmoid(), surrogate.ATan(), surrogate.PiecewiseQuadratic(), surrogate.PiecewiseExp(),
              surrogate.SoftSign(), surrogate.SuperSpike(), surrogate.Erf()]


def both(x, v0, **kw):
    """Spikes, final v, v_seq and the gradients of a random loss, from triton and the reference."""
    out = []
    gen = torch.Generator().manual_seed(1)
    w = [torch.randn(x.shape, generator=gen).to(DEVICE), torch.randn(x.shape[1:], generator=gen).to(DEVICE),
         torch.randn(x.shape, generator=gen).to(DEVICE)]
    for backend in ("triton", "reference"):
        xi, vi = x.clone().requires_grad_(), v0.clone().requires_grad_()
        s, v, vs = kernels.lif_multi_step(xi, vi, store_v_seq=True, backend=backend, **kw)
        ((s.float() * w[0]).sum() + (v * w[1]).sum() + (vs * w[2]).sum()).backward()
        out.append((s, v, vs, xi.grad, vi.grad))
    return out


def rel_err(a, b):
    return ((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-30)).item()


@pytest.mark.parametrize("sg", SURROGATES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("v_reset", [0.0, -0.2, None])
def test_fp32_matches_the_reference(sg, v_reset):
    for T, decay_input, detach_reset in itertools.product([1, 7], [True, False], [False, True]):
        gen = torch.Generator().manual_seed(T)
        x = (torch.rand(T, 3, 45, generator=gen) * 2.5 - 0.5).to(DEVICE)
        v0 = (torch.rand(3, 45, generator=gen) * 0.5).to(DEVICE)
        (s, v, vs, gx, gv), (s_r, v_r, vs_r, gx_r, gv_r) = both(
            x, v0, tau=3.0, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset,
            surrogate=sg, detach_reset=detach_reset)
        case = f"T={T} decay={decay_input} detach={detach_reset}"
        assert torch.equal(s, s_r), case
        assert torch.equal(v, v_r) and torch.equal(vs, vs_r), case
        assert rel_err(gx, gx_r) <= 1e-6, case
        assert rel_err(gv, gv_r) <= 1e-6, case


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_matches_the_reference(dtype):
    # The reference promotes fp16/bf16 inputs to the fp32 state, as the kernels do.
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(6, 130, generator=gen) * 2).to(dtype).to(DEVICE)
    v0 = torch.zeros(130, device=DEVICE)
    (s, v, vs, gx, gv), (s_r, v_r, vs_r, gx_r, gv_r) = both(x, v0, tau=2.0, surrogate=surrogate.ATan())
    assert s.dtype == dtype and torch.equal(s, s_r.to(dtype))
    assert torch.equal(v, v_r)
    assert gx.dtype == dtype
    # within one unit in the last place of the output dtype
    torch.testing.assert_close(gx, gx_r.to(dtype), rtol=torch.finfo(dtype).eps, atol=torch.finfo(dtype).eps)


def test_inference_writes_the_same_spikes():
    x = (torch.rand(5, 300) * 2).to(DEVICE)
    with torch.no_grad():
        s, v, _ = kernels.lif_multi_step(x, torch.zeros(300, device=DEVICE), backend="triton")
    s_r, v_r, _ = reference.lif_multi_step(x, torch.zeros(300, device=DEVICE), LIFParams())
    assert torch.equal(s, s_r) and torch.equal(v, v_r)


def strided_case(layout, T, n):
    """A leaf tensor and a non-contiguous ``[T, n]`` view of it (``n`` larger than one block)."""
    gen = torch.Generator().manual_seed(n)
    if layout == "transposed":  # time is the fast axis
        base = torch.rand(n, T, generator=gen) * 2.5 - 0.5
        return base.to(DEVICE), lambda b: b.t()
    if layout == "every other neuron":
        base = torch.rand(T, 2 * n, generator=gen) * 2.5 - 0.5
        return base.to(DEVICE), lambda b: b[:, ::2]
    base = torch.rand(T, 10, n // 10, generator=gen) * 2.5 - 0.5  # [T, 10, n/10], the last two axes swapped
    return base.to(DEVICE), lambda b: b.transpose(1, 2)


@pytest.mark.parametrize("n", [700, 1500])  # BLOCK is 512: two and three programs, the last one partial
@pytest.mark.parametrize("layout", ["transposed", "every other neuron", "swapped axes"])
def test_several_blocks_and_strided_inputs_match_the_reference(n, layout):
    from snnlib.kernels import triton as triton_kernels

    assert n > triton_kernels.BLOCK
    T = 5
    base, view = strided_case(layout, T, n)
    v_base = (torch.rand(2 * n, generator=torch.Generator().manual_seed(7)) * 0.5).to(DEVICE)
    v_view = lambda b: b[1::2].reshape(view(base).shape[1:])  # noqa: E731  a strided initial state
    x_shape = view(base).shape
    gen = torch.Generator().manual_seed(2)
    w = [torch.randn(x_shape, generator=gen).to(DEVICE), torch.randn(x_shape[1:], generator=gen).to(DEVICE),
         torch.randn(x_shape, generator=gen).to(DEVICE)]
    out = []
    for backend, sg, v_reset in itertools.product(("triton", "reference"), [surrogate.Sigmoid(), surrogate.ATan()],
                                                  [0.0, None]):
        xb, vb = base.clone().requires_grad_(), v_base.clone().requires_grad_()
        x, v0 = view(xb), v_view(vb)
        assert not x.is_contiguous()
        s, v, vs = kernels.lif_multi_step(x, v0, tau=3.0, v_reset=v_reset, surrogate=sg, store_v_seq=True,
                                          backend=backend)
        ((s * w[0]).sum() + (v * w[1]).sum() + (vs * w[2]).sum()).backward()
        out.append((s, v, vs, xb.grad, vb.grad))
    half = len(out) // 2
    for (s, v, vs, gx, gv), (s_r, v_r, vs_r, gx_r, gv_r) in zip(out[:half], out[half:]):
        assert s.shape == x_shape and vs.shape == x_shape and v.shape == x_shape[1:]
        assert torch.equal(s, s_r) and torch.equal(v, v_r) and torch.equal(vs, vs_r)
        assert rel_err(gx, gx_r) <= 1e-6 and rel_err(gv, gv_r) <= 1e-6


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_auto_picks_triton_on_cuda():
    x = torch.rand(4, 8, device="cuda")
    assert kernels.select_backend("auto", x, surrogate.Sigmoid()) == "triton"


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_large_cuda_tensor_matches_the_reference():
    x = torch.rand(16, 1 << 16, device="cuda") * 2
    (s, v, vs, gx, gv), (s_r, v_r, vs_r, gx_r, gv_r) = both(x, torch.zeros(1 << 16, device="cuda"))
    assert torch.equal(s, s_r) and rel_err(gx, gx_r) <= 1e-6
