"""A generated event task whose useful attention map couples time and space (chapter 5, *PFA*).

:func:`moving_target` — one small shape (the **target**, its shape is the label) crosses the
frame along a row while two **distractor** shapes of random class flash *on the same row*, each
at the end of the path the target is not in at the time. Offline, seeded, spike frames
``[T, 2, size, size]`` ready for the networks.

Why this design (the CP argument of chapter 5). Flatten space to ``S = size²``. The map that
keeps the target and removes the distractors is ``M[t, s] = 1`` where the target is at step
``t`` and 0 elsewhere. Its ``T × S`` unfolding has one row per position the target takes, so
its rank is the number of distinct positions (up to ``T``). A rank-1 map
``v_t ∘ v_c ∘ v_s`` is one spatial map ``v_s`` scaled over time: to keep the target at every
step ``v_s`` must cover the whole path, and the distractors sit on that path, so a rank-1
map passes them too. A rank-R map can give each of R time windows its own spatial map,
``Σ_r v_t^(r)[t] v_s^(r)[s]``, and so follow the target in R stages. Distractors off the
path would make the task too easy for rank 1 (one band along the row removes them); that is
why they appear on it. They sit at the two ends of the path only, so the columns between the
two end patches (``3 .. size - 4``) never hold a distractor: a rank-1 map (or a read-out with a
weight per place) can keep the target on its middle steps and drop both ends, and only the
steps where the target overlaps an end patch need a map that changes place with time. This
limits what rank can add on this task.

PFA's temporal factors see only the per-step channel means of their input, so a factor can
pick out a time window only if some per-step statistic changes with ``t``. The target's firing
probability therefore rises linearly over the recording (``rate``: from the first value at
``t = 0`` to the second at ``t = T - 1``, an object that approaches), while the distractors
fire at the constant mean of the two. ``rate=(p, p)`` removes that cue.

The documented trajectory: the target's 3×3 patch has its top-left corner at row ``row`` (drawn
per sample) and column ``col(t) = round(t · (size - 3) / (T - 1))`` when it moves right,
``size - 3 - col(t)`` when it moves left (direction drawn per sample). Distractor A sits at the
path's last column during ``t < T // 2``; distractor B at its first column during
``t >= T // 2`` (first and last in the direction of motion). Every pixel of a shape fires with
its probability at each step, on a random polarity; background pixels fire with ``noise``.
Returned per sample: ``dataset.trajectory`` ``[n, T, 2]`` (row, column of the target's corner)
and ``dataset.distractor_classes`` ``[n, 2]``.
"""
from __future__ import annotations

import numpy as np
import torch

from .._checks import integer, number
from .offline import ArrayDataset, DatasetInfo, _check_split

SHAPES = {  # 3×3 masks; the label is the index in this order
    "plus": [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
    "cross": [[1, 0, 1], [0, 1, 0], [1, 0, 1]],
    "ring": [[1, 1, 1], [1, 0, 1], [1, 1, 1]],
    "bars": [[1, 1, 1], [0, 0, 0], [1, 1, 1]],
}
SHAPE_NAMES = tuple(SHAPES)
PATCH = 3
SPLIT_OFFSET = {"train": 0, "test": 1_000_003}  # test data come from a different stream


def target_columns(T: int, size: int, rightward: bool = True) -> np.ndarray:
    """Column of the target's top-left corner at each step ``[T]`` (see the module docstring)."""
    integer("T", T, minimum=2)
    integer("size", size, minimum=2 * PATCH + 2)
    cols = np.rint(np.arange(T) * (size - PATCH) / (T - 1)).astype(np.int64)
    return cols if rightward else size - PATCH - cols


def moving_target(split: str = "train", n: int | None = None, T: int = 8, size: int = 16,
                  rate: tuple[float, float] = (0.4, 0.9), noise: float = 0.02,
                  seed: int = 0) -> ArrayDataset:
    """The moving-target task: ``n`` spike-frame samples ``[T, 2, size, size]`` (float32, 0/1),
    labels the target's shape (4 classes, :data:`SHAPE_NAMES`). ``n`` defaults to 800 for
    ``'train'`` and 400 for ``'test'``; ``seed`` fixes the data (train and test never share a
    stream). ``T >= 4`` and ``size >= 8`` keep the target clear of the distractor at the far end.
    """
    _check_split(split)
    n = (800 if split == "train" else 400) if n is None else integer("n", n)
    integer("T", T, minimum=4)
    integer("size", size, minimum=2 * PATCH + 2)
    integer("seed", seed, minimum=0)
    if not isinstance(rate, (tuple, list)) or len(rate) != 2:
        raise ValueError(f"rate must be a pair (first step, last step); got {rate!r}")
    p0, p1 = (number("rate", p, "in (0, 1]", lambda v: 0 < v <= 1) for p in rate)
    number("noise", noise, "in [0, 1)", lambda v: 0 <= v < 1)

    rng = np.random.default_rng([seed, SPLIT_OFFSET[split]])
    masks = np.array([SHAPES[name] for name in SHAPE_NAMES], dtype=bool)
    labels = rng.integers(0, len(masks), n)
    rows = rng.integers(0, size - PATCH + 1, n)
    rightward = rng.random(n) < 0.5
    distractors = rng.integers(0, len(masks), (n, 2))
    target_p = np.linspace(p0, p1, T)
    distractor_p = (p0 + p1) / 2

    # per step and pixel: the firing probability of whatever is drawn there
    prob = np.full((n, T, size, size), noise)
    trajectory = np.zeros((n, T, 2), dtype=np.int64)
    for i in range(n):
        cols = target_columns(T, size, bool(rightward[i]))
        trajectory[i, :, 0], trajectory[i, :, 1] = rows[i], cols
        r = slice(rows[i], rows[i] + PATCH)
        for t in range(T):
            last = cols[-1] if t < T // 2 else cols[0]                 # distractor A, then B
            d_mask = masks[distractors[i, 0 if t < T // 2 else 1]]
            patch = prob[i, t, r, last:last + PATCH]
            patch[d_mask] = distractor_p
            patch = prob[i, t, r, cols[t]:cols[t] + PATCH]
            patch[masks[labels[i]]] = target_p[t]
    spikes = rng.random(prob.shape) < prob
    on = rng.random(prob.shape) < 0.5
    frames = np.stack([spikes & on, spikes & ~on], axis=2).astype(np.float32)  # [n, T, 2, H, W]
    info = DatasetInfo("moving_target", split, n, (T, 2, size, size), len(masks),
                       f"generated: 3×3 target crossing the frame, 2 distractors on its path, seed {seed}",
                       True)
    return ArrayDataset(torch.from_numpy(frames), labels.astype(np.int64), info,
                        trajectory=trajectory, distractor_classes=distractors, classes=SHAPE_NAMES)
