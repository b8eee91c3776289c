"""Multi-step LIF: snnlib against spikingjelly 2.0.0, a plain eager loop (and snntorch if installed).

All variants run in this one process, interleaved round-robin, on the same input; the script
prints medians, ratios to snnlib, the bytes-per-element model, the achieved bandwidth and
its fraction of a copy bandwidth measured in the same run, and writes everything as JSON.
It asserts nothing: targets are read from its output.

    python benchmarks/bench_lif.py                 # T=16, N=2^20, fp32, CPU (or the GPU if present)
    python benchmarks/bench_lif.py --out _build/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from snnlib import kernels, surrogate
from snnlib.neuron import LIF

# Bytes moved per (t, n) element under the traffic models of snnlib.kernels (input dtype b bytes).
MODEL_24B = "24 B/elem fp32 training model (read x, write s, write h; read gS, read h, write gX)"


def bytes_per_elem(mode: str, dtype: torch.dtype) -> float:
    b = torch.finfo(dtype).bits // 8
    if mode == "forward":  # inference: read x, write s
        return 2 * b
    return 4 * b + 8  # training: x, s, gS, gX in the input dtype + h written and read in fp32


def timer(device: str):
    if device == "cuda":
        def run(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1e3
    else:
        def run(fn):
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0
    return run


def make_variants(T: int, N: int, dtype: torch.dtype, device: str) -> dict:
    """name -> (forward fn, training fn). Every training fn does forward + backward(g)."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = (torch.rand(T, N, generator=gen) * 1.5).to(device=device, dtype=dtype).requires_grad_()
    g = torch.randn(T, N, generator=gen).to(device=device, dtype=dtype)
    variants = {}

    def add(name, module_factory, reset):
        module = module_factory()

        def forward():
            reset(module)
            with torch.no_grad():
                module(x)

        def train():
            reset(module)
            x.grad = None
            module(x).backward(g)

        variants[name] = (forward, train)

    add("snnlib", LIF, lambda m: m.reset())
    try:
        from spikingjelly.activation_based import functional, neuron

        add("spikingjelly", lambda: neuron.LIFNode(step_mode="m"), functional.reset_net)
    except ImportError:
        print("spikingjelly not installed: skipped")
    add("eager loop", lambda: LIF(backend="reference"), lambda m: m.reset())
    try:
        import snntorch

        class SnnTorchLoop(torch.nn.Module):  # a different model (subtract reset, strict >)
            def __init__(self):
                super().__init__()
                self.leaky = snntorch.Leaky(beta=0.5)

            def forward(self, xs):
                mem = self.leaky.init_leaky()
                out = []
                for xt in xs:
                    spk, mem = self.leaky(xt, mem)
                    out.append(spk)
                return torch.stack(out)

        add("snntorch", SnnTorchLoop, lambda m: None)
    except ImportError:
        pass
    a = torch.empty(T, N, dtype=dtype, device=device).uniform_()
    b = torch.empty_like(a)
    copy = lambda: b.copy_(a)  # noqa: E731  reads and writes each element once: 2 * bytes
    variants["copy"] = (copy, copy)
    return variants


def measure(T: int, N: int, dtype: torch.dtype, device: str, reps: int) -> dict:
    variants = make_variants(T, N, dtype, device)
    run = timer(device)
    results = {}
    for mode, index in (("forward", 0), ("train", 1)):
        times = {name: [] for name in variants}
        for fns in variants.values():  # warm-up (compilation, caches)
            fns[index]()
        for _ in range(reps):
            for name, fns in variants.items():
                times[name].append(run(fns[index]))
        results[mode] = {name: statistics.median(ts) for name, ts in times.items()}
    return results


def first_call_seconds(T: int, N: int, cold: bool) -> float:
    """Import, build and run forward+backward once in a fresh Python process."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "import torch\nfrom snnlib.neuron import LIF\n"
        f"x = torch.rand({T}, {N}, requires_grad=True)\n"
        "LIF()(x).sum().backward()\n"
        "print(time.perf_counter() - t0)\n"
    )
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = tmp  # an empty cache: everything compiles
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def report(T, N, dtype, device, res, lines):
    elems = T * N
    copy_bw = 2 * (torch.finfo(dtype).bits // 8) * elems / res["train"]["copy"]
    lines.append(f"\n== T={T}, N={N}, {str(dtype).replace('torch.', '')}, {device}: copy bandwidth "
                 f"{copy_bw / 1e9:.1f} GB/s (read + write)")
    rows = {}
    for mode in ("forward", "train"):
        model = bytes_per_elem(mode, dtype)
        ours = res[mode]["snnlib"]
        lines.append(f"-- {'forward (no grad)' if mode == 'forward' else 'forward + backward'}: "
                     f"model {model:.0f} B/elem")
        for name, t in res[mode].items():
            if name == "copy":
                continue
            gbs = model * elems / t
            line = f"   {name:<14} {t * 1e3:9.2f} ms   {t / ours:6.2f}x snnlib's time"
            if name == "snnlib":
                line += f"   {gbs / 1e9:6.1f} GB/s = {gbs / copy_bw:5.1%} of copy bandwidth"
            lines.append(line)
            rows[f"{mode}/{name}"] = {"seconds": t, "ratio_to_snnlib": t / ours}
        rows[f"{mode}/snnlib"]["fraction_of_copy_bandwidth"] = model * elems / ours / copy_bw
    return {"T": T, "N": N, "dtype": str(dtype), "device": device, "copy_GBps": copy_bw / 1e9, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, default=16)
    parser.add_argument("--log2N", type=int, default=20)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_lif.json")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    machine = torch.cuda.get_device_name() if device == "cuda" else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [f"bench_lif on {machine}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
             f"snnlib backend for this device: {kernels.select_backend('auto', torch.empty(1, 1, device=device), surrogate.Sigmoid())}"]
    runs = []
    N = 1 << args.log2N
    dtypes = [torch.float32] + ([torch.float16, torch.bfloat16] if device == "cuda" else [])
    for dtype in dtypes:
        runs.append(report(args.T, N, dtype, device, measure(args.T, N, dtype, device, args.reps), lines))
    if device == "cuda":  # the roofline size: T=16, N=2^24
        runs.append(report(args.T, 1 << 24, torch.float32, device, measure(args.T, 1 << 24, torch.float32, device, args.reps), lines))
    first = {"warm_cache": first_call_seconds(args.T, N, cold=False), "cold_cache": first_call_seconds(args.T, N, cold=True)}
    lines.append(f"\nfirst call in a fresh process (import + forward + backward): {first['warm_cache']:.2f} s with the "
                 f"kernel cache, {first['cold_cache']:.2f} s compiling from scratch")
    lines.append(f"model: {MODEL_24B}; the CPU path actually moves 20 B/elem (it recomputes h instead of saving it)")
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "bench_lif.json"
        path.write_text(json.dumps({"machine": machine, "torch": torch.__version__, "runs": runs, "first_call": first}, indent=2))
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
