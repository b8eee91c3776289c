"""Attention-sink and waiver metrics (chapter 7), on post-softmax attention ``A[l, b, h, t, j]``
(query t attends to key j) as transformers returns it — a tuple of per-layer ``[B, H, T, T]`` —
or stacked ``[L, B, H, T, T]``.

``mask`` ``[B, T]`` marks real tokens (1) and padding (0); padding is left out of every average,
as queries and as keys. ``causal=True`` means query t sees keys j <= t only. Definitions follow
Gu et al. (ICLR 2025) for the attention received and the sink rate, Kobayashi et al. (EMNLP
2020) for norm-based attention, and Sun et al. (COLM 2024) for massive activations.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Internals:
    """What a forward pass exposes for the sink metrics (layers first).

    attentions ``[L, B, H, T, T]``, values ``[L, B, H, T, d_head]``, fnorms ``[L, B, H, T]``
    (Kobayashi's ``‖v W_O‖`` per head), hidden ``[L+1, B, T, d]`` (the input of every layer, then
    the final residual stream), mask ``[B, T]``, causal.
    """

    attentions: torch.Tensor
    values: torch.Tensor
    fnorms: torch.Tensor
    hidden: torch.Tensor
    mask: torch.Tensor
    causal: bool


def stack_layers(attentions, name: str = "attentions") -> torch.Tensor:
    """A per-layer tuple of ``[B, H, T, T]`` (or a ``[L, B, H, T, T]`` tensor) as one ``[L, B, H, T, T]`` tensor."""
    if isinstance(attentions, (tuple, list)):
        if not attentions:
            raise ValueError(f"{name} is empty: load the model with attn_implementation='eager' "
                             f"(SDPA returns no attention weights)")
        shapes = {tuple(a.shape) for a in attentions}
        if len(shapes) != 1:
            raise ValueError(f"{name}: every layer must have the same shape; got {sorted(shapes)}")
        attentions = torch.stack(list(attentions))
    if not isinstance(attentions, torch.Tensor) or attentions.dim() != 5 or attentions.shape[-1] != attentions.shape[-2]:
        got = list(attentions.shape) if isinstance(attentions, torch.Tensor) else type(attentions).__name__
        raise ValueError(f"{name} must be [L, B, H, T, T] (or a tuple of [B, H, T, T]); got {got}")
    return attentions


def visibility(mask: torch.Tensor | None, B: int, T: int, causal: bool, device=None) -> torch.Tensor:
    """``[B, T, T]`` booleans: query t can see key j (both real; j <= t when causal)."""
    if mask is None:
        mask = torch.ones(B, T, dtype=torch.bool, device=device)
    elif tuple(mask.shape) != (B, T):
        raise ValueError(f"mask must be [B, T] = [{B}, {T}]; got {list(mask.shape)}")
    mask = mask.bool().to(device)
    seen = mask[:, :, None] & mask[:, None, :]
    if causal:
        seen = seen & torch.ones(T, T, dtype=torch.bool, device=device).tril()
    return seen


def _checked(attentions, mask, causal: bool, normalised: bool) -> tuple[torch.Tensor, torch.Tensor]:
    a = stack_layers(attentions)
    L, B, H, T, _ = a.shape
    seen = visibility(mask, B, T, causal, a.device)
    if normalised:
        rows = (a * seen[None, :, None]).sum(-1)                      # [L, B, H, T]
        real = seen.any(-1)[None, :, None].expand_as(rows)
        bad = (rows - 1).abs() > 1e-3
        if (bad & real).any():
            worst = (rows - 1).abs()[real].max().item()
            raise ValueError(f"attention rows of real queries must sum to 1 over the keys they can see (softmax); "
                             f"the worst row is off by {worst:.3g}. Pass causal=True for a causal model, the "
                             f"padding mask, or normalised=False for attention that is not a softmax")
    return a, seen


def _received(a: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
    s = seen[None, :, None].to(a.dtype)                                # [1, B, 1, T, T]
    return (a * s).sum(-2) / s.sum(-2)                                # 0/0 → NaN for pad keys


def _norm_share(a: torch.Tensor, seen: torch.Tensor, fnorms: torch.Tensor) -> torch.Tensor:
    weighted = a * fnorms[:, :, :, None, :] * seen[None, :, None]
    return weighted / weighted.sum(-1, keepdim=True).clamp_min(1e-12)


def attention_received(attentions, mask=None, causal: bool = False, normalised: bool = True) -> torch.Tensor:
    """``α[l, b, h, j]``: the attention key j receives, averaged over the queries that can see it
    (Gu et al.'s importance score); NaN for padding keys. ``[L, B, H, T]``."""
    return _received(*_checked(attentions, mask, causal, normalised))


def first_token_ratio(attentions, mask=None, causal: bool = False, position: int = 0,
                      normalised: bool = True) -> torch.Tensor:
    """The attention received by the token at ``position`` (default the first), ``[L, B, H]``."""
    return attention_received(attentions, mask, causal, normalised)[..., position]


def sink_rate(attentions, k: int = 0, eps: float = 0.3, mask=None, causal: bool = True,
              normalised: bool = True) -> float:
    """``Sink_k^ε`` in percent: per sequence, the share of (layer, head) pairs whose key ``k``
    receives more than ``eps`` (strictly), then averaged over sequences (Gu et al.; ε = 0.3)."""
    alpha = attention_received(attentions, mask, causal, normalised)[..., k]     # [L, B, H]
    return 100.0 * (alpha > eps).float().mean(dim=(0, 2)).mean().item()


def value_norm_ratio(values: torch.Tensor, s: int | torch.Tensor = 0, mask=None) -> torch.Tensor:
    """``‖v_s‖ / mean_{j≠s} ‖v_j‖`` per layer, sequence and head, from values ``[L, B, H, T, d_head]``
    (padding excluded); ``s`` is one position, or one per sequence (``[B]``). Well below 1 with a
    high attention on s: a waiver."""
    if values.dim() != 5:
        raise ValueError(f"values must be [L, B, H, T, d_head]; got {list(values.shape)}")
    norms = values.norm(dim=-1)                                        # [L, B, H, T]
    L, B, H, T = norms.shape
    s = torch.as_tensor(s, device=values.device).expand(B)             # one position per sequence
    keep = torch.ones(B, T, dtype=torch.bool, device=values.device) if mask is None else mask.bool().clone()
    keep[torch.arange(B, device=values.device), s] = False
    others = (norms * keep[None, :, None]).sum(-1) / keep.sum(-1)[None, :, None]
    return norms.gather(-1, s.view(1, B, 1, 1).expand(L, B, H, 1))[..., 0] / others


def transformed_norms(values: torch.Tensor, out_weights) -> torch.Tensor:
    """Kobayashi et al.'s ``‖f^h(x_j)‖ = ‖v_j^h W_O^h‖``: each head's value vector mapped through its
    slice of the output projection. ``values`` ``[L, B, H, T, d_head]``; ``out_weights`` one
    ``[d_model, H·d_head]`` matrix per layer (an ``nn.Linear`` weight). Returns ``[L, B, H, T]``."""
    L, B, H, T, dh = values.shape
    if len(out_weights) != L:
        raise ValueError(f"need one output projection per layer ({L}); got {len(out_weights)}")
    norms = []
    for layer, w in enumerate(out_weights):
        if w.shape[1] != H * dh:
            raise ValueError(f"layer {layer}: output projection must be [d_model, {H * dh}]; got {list(w.shape)}")
        w_heads = w.reshape(w.shape[0], H, dh)                          # [d, H, dh]
        norms.append(torch.einsum("bhtk,dhk->bhtd", values[layer], w_heads).norm(dim=-1))
    return torch.stack(norms)


def norm_based_share(attentions, fnorms: torch.Tensor, mask=None, causal: bool = False) -> torch.Tensor:
    """``β[l, b, h, t, j] = α_tj ‖f(x_j)‖ / Σ_j' α_tj' ‖f(x_j')‖``: how much of query t's output
    comes from key j, by norm. ``fnorms`` ``[L, B, H, T]`` from :func:`transformed_norms`."""
    return _norm_share(*_checked(attentions, mask, causal, normalised=False), fnorms)


def norm_based_received(attentions, fnorms: torch.Tensor, mask=None, causal: bool = False) -> torch.Tensor:
    """The norm-based share key j receives, ``β``'s counterpart of :func:`attention_received`:
    averaged over the queries that can see j, ``[L, B, H, T]``."""
    a, seen = _checked(attentions, mask, causal, normalised=False)
    return _received(_norm_share(a, seen, fnorms), seen)


def waiver_gap(attentions, fnorms: torch.Tensor, s: int = 0, mask=None, causal: bool = False) -> torch.Tensor:
    """``mean_t α_ts − mean_t β_ts`` per layer, sequence and head, ``[L, B, H]``: large and positive when
    s absorbs attention but contributes little to the output."""
    a, seen = _checked(attentions, mask, causal, normalised=False)      # stacked and checked once
    return (_received(a, seen) - _received(_norm_share(a, seen, fnorms), seen))[..., s]


def massive_activations(hidden, mask=None, tau_abs: float = 100.0, tau_rel: float = 1000.0) -> dict:
    """Sun et al.'s massive activations per hidden state ``h[l]`` ``[B, T, d]`` (a tuple, or
    ``[L+1, B, T, d]``): the largest magnitude, the median magnitude, their ratio, whether the
    largest is massive (``> tau_abs`` and ``>= tau_rel`` × the median) and where it is (sequence,
    token, dimension). Padding excluded."""
    h = torch.stack(list(hidden)) if isinstance(hidden, (tuple, list)) else hidden
    if h.dim() != 4:
        raise ValueError(f"hidden states must be [layers, B, T, d] (or a tuple of [B, T, d]); got {list(h.shape)}")
    L, B, T, d = h.shape
    keep = torch.ones(B, T, dtype=torch.bool) if mask is None else mask.bool().cpu()
    out = {"max": [], "median": [], "ratio": [], "massive": [], "where": []}
    for layer in range(L):
        mag = h[layer].abs().cpu()
        real = mag[keep]                                               # [n_real, d]
        top = mag.masked_fill(~keep[..., None], -1.0)
        flat = int(top.argmax())
        b, t, c = flat // (T * d), (flat // d) % T, flat % d
        m, med = real.max().item(), real.median().item()
        out["max"].append(m)
        out["median"].append(med)
        out["ratio"].append(m / med if med > 0 else float("inf"))
        out["massive"].append(m > tau_abs and m / max(med, 1e-30) >= tau_rel)
        out["where"].append((b, t, c))
    return out


def hidden_norm_ratio(hidden, s: int = 0, mask=None) -> torch.Tensor:
    """``‖h_s‖ / mean_{t≠s} ‖h_t‖`` per hidden state and sequence, ``[L+1, B]`` (Gu et al.: a sink token
    in a pre-LN LLM has a large hidden norm; post-LN models bound it)."""
    h = torch.stack(list(hidden)) if isinstance(hidden, (tuple, list)) else hidden
    norms = h.norm(dim=-1)                                             # [L, B, T]
    keep = torch.ones(norms.shape[1:], dtype=torch.bool, device=norms.device) if mask is None else mask.bool().clone()
    keep[:, s] = False
    return norms[..., s] / ((norms * keep).sum(-1) / keep.sum(-1))
