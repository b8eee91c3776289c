"""Sample-quality metrics for the spiking VAE (chapter 6).

The Inception network behind IS and FID is a download, so offline profiles use **proxies** with
the same formulas on a small classifier trained inside snnlib on the same data
(:class:`ProxyClassifier`): the classifier-based Inception Score ``exp E_x KL(p(y|x) ‖ p(y))``
and the Fréchet distance between Gaussian fits of its penultimate features. They rank models
like IS/FID do but their values are not comparable with published IS/FID numbers. Under the
``paper`` profile, :func:`inception_metrics` computes the real FID and IS with torchmetrics and
the downloaded Inception weights.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from ..train.engine import Step, run_loop, seed_everything, shuffled_batches


class ProxyClassifier(nn.Module):
    """A small CNN on ``[N, C, H, W]`` images in [-1, 1]: two ``conv → ReLU → max-pool`` blocks, a
    ``features``-wide hidden layer (the Fréchet features) and the class logits."""

    def __init__(self, in_channels: int = 1, size: int = 16, classes: int = 10, features: int = 64):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(32 * (size // 4) ** 2, features), nn.ReLU())
        self.head = nn.Linear(features, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_proxy_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 5, seed: int = 0,
                           **kwargs) -> ProxyClassifier:
    """Train :class:`ProxyClassifier` on ``images`` ``[n, C, H, W]`` in [-1, 1] (Adam, batch 64),
    on the images' device."""
    seed_everything(seed)  # the initial weights depend on it
    g = torch.Generator().manual_seed(seed)
    clf = ProxyClassifier(images.shape[1], images.shape[-1], int(labels.max()) + 1, **kwargs).to(images.device)
    labels = labels.to(images.device)

    def step(batch) -> Step:
        x, y = batch
        return Step(nn.functional.cross_entropy(clf(x), y))

    run_loop(clf, shuffled_batches(images, labels, batch=64, generator=g), step,
             torch.optim.Adam(clf.parameters(), lr=2e-3), epochs=epochs, device=images.device, seed=None,
             progress=False)
    return clf.eval()


@torch.no_grad()
def classifier_inception_score(clf: ProxyClassifier, images: torch.Tensor) -> float:
    """``exp(mean_x KL(p(y|x) ‖ p(y)))`` with the proxy classifier: 1 for uninformative or
    identical images, up to the number of classes for confident and diverse ones."""
    p = clf(images).softmax(-1).double()
    marginal = p.mean(0, keepdim=True)
    kl = (p * (p.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(-1)
    return float(kl.mean().exp())


def frechet_distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """``‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})`` between Gaussian fits of two feature sets ``[n, d]``.

    ``Tr (Σ_a Σ_b)^{1/2}`` is computed as ``Σ √λ`` over the eigenvalues λ of the symmetric
    ``Σ_a^{1/2} Σ_b Σ_a^{1/2}`` (same spectrum), which stays real and stable when a covariance is
    singular (dead features)."""
    a, b = (np.asarray(v, dtype=np.float64) for v in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [n, d] with the same d; got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


@torch.no_grad()
def classifier_frechet_distance(clf: ProxyClassifier, real: torch.Tensor, fake: torch.Tensor) -> float:
    """Fréchet distance between the proxy classifier's features of real and generated images."""
    return frechet_distance(clf.features(real).numpy(), clf.features(fake).numpy())


def inception_metrics(real: torch.Tensor, fake: torch.Tensor | dict, *, batch: int = 500, device=None,
                      network: nn.Module | None = None) -> dict:
    """Real FID and IS with torchmetrics and the Inception weights it downloads (``paper`` profile).

    Images ``[N, C, H, W]``, float in [-1, 1] or ``uint8``; grey images are repeated to three
    channels. They go through the network ``batch`` at a time on ``device`` (default: the GPU if
    there is one), so tens of thousands of images fit in memory. ``network`` replaces Inception-v3
    by a module mapping ``uint8`` images ``[N, 3, H, W]`` to ``[N, D]``, whose outputs then serve
    as FID features and IS logits (the tests use one; it needs no download and no torch-fidelity);
    it is moved to ``device``.

    ``fake`` may be a dict ``{name: images}``: the real images then go through the network once
    and the result is ``{name: {"fid", "is", "is_std"}}``.
    """
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
    except ImportError:
        raise ImportError("FID and IS need torchmetrics with its image extra: "
                          "pip install 'torchmetrics[image]' (downloads the Inception weights on first use)") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if network is not None:
        network = network.cpu()  # torchmetrics probes it with a CPU image while it is being built

    def chunks(x):
        for start in range(0, len(x), batch):
            part = x[start:start + batch].to(device)
            if part.dtype != torch.uint8:
                part = ((part.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            yield part.repeat(1, 3, 1, 1) if part.shape[1] == 1 else part

    fid = FrechetInceptionDistance(feature=network if network is not None else 2048, normalize=False,
                                   input_img_size=(3, *real.shape[-2:]), reset_real_features=False).to(device)
    with warnings.catch_warnings():  # its notice that it keeps every feature vector: 1,008 floats per image here
        warnings.filterwarnings("ignore", message=".*will save all extracted features", category=UserWarning)
        score = InceptionScore(feature=network if network is not None else "logits_unbiased", normalize=False)
    score = score.to(device)
    for part in chunks(real):
        fid.update(part, real=True)
    results = {}
    for name, images in (fake.items() if isinstance(fake, dict) else [(None, fake)]):
        fid.reset()      # forgets the fakes only (reset_real_features=False)
        score.reset()
        for part in chunks(images):
            fid.update(part, real=False)
            score.update(part)
        mean, std = score.compute()
        results[name] = {"fid": float(fid.compute()), "is": float(mean), "is_std": float(std)}
    return results if isinstance(fake, dict) else results[None]
