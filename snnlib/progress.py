"""Progress bars for every long loop in snnlib (training, downloads, framing), in one place.

Each bar is ``tqdm.auto`` (a widget in notebooks, text in a terminal) with three rules:
at most a few redraws a second (in a notebook every redraw is a widget message, and a flood
of them can make ipykernel drop messages); a finished bar disappears in a notebook, so a page
shows results rather than a bar frozen at 100 %, while a terminal keeps its last line; and no
bar at all in the static book build (:func:`snnlib.config.static_build`), where no one
watches it run.
"""
from __future__ import annotations

from typing import Iterable

from .config import static_build


def progress_bar(iterable: Iterable | None = None, *, show: bool = True, mininterval: float = 0.5, **kwargs):
    """A ``tqdm.auto.tqdm`` over ``iterable`` (or with ``total=``); ``show=False`` and the static
    book build give a disabled bar, which iterates and ignores updates."""
    from tqdm.auto import tqdm

    in_notebook = tqdm.__module__.startswith(("tqdm.notebook", "tqdm.autonotebook"))
    kwargs.setdefault("leave", not in_notebook)
    return tqdm(iterable, disable=not show or static_build(), mininterval=mininterval, **kwargs)
