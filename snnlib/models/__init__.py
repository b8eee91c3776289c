"""Networks built from snnlib's layers and neurons.

Chapter 2 introduces the small CPU-sized :class:`ConvSNN` and :class:`MLPSNN`; the papers'
networks join them in later chapters.
"""
from .basic import ConvSNN, MLPSNN, build
from .tcja_nets import DVSGestureNet

__all__ = ["ConvSNN", "MLPSNN", "build", "DVSGestureNet"]
