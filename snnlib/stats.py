"""Seed statistics for the chapters' experiments.

Every comparison in the book is run over several seeds (DESIGN.md, *Experiments and their
readings*): each variant is reported per seed, as mean ± sample standard deviation, and against a
baseline by **paired** differences (seed by seed, the same data and initial draw where the variants
share them) with a Student-t confidence interval. :func:`compare` turns a dict of per-seed results
into that table and into one computed sentence per variant, so no outcome is written in advance.
Chapter 1 introduces it (surrogate width); chapters 2–7 reuse it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from scipy import stats as _scipy_stats

__all__ = ["Paired", "mean_std", "paired_difference", "compare"]


def _values(values: Sequence[float], name: str) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{name}: expected at least one value, got none")
    if any(math.isnan(v) for v in out):
        raise ValueError(f"{name}: expected numbers, got NaN in {out}")
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1 in the denominator; NaN for a single value)."""
    v = _values(values, "mean_std")
    mean = sum(v) / len(v)
    if len(v) < 2:
        return mean, float("nan")
    return mean, math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


@dataclass(frozen=True)
class Paired:
    """Paired differences ``a − b`` over seeds: their mean, a ``confidence`` Student-t interval
    ``[low, high]``, the number of pairs and how many pairs have ``a > b``."""

    mean: float
    low: float
    high: float
    n: int
    wins: int
    confidence: float

    def verdict(self) -> int:
        """+1 when the whole interval is above 0, −1 when below, 0 when it contains 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Paired:
    """Mean of ``a[i] − b[i]`` with a two-sided Student-t interval (needs ≥ 2 pairs)."""
    a, b = _values(a, "paired_difference a"), _values(b, "paired_difference b")
    if len(a) != len(b):
        raise ValueError(f"paired_difference needs one value per seed in both; got {len(a)} and {len(b)}")
    if len(a) < 2:
        raise ValueError(f"paired_difference needs at least 2 seeds for an interval; got {len(a)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    d = [x - y for x, y in zip(a, b)]
    mean, sd = mean_std(d)
    half = _scipy_stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * sd / math.sqrt(len(d))
    return Paired(mean, mean - half, mean + half, len(d), sum(x > y for x, y in zip(a, b)), confidence)


def compare(
    results: Mapping[str, Sequence[float]],
    baseline: str,
    *,
    higher_is_better: bool = True,
    fmt: str = "{:.1f}",
    confidence: float = 0.95,
) -> tuple[str, list[str]]:
    """A Markdown table (per seed, mean ± std, paired difference to ``baseline`` with its interval)
    and one sentence per variant saying whether it differs from the baseline by more than the
    interval. ``results`` maps a variant's name to its per-seed values, same seeds in the same order."""
    from .viz.tables import table

    if baseline not in results:
        raise ValueError(f"baseline {baseline!r} is not among the variants {list(results)}")
    n = {len(v) for v in results.values()}
    if len(n) != 1:
        raise ValueError(f"every variant needs the same seeds; got counts {[len(v) for v in results.values()]}")
    (n,) = n
    f = fmt.format
    level = f"{confidence:.0%}"
    header = ["variant", *[f"seed {i}" for i in range(n)], "mean ± std", f"Δ vs {baseline} [{level} CI]"]
    rows, readings = [], []
    for name, values in results.items():
        mean, sd = mean_std(values)
        row = [name, *[f(v) for v in values], f"{f(mean)} ± {f(sd)}"]
        if name == baseline or n < 2:
            row.append("—")
        else:
            p = paired_difference(values, results[baseline], confidence)
            row.append(f"{p.mean:+.2f} [{p.low:+.2f}, {p.high:+.2f}]")
            better = p.verdict() * (1 if higher_is_better else -1)
            if better > 0:
                word = "better than"
            elif better < 0:
                word = "worse than"
            else:
                word = "not distinguishable from"
            readings.append(
                f"{name} is {word} {baseline}: paired difference {p.mean:+.2f} "
                f"[{p.low:+.2f}, {p.high:+.2f}], larger in {p.wins} of {p.n} seeds."
            )
        rows.append(row)
    return table(header, rows, "l" + "r" * (len(header) - 1)), readings
