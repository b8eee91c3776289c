"""Run profiles: one environment variable sets the scale of every chapter.

``SNNLIB_PROFILE`` picks one of three profiles (introduced in *Getting started*):

========  =======================  =====================================================
profile   where                    data and budget
========  =======================  =====================================================
``ci``    CI and ``make test``     offline and tiny; each notebook well under a minute
``book``  ``make book``, a laptop  offline, small but meaningful; a few minutes a chapter
``paper`` Colab / GPU servers      the papers' real datasets and hyper-parameters
========  =======================  =====================================================

``book`` is the default. Chapters never hard-code sizes: they ask
``chapter_settings("<chapter>")`` and print :func:`describe` so a reader always sees which
profile, data and device a run used.

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

# Per-chapter sizes. Each chapter has one entry whose three profiles define the same
# keys (tests check this), so switching profile can never leave a size undefined.
CHAPTER_SETTINGS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "00_getting_started": {
        "ci": {"steps": 20, "neurons": 8, "taus": (2.0, 4.0)},
        "book": {"steps": 100, "neurons": 32, "taus": (1.5, 2.0, 4.0, 8.0, 16.0)},
        "paper": {"steps": 100, "neurons": 32, "taus": (1.5, 2.0, 4.0, 8.0, 16.0)},
    },
    "01_lif_neurons": {
        "ci": {"steps": 40, "fi_points": 12, "fi_steps": 200, "opt_steps": 25, "bench_T": 8,
               "bench_log2N": 14, "bench_reps": 3},
        "book": {"steps": 60, "fi_points": 40, "fi_steps": 600, "opt_steps": 60, "bench_T": 16,
                 "bench_log2N": 20, "bench_reps": 5},
        "paper": {"steps": 60, "fi_points": 40, "fi_steps": 600, "opt_steps": 60, "bench_T": 16,
                  "bench_log2N": 22, "bench_reps": 10},
    },
    "02_data_and_training": {
        "ci": {"T": 4, "digits_epochs": 2, "event_T": 6, "event_epochs": 1, "event_steps": 6, "anim_frames": 10},
        "book": {"T": 4, "digits_epochs": 8, "event_T": 8, "event_epochs": 8, "event_steps": None,
                 "anim_frames": 20},
        "paper": {"T": 8, "digits_epochs": 20, "event_T": 20, "event_epochs": 64, "event_steps": None,
                  "anim_frames": 20},
    },
    "03_tcja": {
        "ci": {"T": 6, "epochs": 2, "steps": None},
        "book": {"T": 8, "epochs": 3, "steps": None},
        "paper": {"T": 8, "epochs": 3, "steps": None},
    },
    "04_ccf": {
        "ci": {"T": 6, "epochs": 1, "steps": 8, "seeds": 2, "samples": 4, "paper_flops": False, "paper_epochs": 1},
        "book": {"T": 8, "epochs": 5, "steps": None, "seeds": 3, "samples": 8, "paper_flops": True, "paper_epochs": 1},
        "paper": {"T": 8, "epochs": 5, "steps": None, "seeds": 3, "samples": 8, "paper_flops": True,
                  "paper_epochs": 1024},
    },
    "05_pfa": {
        "ci": {"T": 6, "net_epochs": 1, "cp_ranks": (1, 2, 4, 8), "epochs": 1, "steps": 8, "seeds": 2,
               "ranks": (1, 4), "paper_epochs": 1},
        "book": {"T": 8, "net_epochs": 3, "cp_ranks": (1, 2, 4, 8, 16, 32), "epochs": 5, "steps": None, "seeds": 3,
                 "ranks": (1, 4, 16), "paper_epochs": 1},
        "paper": {"T": 8, "net_epochs": 3, "cp_ranks": (1, 2, 4, 8, 16, 32), "epochs": 5, "steps": None, "seeds": 3,
                  "ranks": (1, 4, 16), "paper_epochs": 200},
    },
    "06_spiking_vae": {
        "ci": {"size": 16, "T": 4, "latent": 16, "k": 5, "channels": (8, 16, 32), "epochs": 2, "steps": 6,
               "batch": 64, "lr": 3e-3, "seeds": 1, "clf_epochs": 2, "samples": 64},
        "book": {"size": 16, "T": 8, "latent": 32, "k": 10, "channels": (16, 32, 64), "epochs": 30, "steps": None,
                 "batch": 64, "lr": 3e-3, "seeds": 2, "clf_epochs": 8, "samples": 360},
        "paper": {"size": 32, "T": 16, "latent": 128, "k": 20, "channels": (32, 64, 128, 256), "epochs": 150,
                  "steps": None, "batch": 250, "lr": 1e-3, "seeds": 1, "clf_epochs": 8, "samples": 10000},
    },
    "07_attention_sinks": {
        "ci": {"length": 16, "batch": 16, "steps": 30, "eval_every": 10, "seeds": 1, "window": 4, "snn_T": 6,
               "snn_epochs": 1, "snn_steps": 4},
        "book": {"length": 32, "batch": 64, "steps": 1000, "eval_every": 100, "seeds": 2, "window": 8, "snn_T": 8,
                 "snn_epochs": 5, "snn_steps": None},
        "paper": {"length": 32, "batch": 64, "steps": 1000, "eval_every": 100, "seeds": 2, "window": 8, "snn_T": 8,
                  "snn_epochs": 5, "snn_steps": None},
    },
}


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


def chapter_settings(chapter: str, profile: str | Profile | None = None) -> Mapping[str, Any]:
    """The sizes chapter ``chapter`` uses under ``profile`` (default: the active one), read-only."""
    if chapter not in CHAPTER_SETTINGS:
        raise KeyError(
            f"no settings for chapter {chapter!r}; known chapters: {', '.join(sorted(CHAPTER_SETTINGS))}"
        )
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    return MappingProxyType(dict(CHAPTER_SETTINGS[chapter][prof.name]))


def device() -> str:
    """``'cuda'`` when a GPU is visible, else ``'cpu'`` (chapters move tensors with it)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def describe(profile: str | Profile | None = None) -> str:
    """One line a chapter prints so the reader sees how it was run."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    data = "the papers' real datasets" if prof.real_data else "offline data (bundled or generated)"
    return f"profile {prof.name!r}: {data}; budget: {prof.budget}; device: {device()}"
