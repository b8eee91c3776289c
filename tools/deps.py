"""The project's dependency lists, read from pyproject.toml (their one home).

Used by the Makefile (which packages go in with ``--no-deps``) and by the test that
keeps ``environment.yml`` in step with ``pyproject.toml``.

    python tools/deps.py without-deps   # spikingjelly==2.0.0
    python tools/deps.py all            # every requirement of snnlib and its extras
"""
from __future__ import annotations

import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("spikingjelly", "chapters", "book", "dev")


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def without_deps() -> list[str]:
    """Packages installed last with ``pip install --no-deps``."""
    return list(pyproject()["tool"]["snnlib"]["install-without-deps"])


def requirements() -> list[str]:
    """snnlib's own requirements followed by those of every extra, in file order."""
    project = pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return reqs


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "without-deps":
        print(" ".join(without_deps()))
    elif what == "all":
        print("\n".join(requirements()))
    else:
        sys.exit(f"usage: {sys.argv[0]} without-deps|all (got {what!r})")
