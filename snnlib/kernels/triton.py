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

import math
import os

import torch
import triton
import triton.language as tl

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
BLOCK = 512
INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"


@triton.jit
def _surrogate_grad(z, KIND: tl.constexpr, a, c1, c2):
    # snnlib.surrogate.*.derivative, same formulas; constants pre-computed in Python.
    if KIND == 0:
        s = tl.sigmoid(a * z)
        g = (1.0 - s) * s * a
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
                 tau, vth, vr, leak_to,
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
            h = v + tl.div_rn(x - (v - leak_to), tau)
        else:
            h = v - tl.div_rn(v - leak_to, tau) + x
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
                  tau, vth, vr, a, c1, c2,
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
        sg = _surrogate_grad(z, KIND, a, c1, c2)
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


def _launch_options() -> dict:
    # The interpreter has no compiler options; on a GPU keep a*b+c unfused like the reference.
    return {} if INTERPRET else {"enable_fp_fusion": False}


class LIFFunction(torch.autograd.Function):
    """Fused multi-step LIF on ``[T, N]`` tensors; ``v`` state in fp32, spikes in the input dtype."""

    @staticmethod
    def forward(ctx, x, v0, tau, decay_input, v_threshold, v_reset, kind, alpha, c1, c2, detach_reset, store_v_seq):
        T, n = x.shape
        training = any(ctx.needs_input_grad[:2])
        s = torch.empty_like(x)
        h = torch.empty(x.shape, dtype=torch.float32, device=x.device) if training else s
        vseq = torch.empty(x.shape, dtype=torch.float32, device=x.device) if store_v_seq else s
        vT = torch.empty_like(v0)
        soft = v_reset is None
        vr = 0.0 if soft else float(v_reset)
        grid = (triton.cdiv(n, BLOCK),)
        _lif_forward[grid](x, v0, s, h, vseq, vT, n, T, tau, v_threshold, vr, vr,
                           SOFT=soft, DECAY=decay_input, SAVE_H=training, STORE_V=store_v_seq,
                           BLOCK=BLOCK, **_launch_options())
        if training:
            ctx.save_for_backward(h)
        ctx.params = (tau, decay_input, v_threshold, v_reset, kind, alpha, c1, c2, detach_reset, x.dtype)
        ctx.set_materialize_grads(False)
        return s, vT, (vseq if store_v_seq else None)

    @staticmethod
    @torch.autograd.function.once_differentiable  # second derivatives: use backend='reference'
    def backward(ctx, gs, gvT, gvseq):
        (h,) = ctx.saved_tensors
        tau, decay_input, v_threshold, v_reset, kind, alpha, c1, c2, detach_reset, x_dtype = ctx.params
        T, n = h.shape
        gx = torch.empty(h.shape, dtype=x_dtype, device=h.device)
        gv0 = torch.empty(n, dtype=torch.float32, device=h.device)
        soft = v_reset is None
        grid = (triton.cdiv(n, BLOCK),)
        _lif_backward[grid](
            gs.contiguous() if gs is not None else h,
            gvseq.contiguous() if gvseq is not None else h,
            gvT.contiguous() if gvT is not None else gv0,
            h, gx, gv0, n, T, tau, v_threshold, 0.0 if soft else float(v_reset), alpha, c1, c2,
            SOFT=soft, DECAY=decay_input, DETACH=detach_reset, KIND=kind,
            HAS_GS=gs is not None, HAS_GVSEQ=gvseq is not None, HAS_GVT=gvT is not None,
            BLOCK=BLOCK, **_launch_options(),
        )
        return gx, gv0, None, None, None, None, None, None, None, None, None, None


def lif_multi_step(x_seq, v_init, tau, decay_input, v_threshold, v_reset, surrogate, detach_reset, store_v_seq=False):
    """Same contract as :func:`snnlib.kernels.reference.lif_multi_step` (``[T, N, ...]``, time first)."""
    shape = x_seq.shape
    x = x_seq.reshape(shape[0], -1).contiguous()
    v0 = v_init.reshape(-1).to(torch.float32).contiguous()
    s, vT, vseq = LIFFunction.apply(
        x, v0, float(tau), bool(decay_input), float(v_threshold),
        None if v_reset is None else float(v_reset), surrogate.kernel_id, surrogate.alpha,
        *surrogate.kernel_constants(),
        bool(detach_reset), bool(store_v_seq),
    )
    return s.view(shape), vT.view(shape[1:]), (vseq.view(shape) if store_v_seq else None)
