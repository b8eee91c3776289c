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

The ``decoy='reverse'`` variant (chapter 5, the rank study): the target always moves
**rightward** along its row (``col(t)`` above, the same path in every sample) and ONE decoy of
another class (drawn per sample, never the target's) moves **leftward** on the same row: at step
``t`` it sits at ``col(T - 1 - t)``, the column the target holds at step ``T - 1 - t``, and fires
with the target's probability of that step, ``p(T - 1 - t)``. The decoy is the target's time
reversal with another shape, so the two tie in everything that ignores the order of time: each
place sees both shapes for the same number of steps at the same strengths. Where the two patches
overlap (the middle steps) a pixel fires with the larger of the two probabilities, so neither is
drawn on top. What follows from this, and what does not:

* A network whose read-out sums over time and whose layers cannot tell the direction of motion
  has no cue: its expected ceiling is the tie, about half of the accuracy on a clean target
  (chance with four classes is 25 %). This is an assumption about the network, not a
  property of the data: LIF neurons are causal and carry state, so a network can learn
  direction-selective units and beat the tie.
* A map that keeps the target at every step and drops the decoy, ``M[t, s] = 1`` on the target's
  patch at step ``t``, needs a different place at each time: as target and decoy cross in the
  middle, a sum of (time window × place) components needs about ``T / 2`` or more of them to
  keep most of the path. A rank-1 map ``u(t) w(s)`` that keeps the target wherever it goes keeps
  the decoy equally (the decoy visits the same places). A rank-1 map **can** still separate the
  two on part of the path: a late window times the right half of the row keeps the target's
  second half and no decoy. So rank decides how much of the target a map can keep clean, not
  whether it can keep any of it.
* PFA's temporal factors see only per-step channel means of their input. With ``rate=(p, p)``
  or any linear ``rate`` the summed rate of target and decoy is the same at every step, so a
  module on the input frames cannot tell step ``t`` from ``T - 1 - t``; its map then weighs
  target and decoy equally in expectation, whatever ``R``. A module after LIF layers sees
  features that need not be symmetric in time (the neurons start at rest and are causal); the
  time cue it could key on is one the network has built itself.
* The CP argument limits a map, not the factors that build it. PFA's spatial factors come from
  a convolution whose input channels are the ``T`` steps, so the factor at a place reads the
  whole time course there, including the order in which the two shapes pass it; TCJA's map
  mixes neighbouring steps in both directions. Either module hands the layers after it a
  signal that depends on the direction of motion, at any rank, while the layers of a network
  without attention see time only through causal neuron state.

Returned per sample in this variant: ``trajectory`` as above (always rightward),
``distractor_classes`` ``[n, 1]`` (the decoy's class) and ``decoy_trajectory`` ``[n, T, 2]``.

The ``decoy='swap'`` variant (chapter 5, a design tried after the two above): two places, one
at each side of the frame (top-left corners at column 0 and column ``size - 3``, each on its own
row drawn per sample). The target and ONE decoy of another class sit one at each place and
**swap places at step** ``T // 2``; the side the target starts on is drawn per sample. At step
0 the target is drawn as a solid 3×3 square, which marks its first place; its shape shows from
step 1 on. Both fire with the probability of the step (``rate``, rising: the per-step cue) and
never overlap. What follows:

* Over the whole recording each place holds each shape for half of the steps (the target one
  step less, its first step being the square), so whatever ignores *when* a shape was *where*
  sees both shapes alike: the tie, about half of the accuracy on a clean target.
* The map that keeps the target is (first half × the marked place) + (second half × the other
  place): two time windows with their own spatial maps, rank 2. A rank-1 map ``u(t) w(s)`` can
  keep at best one half of the target clean (for example the marked place, weighted towards
  the first half), and passes the decoy or loses the target's other half.
* PFA's spatial factors (a convolution with the ``T`` steps as input channels) can find the
  marked place (a square at step 0) and the other one (shapes in the second half where no
  square was); its temporal factors can find the halves through the rising rate. A network
  without attention must carry which place was marked at step 0 through its neurons' state
  until the swap, and mute the decoy without a multiplicative gate.

What trained networks did with it is measured in chapter 5: a higher rank raised accuracy, but
the learned maps did not follow the target (they stayed separable in time), and a rank-1 map
whose spatial factor is a mean of R sigmoids did as well as rank R.

Returned per sample in this variant: ``trajectory`` and ``decoy_trajectory`` ``[n, T, 2]``
(row, column of each patch's corner) and ``distractor_classes`` ``[n, 1]``.
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


def _masks() -> np.ndarray:
    return np.array([SHAPES[name] for name in SHAPE_NAMES], dtype=bool)  # [4, 3, 3]


def target_columns(T: int, size: int, rightward: bool = True) -> np.ndarray:
    """Column of the target's top-left corner at each step ``[T]`` (see the module docstring)."""
    integer("T", T, minimum=2)
    integer("size", size, minimum=2 * PATCH + 2)
    cols = np.rint(np.arange(T) * (size - PATCH) / (T - 1)).astype(np.int64)
    return cols if rightward else size - PATCH - cols


def moving_target(split: str = "train", n: int | None = None, T: int = 8, size: int = 16,
                  rate: tuple[float, float] = (0.4, 0.9), noise: float = 0.02,
                  seed: int = 0, decoy: str | None = None) -> ArrayDataset:
    """The moving-target task: ``n`` spike-frame samples ``[T, 2, size, size]`` (float32, 0/1),
    labels the target's shape (4 classes, :data:`SHAPE_NAMES`). ``n`` defaults to 800 for
    ``'train'`` and 400 for ``'test'``; ``seed`` fixes the data (train and test never share a
    stream). ``T >= 4`` and ``size >= 8`` keep the target clear of the distractor at the far end.
    ``decoy=None`` (default) draws the two distractors at the path's ends; ``decoy='reverse'``
    one decoy moving the opposite way, the target's time reversal; ``decoy='swap'`` target and
    decoy at the two sides, swapping places half-way, the target's first place marked (module
    docstring).
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
    if decoy not in (None, "reverse", "swap"):
        raise ValueError(f"decoy must be None, 'reverse' or 'swap'; got {decoy!r}")
    if decoy == "reverse":
        return _reverse_decoy(split, n, T, size, (p0, p1), noise, seed)
    if decoy == "swap":
        return _swap_decoy(split, n, T, size, (p0, p1), noise, seed)

    rng = np.random.default_rng([seed, SPLIT_OFFSET[split]])
    masks = _masks()
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
    frames = _sample_frames(prob, rng)
    info = DatasetInfo("moving_target", split, n, (T, 2, size, size), len(masks),
                       f"generated: 3×3 target crossing the frame, 2 distractors on its path, seed {seed}",
                       True)
    return ArrayDataset(torch.from_numpy(frames), labels.astype(np.int64), info,
                        trajectory=trajectory, distractor_classes=distractors, classes=SHAPE_NAMES)


def _sample_frames(prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # one Bernoulli spike per pixel and step with probability prob [n, T, H, W], each on a random
    # polarity: frames [n, T, 2, H, W] float32
    spikes = rng.random(prob.shape) < prob
    on = rng.random(prob.shape) < 0.5
    return np.stack([spikes & on, spikes & ~on], axis=2).astype(np.float32)


def _target_and_decoy_classes(rng: np.random.Generator, n: int):
    # the shape masks, the target's class and one decoy class per sample, never the target's
    masks = _masks()
    labels = rng.integers(0, len(masks), n)
    others = (labels + rng.integers(1, len(masks), n)) % len(masks)
    return masks, labels, others


def _decoy_dataset(split, frames, labels, others, trajectory, decoy_trajectory, what):
    # the ArrayDataset of a one-decoy variant: frames [n, T, 2, H, W], trajectories [n, T, 2]
    info = DatasetInfo("moving_target", split, len(frames), frames.shape[1:], len(SHAPE_NAMES),
                       f"generated: {what}", True)
    return ArrayDataset(torch.from_numpy(frames), labels.astype(np.int64), info,
                        trajectory=trajectory, distractor_classes=others[:, None],
                        decoy_trajectory=decoy_trajectory, classes=SHAPE_NAMES)


def _reverse_decoy(split, n, T, size, rate, noise, seed) -> ArrayDataset:
    # decoy='reverse': the target rightward, one decoy of another class as its time reversal
    rng = np.random.default_rng([seed, SPLIT_OFFSET[split], 1])   # its own stream
    masks, labels, others = _target_and_decoy_classes(rng, n)
    rows = rng.integers(0, size - PATCH + 1, n)
    cols = target_columns(T, size)
    back = cols[::-1]                                                # decoy: col(T - 1 - t)
    target_p = np.linspace(rate[0], rate[1], T)
    prob = np.full((n, T, size, size), noise)
    for i in range(n):
        r = slice(rows[i], rows[i] + PATCH)
        for t in range(T):
            for mask, c, p in ((masks[labels[i]], cols[t], target_p[t]),
                               (masks[others[i]], back[t], target_p[T - 1 - t])):
                patch = prob[i, t, r, c:c + PATCH]
                patch[mask] = np.maximum(patch[mask], p)             # neither drawn on top
    frames = _sample_frames(prob, rng)
    trajectory = np.zeros((n, T, 2), dtype=np.int64)
    trajectory[:, :, 0] = rows[:, None]
    decoy_trajectory = trajectory.copy()
    trajectory[:, :, 1], decoy_trajectory[:, :, 1] = cols, back
    return _decoy_dataset(split, frames, labels, others, trajectory, decoy_trajectory,
                          f"3×3 target moving right, its time-reversed decoy, seed {seed}")


def _swap_decoy(split, n, T, size, rate, noise, seed) -> ArrayDataset:
    # decoy='swap': target and decoy at the two sides, swapping half-way; the target's first
    # place is a solid square at step 0
    rng = np.random.default_rng([seed, SPLIT_OFFSET[split], 2])   # its own stream
    masks, labels, others = _target_and_decoy_classes(rng, n)
    rows = rng.integers(0, size - PATCH + 1, (n, 2))                   # one row per side
    first_side = rng.integers(0, 2, n)                                 # the target's first place
    side_cols = np.array([0, size - PATCH])
    step_p = np.linspace(rate[0], rate[1], T)
    side = np.where(np.arange(T)[None, :] < T // 2, first_side[:, None], 1 - first_side[:, None])
    trajectory = np.stack([np.take_along_axis(rows, side, 1), side_cols[side]], -1)   # [n, T, 2]
    decoy_trajectory = np.stack([np.take_along_axis(rows, 1 - side, 1), side_cols[1 - side]], -1)
    square = np.ones((PATCH, PATCH), dtype=bool)
    prob = np.full((n, T, size, size), noise)
    for i in range(n):
        for t in range(T):
            for (r, c), mask in ((trajectory[i, t], square if t == 0 else masks[labels[i]]),
                                 (decoy_trajectory[i, t], masks[others[i]])):
                prob[i, t, r:r + PATCH, c:c + PATCH][mask] = step_p[t]
    frames = _sample_frames(prob, rng)
    return _decoy_dataset(split, frames, labels, others, trajectory, decoy_trajectory,
                          f"3×3 target and decoy swapping sides half-way, seed {seed}")
