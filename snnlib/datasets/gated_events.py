"""Generated event tasks where attention over time, or over channels, should matter (chapter 4).

:func:`gated_digits`: event frames ``[T, 2, 8, width]`` in which a **decoy** digit of another class
competes with the sample's digit, and wherever the decoy is shown a block of events in a **marker**
region far to the right of the digit flags it. Two places for the decoy (``decoy_in``):

- ``'steps'`` (the default): half of the steps show the decoy instead of the digit (random steps
  per sample), and the marker lights up at exactly those steps. Muting must follow **time**.
- ``'polarity'``: every step shows both digits, each in one polarity channel; which polarity holds
  the decoy is drawn per sample, and the marker fires in the decoy's polarity only. Muting must
  follow **channels** (those fed by the decoy's polarity), and differently for every sample; a gate
  over time alone has nothing to pick. (A version with the decoy's polarity drawn anew at every
  step, so that the muting would follow step and channel jointly, was tried for chapter 4 and
  dropped: seed 0, 30 epochs, TLA 37 % and TCJA with a sum 39 %; 60 epochs, no attention 33 %,
  TCJA 31 %, CLA 47 %.)

Why this design (from the mechanism). TCJA, ECA and TA-SNN gate only on the squeeze ``Z`` — the
mean over H and W of a layer's spikes, one number per step and channel — and the networks of
chapters 3–4 read out the **mean over time** of a linear layer. So:

- what tells a step (or a step's channel) to be ignored must be visible in ``Z``: the marker is a
  dense block of events (``marker_density``) that lights up whatever channels detect it, at the
  flagged steps only (with ``'polarity'``: in the channels fed by the flagged polarity only);
- ignoring it must help a time-averaged read-out: the decoy is as strong as the digit (the same
  number of steps or the same polarity share, the same event rate), so without a gate the
  evidence for the two classes ties (a read-out that averages over time cannot tell which one to
  trust);
- fixed weights must not be able to do the gating: the flagged steps and polarities are drawn per
  sample, so no gain fixed in advance mutes the right ones; and the marker sits ``gap`` pixels from
  the digit, more than the receptive field of two ``conv3×3 → pool2`` blocks (8 pixels), so no unit
  sees marker and digit at once, and a linear read-out can only add the marker's evidence, not
  multiply the decoy's away. A gate computed from ``Z`` (global over space) can. With
  ``'polarity'`` it can only if the layer's channels separate the two polarities, which the first
  convolution has to learn (an assumption of the design, measured in chapter 4).

Dense noise bursts in random steps (tried before this design) carry no misleading class evidence,
so a network copes without any gate; here the decoy does.

The digits are scikit-learn's 8×8 UCI digits (the fixed stratified split of
:func:`snnlib.datasets.digits`). At every step each digit pixel of intensity ``p`` emits an event
with probability ``event_rate·p`` — of random polarity with ``'steps'`` and at steps without a
decoy, in the digit's polarity of that step with ``'polarity'``; marker pixels fire with
probability ``marker_density``. The label is the digit's class, never the decoy's.
"""
from __future__ import annotations

import numpy as np
import torch

from .._checks import integer
from .offline import SPLITS, ArrayDataset, DatasetInfo, _check_split, _digit_split

DIGIT = 8          # side of the UCI digits
MARKER_WIDTH = 4   # columns of the marker region
DECOY_IN = ("steps", "polarity")


def _probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1]; got {value!r}")
    return float(value)


def gated_digits(split: str = "train", *, T: int = 8, decoy_in: str = "steps", decoy_steps: int | None = None,
                 gap: int = 8, event_rate: float = 0.8, marker_density: float = 0.8, seed: int = 0) -> ArrayDataset:
    """Event frames where a flagged decoy digit competes with the digit; the design is in the module docstring.

    Args:
        split: ``'train'`` (1,437 samples) or ``'test'`` (360): one sample per UCI digit.
        T: time steps (≥ 2).
        decoy_in: ``'steps'`` (the decoy replaces the digit at flagged steps) or ``'polarity'``
            (at flagged steps the digit and the decoy share the frame, one per polarity, the
            decoy's polarity drawn per sample).
        decoy_steps: how many of the T steps show the decoy, at random places per sample (default
            ``T // 2`` for ``'steps'``, ``T`` for ``'polarity'``; 0 gives the clean control: the digit
            at every step, no marker, identical for both ``decoy_in``).
        gap: empty columns between the digit (columns 0–7) and the marker (the last 4 columns).
        event_rate: event probability of a pixel of intensity 1 per step.
        marker_density: event probability of a marker pixel at a flagged step.
        seed: seeds the decoy choice, the flagged steps and the events (train and test differ).

    Returns:
        An :class:`ArrayDataset` of ``(frames [T, 2, 8, 8 + gap + 4] float 0/1, label)`` with the
        attributes ``decoy_mask`` (bool ``[n, T]``, True where the step shows the decoy and the
        marker), ``decoy_polarity`` (int64 ``[n, T]``: the polarity channel holding the decoy and the
        marker with ``'polarity'``; −1 where there is no decoy and everywhere with ``'steps'``, whose
        events take both polarities) and ``decoy_labels`` (``[n]``, the decoy's class; −1 with no
        decoy steps).
    """
    _check_split(split)
    integer("T", T, minimum=2)
    if decoy_in not in DECOY_IN:
        raise ValueError(f"decoy_in must be one of {DECOY_IN}; got {decoy_in!r}")
    by_polarity = decoy_in == "polarity"
    default = T if by_polarity else T // 2
    decoy_steps = default if decoy_steps is None else integer("decoy_steps", decoy_steps, minimum=0)
    if decoy_steps > T or (decoy_steps == T and not by_polarity):
        raise ValueError(f"decoy_steps must leave at least one step for the digit with decoy_in='steps' "
                         f"and be at most T: {decoy_steps} with T = {T}")
    by_polarity = by_polarity and decoy_steps > 0  # the clean control is the same for both
    integer("gap", gap, minimum=0)
    event_rate, marker_density = _probability("event_rate", event_rate), _probability("marker_density", marker_density)
    integer("seed", seed, minimum=0)

    images, labels = _digit_split(split)
    n, width = len(labels), DIGIT + gap + MARKER_WIDTH
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    # decoy: a random image of another class (from the same split)
    decoy_idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        others = np.flatnonzero(labels != labels[i])
        decoy_idx[i] = others[rng.integers(len(others))]
    mask = np.zeros((n, T), dtype=bool)
    for i in range(n):
        mask[i, rng.choice(T, size=decoy_steps, replace=False)] = True
    frames = np.zeros((n, T, 2, DIGIT, width), dtype=np.float32)
    decoy_pol = np.full((n, T), -1, dtype=np.int64)
    if by_polarity:
        # the digit at every step; at flagged steps the decoy beside it, in the other polarity
        decoy_pol[mask] = np.repeat(rng.integers(2, size=(n, 1)), T, axis=1)[mask]  # one per sample
        own = rng.random((n, T, DIGIT, DIGIT)) < event_rate * images[:, None]
        other = rng.random((n, T, DIGIT, DIGIT)) < event_rate * images[decoy_idx][:, None]
        random_pol = rng.random((n, T, DIGIT, DIGIT)) < 0.5          # steps without a decoy
        marker = (rng.random((n, T, DIGIT, MARKER_WIDTH)) < marker_density) & mask[:, :, None, None]
        for p in (0, 1):
            dec_here = (decoy_pol == p)[:, :, None, None]             # the decoy is in polarity p
            dig_here = (decoy_pol == 1 - p)[:, :, None, None]         # the digit is in polarity p
            free = (decoy_pol == -1)[:, :, None, None] & (random_pol == bool(p))
            frames[:, :, p, :, :DIGIT] = (own & (dig_here | free)) | (other & dec_here)
            frames[:, :, p, :, -MARKER_WIDTH:] = marker & dec_here
    else:
        shown = np.where(mask[:, :, None, None], images[decoy_idx][:, None], images[:, None])  # [n, T, 8, 8]
        fire = rng.random((n, T, DIGIT, DIGIT)) < event_rate * shown
        polarity = rng.random((n, T, DIGIT, DIGIT)) < 0.5
        frames[:, :, 1, :, :DIGIT] = fire & polarity
        frames[:, :, 0, :, :DIGIT] = fire & ~polarity
        marker = (rng.random((n, T, DIGIT, MARKER_WIDTH)) < marker_density) & mask[:, :, None, None]
        marker_pol = rng.random((n, T, DIGIT, MARKER_WIDTH)) < 0.5
        frames[:, :, 1, :, -MARKER_WIDTH:] = marker & marker_pol
        frames[:, :, 0, :, -MARKER_WIDTH:] = marker & ~marker_pol
    decoy_labels = labels[decoy_idx] if decoy_steps else np.full(n, -1, dtype=np.int64)
    if by_polarity:
        kind = f"a decoy in a flagged polarity at {decoy_steps} of {T} steps"
    elif decoy_steps:
        kind = f"{decoy_steps} of {T} steps a flagged decoy"
    else:
        kind = "clean control, no decoy"
    info = DatasetInfo("gated_digits", split, n, (T, 2, DIGIT, width), 10,
                       f"event digits, {kind} (marker {gap} px to the right)", offline=True)
    return ArrayDataset(torch.from_numpy(frames), labels.astype(np.int64), info,
                        decoy_mask=torch.from_numpy(mask), decoy_polarity=torch.from_numpy(decoy_pol),
                        decoy_labels=torch.from_numpy(decoy_labels))
