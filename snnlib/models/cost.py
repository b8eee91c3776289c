"""What a network costs: parameters and floating-point operations (chapters 3–5)."""
from __future__ import annotations

import torch
from torch import nn

from ..neuron import reset_net


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of ``module`` (every tensor in ``parameters()``)."""
    return sum(p.numel() for p in module.parameters())


def count_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one forward pass on ``inputs`` in eval mode, counted by ``torch.utils.flop_counter``:
    convolutions, linear layers and matrix products (two per multiply-add); element-wise work such
    as LIF updates is not counted. Neuron state is reset before and after; the module's train/eval
    mode is restored."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = module.training
    counter = FlopCounterMode(display=False)
    reset_net(module)
    try:
        with counter, torch.no_grad():
            module.eval()(*inputs)
    finally:
        reset_net(module)
        module.train(was_training)
    return counter.get_total_flops()
