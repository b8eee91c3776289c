"""Every network in snnlib by name: the one registry the train CLI and the chapters build from."""
from __future__ import annotations

from torch import nn

from .basic import ConvSNN, MLPSNN
from .pfa_nets import FashionPFANet, PFAVGG
from .tcja_nets import CIFAR10DVSNet, DVSGestureNet, NCaltech101Net

MODELS: dict[str, type[nn.Module]] = {
    "conv": ConvSNN, "mlp": MLPSNN,                                  # chapter 2
    "DVSGestureNet": DVSGestureNet, "CIFAR10DVSNet": CIFAR10DVSNet,  # TCJA, chapters 3-4
    "NCaltech101Net": NCaltech101Net,
    "PFAVGG": PFAVGG, "FashionPFANet": FashionPFANet,                # PFA, chapter 5
}
# Networks whose time steps are fixed when they are built (their attention is sized for T).
TIME_SIZED = frozenset({"DVSGestureNet", "CIFAR10DVSNet", "NCaltech101Net", "PFAVGG", "FashionPFANet"})


def build(name: str, **kwargs) -> nn.Module:
    """The network called ``name`` (a key of :data:`MODELS`) built with its keyword arguments."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}; got {name!r}")
    return MODELS[name](**kwargs)
