"""Argument checks shared by every module: fail before any work, naming what was expected and received."""
from __future__ import annotations

import math


def integer(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) ``>= minimum``, else a ValueError naming both."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def number(name: str, value, condition: str = "", ok=lambda v: True) -> float:
    """``value`` as a float if it is a finite number (not a bool) that passes ``ok``, else a
    ValueError naming ``name``, the rule (``condition``, e.g. ``"> 1"``) and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
        rule = f"a finite number{(' ' + condition) if condition else ''}"
        raise ValueError(f"{name} must be {rule}; got {value!r}")
    return float(value)


def reset_potential(value) -> float | None:
    """A neuron's ``v_reset``: a finite number, or ``None`` for a soft reset."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"v_reset must be a finite number, or None for a soft reset; got {value!r}")
    return float(value)
