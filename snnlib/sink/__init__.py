"""Attention sinks and the waiver phenomenon (chapter 7): metrics, attention extraction from
Hugging Face models and from :class:`TinyGPT`, the Bigram-Backcopy task, and the offline
all-MiniLM-L6-v2 model."""
from .metrics import (attention_received, first_token_ratio, hidden_norm_ratio, massive_activations,
                      norm_based_received, norm_based_share, sink_rate, stack_layers, transformed_norms,
                      value_norm_ratio, visibility, waiver_gap)
from .tinygpt import BigramBackcopy, Internals, TinyGPT, next_token_loss, sink_summary, train_tinygpt

__all__ = [
    "attention_received", "first_token_ratio", "sink_rate", "value_norm_ratio", "transformed_norms",
    "norm_based_share", "norm_based_received", "waiver_gap", "massive_activations", "hidden_norm_ratio",
    "stack_layers", "visibility",
    "TinyGPT", "BigramBackcopy", "Internals", "train_tinygpt", "sink_summary", "next_token_loss",
]
