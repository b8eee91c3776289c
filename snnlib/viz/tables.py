"""Tables of results as Markdown, rendered by every front end and by the book (chapters 4–7)."""
from __future__ import annotations

from typing import Any, Sequence

_RULES = {"l": "---", "c": ":-:", "r": "--:"}


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown table: one line per row, cells formatted with ``str``, ``|`` in a
    cell escaped. ``align`` has one letter per column, ``l``, ``c`` or ``r`` (default all ``l``)."""
    align = align or "l" * len(header)
    if len(align) != len(header) or set(align) - set(_RULES):
        raise ValueError(f"align needs one of l/c/r per column ({len(header)}); got {align!r}")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells; the header has {len(header)}")

    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join(_RULES[a] for a in align) + "|", *map(line, rows)])


def show_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> None:
    """Display :func:`table` as Markdown in a notebook, or print it in a script."""
    show_markdown(table(header, rows, align))


def show_markdown(text: str) -> None:
    """Display Markdown (a table, a computed reading) in a notebook, or print it in a script."""
    if not isinstance(text, str):
        raise TypeError(f"show_markdown expects a str of Markdown; got {type(text).__name__}")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(Markdown(text))
