"""Projected full attention, PFA (chapter 5; Deng et al., Knowledge-Based Systems 2024).

A full attention map over time, channels and space, ``A`` ``[T, N, C, H, W]``, built as a rank-R
CP tensor. On ``X`` ``[T, N, C, H, W]``:

1. **LPST** (linear projection of the spike tensor) — three sets of R factors, each a learnable
   projection followed by a sigmoid:

   * ``P = mean over H, W`` ``[T, N, C]``;
   * temporal factors ``v_t = σ(temporal_proj(P))``, ``temporal_proj = Linear(C, R)``: R vectors of length T;
   * channel factors ``v_c = σ(channel_proj(Pᵀ))``, ``channel_proj = Linear(T, R)``: R vectors of length C;
   * spatial factors ``v_s = σ(spatial_conv(mean over C))``, ``spatial_conv = Conv2d(T, R, k, padding=k//2)``
     with the time steps as input channels: R maps of H×W.

2. **AMC** (attention map composing) — ``A = λ · Σ_r v_t^r ∘ v_c^r ∘ v_s^r`` with λ = 1/R
   (``reduce='mean'``, the classification code) or 1 (``'sum'``, the Fashion-MNIST and generation
   code). Computed as one Khatri–Rao product ``[N, T·C, R]`` and one batched matmul with the
   spatial factors ``[N, R, H·W]``: no loop over r, no R full-size tensors.

3. **Fusion** — ``ReLU(A ⊙ X)`` (``fusion='mul'``) or ``ReLU(A + X)`` (``'add'``, the Fashion-MNIST
   variant that sits on batch-norm output before a LIF).

Parameters: ``rank·(k²T + T + C + 3)``. The official classification code also holds a λ vector
of R parameters that it overwrites with its softmax on every pass, so λ = 1/R always and the
vector is never trained; ``official_weight=True`` registers such a frozen vector (ones, no
gradient, not used: λ is ``scale``) only so that parameter counts equal the official ones. T and C are fixed; H and W may change between calls. :func:`compose_loop` is the
readable loop over r, in the official code's style, that the tests and the benchmark compare with.
"""
from __future__ import annotations

import torch
from torch import nn

from .._checks import integer

REDUCTIONS = ("mean", "sum")
FUSIONS = ("mul", "add")


def compose_loop(v_t: torch.Tensor, v_c: torch.Tensor, v_s: torch.Tensor, scale: float) -> torch.Tensor:
    """AMC the official way: one full ``[N, T, C, H, W]`` outer product per rank, summed.

    ``v_t`` ``[N, R, T]``, ``v_c`` ``[N, R, C]``, ``v_s`` ``[N, R, H, W]`` → ``A`` ``[T, N, C, H, W]``.
    """
    N, R, T = v_t.shape
    C, (H, W) = v_c.shape[-1], v_s.shape[-2:]
    a = v_t.new_zeros(N, T, C, H, W)
    for r in range(R):
        outer = v_t[:, r, :, None, None, None] * v_c[:, r, None, :, None, None] * v_s[:, r, None, None]
        a = a + scale * outer
    return a.transpose(0, 1)


class PFA(nn.Module):
    """Projected full attention on ``[T, N, C, H, W]``; see the module docstring.

    Args:
        T, C: time steps and channels of the input (fixed).
        rank: the connecting factor R, the number of rank-1 terms.
        kernel_size: the spatial convolution's kernel, odd.
        reduce: ``'mean'`` (λ = 1/R, maps in (0, 1)) or ``'sum'`` (λ = 1, maps in (0, R)).
        fusion: ``'mul'`` — ``ReLU(A ⊙ X)`` — or ``'add'`` — ``ReLU(A + X)``.
        official_weight: also hold the official code's unused λ vector (R frozen parameters),
            for parameter counts; the map does not change.
    """

    def __init__(self, T: int, C: int, rank: int = 8, kernel_size: int = 3, reduce: str = "mean",
                 fusion: str = "mul", official_weight: bool = False):
        super().__init__()
        self.T, self.C, self.rank = integer("T", T), integer("C", C), integer("rank", rank)
        integer("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the spatial maps keep their size); got {kernel_size}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}; got {reduce!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}; got {fusion!r}")
        self.kernel_size, self.reduce, self.fusion = kernel_size, reduce, fusion
        self.temporal_proj = nn.Linear(C, rank)
        self.channel_proj = nn.Linear(T, rank)
        self.spatial_conv = nn.Conv2d(T, rank, kernel_size, padding=kernel_size // 2)
        if not isinstance(official_weight, bool):
            raise ValueError(f"official_weight must be True or False; got {official_weight!r}")
        if official_weight:
            self.weight = nn.Parameter(torch.ones(rank), requires_grad=False)

    @property
    def scale(self) -> float:
        """λ: 1/R for ``'mean'``, 1 for ``'sum'``."""
        return 1.0 / self.rank if self.reduce == "mean" else 1.0

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"PFA expects a floating-point tensor; got {got}")
        if x.dim() != 5:
            raise ValueError(f"PFA expects [T, N, C, H, W]; got shape {list(x.shape)}")
        if x.shape[0] != self.T or x.shape[2] != self.C:
            raise ValueError(f"PFA was built for T={self.T}, C={self.C}; got T={x.shape[0]}, C={x.shape[2]} "
                             f"(input shape {list(x.shape)})")

    def factors(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """LPST: temporal ``[N, R, T]``, channel ``[N, R, C]`` and spatial ``[N, R, H, W]`` factors in (0, 1)."""
        self._check(x)
        p = x.mean(dim=(3, 4))                                             # [T, N, C]
        v_t = torch.sigmoid(self.temporal_proj(p)).permute(1, 2, 0)        # [T, N, R] → [N, R, T]
        v_c = torch.sigmoid(self.channel_proj(p.permute(2, 1, 0))).permute(1, 2, 0)  # [C, N, R] → [N, R, C]
        v_s = torch.sigmoid(self.spatial_conv(x.mean(dim=2).transpose(0, 1)))        # [N, T, H, W] → [N, R, H, W]
        return v_t, v_c, v_s

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """AMC: ``A`` ``[T, N, C, H, W]``."""
        v_t, v_c, v_s = self.factors(x)
        N, _, T = v_t.shape
        C, (H, W) = v_c.shape[-1], v_s.shape[-2:]
        khatri_rao = (v_t[:, :, :, None] * v_c[:, :, None, :]).flatten(2).transpose(1, 2)   # [N, T·C, R]
        a = torch.bmm(khatri_rao, v_s.flatten(2) * self.scale)                              # [N, T·C, H·W]
        return a.view(N, T, C, H, W).transpose(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attention_map(x)
        return torch.relu(a * x if self.fusion == "mul" else a + x)

    def extra_repr(self) -> str:
        return (f"T={self.T}, C={self.C}, rank={self.rank}, kernel_size={self.kernel_size}, "
                f"reduce={self.reduce!r}, fusion={self.fusion!r}")
