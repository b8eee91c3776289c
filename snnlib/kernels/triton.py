"""Fused LIF in Triton for CUDA: one kernel forward, one kernel backward (chapter 1, *LIF neurons*).

One program owns ``BLOCK`` neurons and walks through the ``T`` time steps with the
potential in registers, so every element is read and written exactly once per pass; no
zero-fills, no ``cat``, no extra copies. Compute is fp32 for fp32/fp16/bf16 inputs, with
``div_rn`` and FMA contraction disabled so results match the reference loop.

Saved state, chosen on purpose: the charged potential ``h`` in fp32. Traffic per element
(``b`` = bytes of the input dtype):

==========================  =====================  ==========  ==========
pass                        reads / writes         fp32        fp16/bf16
==========================  =====================  ==========  ==========
inference forward           x → s                  8 B         4 B
training forward            x → s, h (fp32)        12 B        8 B
training backward           gS, h → gX             12 B        8 B
training total                                     24 B        16 B
==========================  =====================  ==========  ==========

Recomputing ``h`` from ``x`` in the backward (as the CPU path does) would save 4 B/elem in
fp32 and 6 B/elem in fp16, but needs the whole ``[T]`` history per neuron in registers;
that variant is left for when it can be measured on a GPU.

Tests run these kernels on the CPU with ``TRITON_INTERPRET=1`` (set before this module is
imported) against :mod:`snnlib.kernels.reference`.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .contract import LIFParams, run_flat

BLOCK = 512


@triton.jit
def _surrogate_grad(z, KIND: tl.constexpr, c1, c2):
    # The formulas of contract.SURROGATE_KERNELS, KIND being the index there.
    if KIND == 0:
        s = tl.sigmoid(c1 * z)
        g = (1.0 - s) * s * c1
    elif KIND == 1:
        w = z * c1
        g = c2 / (1.0 + w * w)
    elif KIND == 2:
        g = tl.maximum(c2 - c1 * tl.abs(z), 0.0)
    elif KIND == 3:
        g = c1 * tl.exp(c2 * tl.abs(z))
    elif KIND == 4:
        w = c1 + tl.abs(z)
        g = 1.0 / (c2 * w * w)
    elif KIND == 5:
        w = 1.0 + tl.abs(z)
        g = c1 / (w * w)
    else:
        w = c2 * z
        g = c1 * tl.exp(-(w * w))
    return g


@triton.jit
def _lif_forward(x_ptr, v0_ptr, s_ptr, h_ptr, vseq_ptr, vT_ptr, N, T,
                 tau, vth, vr,
                 SOFT: tl.constexpr, DECAY: tl.constexpr, SAVE_H: tl.constexpr, STORE_V: tl.constexpr,
                 BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    stride = tl.zeros_like(offs) + N  # int64, so t * N cannot overflow when T*N > 2^31
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        idx = offs + t * stride
        x = tl.load(x_ptr + idx, mask=mask, other=0.0).to(tl.float32)
        if DECAY:
            h = v + tl.div_rn(x - (v - vr), tau)
        else:
            h = v - tl.div_rn(v - vr, tau) + x
        fired = (h - vth) >= 0.0
        # via a float select: Triton 3.9's interpreter mis-converts bool -> bf16
        tl.store(s_ptr + idx, tl.where(fired, 1.0, 0.0).to(s_ptr.dtype.element_ty), mask=mask)
        if SAVE_H:
            tl.store(h_ptr + idx, h, mask=mask)
        if SOFT:
            v = tl.where(fired, h - vth, h)
        else:
            v = tl.where(fired, vr, h)
        if STORE_V:
            tl.store(vseq_ptr + idx, v, mask=mask)
    tl.store(vT_ptr + offs, v, mask=mask)


@triton.jit
def _lif_backward(gs_ptr, gvseq_ptr, gvT_ptr, h_ptr, gx_ptr, gv0_ptr, N, T,
                  tau, vth, vr, c1, c2,
                  SOFT: tl.constexpr, DECAY: tl.constexpr, DETACH: tl.constexpr, KIND: tl.constexpr,
                  HAS_GS: tl.constexpr, HAS_GVSEQ: tl.constexpr, HAS_GVT: tl.constexpr,
                  BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    stride = tl.zeros_like(offs) + N  # int64, as in the forward
    if HAS_GVT:
        carry = tl.load(gvT_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        carry = tl.zeros([BLOCK], dtype=tl.float32)
    for k in range(T):
        t = T - 1 - k
        idx = offs + t * stride
        gv = carry
        if HAS_GVSEQ:
            gv = gv + tl.load(gvseq_ptr + idx, mask=mask, other=0.0).to(tl.float32)
        h = tl.load(h_ptr + idx, mask=mask, other=0.0)
        z = h - vth
        sg = _surrogate_grad(z, KIND, c1, c2)
        if HAS_GS:
            g_spike = tl.load(gs_ptr + idx, mask=mask, other=0.0).to(tl.float32)
        else:
            g_spike = tl.zeros([BLOCK], dtype=tl.float32)
        # the gradient reaching h: through the spike (surrogate) and through the reset
        if SOFT:
            if not DETACH:
                g_spike = g_spike - gv * vth
            gh = g_spike * sg + gv
        else:
            if not DETACH:
                g_spike = g_spike + gv * (vr - h)
            gh = g_spike * sg + tl.where(z < 0.0, gv, gv * 0.0)
        q = tl.div_rn(gh, tau)
        if DECAY:
            tl.store(gx_ptr + idx, q.to(gx_ptr.dtype.element_ty), mask=mask)
        else:
            tl.store(gx_ptr + idx, gh.to(gx_ptr.dtype.element_ty), mask=mask)
        carry = gh - q  # dH[t]/dV[t-1] = 1 - 1/tau for both charge equations
    tl.store(gv0_ptr + offs, carry, mask=mask)


# On a GPU a*b+c stays unfused, as in the reference (the interpreter ignores the option).
_OPTIONS = {"enable_fp_fusion": False}


class LIFFunction(torch.autograd.Function):
    """Fused multi-step LIF on ``[T, N]`` tensors; ``v`` state in fp32, spikes in the input dtype."""

    @staticmethod
    def forward(ctx, x, v0, params: LIFParams):
        T, n = x.shape
        training = any(ctx.needs_input_grad[:2])
        s = torch.empty_like(x)
        h = torch.empty(x.shape, dtype=torch.float32, device=x.device) if training else s
        vseq = torch.empty(x.shape, dtype=torch.float32, device=x.device) if params.store_v_seq else s
        vT = torch.empty_like(v0)
        _lif_forward[(triton.cdiv(n, BLOCK),)](
            x, v0, s, h, vseq, vT, n, T, params.tau, params.v_threshold, params.v_rest,
            SOFT=params.soft, DECAY=params.decay_input, SAVE_H=training, STORE_V=params.store_v_seq,
            BLOCK=BLOCK, **_OPTIONS)
        if training:
            ctx.save_for_backward(h)
        ctx.params, ctx.x_dtype = params, x.dtype
        ctx.set_materialize_grads(False)
        return s, vT, (vseq if params.store_v_seq else None)

    @staticmethod
    @torch.autograd.function.once_differentiable  # second derivatives: use backend='reference'
    def backward(ctx, gs, gvT, gvseq):
        (h,) = ctx.saved_tensors
        p = ctx.params
        T, n = h.shape
        gx = torch.empty(h.shape, dtype=ctx.x_dtype, device=h.device)
        gv0 = torch.empty(n, dtype=torch.float32, device=h.device)
        _lif_backward[(triton.cdiv(n, BLOCK),)](
            gs.contiguous() if gs is not None else h,
            gvseq.contiguous() if gvseq is not None else h,
            gvT.contiguous() if gvT is not None else gv0,
            h, gx, gv0, n, T, p.tau, p.v_threshold, p.v_rest, *p.constants,
            SOFT=p.soft, DECAY=p.decay_input, DETACH=p.detach_reset, KIND=p.kernel,
            HAS_GS=gs is not None, HAS_GVSEQ=gvseq is not None, HAS_GVT=gvT is not None,
            BLOCK=BLOCK, **_OPTIONS,
        )
        return gx, gv0, None


def lif_multi_step(x_seq: torch.Tensor, v_init: torch.Tensor, params: LIFParams):
    """:func:`snnlib.kernels.reference.lif_multi_step`'s contract for CUDA tensors in fp32/fp16/bf16."""
    return run_flat(LIFFunction.apply, x_seq, v_init, params)
