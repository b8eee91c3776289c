"""Argument checks shared by every module: fail before any work, naming what was expected and received."""
from __future__ import annotations


def integer(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) ``>= minimum``, else a ValueError naming both."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value
