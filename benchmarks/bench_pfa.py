"""PFA forward + backward: snnlib's one-matmul composition against the official loop over ranks.

Both variants are the same module with the same weights and input; they differ only in how the
attention map A is composed (AMC): snnlib forms the Khatri–Rao product of the temporal and
channel factors and multiplies it with the spatial factors once; the official code builds one
full ``[N, T, C, H, W]`` outer product per rank and sums them (``snnlib.attention.compose_loop``).
Timings are interleaved round-robin in one process; peak memory is measured per variant in a
fresh subprocess (CPU: growth of the peak resident set over the inputs, with glibc told to
return freed blocks at once; CUDA: ``max_memory_allocated``). The
script prints medians and ratios, asserts nothing, and writes JSON.

    python benchmarks/bench_pfa.py                       # N=32, T=12, C=128, 24×24, R in {8, 64}
    python benchmarks/bench_pfa.py --out _build/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from snnlib.attention import PFA, compose_loop


class LoopPFA(PFA):
    """PFA with the official composition: a Python loop over the R rank-1 terms."""

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return compose_loop(*self.factors(x), self.scale)


VARIANTS = {"snnlib": PFA, "official loop": LoopPFA}


def setup(variant: str, shape: tuple, rank: int, device: str):
    T, N, C, H, W = shape
    torch.manual_seed(0)
    module = VARIANTS[variant](T, C, rank=rank).to(device)
    # filled in place: no temporaries that would raise the memory baseline
    x = torch.empty(shape, device=device).bernoulli_(0.2).requires_grad_()
    grad = torch.empty(shape, device=device).normal_()

    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(grad)

    return step


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def peak_memory_child(variant: str, shape: tuple, rank: int, device: str) -> None:
    """Run in a fresh process: print the peak memory one forward+backward adds (bytes)."""
    import resource

    step = setup(variant, shape, rank, device)
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        print(torch.cuda.max_memory_allocated() - base)
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)  # Linux: KiB


def peak_memory(variant: str, shape: tuple, rank: int, device: str) -> int:
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_pfa; "
            f"bench_pfa.peak_memory_child({variant!r}, {shape!r}, {rank}, {device!r})")
    # glibc returns mmap-ed blocks to the OS on free, so the peak resident set follows live tensors
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


def measure(shape: tuple, rank: int, device: str, reps: int) -> dict:
    steps = {name: setup(name, shape, rank, device) for name in VARIANTS}
    for step in steps.values():  # warm-up
        step()
    times = {name: [] for name in VARIANTS}
    for _ in range(reps):  # interleaved: drifts in clock speed hit both alike
        for name, step in steps.items():
            sync(device)
            t0 = time.perf_counter()
            step()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(t), "times_s": t,
                   "peak_bytes": peak_memory(name, shape, rank, device)} for name, t in times.items()}


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
    print(f"PFA forward+backward, input [T, N, C, H, W] = {list(shape)}, fp32, {device} ({where}), "
          f"median of {args.reps}")
    results = {"shape": shape, "device": device, "where": where, "torch": torch.__version__, "by_rank": {}}
    for rank in args.ranks:
        res = measure(shape, rank, device, args.reps)
        results["by_rank"][rank] = res
        fast, loop = res["snnlib"], res["official loop"]
        print(f"  R={rank:<3} snnlib {fast['median_s'] * 1e3:8.1f} ms, peak +{fast['peak_bytes'] / 2**20:7.0f} MiB | "
              f"official loop {loop['median_s'] * 1e3:8.1f} ms, peak +{loop['peak_bytes'] / 2**20:7.0f} MiB | "
              f"snnlib is {loop['median_s'] / fast['median_s']:.2f}x faster, "
              f"{loop['peak_bytes'] / max(fast['peak_bytes'], 1):.2f}x less peak memory")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_pfa.json").write_text(json.dumps(results, indent=2))
        print(f"wrote {args.out / 'bench_pfa.json'}")


if __name__ == "__main__":
    main()
