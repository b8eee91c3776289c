"""Multi-step LIF kernels and the choice between them (chapter 1, *LIF neurons*).

Three implementations of one contract, :func:`lif_multi_step` on ``[T, N, ...]`` (time first):

``'reference'``
    :mod:`snnlib.kernels.reference` — a readable Python loop with autograd; any surrogate
    callable, any floating dtype. The ground truth of every test.
``'cpu'``
    :mod:`snnlib.kernels.cpu` — fused Numba passes for float32 CPU tensors.
``'triton'``
    :mod:`snnlib.kernels.triton` — fused Triton kernels for CUDA tensors in fp32/fp16/bf16
    (on CPU tensors only under ``TRITON_INTERPRET=1``, which the tests use).

``backend='auto'`` picks the fastest one that supports the input; forcing a backend that
cannot run it is an error that says why. The fused backends need one of the surrogates in
:data:`contract.SURROGATE_KERNELS`, the built-ins of :mod:`snnlib.surrogate` (spikingjelly's
of the same name are translated). Every backend receives the call's constants as one
:class:`contract.LIFParams`; the fused ones share :func:`contract.run_flat`.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Callable

import torch

from . import reference
from .contract import SURROGATE_KERNELS, LIFParams, check_lif_args, kernel_surrogate  # noqa: F401

BACKENDS = ("auto", "reference", "cpu", "triton")
CPU_DTYPES = (torch.float32,)
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def triton_available() -> bool:
    """Whether the triton package is installed (it is an optional, ``dev`` dependency)."""
    return importlib.util.find_spec("triton") is not None


def _triton_interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def why_not(backend: str, x: torch.Tensor, surrogate) -> str | None:
    """``None`` if ``backend`` can run ``x`` with ``surrogate``, else the reason it cannot."""
    if backend == "reference":
        return None
    if kernel_surrogate(surrogate) is None:
        if getattr(surrogate, "spiking", True) is False:
            return (f"the fused kernels need a spiking surrogate (Heaviside forward); got "
                    f"{type(surrogate).__name__}(spiking=False), which the reference backend runs")
        return (f"the fused kernels support the built-in surrogates of snnlib.surrogate (spiking=True), "
                f"not subclasses or other callables; got {type(surrogate).__name__}")
    if backend == "cpu":
        if x.device.type != "cpu":
            return f"backend 'cpu' needs a CPU tensor; got device {x.device}"
        if x.dtype not in CPU_DTYPES:
            return f"backend 'cpu' supports float32; got {x.dtype}"
        return None
    if backend == "triton":
        if not triton_available():
            return "backend 'triton' needs the triton package (pip install triton)"
        if x.device.type != "cuda" and not (x.device.type == "cpu" and _triton_interpreted()):
            return f"backend 'triton' needs a CUDA tensor (or TRITON_INTERPRET=1 for CPU tests); got device {x.device}"
        if x.dtype not in TRITON_DTYPES:
            return f"backend 'triton' supports float32, float16 and bfloat16; got {x.dtype}"
        return None
    raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")


def select_backend(backend: str, x: torch.Tensor, surrogate) -> str:
    """The backend ``lif_multi_step`` will use: ``backend`` itself, or for ``'auto'`` the fastest able one."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if backend == "auto":
        order = ("triton", "reference") if x.device.type == "cuda" else ("cpu", "reference")
        return next(b for b in order if why_not(b, x, surrogate) is None)
    reason = why_not(backend, x, surrogate)
    if reason is not None:
        raise ValueError(reason)
    return backend


def initial_state(x_step: torch.Tensor, value: float) -> torch.Tensor:
    """The potential ``[N, ...]`` every neuron starts from: ``value``, in float32 for half-precision
    inputs (as spikingjelly keeps its state) and in the input's dtype otherwise."""
    dtype = x_step.dtype if x_step.dtype in (torch.float32, torch.float64) else torch.float32
    return torch.full(x_step.shape, float(value), dtype=dtype, device=x_step.device)


def lif_multi_step(
    x_seq: torch.Tensor,
    v_init: torch.Tensor | float,
    tau: float = 2.0,
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate: Callable[[torch.Tensor], torch.Tensor] | None = None,
    detach_reset: bool = False,
    store_v_seq: bool = False,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """LIF over ``x_seq`` ``[T, N, ...]`` (time first) from ``v_init`` (``[N, ...]``, or one number for all).

    Returns ``(spikes [T, N, ...], v_final [N, ...], v_seq [T, N, ...] or None)``; gradients
    flow to ``x_seq`` and ``v_init``. ``surrogate`` defaults to ``Sigmoid(alpha=4.0)``.
    The semantics are :mod:`snnlib.kernels.reference`'s, whichever backend runs.
    """
    if not isinstance(x_seq, torch.Tensor) or not torch.is_floating_point(x_seq):
        got = x_seq.dtype if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
        raise TypeError(f"x_seq must be a floating-point tensor [T, N, ...]; got {got}")
    if x_seq.dim() < 2 or x_seq.shape[0] == 0:
        raise ValueError(f"x_seq must be [T, N, ...] (time first, rank >= 2, T >= 1); got shape {list(x_seq.shape)}")
    if isinstance(v_init, torch.Tensor):
        if v_init.shape != x_seq.shape[1:]:
            raise ValueError(f"v_init must have shape {list(x_seq.shape[1:])} (x_seq without T); "
                             f"got {list(v_init.shape)}")
    elif isinstance(v_init, bool) or not isinstance(v_init, (int, float)):
        raise TypeError(f"v_init must be a tensor [N, ...] or a number; got {type(v_init).__name__}")
    params = LIFParams(tau, decay_input, v_threshold, v_reset, surrogate, detach_reset, store_v_seq)
    chosen = select_backend(backend, x_seq, params.surrogate)
    if chosen == "cpu":  # a number v_init is filled inside the kernel
        from . import cpu

        return cpu.lif_multi_step(x_seq, v_init, params)
    if not isinstance(v_init, torch.Tensor):
        v_init = initial_state(x_seq[0], v_init)
    if chosen == "reference":
        return reference.lif_multi_step(x_seq, v_init, params)
    from . import triton as triton_kernels

    return triton_kernels.lif_multi_step(x_seq, v_init, params)
