"""Attention sinks and the waiver phenomenon (chapter 7): metrics (and :class:`Internals`, the
record of one forward pass they read), attention extraction from Hugging Face models and from
:class:`TinyGPT` (causal or bidirectional; learned, rotary or no positions), the Bigram-Backcopy
task, the selection experiments (position or features?), a StreamingLLM cache, and the offline
all-MiniLM-L6-v2 model."""
from .metrics import (Internals, attention_received, first_token_ratio, hidden_norm_ratio, massive_activations,
                      norm_based_received, norm_based_share, sink_rate, stack_layers, transformed_norms,
                      value_norm_ratio, visibility, waiver_gap)
from .selection import selection_rule, selection_tests
from .tinygpt import (BigramBackcopy, TinyGPT, mask_tokens, masked_token_loss, next_token_loss, sink_summary,
                      streaming_logits, train_tinygpt)

__all__ = [
    "attention_received", "first_token_ratio", "sink_rate", "value_norm_ratio", "transformed_norms",
    "norm_based_share", "norm_based_received", "waiver_gap", "massive_activations", "hidden_norm_ratio",
    "stack_layers", "visibility", "Internals",
    "TinyGPT", "BigramBackcopy", "train_tinygpt", "sink_summary", "next_token_loss",
    "mask_tokens", "masked_token_loss", "streaming_logits", "selection_tests", "selection_rule",
]
