"""PFA forward + backward: snnlib's one-matmul composition against the official loop over ranks.

Both variants are the same module with the same weights and input; they differ only in how the
attention map A is composed (AMC): snnlib forms the Khatri–Rao product of the temporal and
channel factors and multiplies it with the spatial factors once; the official code builds one
full ``[N, T, C, H, W]`` outer product per rank and sums them (``snnlib.attention.compose_loop``).
Timings are interleaved round-robin in one process. Peak memory is the most one forward+backward
holds above what was live before it (inputs, weights, the output gradient), read from the
allocator's own events (CPU: ``torch.profiler`` with ``profile_memory=True``; CUDA:
``max_memory_allocated``; see ``memory.py``), never from the resident set. A reading below what
the step must hold — the map A and the output, both alive when the forward returns, and the
input's gradient, still held after the backward — stops the script with an error. The script
prints medians and ratios, asserts nothing else, and writes JSON.

    python benchmarks/bench_pfa.py                       # N=32, T=12, C=128, 24×24, R in {8, 64}
    python benchmarks/bench_pfa.py --out _build/bench
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from snnlib.attention import PFA, compose_loop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import MIB, allocation, require_at_least  # noqa: E402  (benchmarks/memory.py)


class LoopPFA(PFA):
    """PFA with the official composition: a Python loop over the R rank-1 terms."""

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return compose_loop(*self.factors(x), self.scale)


VARIANTS = {"snnlib": PFA, "official loop": LoopPFA}


def setup(variant: str, shape: tuple, rank: int, device: str):
    """One forward+backward of ``variant`` as ``step()``, and ``clear()`` that drops the gradients it left."""
    T, N, C, H, W = shape
    torch.manual_seed(0)
    module = VARIANTS[variant](T, C, rank=rank).to(device)
    x = torch.empty(shape, device=device).bernoulli_(0.2).requires_grad_()
    grad = torch.empty(shape, device=device).normal_()

    def clear():
        module.zero_grad(set_to_none=True)
        x.grad = None

    def step():
        clear()
        module(x).backward(grad)

    return step, clear


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def peak_memory(variant: str, step, clear, shape: tuple, device: str) -> dict:
    """Peak bytes one forward+backward holds above what was live before it, checked for plausibility."""
    clear()  # gradients of the last step freed now, not inside the measured step
    got = allocation(step, device)
    map_bytes = 4 * torch.Size(shape).numel()  # fp32, the size of the input, of A and of the output
    if got.events == 0:
        raise RuntimeError(f"no allocator events recorded for {variant} on {device}: memory was not measured")
    require_at_least(f"{variant}: peak", got.peak_bytes, 2 * map_bytes,
                     "the attention map A and the output, each of the input's size, are both alive when the "
                     "forward returns")
    require_at_least(f"{variant}: held after the step", got.end_bytes, map_bytes,
                     "the input's gradient, of the input's size, is allocated by the step and kept")
    return {"peak_bytes": got.peak_bytes, "end_bytes": got.end_bytes, "allocator_events": got.events}


def measure(shape: tuple, rank: int, device: str, reps: int) -> dict:
    steps = {name: setup(name, shape, rank, device) for name in VARIANTS}
    for step, _ in steps.values():  # warm-up
        step()
    times = {name: [] for name in VARIANTS}
    for _ in range(reps):  # interleaved: drifts in clock speed hit both alike
        for name, (step, _) in steps.items():
            sync(device)
            t0 = time.perf_counter()
            step()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(t), "times_s": t,
                   **peak_memory(f"{name}, R={rank}", *steps[name], shape, device)} for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--N", type=int, default=32)
    parser.add_argument("--T", type=int, default=12)
    parser.add_argument("--C", type=int, default=128)
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--ranks", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_pfa.json")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    shape = (args.T, args.N, args.C, args.size, args.size)
    where = torch.cuda.get_device_name() if device == "cuda" else f"{platform.processor() or platform.machine()}, " \
                                                                  f"{torch.get_num_threads()} threads"
    method = "torch.profiler allocator events" if device == "cpu" else "torch.cuda.max_memory_allocated"
    print(f"PFA forward+backward, input [T, N, C, H, W] = {list(shape)}, fp32, {device} ({where}), "
          f"torch {torch.__version__}, median of {args.reps}; peak memory above the inputs from {method}")
    results = {"shape": shape, "device": device, "where": where, "torch": torch.__version__,
               "memory_method": method, "by_rank": {}}
    for rank in args.ranks:
        res = measure(shape, rank, device, args.reps)
        results["by_rank"][rank] = res
        fast, loop = res["snnlib"], res["official loop"]
        print(f"  R={rank:<3} snnlib {fast['median_s'] * 1e3:8.1f} ms, peak +{fast['peak_bytes'] / MIB:7.0f} MiB | "
              f"official loop {loop['median_s'] * 1e3:8.1f} ms, peak +{loop['peak_bytes'] / MIB:7.0f} MiB | "
              f"snnlib is {loop['median_s'] / fast['median_s']:.2f}x faster, "
              f"{loop['peak_bytes'] / fast['peak_bytes']:.2f}x less peak memory")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_pfa.json").write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out / 'bench_pfa.json'}")


if __name__ == "__main__":
    main()
