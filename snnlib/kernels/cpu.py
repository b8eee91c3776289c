"""Fused LIF on the CPU: one pass forward, one pass backward (chapter 1, *LIF neurons*).

The reference loop makes ~20 passes over memory per time step through autograd. Here each
pass is one Numba-compiled loop nest: neurons are split into contiguous blocks, a block
keeps its potentials in a small buffer while it walks through time, and blocks run on all
cores (on torch's own OpenMP threads, see ``_kernel``). Traffic per element (fp32):

* forward reads ``x`` and writes ``s``: 8 B (the same with or without grad);
* backward recomputes ``h`` from ``x`` block by block into a cache-resident buffer instead
  of saving it, then reads ``gS`` and writes ``gX``: 12 B — 20 B in all, against 24 B for
  the save-``h`` design, and no extra ``[T, N]`` tensor kept alive between the passes.

The forward arithmetic is the reference's, in float32 with the same operation order and no
fast-math, so spikes and potentials are bit-identical. The backward evaluates autograd's
expressions through the reference graph but lets the compiler fuse multiply-adds and
hoist 1/tau (10-15 % faster), so gradients agree with autograd's to rounding: within
2.1e-7 of the gradient's scale for T=16, N=200,000 (measured), 1e-6 in the tests.
Supported: float32 inputs and the surrogates of :data:`.contract.SURROGATE_KERNELS` (other
dtypes and surrogates use the reference).

How the code is shaped for speed (each measured on the 2-core development machine):

* Every innermost loop is a *row function* (``_step_row``, ``_grad_row``) that receives its
  rows as arguments and contains nothing but arithmetic, so LLVM vectorises it (AVX-512
  here). The same loops written inline in the block loop stayed scalar — LLVM met calls
  (reference counting, ``min``/``max``) it had not inlined yet — and ran 2-7x slower.
* The surrogate derivative is computed inside the gradient loop, one pass per time step;
  a separate pass through a scratch row cost 20 %.
* Each surrogate gets its own compiled kernel (``_kernel``), made on first use:
  a fresh installation compiles only what it runs (the default LIF: a few seconds), and
  every compiled variant is cached on disk.
"""
from __future__ import annotations

import ctypes
import functools
import math
import os
import threading

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import types
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

from .contract import SURROGATE_KERNELS, LIFParams, run_flat

FORWARD_BLOCK = 16384  # neurons per forward block: 64 KiB of potentials, long contiguous rows
BACKWARD_CACHE = 512 * 1024  # bytes of the backward's [T, block] buffer of h (half an L2 of 1 MiB)

_F = np.float32
_ZERO, _HALF, _ONE = _F(0.0), _F(0.5), _F(1.0)


# --- exp, vectorisable ---------------------------------------------------------------
# libm's expf is a call LLVM cannot vectorise (Numba's SVML is optional), and the default
# Sigmoid surrogate needs one exp per element in the backward pass. Cephes' expf (Cody-Waite
# range reduction, degree-6 polynomial, exponent built in the bits) is plain arithmetic
# that vectorises; it is within 2 ulp of libm in float32 (tested).
_EXP_LO, _EXP_HI = _F(-87.33654), _F(88.72283)
_LOG2E, _LN2_HI, _LN2_LO = _F(1.44269504088896341), _F(0.693359375), _F(-2.12194440e-4)
_P0, _P1, _P2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_P3, _P4, _P5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)


@intrinsic
def _as_float32(typingctx, bits):
    """The float32 whose bit pattern is the int32 ``bits`` (a scalar bitcast, which vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(inline="always", error_model="numpy")
def _exp(x):
    """exp(x) for a float32 ``x``."""
    x = _EXP_LO if x < _EXP_LO else (_EXP_HI if x > _EXP_HI else x)
    k = np.floor(x * _LOG2E + _HALF)
    r = x - k * _LN2_HI - k * _LN2_LO
    rr = r * r
    y = (((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5) * rr + r + _ONE
    return y * _as_float32((np.int32(k) + np.int32(127)) << np.int32(23))


# The surrogate derivatives at z = h - v_threshold, the formulas of contract.SURROGATE_KERNELS
# in its order, in snnlib.surrogate's operation order. Every operand is float32 (c1, c2 from
# the table, rounded once), so nothing is promoted to float64 behind the reference's back.

@numba.njit(inline="always", error_model="numpy")
def _sigmoid_grad(z, c1, c2):
    s = _ONE / (_ONE + _exp(-(c1 * z)))
    return (_ONE - s) * s * c1


@numba.njit(inline="always", error_model="numpy")
def _atan_grad(z, c1, c2):
    w = z * c1
    return c2 / (_ONE + w * w)


@numba.njit(inline="always", error_model="numpy")
def _piecewise_quadratic_grad(z, c1, c2):
    return max(c2 - c1 * abs(z), _ZERO)


@numba.njit(inline="always", error_model="numpy")
def _piecewise_exp_grad(z, c1, c2):
    return c1 * _exp(c2 * abs(z))


@numba.njit(inline="always", error_model="numpy")
def _soft_sign_grad(z, c1, c2):
    w = c1 + abs(z)
    return _ONE / (c2 * w * w)


@numba.njit(inline="always", error_model="numpy")
def _super_spike_grad(z, c1, c2):
    w = _ONE + abs(z)
    return c1 / (w * w)


@numba.njit(inline="always", error_model="numpy")
def _erf_grad(z, c1, c2):
    w = c2 * z
    return c1 * _exp(-(w * w))


_SURROGATE_GRADS = (_sigmoid_grad, _atan_grad, _piecewise_quadratic_grad, _piecewise_exp_grad, _soft_sign_grad,
                    _super_spike_grad, _erf_grad)  # indexed by LIFParams.kernel
assert len(_SURROGATE_GRADS) == len(SURROGATE_KERNELS)


def _surrogate_grad(kind, z, c1, c2):
    """g'(z) of surrogate ``kind`` (``LIFParams.kernel``), inside compiled code only."""
    raise NotImplementedError("compiled-code only")


@overload(_surrogate_grad, inline="always")
def _surrogate_grad_for(kind, z, c1, c2):
    # Chosen while Numba types the caller, where ``kind`` is a compile-time constant: each
    # compiled kernel then contains (and spends compile time on) one surrogate only.
    if not isinstance(kind, types.IntegerLiteral):
        raise TypingError(f"_surrogate_grad needs a constant kind; got {kind}")
    grad = _SURROGATE_GRADS[kind.literal_value]
    return lambda kind, z, c1, c2: grad(z, c1, c2)


# --- row functions: one time step for a row of neurons ---------------------------------

@numba.njit(cache=True, error_model="numpy")
def _step_row(v, xt, out, tau, vth, vr, soft, decay, spikes):
    """Charge, fire and reset a row: ``v`` is updated in place; ``out`` gets
    the spikes (``spikes=True``) or the charged potentials ``h`` (for the
    backward's recomputation)."""
    n = v.shape[0]
    if decay:
        for i in range(n):
            h = v[i] + (xt[i] - (v[i] - vr)) / tau
            fired = h - vth >= 0
            out[i] = (_ONE if fired else _ZERO) if spikes else h
            v[i] = ((h - vth) if soft else vr) if fired else h
    else:
        for i in range(n):
            h = v[i] - (v[i] - vr) / tau + xt[i]
            fired = h - vth >= 0
            out[i] = (_ONE if fired else _ZERO) if spikes else h
            v[i] = ((h - vth) if soft else vr) if fired else h


@numba.njit(cache=True, error_model="numpy", fastmath={"contract", "arcp"})
def _grad_row(kind, ht, gst, gxt, carry, tau, vth, vr, c1, c2, soft, detach,
              decay):
    """One step back in time for a row: ``carry`` holds dL/dV[t] on entry and
    dL/dV[t-1] on exit.

    The gradient reaching h, through the spike (surrogate) and through the
    reset, then through the charge equation to x and to the previous
    potential; dH[t]/dV[t-1] = 1 - 1/tau for both charge equations. One loop
    covers the four reset modes with loop-invariant selects (four loops cost a
    second more to compile and ran no faster); floating-point contraction is
    allowed here, so gradients agree with autograd's to rounding, not bit for
    bit.
    """
    for i in range(ht.shape[0]):
        h, gv = ht[i], carry[i]
        z = h - vth
        sg = _surrogate_grad(kind, z, c1, c2)
        # how the reset moves v when the neuron spikes
        dv_ds = -vth if soft else vr - h
        through_reset = _ZERO if detach else gv * dv_ds
        # a hard reset cuts v from h when it fires
        through_v = gv if soft or z < 0 else gv * _ZERO
        gh = (gst[i] + through_reset) * sg + through_v
        q = gh / tau
        gxt[i] = q if decay else gh
        carry[i] = gh - q


@numba.njit(cache=True, error_model="numpy")
def _add_row(acc, other):
    for i in range(acc.shape[0]):
        acc[i] += other[i]


@numba.njit(cache=True)
def _copy_row(dst, src):
    """``dst[:] = src`` for rows, or every element of ``dst`` set to ``src[0]`` if ``src`` has one.
    (An explicit loop: slice assignment costs a second of compilation per use.)"""
    if src.shape[0] == dst.shape[0]:
        for i in range(dst.shape[0]):
            dst[i] = src[i]
    else:
        for i in range(dst.shape[0]):
            dst[i] = src[0]


# --- block loops ------------------------------------------------------------------------

@numba.njit(nogil=True, cache=True, error_model="numpy")
def _forward_range(x, v0, s, vseq, vT, lo, hi, block, tau, vth, vr, soft, decay, store_v, spikes):
    """Neurons ``lo:hi`` of ``x [T, N]``, ``block`` at a time, walking through time. ``spikes``
    is True: a flag passed at run time, because a literal True here and False in the backward
    would make Numba compile ``_step_row`` twice."""
    T = x.shape[0]
    vbuf = np.empty(block, dtype=np.float32)
    for b0 in range(lo, hi, block):
        b1 = min(hi, b0 + block)
        v = vbuf[:b1 - b0]
        _copy_row(v, v0[b0:b1] if v0.shape[0] > 1 else v0)  # v0 may be one value for all
        for t in range(T):
            _step_row(v, x[t, b0:b1], s[t, b0:b1], tau, vth, vr, soft, decay, spikes)
            if store_v:
                _copy_row(vseq[t, b0:b1], v)
        _copy_row(vT[b0:b1], v)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _backward_range(kind, x, v0, gs, gvseq, gvT, gx, gv0, lo, hi, block, tau, vth, vr, c1, c2,
                    soft, detach, decay, has_gs, has_gvseq, has_gvT, spikes):
    """BPTT for neurons ``lo:hi``. Each block first re-runs the forward from ``x`` (bit-identical,
    same operations) to rebuild the charged potentials ``h`` in a ``[T, block]`` cache-resident
    buffer, then walks back through time with one carry per neuron. ``spikes`` is False (see
    ``_forward_range``)."""
    T = x.shape[0]
    hbuf = np.empty((T, block), dtype=np.float32)
    vbuf = np.empty(block, dtype=np.float32)
    zeros = np.zeros(block, dtype=np.float32)
    for b0 in range(lo, hi, block):
        b1 = min(hi, b0 + block)
        n = b1 - b0
        v = vbuf[:n]
        _copy_row(v, v0[b0:b1] if v0.shape[0] > 1 else v0)
        for t in range(T):
            _step_row(v, x[t, b0:b1], hbuf[t, :n], tau, vth, vr, soft, decay, spikes)
        carry = v  # the potentials are no longer needed: the buffer now carries dL/dV
        _copy_row(carry, gvT[b0:b1] if has_gvT else zeros[:n])
        for t in range(T - 1, -1, -1):
            if has_gvseq:  # dL/dV[t] = from the future + from v_seq[t], added first as autograd does
                _add_row(carry, gvseq[t, b0:b1])
            _grad_row(kind, hbuf[t, :n], gs[t, b0:b1] if has_gs else zeros[:n], gx[t, b0:b1], carry,
                      tau, vth, vr, c1, c2, soft, detach, decay)
        _copy_row(gv0[b0:b1], carry)


def _backward_block(T: int) -> int:
    """Neurons per backward block: the ``[T, block]`` buffer of h stays within BACKWARD_CACHE."""
    return max(256, min(FORWARD_BLOCK, (BACKWARD_CACHE // 4 // max(T, 1)) // 64 * 64))


# Blocks are spread over cores by Numba's OpenMP threading layer. Numba then calls the same
# libgomp that torch loads, so the kernels run on torch's own worker threads: the workers
# that spin for a few milliseconds after every parallel torch op pick the blocks up at
# once, instead of competing with a second thread pool for the cores (measured: 7 ms with
# the shared pool, 12-14 ms with a separate one, right after a torch op).
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]


@numba.njit(inline="always")
def _span(w, workers, n, block):
    """Neurons of worker ``w``: one contiguous run of whole blocks, so its scratch buffers
    are allocated once (a fresh [T, block] buffer per block cost page faults every time)."""
    per = ((n + block - 1) // block + workers - 1) // workers * block
    return min(n, w * per), min(n, (w + 1) * per)


@functools.cache
def _kernel(kind: int):
    """Both passes for surrogate ``kind`` on all cores, compiled on first use (then cached on disk).

    ``kind`` is a constant of the closure, so Numba compiles the backward for that surrogate
    only. One parallel function serves both passes because each parallel function costs
    about a second to compile. ``seq`` is the ``[T, N]`` output (spikes, or dL/dX) and
    ``state`` the ``[N]`` one (V[T], or dL/dV[0]); ``vseq`` is v_seq, written by the forward
    and its gradient read by the backward when ``has_vseq``; ``gs`` and ``gvT`` are the
    backward's incoming gradients for the spikes and V[T].
    """
    @numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
    def run(backward, x, v0, seq, state, vseq, gs, gvT, n, block, workers, constants, flags):
        # constants and flags come packed: every argument of a parallel function adds to its compile time
        tau, vth, vr, c1, c2 = constants
        soft, detach, decay, has_vseq, has_gs, has_gvT = flags
        for w in numba.prange(workers):
            lo, hi = _span(w, workers, n, block)
            if backward:
                _backward_range(kind, x, v0, gs, vseq, gvT, seq, state, lo, hi, block, tau, vth, vr, c1, c2,
                                soft, detach, decay, has_gs, has_vseq, has_gvT, not backward)
            else:
                _forward_range(x, v0, seq, vseq, state, lo, hi, block, tau, vth, vr, soft, decay, has_vseq,
                               not backward)
    return run


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


# --- output buffers ----------------------------------------------------------------------
# A fresh multi-megabyte tensor is page-faulted 4 KiB at a time on its first write (glibc
# maps every allocation above 32 MiB afresh and unmaps it on free), which costs as much as
# the LIF passes themselves. Two remedies, each measured on the 2-core development machine
# (2 vCPU Intel Xeon, torch 2.13.0+cpu, transparent huge pages in "madvise" mode; T=16,
# N=2^20 float32, LIF(backend='cpu'), the four variants interleaved in one process, medians
# of 25 runs each, in two runs while other jobs shared the machine):
#
# * The pool (_OutputPool) reuses outputs once nothing references them, which only the
#   private torch._C._storage_Use_Count can tell: forward+backward 48-51 ms with the pool
#   against 101-103 ms with a plain torch.empty per output (2.0x), forward alone 16 ms
#   against 40-42 ms (2.5x). Below 32 MiB glibc reuses its heap and the pool gains nothing
#   (N=2^18: the same time either way). Fallback without the function (tested): no reuse,
#   every output a fresh buffer as below.
# * MADV_HUGEPAGE on a fresh buffer (through ctypes) makes its first write fault 2 MiB at a
#   time: a fresh 64 MiB buffer written once took 22-23 ms against 36 ms. It pays wherever a
#   buffer is fresh: the first call for each shape, and every call in the fallback without
#   the pool (forward+backward 65 ms against 101-103 ms, forward 24 ms against 40-42 ms);
#   with a warm pool it changes nothing (0.95-1.02x). Fallback without madvise (not
#   Linux/glibc; tested): plain allocations. A refused advice (huge pages disabled) is
#   ignored: the buffer is then an ordinary one.

_MADV_HUGEPAGE = 14
_HUGE = 2 << 20
try:
    _madvise = ctypes.CDLL(None, use_errno=True).madvise
    _madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
except (OSError, AttributeError):  # not Linux/glibc: plain allocations
    _madvise = None


def _fresh(shape) -> torch.Tensor:
    """A new float32 tensor, asking for transparent huge pages before its first touch."""
    out = torch.empty(shape, dtype=torch.float32)
    nbytes = out.numel() * 4
    if _madvise is not None and nbytes >= 4 * _HUGE:
        start = (out.data_ptr() + _HUGE - 1) // _HUGE * _HUGE
        end = (out.data_ptr() + nbytes) // _HUGE * _HUGE
        _madvise(start, end - start, _MADV_HUGEPAGE)
    return out


class _OutputPool:
    """Recycles the large outputs of the fused passes (spikes, input gradients).

    A training loop asks for the same shapes every step, so buffers are kept and handed out
    again once nothing references them any more (their storage's use count tells), like the
    caching allocator PyTorch uses on GPUs. At most ``max_bytes`` are kept. Without
    ``torch._C._storage_Use_Count`` every request gets a fresh buffer.
    """

    def __init__(self, max_bytes: int = 1 << 30, min_bytes: int = 1 << 20):
        self.max_bytes, self.min_bytes = max_bytes, min_bytes
        self._buffers: list[torch.Tensor] = []
        self._lock = threading.Lock()  # the idle check and the hand-out must be one step

    @staticmethod
    def _hand_out(buf: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        # A new tensor on the buffer's storage rather than a view of it: autograd forbids
        # in-place changes to views created inside a custom Function, and users may scale
        # their spikes in place.
        return torch.empty(0, dtype=buf.dtype).set_(buf.untyped_storage(), 0, shape)

    def empty(self, shape: torch.Size) -> torch.Tensor:
        numel = math.prod(shape)
        if numel * 4 < self.min_bytes:
            return torch.empty(shape, dtype=torch.float32)
        use_count = getattr(torch._C, "_storage_Use_Count", None)  # looked up here, so tests can remove it
        if use_count is None:
            return _fresh(shape)
        with self._lock:
            for i, buf in enumerate(self._buffers):
                # idle: 2 = the pool's own tensor + the temporary storage object made for this query
                if buf.numel() == numel and use_count(buf.untyped_storage()._cdata) == 2:
                    self._buffers.append(self._buffers.pop(i))  # most recently used last
                    return self._hand_out(buf, shape)
            buf = _fresh(numel)
            self._buffers.append(buf)
            while sum(b.numel() * 4 for b in self._buffers) > self.max_bytes and len(self._buffers) > 1:
                self._buffers.pop(0)  # forget the least recently used; its memory goes when its users let go
            return self._hand_out(buf, shape)


_OUTPUTS = _OutputPool()
# stand-ins for absent inputs (never read)
_DUMMY_SEQ, _DUMMY_STATE = torch.empty(1, 1, dtype=torch.float32), torch.empty(1, dtype=torch.float32)


def _constants(p: LIFParams) -> tuple:
    """The kernel's constants, in float32 as the reference computes."""
    return tuple(np.float32(c) for c in (p.tau, p.v_threshold, p.v_rest, *p.constants))


class LIFFunction(torch.autograd.Function):
    """Fused multi-step LIF on float32 ``[T, N]`` CPU tensors (``v0`` is ``[N]``, or ``[1]``: one
    value for all neurons).

    Saves nothing new for the backward: it keeps ``x`` and ``v0`` (alive anyway) and
    recomputes ``h`` block by block. Traffic: forward reads x, writes s (8 B/elem);
    backward reads x and gS, writes gX (12 B/elem).
    """

    @staticmethod
    def forward(ctx, x, v0, params: LIFParams):
        T, n = x.shape
        ctx.params = params
        s = _OUTPUTS.empty(x.shape)
        vT = _OUTPUTS.empty((n,))
        vseq = torch.empty_like(x) if params.store_v_seq else _DUMMY_SEQ
        _kernel(params.kernel)(False, _np(x), _np(v0), _np(s), _np(vT), _np(vseq), _np(_DUMMY_SEQ),
                               _np(_DUMMY_STATE), n, FORWARD_BLOCK, numba.get_num_threads(), _constants(params),
                               (params.soft, params.detach_reset, params.decay_input, params.store_v_seq,
                                False, False))
        ctx.save_for_backward(x, v0)
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None: no [T, N] of zeros to read
        return s, vT, (vseq if params.store_v_seq else None)

    @staticmethod
    @torch.autograd.function.once_differentiable  # second derivatives: use backend='reference'
    def backward(ctx, gs, gvT, gvseq):
        x, v0 = ctx.saved_tensors
        p = ctx.params
        T, n = x.shape
        gx = _OUTPUTS.empty(x.shape)
        gv0 = _OUTPUTS.empty((n,))
        given = lambda g, dummy: _np(g.contiguous() if g is not None else dummy)  # noqa: E731
        _kernel(p.kernel)(True, _np(x), _np(v0), _np(gx), _np(gv0), given(gvseq, _DUMMY_SEQ), given(gs, _DUMMY_SEQ),
                          given(gvT, _DUMMY_STATE), n, _backward_block(T), numba.get_num_threads(), _constants(p),
                          (p.soft, p.detach_reset, p.decay_input, gvseq is not None, gs is not None,
                           gvT is not None))
        # a scalar initial state (one value for every neuron, shape [1]) gets no gradient
        return gx, (gv0 if v0.shape[0] == n else None), None


def lif_multi_step(x_seq: torch.Tensor, v_init: torch.Tensor | float, params: LIFParams):
    """:func:`snnlib.kernels.reference.lif_multi_step`'s contract on float32 CPU tensors; ``v_init``
    may be a number (filled inside the kernel: a torch op here would wake torch's thread pool)."""
    return run_flat(LIFFunction.apply, x_seq, v_init, params)


def warm_up() -> None:
    """Compile (or load from the disk cache) both passes once, on a tiny input."""
    x = torch.rand(2, 8, requires_grad=True)
    s, v, _ = lif_multi_step(x, 0.0, LIFParams())
    (s.sum() + v.sum()).backward()
