"""Temporal-channel joint attention, TCJA (chapter 3; Zhu et al., TNNLS 2024).

On spikes ``X`` ``[T, N, C, H, W]`` (time first; ``[T, N, C]`` also works):

1. **squeeze** — ``Z = mean over H, W``: one value per time step and channel, ``[T, N, C]``;
2. **TLA** — a ``Conv1d(C, C, k_time)`` sliding along *time* (channels as input channels);
3. **CLA** — a ``Conv1d(T, T, k_channel)`` sliding along *channels* (time steps as input channels);
4. **CCF** — ``F = sigmoid(TLA(Z) ⊙ CLA(Z))``, one sigmoid on the product (``fusion='add'`` is
   the sum the paper rejects: a sum has no cross terms);
5. ``Y = X ⊙ F``, ``F`` broadcast over H and W.

Both convolutions use PyTorch's ``padding='same'`` without bias, as the official code: for
an even kernel ``k`` the padding is ``(k-1)//2`` before and the rest after, so TLA with
``k_time=4`` looks one step back and two ahead. Parameters: ``C²·k_time + T²·k_channel``.
T and C are fixed at construction.
"""
from __future__ import annotations

import torch
from torch import nn

from .._checks import integer

FUSIONS = ("ccf", "add")


class _TemporalChannelAttention(nn.Module):
    """Shared input checks and the squeeze of TCJA and its ablations."""

    def __init__(self, T: int, C: int):
        super().__init__()
        self.T, self.C = integer("T", T), integer("C", C)

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        """``Z``: ``[T, N, C, H, W]`` → mean over H, W → ``[T, N, C]`` (``[T, N, C]`` passes through)."""
        if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"{type(self).__name__} expects a floating-point tensor; got {got}")
        if x.dim() not in (3, 5):
            raise ValueError(f"{type(self).__name__} expects [T, N, C, H, W] or [T, N, C]; got shape {list(x.shape)}")
        if x.shape[0] != self.T or x.shape[2] != self.C:
            raise ValueError(f"{type(self).__name__} was built for T={self.T}, C={self.C}; "
                             f"got T={x.shape[0]}, C={x.shape[2]} (input shape {list(x.shape)})")
        return x.mean(dim=(3, 4)) if x.dim() == 5 else x

    @staticmethod
    def _same(conv: nn.Conv1d, z: torch.Tensor) -> torch.Tensor:
        # PyTorch's padding='same' written out ((k-1)//2 before, the rest after), which also
        # avoids torch's warning about even kernels with padding='same'.
        k = conv.kernel_size[0]
        return conv(torch.nn.functional.pad(z, ((k - 1) // 2, k - 1 - (k - 1) // 2)))

    def _tla(self, conv: nn.Conv1d, z: torch.Tensor) -> torch.Tensor:
        return self._same(conv, z.permute(1, 2, 0)).permute(2, 0, 1)  # [N, C, T]: slide along time

    def _cla(self, conv: nn.Conv1d, z: torch.Tensor) -> torch.Tensor:
        return self._same(conv, z.permute(1, 0, 2)).permute(1, 0, 2)  # [N, T, C]: slide along channels

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.attention_map(x)
        return x * (f[..., None, None] if x.dim() == 5 else f)


class TCJA(_TemporalChannelAttention):
    """Temporal-channel joint attention on ``[T, N, C, H, W]``; see the module docstring.

    Args:
        T, C: time steps and channels of the input (fixed).
        k_time: TLA's kernel along time (the paper's K_T).
        k_channel: CLA's kernel along channels (the paper's K_C).
        fusion: ``'ccf'`` (product, the paper's) or ``'add'`` (the rejected sum).
    """

    def __init__(self, T: int, C: int, k_time: int = 4, k_channel: int = 4, fusion: str = "ccf"):
        super().__init__(T, C)
        self.k_time, self.k_channel = integer("k_time", k_time), integer("k_channel", k_channel)
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}; got {fusion!r}")
        self.fusion = fusion
        self.tla = nn.Conv1d(C, C, k_time, bias=False)
        self.cla = nn.Conv1d(T, T, k_channel, bias=False)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """The scores ``F`` ``[T, N, C]`` in (0, 1) that multiply the input."""
        z = self.squeeze(x)
        t, c = self._tla(self.tla, z), self._cla(self.cla, z)
        return torch.sigmoid(t * c if self.fusion == "ccf" else t + c)

    def load_official_state_dict(self, state_dict: dict) -> None:
        """Load weights of the official implementation (ridgerchu/TCJA ``src/layers.py``).

        Its ``conv`` slides along channels (our ``cla``) although it is built with
        ``kernel_size_t``, and its ``conv_c`` slides along time (our ``tla``); a prefix such as
        ``"features.3."`` is allowed. Shapes are checked before anything is copied.
        """
        def pick(suffix: str) -> torch.Tensor:
            found = [k for k in state_dict if k == suffix or k.endswith("." + suffix)]
            if len(found) != 1:
                raise KeyError(f"official TCJA weights need exactly one '{suffix}'; found {found} "
                               f"among {sorted(state_dict)}")
            return state_dict[found[0]]

        mapping = {"cla": pick("conv.weight"), "tla": pick("conv_c.weight")}
        for name, weight in mapping.items():
            want = getattr(self, name).weight.shape
            if weight.shape != want:
                raise ValueError(f"official weight for {name} has shape {list(weight.shape)}; this TCJA(T={self.T}, "
                                 f"C={self.C}, k_time={self.k_time}, k_channel={self.k_channel}) needs {list(want)}")
        with torch.no_grad():
            for name, weight in mapping.items():
                getattr(self, name).weight.copy_(weight)


class TLA(_TemporalChannelAttention):
    """Ablation: temporal-wise local attention only, ``Y = X ⊙ sigmoid(TLA(Z))``."""

    def __init__(self, T: int, C: int, k_time: int = 4):
        super().__init__(T, C)
        self.k_time = integer("k_time", k_time)
        self.tla = nn.Conv1d(C, C, k_time, bias=False)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self._tla(self.tla, self.squeeze(x)))


class CLA(_TemporalChannelAttention):
    """Ablation: channel-wise local attention only, ``Y = X ⊙ sigmoid(CLA(Z))``."""

    def __init__(self, T: int, C: int, k_channel: int = 4):
        super().__init__(T, C)
        self.k_channel = integer("k_channel", k_channel)
        self.cla = nn.Conv1d(T, T, k_channel, bias=False)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self._cla(self.cla, self.squeeze(x)))
