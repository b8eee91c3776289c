"""Live ipywidgets controls for Jupyter and Colab, absent from the static book (chapter *Getting started*).

An ``ipywidgets.interact`` slider redraws its figure by calling Python, so it needs a running
kernel. In the built book no kernel runs: a saved slider would move and change nothing. The
book build and the notebook tests (``make book``, ``make test``) set ``SNNLIB_STATIC_BOOK=1``;
:func:`interact` then creates no widget at all (so no widget state and no widget script reach
the page), and the chapter's plotly slider figure beside it is the interactive version there.
Widgets are also what can stall a notebook run without a front end: nbclient sometimes waits
for a widget cell's reply until its cell timeout (jupyter/nbclient#312, reproduced here: five
minutes after chapter 0's slider cell under ``--nbmake-timeout=300``).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from ..config import static_build


def interact(function: Callable, **sliders: dict[str, Any]):
    """``ipywidgets.interact(function, ...)`` with one ``FloatSlider`` per keyword, in a live kernel.

    Each keyword names an argument of ``function`` and gives its slider's settings
    (``min``, ``max``, ``step``, optionally ``description``); the slider starts at the
    argument's default; other arguments keep their defaults. In the static book build no widget
    is created: ``function`` runs once with its defaults, its output discarded, and ``None`` is
    returned.

    Raises:
        ValueError: for a keyword that is not an argument of ``function`` with a default, or a
            slider without ``min`` and ``max``.
    """
    defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                if p.default is not inspect.Parameter.empty}
    for name, spec in sliders.items():
        if name not in defaults:
            raise ValueError(f"{name!r} must be an argument of {function.__name__} with a default; "
                             f"its arguments with defaults are {sorted(defaults)}")
        if not isinstance(spec, dict) or not {"min", "max"} <= set(spec):
            raise ValueError(f"slider {name!r} needs a dict with at least 'min' and 'max'; got {spec!r}")
    if static_build():
        # no widget, but the function still runs once with its defaults (its output discarded),
        # so a notebook run without a front end (the book build, CI) still catches its errors
        from IPython.utils.capture import capture_output

        with capture_output():
            function(**defaults)
        return None
    import ipywidgets

    # arguments without a slider keep their defaults (interact would give them sliders too)
    controls = {name: ipywidgets.fixed(value) for name, value in defaults.items()}
    controls.update({name: ipywidgets.FloatSlider(value=defaults[name], **{"description": name, **spec})
                     for name, spec in sliders.items()})
    return ipywidgets.interact(function, **controls)
