"""Networks built from snnlib's layers and neurons.

Chapter 2 introduces the small CPU-sized :class:`ConvSNN` and :class:`MLPSNN`; the papers'
networks (:class:`DVSGestureNet`, :class:`CIFAR10DVSNet`, :class:`NCaltech101Net`, chapters 3–4)
and the PFA networks (:class:`PFAVGG`, :class:`FashionPFANet`, chapter 5) join them, each with a
CPU-sized version (``.small()``).
"""
from .basic import ConvSNN, MLPSNN
from .pfa_nets import FashionPFANet, PFAVGG
from .blocks import ATTENTIONS, attention_layer
from .cost import count_flops, count_parameters
from .registry import MODELS, build
from .tcja_nets import AttentionConvSNN, CIFAR10DVSNet, DVSGestureNet, NCaltech101Net

__all__ = ["ConvSNN", "MLPSNN", "MODELS", "build", "count_parameters", "count_flops", "ATTENTIONS", "attention_layer", "DVSGestureNet", "CIFAR10DVSNet",
           "NCaltech101Net", "PFAVGG", "FashionPFANet", "AttentionConvSNN"]
