"""Printed lines that fit the book's text column (about 80 characters; chapter *Getting started*)."""
from __future__ import annotations

import textwrap

COLUMN = 80


def fit(text: str, width: int = COLUMN, indent: str = "  ") -> str:
    """``text`` wrapped at word boundaries to ``width`` characters, continuation lines indented."""
    return "\n".join(textwrap.wrap(text, width=width, subsequent_indent=indent, break_on_hyphens=False))
