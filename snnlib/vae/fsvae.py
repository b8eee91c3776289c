"""A fully spiking VAE (FSVAE, Kamata et al., AAAI 2022) in snnlib's time-first layout, with the
TCJA paper's variant: TCJA in the decoder and the decoder output averaged over time (chapter 6).

* **Input** — the image repeated at every one of T steps (direct coding), ``[T, N, C, H, W]``.
* **Neurons** — FSVAE's LIF, ``u ← 0.25·u + x``, threshold 0.2, hard reset (:func:`fsvae_lif`).
* **Encoder** — ``conv3×3 stride 2 → BN → LIF`` blocks, then a linear layer to spike features
  ``e_t`` ``[T, N, F]``.
* **Bernoulli spike latents** — ``z_t ∈ {0, 1}^C``. The posterior ``q(z_t | x, z_<t)`` is a
  2-layer spiking network on ``[e_t, z_{t-1}]`` that emits ``C·k`` spikes; ``z_{t,c}`` is one of
  its ``k`` spikes for channel c picked at random, so ``P(z_{t,c} = 1)`` is their mean
  ``π^q_{t,c}`` — Bernoulli sampling done with spikes. The prior ``p(z_t | z_<t)`` is the same
  kind of network on ``z_{t-1}`` alone, giving ``π^p``. Both are autoregressive in time.
* **MMD** — with the kernel ``k(z, z') = ⟨PSP(z), PSP(z')⟩`` (PSP: the first-order synaptic
  filter of the spike train), ``MMD² = Σ_t ‖PSP(π^q)_t − PSP(π^p)_t‖²``, because the filter is
  linear and ``E[z] = π``. snnlib averages it over the T·C latent entries (like the per-pixel
  mean of the MSE) so that β = 1 balances the two terms at any size; summed, it outweighs the
  reconstruction by T·C and the posterior collapses onto a silent prior. The loss is
  ``MSE(x̂, x) + β·MMD²``.
* **Decoder** — a linear layer to a ``ch × 2 × 2`` map and ``conv-transpose stride 2 → BN → LIF``
  blocks, then a last transposed convolution to the image channels (no neuron). FSVAE reads the
  image from that layer's "membrane", ``Σ_t 0.8^{T−1−t} y_t``, then ``tanh``; with
  ``attention='tcja'`` a TCJA sits after the last decoder LIF and the output is the mean over
  time instead, as the TCJA paper describes.

Images are in [-1, 1]. :meth:`SpikingVAE.reconstruct`, :meth:`~SpikingVAE.sample` and
:meth:`~SpikingVAE.encode` take a ``generator`` and are deterministic for a fixed seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._checks import integer
from ..attention import TCJA
from ..layers import DirectEncoder, SeqToANN
from ..train.engine import Step, run_loop, shuffled_batches
from ..neuron import LIF, reset_net


def psp(x: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """First-order synaptic filter along time (dim 0): ``s_t = (1 − 1/τ) s_{t−1} + x_t``, output ``s_t / τ``."""
    out, s = [], torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        s = s * (1 - 1 / tau_s) + x[t]
        out.append(s / tau_s)
    return torch.stack(out)


def mmd_squared(pi_q: torch.Tensor, pi_p: torch.Tensor, tau_s: float = 2.0) -> torch.Tensor:
    """``MMD²`` between posterior and prior spike-latent sequences ``[T, N, C]`` (their firing
    probabilities) under the PSP kernel, ``Σ_t ‖PSP(π^q)_t − PSP(π^p)_t‖²``, divided by T·C and
    averaged over N."""
    if pi_q.shape != pi_p.shape or pi_q.dim() != 3:
        raise ValueError(f"pi_q and pi_p must both be [T, N, C]; got {list(pi_q.shape)} and {list(pi_p.shape)}")
    return ((psp(pi_q, tau_s) - psp(pi_p, tau_s)) ** 2).mean()


def membrane_readout(y: torch.Tensor, decay: float = 0.8) -> torch.Tensor:
    """FSVAE's output "membrane" ``Σ_t decay^{T−1−t} y_t`` over time (dim 0)."""
    T = y.shape[0]
    weights = decay ** torch.arange(T - 1, -1, -1, dtype=y.dtype, device=y.device)
    return torch.einsum("t,t...->...", weights, y)


def fsvae_lif(step_mode: str = "m") -> LIF:
    """FSVAE's neuron, ``u ← 0.25·u + x``, spike at ``u ≥ 0.2``, hard reset to 0: snnlib's LIF with
    ``decay_input=False`` and ``1 − 1/τ = 0.25``, i.e. ``τ = 4/3``."""
    return LIF(tau=4 / 3, decay_input=False, v_threshold=0.2, v_reset=0.0, detach_reset=True, step_mode=step_mode)


class _LatentNet(nn.Module):
    """Two spiking layers emitting ``C·k`` spikes per step, run one step at a time (autoregressive)."""

    def __init__(self, inputs: int, latent: int, k: int, hidden: int):
        super().__init__()
        self.latent, self.k = latent, k
        self.fc1, self.fc2 = nn.Linear(inputs, hidden), nn.Linear(hidden, latent * k)
        self.lif1, self.lif2 = fsvae_lif("s"), fsvae_lif("s")

    def step(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.fc2(self.lif1(self.fc1(x)))).view(x.shape[0], self.latent, self.k)   # [N, C, k]


def sample_spikes(spikes: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One of the k spikes per latent channel, at random: a Bernoulli(mean over k) sample that
    keeps the chosen spike's gradient. ``[N, C, k]`` → ``[N, C]``."""
    N, C, k = spikes.shape
    idx = torch.randint(0, k, (N, C, 1), generator=generator, device="cpu").to(spikes.device)
    return spikes.gather(-1, idx)[..., 0]


@dataclass
class VAEOutput:
    """What a forward pass returns: the reconstruction ``[N, C, H, W]`` in [-1, 1], the posterior
    latents ``z`` ``[T, N, C]`` and the posterior and prior firing probabilities ``[T, N, C]``."""

    recon: torch.Tensor
    z: torch.Tensor
    pi_q: torch.Tensor
    pi_p: torch.Tensor


class SpikingVAE(nn.Module):
    """FSVAE (``attention=None``) or FSVAE with TCJA in the decoder (``attention='tcja'``).

    Args:
        in_channels, size: image channels and side (a multiple of ``2**len(channels)`` whose
            quotient is 2: ``size = 2**(len(channels) + 1)``, e.g. 32 with 4 blocks, 16 with 3).
        T: time steps. latent: latent channels C. k: spikes per latent channel.
        channels: encoder widths (the decoder mirrors them).
        beta: weight of the MMD term.
    """

    def __init__(self, in_channels: int = 1, size: int = 32, T: int = 16, latent: int = 128, k: int = 20,
                 channels=(32, 64, 128, 256), hidden: int | None = None, attention: str | None = None,
                 beta: float = 1.0):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("size", size), ("T", T), ("latent", latent), ("k", k)):
            integer(name, value)
        if attention not in ("tcja", None):
            raise ValueError(f"attention must be 'tcja' or None; got {attention!r}")
        if not channels or size != 2 ** (len(channels) + 1):
            raise ValueError(f"size must be 2**(len(channels) + 1) = {2 ** (len(channels) + 1)} for "
                             f"{len(channels)} stride-2 blocks ending at 2×2; got size {size}")
        self.in_channels, self.size, self.T, self.latent, self.k = in_channels, size, T, latent, k
        self.attention, self.beta = attention, beta
        hidden = hidden or 2 * latent
        enc, c_in = [], in_channels
        for c in channels:
            enc += [SeqToANN(nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c)), fsvae_lif()]
            c_in = c
        enc += [SeqToANN(nn.Flatten(), nn.Linear(c_in * 4, latent)), fsvae_lif()]
        self.coding = DirectEncoder(T)                  # the image at every step
        self.encoder = nn.Sequential(*enc)
        self.posterior = _LatentNet(2 * latent, latent, k, hidden)
        self.prior = _LatentNet(latent, latent, k, hidden)
        top = channels[-1]
        dec = [SeqToANN(nn.Linear(latent, top * 4), nn.Unflatten(1, (top, 2, 2))), fsvae_lif()]
        widths = list(channels[::-1]) + [channels[0]]
        for c_from, c_to in zip(widths[:-2], widths[1:-1]):
            dec += [SeqToANN(nn.ConvTranspose2d(c_from, c_to, 3, stride=2, padding=1, output_padding=1, bias=False),
                             nn.BatchNorm2d(c_to)), fsvae_lif()]
        last = widths[-2]
        if attention == "tcja":
            dec.append(TCJA(T, last, k_time=2, k_channel=2))
        dec.append(SeqToANN(nn.ConvTranspose2d(last, in_channels, 3, stride=2, padding=1, output_padding=1)))
        self.decoder = nn.Sequential(*dec)

    # -- the pieces -------------------------------------------------------------------------------
    def _check(self, x: torch.Tensor) -> None:
        if not (torch.is_floating_point(x) or x.dtype == torch.uint8) or x.dim() != 4:
            raise ValueError(f"SpikingVAE expects images [N, C, H, W], float in [-1, 1] or uint8; "
                             f"got {x.dtype} {list(x.shape)}")
        if x.shape[1:] != (self.in_channels, self.size, self.size):
            raise ValueError(f"SpikingVAE was built for images [N, {self.in_channels}, {self.size}, {self.size}]; "
                             f"got {list(x.shape)}")

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Posterior latents ``z`` ``[T, N, C]`` and probabilities ``π^q`` and ``π^p`` ``[T, N, C]``
        (the prior run on the posterior's own past, as in training), on the model's device."""
        self._check(x)
        x = as_images(x, self.device)
        reset_net(self)
        e = self.encoder(self.coding(x))                                      # [T, N, C] spike features
        z_prev = torch.zeros(x.shape[0], self.latent, device=x.device, dtype=x.dtype)
        zs, pq, pp = [], [], []
        for t in range(self.T):
            q_spikes = self.posterior.step(torch.cat([e[t], z_prev], -1))
            p_spikes = self.prior.step(z_prev)
            z_prev = sample_spikes(q_spikes, generator)
            zs.append(z_prev)
            pq.append(q_spikes.mean(-1))
            pp.append(p_spikes.mean(-1))
        return torch.stack(zs), torch.stack(pq), torch.stack(pp)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in [-1, 1] from spike latents ``[T, N, C]``."""
        if z.dim() != 3 or z.shape[0] != self.T or z.shape[2] != self.latent:
            raise ValueError(f"latents must be [T={self.T}, N, C={self.latent}]; got {list(z.shape)}")
        reset_net(self.decoder)                                                # every decoding starts at rest
        y = self.decoder(z)                                                    # [T, N, C, H, W]
        out = y.mean(0) if self.attention == "tcja" else membrane_readout(y)
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
        device = device or self.device
        reset_net(self)
        z_prev = torch.zeros(n, self.latent, device=device)
        zs = []
        for _ in range(self.T):
            z_prev = sample_spikes(self.prior.step(z_prev), generator)
            zs.append(z_prev)
        return self.decode(torch.stack(zs))


def as_images(x: torch.Tensor, device=None) -> torch.Tensor:
    """Images as the model takes them: float in [-1, 1] on ``device``. ``uint8`` images (0–255,
    e.g. :func:`snnlib.datasets.celeba`) are converted after the move, so only bytes travel."""
    x = x.to(device) if device is not None else x
    return x.float() / 127.5 - 1 if x.dtype == torch.uint8 else x


def fit_vae(model: SpikingVAE, images: torch.Tensor, epochs: int, *, batch: int = 64, lr: float = 1e-3,
            weight_decay: float = 1e-3, seed: int = 0, max_steps_per_epoch: int | None = None,
            hflip: bool = False, progress: bool = True) -> list[dict]:
    """AdamW on ``MSE + β·MMD²`` (FSVAE's optimiser); returns the mean loss terms per epoch
    (``loss``, ``recon``, ``mmd``, averaged over the epoch's steps, and ``seconds``).

    ``images`` ``[n, C, H, W]`` in [-1, 1] or ``uint8``, on any device: each batch moves to the
    model's device. ``hflip`` mirrors a random half of every batch (FSVAE's CelebA augmentation).
    """
    integer("epochs", epochs)
    if images.dim() != 4 or not (images.dtype == torch.uint8 or torch.is_floating_point(images)):
        raise ValueError(f"images must be [n, C, H, W], float in [-1, 1] or uint8; got {images.dtype} "
                         f"{list(images.shape)}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def step(x: torch.Tensor) -> Step:
        x = as_images(x, model.device)
        if hflip:
            flip = (torch.rand(len(x), generator=g) < 0.5).to(x.device)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        terms = model.loss(x, model(x, g))
        return Step(terms["loss"], {key: terms[key].detach() for key in ("loss", "recon", "mmd")})

    batches = shuffled_batches(images, batch=batch, generator=g)
    steps = len(batches) if max_steps_per_epoch is None else min(len(batches), max_steps_per_epoch)
    history = run_loop(model, batches, step, opt, epochs=epochs, steps_per_epoch=steps, device=model.device,
                       seed=seed, progress=progress, desc="SpikingVAE")
    model.eval()
    return history
