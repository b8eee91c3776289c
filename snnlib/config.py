"""Run profiles: one environment variable sets the scale of every chapter.

``SNNLIB_PROFILE`` picks one of three profiles (introduced in *Getting started*):

========  =======================  =====================================================
profile   where                    data and budget
========  =======================  =====================================================
``ci``    CI and ``make test``     offline and tiny; each notebook well under a minute
``book``  ``make book``, a laptop  offline, small but meaningful; a few minutes a chapter
``paper`` Colab / GPU servers      the papers' real datasets and hyper-parameters
========  =======================  =====================================================

``book`` is the default. Each chapter declares its own sizes for the three profiles in its first
code cell and takes the active one with :func:`per_profile` (so a chapter opened alone in Colab
is self-contained), and prints :func:`describe` so a reader always sees which profile, data and
device a run used.

>>> from snnlib import config
>>> config.get_profile("ci").name
'ci'
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

ENV_VAR = "SNNLIB_PROFILE"
PROFILE_NAMES = ("ci", "book", "paper")
DEFAULT_PROFILE = "book"


@dataclass(frozen=True)
class Profile:
    """One run profile.

    Attributes:
        name: ``'ci'``, ``'book'`` or ``'paper'``.
        real_data: whether chapters use the papers' real (downloaded) datasets. When
            ``True`` a chapter that cannot obtain them fails; it never falls back to
            offline data.
        budget: the time budget per notebook, in words.
    """

    name: str
    real_data: bool
    budget: str

    def pick(self, **by_profile: Any) -> Any:
        """Return the value given for this profile: ``profile.pick(ci=2, book=20, paper=200)``.

        All three profiles must be given, so a chapter cannot forget one.
        """
        given = sorted(by_profile)
        if given != sorted(PROFILE_NAMES):
            raise TypeError(
                f"pick() needs a value for each profile {list(PROFILE_NAMES)}; got {given}"
            )
        return by_profile[self.name]


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "ci": Profile("ci", real_data=False, budget="well under a minute per notebook on 2 CPU cores"),
        "book": Profile("book", real_data=False, budget="a few minutes per chapter on 2 CPU cores"),
        "paper": Profile("paper", real_data=True, budget="the papers' full schedules; a GPU is expected"),
    }
)

def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, or the one ``SNNLIB_PROFILE`` selects (default ``book``).

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    source = "argument"
    if name is None:
        name, source = os.environ.get(ENV_VAR, "").strip() or DEFAULT_PROFILE, f"${ENV_VAR}"
    if name not in PROFILES:
        raise ValueError(
            f"unknown run profile {name!r} (from {source}); expected one of: {', '.join(PROFILE_NAMES)}"
        )
    return PROFILES[name]


def per_profile(profile: str | Profile | None = None, **by_profile: Mapping[str, Any]) -> Mapping[str, Any]:
    """The sizes of the active profile (or ``profile``), read-only, from one mapping per profile.

    A chapter declares its own sizes in its first code cell::

        settings = config.per_profile(
            ci=dict(steps=20, seeds=1),
            book=dict(steps=200, seeds=5),
            paper=dict(steps=2000, seeds=5),
        )

    Raises:
        TypeError: unless all three profiles are given and define the same keys, so switching
            profile can never leave a size undefined.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    given = sorted(by_profile)
    if given != sorted(PROFILE_NAMES):
        raise TypeError(f"per_profile() needs sizes for each profile {list(PROFILE_NAMES)}; got {given}")
    keys = {name: sorted(values) for name, values in by_profile.items()}
    if any(k != keys[prof.name] for k in keys.values()):
        raise TypeError(f"every profile must define the same sizes; got {keys}")
    return MappingProxyType(dict(by_profile[prof.name]))


STATIC_BUILD_ENV = "SNNLIB_STATIC_BOOK"


def static_build() -> bool:
    """Whether this kernel runs inside the static book build (``make book`` sets
    ``SNNLIB_STATIC_BOOK=1``): no one watches progress bars there, and no live widget can work
    on the page (chapter *Getting started*)."""
    return os.environ.get(STATIC_BUILD_ENV, "").strip() == "1"


def device() -> str:
    """``'cuda'`` when a GPU is visible, else ``'cpu'`` (chapters move tensors with it)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def describe(profile: str | Profile | None = None) -> str:
    """What a chapter prints so the reader sees how it was run (two lines that fit the page)."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    data = "the papers' real datasets" if prof.real_data else "offline data (bundled or generated)"
    return f"profile {prof.name!r}: {data}; device: {device()}\nbudget: {prof.budget}"
