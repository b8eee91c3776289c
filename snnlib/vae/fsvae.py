"""FSVAE, the fully spiking VAE (Kamata et al., AAAI 2022), built layer for layer as its official
code builds it (github.com/kamata1729/FullySpikingVAE, ``fsvae_models/``), in snnlib's
time-first layout; and the TCJA paper's decoder variant (chapter 6).

* **Input** — the image repeated at every one of T steps (direct coding), ``[T, N, C, H, W]``.
* **Layers** — :mod:`snnlib.vae.layers`: FSVAE's LIF (decay 0.25, ``u > 0.2``, rectangular
  surrogate centred on ``u = 0``), tdBN (statistics over T, N, H, W; scale ``α·V_th``).
* **Encoder** — ``conv 3×3 stride 2 (bias) → tdBN → LIF`` per width in ``channels`` (official:
  32, 64, 128, 256; CelebA's large network adds 512), then ``linear → tdBN → LIF`` to C latent
  channels: spike features ``e_t`` ``[T, N, C]``.
* **Bernoulli spike latents** — ``z_t ∈ {0, 1}^C``. The posterior ``q(z_t | e_≤t, z_<t)`` is three
  ``linear → tdBN(α = 2) → LIF`` layers (2C → 2C → 4C → kC) on ``[e_t, z_{t−1}]`` (``z_{−1} = 0``),
  emitting k spikes per channel; ``z_{t,c}`` is one of them picked at random, so
  ``P(z_{t,c} = 1) = π^q_{t,c}``, their mean. The prior ``p(z_t | z_<t)`` is the same kind of network
  (C → 2C → 4C → kC) on ``z_{t−1}`` alone, giving ``π^p``.
* **How the official code runs them** (and snnlib with it). The posterior's samples are drawn
  first, without gradient, step by step: at step t the layers run on the whole prefix
  ``0..t`` and the last output is sampled. Then the layers run once more on the whole sequence
  ``[e, z_shifted]`` with gradient, and ``z`` is re-read from that pass with the same random picks.
  In training, tdBN's statistics span the steps they see, so the prefix passes and the full
  pass need not agree: the ``z`` the decoder gets can differ from the one the posterior was
  conditioned on. In evaluation (running statistics) every layer is causal and they agree.
  The prior runs on the posterior's samples, detached and shifted by one step.
* **Scheduled sampling** (training only, ``scheduled=True`` as in every official config): for each
  ``t ≥ 5``, with probability :attr:`SpikingVAE.p` (one coin per step for the whole batch) the
  prior's next input is its own prediction ``(mean_k spikes + 10⁻³·noise) > 0.5`` instead of the
  posterior's sample. ``p`` rises linearly over training, ``0.1 + 0.2·epoch/epochs``
  (:func:`scheduled_p`, called by :func:`fit_vae` at each epoch as the official ``update_p``).
* **MMD** — with the kernel ``k(z, z') = ⟨PSP(z), PSP(z')⟩`` (PSP: ``s_t = s_{t−1} + (x_t − s_{t−1})/τ_s``,
  τ_s = 2), ``MMD² = Σ_t ‖PSP(π^q)_t − PSP(π^p)_t‖²`` because the filter is linear and ``E[z] = π``;
  FSVAE averages it over N, C and T (``torch.mean``), as :func:`mmd_squared` does. Loss:
  ``MSE(x̂, x) + β·MMD²``, β = 1 officially.
* **Decoder** — ``linear → tdBN → LIF`` to a ``channels[-1] × 2 × 2`` map, ``conv-transpose stride 2
  → tdBN → LIF`` blocks back to ``channels[0]``, one more such block at ``channels[0]`` (FSVAE's
  ``final_layer``), then a stride-1 conv-transpose to the image channels with neither BN nor
  neuron. The image is read from that layer's "membrane", ``Σ_t 0.8^{T−1−t} y_t``, then ``tanh``.
* **TCJA variant** (``attention='tcja'``) — the TCJA paper puts TCJA into FSVAE's decoder and
  averages the decoder output over time instead of the membrane read-out, but does not say where
  TCJA sits. **Assumption:** one TCJA (kernels 2 and 2) after the last decoder LIF, i.e. just
  before the last conv-transpose. ``readout='mean'`` with ``attention=None`` changes only the
  read-out, which separates the two changes.

snnlib departs from the official code only where no number changes: time first; the random picks
come from a ``generator`` (reproducible sampling); the unbiased running-variance factor is 1 for
a single element per channel (official: ``inf``). The official configurations are
``SpikingVAE.official('mnist')`` (4,053,601 parameters) and ``SpikingVAE.official('celeba')``
(6,681,571). Images are in [-1, 1] (``uint8`` is converted).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._checks import integer, number
from ..attention import TCJA
from ..layers import DirectEncoder
from ..train.engine import Step, run_loop, shuffled_batches
from .layers import FSVAELIF, td_conv, td_conv_transpose, td_linear

OFFICIAL = {
    "mnist": dict(in_channels=1, size=32, T=16, latent=128, k=20, channels=(32, 64, 128, 256)),
    "celeba": dict(in_channels=3, size=64, T=16, latent=128, k=20, channels=(32, 64, 128, 256, 512)),
}
OFFICIAL_PARAMETERS = {"mnist": 4_053_601, "celeba": 6_681_571}
SCHEDULE_START = 5  # scheduled sampling touches steps t >= 5


def psp(x: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """FSVAE's PSP filter along time (dim 0): ``s_t = s_{t−1} + (x_t − s_{t−1})/τ_s``, ``s_{−1} = 0``."""
    out, s = [], torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        s = s + (x[t] - s) / tau_s
        out.append(s)
    return torch.stack(out)


def mmd_squared(pi_q: torch.Tensor, pi_p: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """``MMD²`` between posterior and prior spike latents from their firing probabilities
    ``[T, N, C]``: ``mean((PSP(π^q) − PSP(π^p))²)`` over T, N and C — FSVAE's distance loss."""
    if pi_q.shape != pi_p.shape or pi_q.dim() != 3:
        raise ValueError(f"pi_q and pi_p must both be [T, N, C]; got {list(pi_q.shape)} and {list(pi_p.shape)}")
    return ((psp(pi_q, tau_s) - psp(pi_p, tau_s)) ** 2).mean()


def membrane_readout(y: torch.Tensor, decay: float = 0.8) -> torch.Tensor:
    """FSVAE's output "membrane" ``Σ_t decay^{T−1−t} y_t`` over time (dim 0)."""
    T = y.shape[0]
    weights = decay ** torch.arange(T - 1, -1, -1, dtype=y.dtype, device=y.device)
    return torch.einsum("t,t...->...", weights, y)


def fsvae_lif() -> FSVAELIF:
    """FSVAE's neuron, :class:`snnlib.vae.layers.FSVAELIF` (decay 0.25, ``u > 0.2``)."""
    return FSVAELIF()


def scheduled_p(epoch: int, epochs: int, start: float = 0.1, end: float = 0.3) -> float:
    """FSVAE's scheduled-sampling probability at (0-based) ``epoch`` of ``epochs``:
    ``start + (end − start)·epoch/epochs`` (official ``update_p``; it reaches ``end`` only after
    the last epoch)."""
    integer("epochs", epochs)
    integer("epoch", epoch, minimum=0)
    return (end - start) * epoch / epochs + start


def random_picks(shape, k: int, generator: torch.Generator | None, device=None) -> torch.Tensor:
    """Uniform indices in ``0..k−1`` of ``shape`` (drawn on the CPU, then moved), for :func:`pick`."""
    return torch.randint(0, k, tuple(shape), generator=generator).to(device)


def pick(spikes: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The spike at ``idx`` in the last axis: ``[..., k]`` and ``[...]`` → ``[...]``."""
    return spikes.gather(-1, idx.unsqueeze(-1)).squeeze(-1)


def sample_spikes(spikes: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One of the k spikes per latent channel, at random: a Bernoulli(mean over k) sample that
    keeps the chosen spike's gradient. ``[..., C, k]`` → ``[..., C]``."""
    return pick(spikes, random_picks(spikes.shape[:-1], spikes.shape[-1], generator, spikes.device))


class LatentNet(nn.Module):
    """Three ``linear → tdBN(α = 2) → LIF`` layers, ``inputs → 2C → 4C → k·C``, on ``[T, N, inputs]``;
    :meth:`forward` gives the spikes ``[T, N, C, k]`` (FSVAE's ``PosteriorBernoulliSTBP`` with
    ``inputs = 2C`` and ``PriorBernoulliSTBP`` with ``inputs = C``; channel c owns outputs
    ``c·k … c·k + k − 1``)."""

    def __init__(self, inputs: int, latent: int, k: int):
        super().__init__()
        self.latent, self.k = latent, k
        self.layers = nn.Sequential(td_linear(inputs, 2 * latent, alpha=2), td_linear(2 * latent, 4 * latent, alpha=2),
                                    td_linear(4 * latent, k * latent, alpha=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return out.view(*out.shape[:2], self.latent, self.k)


def _shifted(z: torch.Tensor) -> torch.Tensor:
    """``[z_{−1} = 0, z_0, …, z_{T−2}]``: the input each step t gets from the previous step."""
    return torch.cat([torch.zeros_like(z[:1]), z[:-1]])


class Posterior(LatentNet):
    """``q(z_t | e_≤t, z_<t)``; see the module docstring for how it is run."""

    def __init__(self, latent: int, k: int):
        super().__init__(2 * latent, latent, k)

    def sample(self, e: torch.Tensor, generator: torch.Generator | None = None):
        """Latents ``z`` ``[T, N, C]`` and the spikes ``[T, N, C, k]`` of the final pass, from
        encoder features ``e`` ``[T, N, C]``, as the official ``PosteriorBernoulliSTBP.forward``."""
        T, N, C = e.shape
        idx = random_picks((T, N, C), self.k, generator, e.device)
        with torch.no_grad():
            z_in = torch.zeros(1, N, C, device=e.device, dtype=e.dtype)
            for t in range(T - 1):
                q_t = self(torch.cat([e[: t + 1].detach(), z_in], -1))[-1]
                z_in = torch.cat([z_in, pick(q_t, idx[t])[None]])
        q = self(torch.cat([e, z_in], -1))
        return pick(q, idx), q

    def conditional(self, e: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The spikes ``[T, N, C, k]`` of ``q`` on given latents ``z`` ``[T, N, C]`` (teacher forced)."""
        return self(torch.cat([e, _shifted(z)], -1))


class Prior(LatentNet):
    """``p(z_t | z_<t)``; see the module docstring."""

    def __init__(self, latent: int, k: int):
        super().__init__(latent, latent, k)

    def inputs(self, z: torch.Tensor, p: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """The prior's input sequence ``[T, N, C]`` for posterior latents ``z``: ``z`` detached and
        shifted; in training, with scheduled sampling at probability ``p``, from step 5 on each
        step's input is, with probability p, the prior's own thresholded prediction."""
        z = z.detach()
        if not (self.training and p > 0):
            return _shifted(z)
        T, N, C = z.shape
        with torch.no_grad():
            z_in = torch.zeros(1, N, C, device=z.device, dtype=z.dtype)
            for t in range(T - 1):
                if t >= SCHEDULE_START and torch.rand((), generator=generator).item() < p:
                    prob = self(z_in)[-1].mean(-1)
                    noise = torch.randn(prob.shape, generator=generator).to(prob.device)
                    z_t = (prob + 1e-3 * noise > 0.5).to(z.dtype)
                else:
                    z_t = z[t]
                z_in = torch.cat([z_in, z_t[None]])
        return z_in

    def conditional(self, z: torch.Tensor, p: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """The spikes ``[T, N, C, k]`` of ``p`` given the posterior's latents ``z`` ``[T, N, C]``."""
        return self(self.inputs(z, p, generator))

    def sample(self, n: int, T: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """``n`` latent sequences ``[T, n, C]`` drawn step by step (the official ``prior.sample``)."""
        z_in = torch.zeros(1, n, self.latent, device=device)
        for t in range(T):
            p_t = self(z_in)[-1]
            z_in = torch.cat([z_in, sample_spikes(p_t, generator)[None]])
        return z_in[1:]


@dataclass
class VAEOutput:
    """What a forward pass returns: the reconstruction ``[N, C, H, W]`` in [-1, 1], the posterior
    latents ``z`` ``[T, N, C]`` and the posterior and prior firing probabilities ``[T, N, C]``
    (means over the k spikes)."""

    recon: torch.Tensor
    z: torch.Tensor
    pi_q: torch.Tensor
    pi_p: torch.Tensor


class SpikingVAE(nn.Module):
    """FSVAE (``attention=None``) or FSVAE with TCJA in the decoder (``attention='tcja'``); see
    the module docstring (chapter 6).

    Args:
        in_channels, size: image channels and side; ``size = 2**(len(channels) + 1)`` (the
            encoder halves it down to 2×2), e.g. 32 with 4 blocks, 64 with 5, 16 with 3.
        T: time steps. latent: latent channels C. k: spikes per latent channel.
        channels: encoder widths (the decoder mirrors them).
        attention: None or ``'tcja'`` (placement an assumption, see the module docstring).
        readout: ``'membrane'`` (FSVAE's, default without attention) or ``'mean'`` over time
            (the TCJA paper's, default with TCJA).
        beta: weight of the MMD term (1 officially).
        scheduled: scheduled sampling of the prior in training (official configs: on).
    """

    def __init__(self, in_channels: int = 1, size: int = 32, T: int = 16, latent: int = 128, k: int = 20,
                 channels=(32, 64, 128, 256), attention: str | None = None, readout: str | None = None,
                 beta: float = 1.0, scheduled: bool = True):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("size", size), ("T", T), ("latent", latent), ("k", k)):
            integer(name, value)
        if attention not in ("tcja", None):
            raise ValueError(f"attention must be 'tcja' or None; got {attention!r}")
        readout = readout or ("mean" if attention == "tcja" else "membrane")
        if readout not in ("membrane", "mean"):
            raise ValueError(f"readout must be 'membrane' or 'mean'; got {readout!r}")
        channels = tuple(channels)
        if not channels or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels):
            raise ValueError(f"channels must be a non-empty sequence of positive integers; got {channels!r}")
        if size != 2 ** (len(channels) + 1):
            raise ValueError(f"size must be 2**(len(channels) + 1) = {2 ** (len(channels) + 1)} for "
                             f"{len(channels)} stride-2 blocks ending at 2×2; got size {size}")
        if attention == "tcja" and T < 3:
            raise ValueError(f"attention='tcja' needs T >= 3 (its kernels are 2 wide); got T={T}")
        self.in_channels, self.size, self.T, self.latent, self.k = in_channels, size, T, latent, k
        self.channels, self.attention, self.readout = channels, attention, readout
        self.beta = number("beta", beta, ">= 0", lambda v: v >= 0)
        self.scheduled = bool(scheduled)
        self.p = 0.0                                   # scheduled-sampling probability, set by update_p
        self.coding = DirectEncoder(T)                 # the image at every step
        blocks, c_in = [], in_channels
        for c in channels:
            blocks.append(td_conv(c_in, c))
            c_in = c
        self.encoder = nn.Sequential(*blocks)
        top = channels[-1]
        self.before_latent = td_linear(top * 4, latent)
        self.posterior = Posterior(latent, k)
        self.prior = Prior(latent, k)
        self.decoder_input = td_linear(latent, top * 4)
        widths = channels[::-1]
        self.decoder = nn.Sequential(*(td_conv_transpose(a, b) for a, b in zip(widths[:-1], widths[1:])))
        last = channels[0]
        final = [td_conv_transpose(last, last)]
        if attention == "tcja":
            final.append(TCJA(T, last, k_time=2, k_channel=2))
        final.append(td_conv_transpose(last, in_channels, spiking=False))
        self.final_layer = nn.Sequential(*final)

    @classmethod
    def official(cls, dataset: str = "mnist", **changes) -> "SpikingVAE":
        """The official configuration: ``'mnist'`` (also Fashion-MNIST; FSVAE) or ``'celeba'``
        (FSVAELarge, RGB 64×64); ``changes`` override entries (e.g. ``attention='tcja'``)."""
        if dataset not in OFFICIAL:
            raise ValueError(f"dataset must be one of {sorted(OFFICIAL)}; got {dataset!r}")
        return cls(**{**OFFICIAL[dataset], **changes})

    def update_p(self, epoch: int, epochs: int) -> float:
        """Set the scheduled-sampling probability for ``epoch`` (0-based) of ``epochs``."""
        self.p = scheduled_p(epoch, epochs)
        return self.p

    # -- the pieces -------------------------------------------------------------------------------
    def _check(self, x: torch.Tensor) -> None:
        if not (torch.is_floating_point(x) or x.dtype == torch.uint8) or x.dim() != 4:
            raise ValueError(f"SpikingVAE expects images [N, C, H, W], float in [-1, 1] or uint8; "
                             f"got {x.dtype} {list(x.shape)}")
        if x.shape[1:] != (self.in_channels, self.size, self.size):
            raise ValueError(f"SpikingVAE was built for images [N, {self.in_channels}, {self.size}, {self.size}]; "
                             f"got {list(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder spike features ``e`` ``[T, N, C]`` of images ``[N, C, H, W]``."""
        self._check(x)
        x = as_images(x, self.device)
        h = self.encoder(self.coding(x))                                      # [T, N, top, 2, 2]
        return self.before_latent(h.flatten(2))

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Posterior latents ``z`` and probabilities ``π^q`` and ``π^p``, all ``[T, N, C]``, on the
        model's device; in training the prior sees scheduled sampling at :attr:`p` if ``scheduled``."""
        z, q = self.posterior.sample(self.features(x), generator)
        p_spikes = self.prior.conditional(z, self.p if self.scheduled else 0.0, generator)
        return z, q.mean(-1), p_spikes.mean(-1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in [-1, 1] from spike latents ``[T, N, C]``."""
        if z.dim() != 3 or z.shape[0] != self.T or z.shape[2] != self.latent:
            raise ValueError(f"latents must be [T={self.T}, N, C={self.latent}]; got {list(z.shape)}")
        top = self.channels[-1]
        h = self.decoder_input(z)
        h = self.decoder(h.view(*h.shape[:2], top, 2, 2))
        y = self.final_layer(h)                                               # [T, N, C, H, W]
        out = y.mean(0) if self.readout == "mean" else membrane_readout(y)
        return torch.tanh(out)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        z, pi_q, pi_p = self.encode(x, generator)
        return VAEOutput(self.decode(z), z, pi_q, pi_p)

    def loss(self, x: torch.Tensor, out: VAEOutput) -> dict:
        """``{'loss', 'recon', 'mmd'}``: reconstruction MSE + β·MMD² (``x`` as :meth:`forward` takes it)."""
        recon = nn.functional.mse_loss(out.recon, as_images(x, out.recon.device))
        mmd = mmd_squared(out.pi_q, out.pi_p)
        return {"loss": recon + self.beta * mmd, "recon": recon, "mmd": mmd}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reconstructions of ``x`` ``[N, C, H, W]`` (in [-1, 1], or ``uint8``), computed on the
        model's device and returned on ``x``'s."""
        return self(x, generator).recon.to(x.device)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """``n`` images from the prior: latents sampled step by step, then decoded."""
        integer("n", n)
        return self.decode(self.prior.sample(n, self.T, generator, device or self.device))


def as_images(x: torch.Tensor, device=None) -> torch.Tensor:
    """Images as the model takes them: float in [-1, 1] on ``device``. ``uint8`` images (0–255,
    e.g. :func:`snnlib.datasets.celeba`) are converted after the move, so only bytes travel."""
    x = x.to(device) if device is not None else x
    return x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x


def fit_vae(model: SpikingVAE, images: torch.Tensor, epochs: int, *, batch: int = 64, lr: float = 1e-3,
            weight_decay: float = 1e-3, seed: int = 0, max_steps_per_epoch: int | None = None,
            hflip: bool = False, progress: bool = True, schedule_epochs: int | None = None) -> list[dict]:
    """AdamW (β = 0.9, 0.999) on ``MSE + β·MMD²`` as FSVAE trains; returns the mean loss terms per
    epoch (``loss``, ``recon``, ``mmd``, averaged over the epoch's steps, ``p`` and ``seconds``).

    ``images`` ``[n, C, H, W]`` in [-1, 1] or ``uint8``, on any device: each batch moves to the
    model's device. ``hflip`` mirrors a random half of every batch (FSVAE's CelebA augmentation).
    With ``model.scheduled`` the scheduled-sampling probability is set at the start of every epoch
    e to ``scheduled_p(e, schedule_epochs or epochs)``.
    """
    integer("epochs", epochs)
    if images.dim() != 4 or not (images.dtype == torch.uint8 or torch.is_floating_point(images)):
        raise ValueError(f"images must be [n, C, H, W], float in [-1, 1] or uint8; got {images.dtype} "
                         f"{list(images.shape)}")
    total = integer("schedule_epochs", schedule_epochs) if schedule_epochs is not None else epochs
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=weight_decay)
    if model.scheduled:
        model.update_p(0, total)

    def step(x: torch.Tensor) -> Step:
        x = as_images(x, model.device)
        if hflip:
            flip = (torch.rand(len(x), generator=g) < 0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        terms = model.loss(x, model(x, g))
        return Step(terms["loss"], {key: terms[key].detach() for key in ("loss", "recon", "mmd")})

    def next_epoch(epoch: int, record: dict) -> None:
        record["p"] = model.p
        if model.scheduled:
            model.update_p(min(epoch + 1, total), total)

    batches = shuffled_batches(images, batch=batch, generator=g)
    steps = len(batches) if max_steps_per_epoch is None else min(len(batches), max_steps_per_epoch)
    history = run_loop(model, batches, step, opt, epochs=epochs, steps_per_epoch=steps, device=model.device,
                       seed=seed, progress=progress, desc="SpikingVAE", on_epoch_end=next_epoch)
    model.eval()
    return history
