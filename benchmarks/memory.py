"""Peak memory of one call, read from the allocator's own bookkeeping — never from the resident set.

The resident set (``ru_maxrss``) is a high-water mark of the whole process: when an earlier moment
(importing torch, building the inputs) was higher than anything the measured call reaches, its
growth over the call reads zero without a word. Instead:

* CPU: ``torch.profiler`` with ``profile_memory=True`` records every allocation and free of the CPU
  allocator (its ``[memory]`` events, signed byte counts with time stamps); their running sum in
  time order is the memory the call holds at each moment, and its maximum the call's peak.
  Blocks that were allocated before the call and freed during it are not reported by the
  profiler, so free them before measuring (e.g. set gradients to ``None``).
* CUDA: ``torch.cuda.max_memory_allocated`` over the call, minus what was allocated before.

:func:`require_at_least` turns an implausible reading into an error naming the measured and the
expected bytes, so a benchmark cannot print a zero it did not measure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

MIB = 2**20


@dataclass
class Allocation:
    """What one call allocated: ``peak_bytes`` above what was live before it, ``end_bytes`` still
    held when it returned (may be negative if it freed older blocks), and ``events`` the number
    of allocator events seen (0 means nothing was measured)."""

    peak_bytes: int
    end_bytes: int
    events: int


def _cpu_allocation(fn: Callable[[], object]) -> Allocation:
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    cpu_kinds = {DeviceType.CPU, DeviceType.MKLDNN, DeviceType.IDEEP}
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    results = getattr(prof.profiler, "kineto_results", None)
    if results is None:
        raise RuntimeError(f"torch {torch.__version__}: the profiler exposes no kineto results; "
                           f"cannot read the allocator's events")
    events = sorted(((e.start_ns(), e.nbytes()) for e in results.events()
                     if e.name() == "[memory]" and e.device_type() in cpu_kinds), key=lambda e: e[0])
    held = peak = 0
    for _, nbytes in events:
        held += nbytes
        peak = max(peak, held)
    return Allocation(peak_bytes=peak, end_bytes=held, events=len(events))


def _cuda_allocation(fn: Callable[[], object]) -> Allocation:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    stats = torch.cuda.memory_stats()
    return Allocation(peak_bytes=torch.cuda.max_memory_allocated() - base,
                      end_bytes=torch.cuda.memory_allocated() - base,
                      events=int(stats.get("allocation.all.allocated", 0)))


def allocation(fn: Callable[[], object], device: str) -> Allocation:
    """Run ``fn()`` once on ``device`` (``'cpu'`` or ``'cuda'``) and return what it allocated."""
    if device == "cuda":
        return _cuda_allocation(fn)
    if device == "cpu":
        return _cpu_allocation(fn)
    raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")


def require_at_least(what: str, measured: int, expected: int, why: str) -> None:
    """Raise ``RuntimeError`` unless ``measured >= expected > 0`` (bytes)."""
    if expected <= 0 or measured < expected:
        raise RuntimeError(f"implausible memory measurement for {what}: measured {measured:,} B "
                           f"({measured / MIB:.1f} MiB), expected at least {expected:,} B "
                           f"({expected / MIB:.1f} MiB) — {why}")
