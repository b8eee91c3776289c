"""Yan et al.'s question — is the waiver chosen by *position* or by *features*? — as experiments
on a :class:`~snnlib.sink.tinygpt.TinyGPT` (chapter 7), and one reading of their results that
serves TinyGPT and Hugging Face models alike (:func:`snnlib.sink.hf.selection_tests`).

The experiments move things apart that normally coincide — the special first token (BOS,
[CLS]) and position 0 — and measure the attention received at each place afterwards.
"""
from __future__ import annotations

import torch

from .._checks import integer, number
from .metrics import attention_received, value_norm_ratio
from .tinygpt import TinyGPT

EXPERIMENTS = ("original", "drop first", "shift positions", "move first")


def selection_tests(model: TinyGPT, ids: torch.Tensor, shift: int | None = None) -> dict:
    """The selection experiments on a TinyGPT, for sequences ``ids`` ``[B, T]`` whose first token
    is the special one (BOS). All four run on the first ``T - shift`` tokens (``shift`` defaults
    to ``T // 2``), so shifted positions stay among those a model with learned positions was
    trained on:

    * ``'original'`` — as trained, the special token at position 0;
    * ``'drop first'`` — the special token removed: an ordinary token is now at position 0;
    * ``'shift positions'`` — every position moved up by ``shift``: same tokens, no position 0
      (rotary and absent positions make this a no-op for attention between tokens);
    * ``'move first'`` — the special token moved to the middle, an ordinary token at position 0.

    Returns ``{experiment: {place: {"alpha": [L], "value_ratio": [L]}}}`` (attention received and
    value-norm ratio, means over heads and sequences), places ``'position 0'`` and, where the
    special token moved, ``'first token'`` — the layout of :func:`snnlib.sink.hf.selection_tests`.
    """
    model._check_ids(ids)
    B, T = ids.shape
    shift = T // 2 if shift is None else shift
    integer("shift", shift)
    if T - shift < 3:
        raise ValueError(f"shift={shift} leaves {T - shift} of {T} tokens; the experiments need at least 3")
    x = ids[:, :T - shift]
    n = x.shape[1]
    middle = n // 2
    moved = torch.cat([x[:, 1:middle + 1], x[:, :1], x[:, middle + 1:]], 1)    # the special token now at `middle`
    runs = {
        "original": (x, None, {"position 0": 0}),
        "drop first": (x[:, 1:], None, {"position 0": 0}),
        "shift positions": (x, torch.arange(shift, shift + n), {"position 0": 0}),
        "move first": (moved, None, {"position 0": 0, "first token": middle}),
    }
    was_training = model.training
    model.eval()
    results: dict = {}
    with torch.no_grad():
        for name, (inputs, positions, places) in runs.items():
            if model.sink is not None and positions is not None:
                positions = positions + 1
            _, inside = model(inputs, return_internals=True, position_ids=positions)
            offset = inside.attentions.shape[-1] - inputs.shape[1]           # 1 with a learnable sink token
            alpha = attention_received(inside.attentions, causal=inside.causal,
                                       normalised=model.attention == "softmax")
            results[name] = {place: {"alpha": alpha[..., j + offset].mean(dim=(1, 2)),
                                     "value_ratio": value_norm_ratio(inside.values, j + offset).mean(dim=(1, 2))}
                             for place, j in places.items()}
    model.train(was_training)
    return results


def selection_rule(results: dict, layers, keep: float = 0.5, eps: float = 0.3) -> dict:
    """Which rule the selection experiments show, over ``layers`` (a list of layer indices;
    attention received averaged over them):

    * a sink to select at all: the original first token receives more than ``eps``;
    * **position** selects the waiver if, with the special token dropped, the ordinary token now at
      position 0 keeps at least ``keep`` of the original attention;
    * **features** select it if the special token, moved to the middle, keeps at least ``keep``.

    ``keep = 0.5`` and ``eps = 0.3`` (Gu et al.'s ε) are this book's thresholds, not the paper's.
    Returns the original attention, the ratios to it (``'drop first'``, ``'moved token'``,
    ``'position 0 after move'``, ``'shifted'``) and ``'rule'``: ``'position'``, ``'features'``,
    ``'both'``, ``'neither'`` or ``'no sink'``.
    """
    missing = [name for name in EXPERIMENTS if name not in results]
    if missing:
        raise ValueError(f"results lack the experiments {missing}; pass the output of selection_tests")
    layers = list(layers)
    depth = len(results["original"]["position 0"]["alpha"])
    if not layers or any(not isinstance(l, int) or not 0 <= l < depth for l in layers):
        raise ValueError(f"layers must be a non-empty list of layer indices in [0, {depth}); got {layers}")
    number("keep", keep, "in (0, 1]", lambda k: 0 < k <= 1)
    number("eps", eps, "in [0, 1)", lambda e: 0 <= e < 1)

    def alpha(name, place="position 0"):
        return results[name][place]["alpha"][layers].mean().item()

    base = alpha("original")
    out = {"original": base, "drop first": alpha("drop first") / base, "moved token": alpha("move first", "first token") / base,
           "position 0 after move": alpha("move first") / base, "shifted": alpha("shift positions") / base}
    by_position, by_features = out["drop first"] >= keep, out["moved token"] >= keep
    if base <= eps:
        out["rule"] = "no sink"
    else:
        out["rule"] = {(True, True): "both", (True, False): "position", (False, True): "features",
                       (False, False): "neither"}[by_position, by_features]
    return out
