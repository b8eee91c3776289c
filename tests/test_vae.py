"""snnlib.vae: the spiking VAE's shapes, loss terms by hand, reproducible sampling, gradients, the
TCJA variant, bad inputs; the proxy metrics."""
import numpy as np
import pytest
import torch

from snnlib import vae
from snnlib.attention import TCJA
from snnlib.neuron import LIF


def small(**kwargs):
    torch.manual_seed(0)
    return vae.SpikingVAE(in_channels=1, size=16, T=4, latent=8, k=5, channels=(8, 16, 16), **kwargs)


def test_shapes_through_encoder_latents_and_decoder():
    model = small()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    z, pi_q, pi_p = model.encode(x, torch.Generator().manual_seed(0))
    assert z.shape == pi_q.shape == pi_p.shape == (4, 3, 8)
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert ((pi_q >= 0) & (pi_q <= 1)).all() and ((pi_q * 5) == (pi_q * 5).round()).all()   # means of k=5 spikes
    out = model(x)
    assert out.recon.shape == (3, 1, 16, 16) and out.recon.abs().max() <= 1
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 1, 16, 16)
    full = vae.SpikingVAE()                                          # FSVAE's size: 32×32, T=16, latent 128, k=20
    assert full(torch.rand(1, 1, 32, 32)).z.shape == (16, 1, 128)


def test_fsvae_neuron_is_u_quarter_plus_x_with_threshold_point_two():
    lif = vae.fsvae_lif()
    x = torch.tensor([[0.1], [0.2], [0.0], [0.3]])                   # [T, 1]
    s = lif(x)
    u, spikes = 0.0, []
    for xt in x[:, 0].tolist():
        u = 0.25 * u + xt
        spikes.append(float(u >= 0.2))
        u = 0.0 if u >= 0.2 else u
    assert s[:, 0].tolist() == spikes == [0.0, 1.0, 0.0, 1.0]


def test_loss_terms_against_hand_computation():
    pi_q = torch.tensor([[[0.2, 1.0]], [[0.6, 0.0]]])                # [T=2, N=1, C=2]
    pi_p = torch.tensor([[[0.0, 1.0]], [[0.2, 0.4]]])
    # PSP with tau 2: s_t = s_{t-1}/2 + x_t, output s_t/2
    d0 = (pi_q[0] - pi_p[0]) / 2
    d1 = ((pi_q[0] - pi_p[0]) / 2 + (pi_q[1] - pi_p[1])) / 2
    expected = ((d0 ** 2).sum() + (d1 ** 2).sum()) / 4                 # per latent entry: T·C = 4
    assert torch.allclose(vae.mmd_squared(pi_q, pi_p), expected)
    assert vae.mmd_squared(pi_q, pi_q) == 0
    y = torch.arange(3.0).view(3, 1)                                 # [T=3, 1]
    assert torch.allclose(vae.membrane_readout(y), torch.tensor([0.8 ** 2 * 0 + 0.8 * 1 + 2.0]))
    model = small(beta=0.5)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    out = model(x, torch.Generator().manual_seed(1))
    terms = model.loss(x, out)
    assert torch.allclose(terms["recon"], ((out.recon - x) ** 2).mean())
    assert torch.allclose(terms["loss"], terms["recon"] + 0.5 * vae.mmd_squared(out.pi_q, out.pi_p))


def test_spike_selection_samples_bernoulli_with_the_spike_mean():
    spikes = torch.zeros(20000, 1, 4)
    spikes[..., :3] = 1.0                                            # 3 of k=4 spikes: P(z=1) = 0.75
    z = vae.sample_spikes(spikes, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 0.75) < 0.01


def test_sampling_and_reconstruction_are_reproducible_with_a_seed():
    model = small().eval()
    a = model.sample(4, torch.Generator().manual_seed(3))
    b = model.sample(4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.equal(model.reconstruct(x, torch.Generator().manual_seed(5)),
                       model.reconstruct(x, torch.Generator().manual_seed(5)))
    z1, _, _ = model.encode(x, torch.Generator().manual_seed(7))
    z2, _, _ = model.encode(x, torch.Generator().manual_seed(7))
    assert torch.equal(z1, z2)


def test_gradients_reach_encoder_posterior_prior_and_decoder():
    model = small()
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    model.loss(x, model(x, torch.Generator().manual_seed(0)))["loss"].backward()
    for part in (model.encoder, model.posterior, model.prior, model.decoder):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, type(part).__name__


def test_tcja_variant_changes_only_the_decoder():
    plain, tcja = small(), small(attention="tcja")
    for part in ("encoder", "posterior", "prior"):
        a, b = getattr(plain, part).state_dict(), getattr(tcja, part).state_dict()
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    found = [m for m in tcja.decoder if isinstance(m, TCJA)]
    assert len(found) == 1 and not any(isinstance(m, TCJA) for m in plain.decoder)
    assert isinstance(tcja.decoder[list(tcja.decoder).index(found[0]) - 1], LIF)   # after the last decoder LIF
    # its output is the time average of the last layer, not the membrane readout
    from snnlib.neuron import reset_net

    z = (torch.rand(4, 2, 8) < 0.5).float()
    reset_net(tcja)
    y = tcja.decoder(z)
    assert torch.allclose(tcja.decode(z), torch.tanh(y.mean(0)), atol=1e-6)
    reset_net(plain)
    y_plain = plain.decoder(z)
    assert torch.allclose(plain.decode(z), torch.tanh(vae.membrane_readout(y_plain)), atol=1e-6)


def test_bad_inputs_get_clear_errors():
    model = small()
    with pytest.raises(ValueError, match=r"built for images \[N, 1, 16, 16\]; got \[2, 3, 16, 16\]"):
        model(torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"built for images \[N, 1, 16, 16\]; got \[2, 1, 28, 28\]"):
        model(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="size must be 2\\*\\*\\(len\\(channels\\) \\+ 1\\) = 32"):
        vae.SpikingVAE(size=28)
    with pytest.raises(ValueError, match="attention must be 'tcja' or None"):
        vae.SpikingVAE(attention="pfa")
    with pytest.raises(ValueError, match=r"latents must be \[T=4, N, C=8\]"):
        model.decode(torch.zeros(3, 2, 8))
    with pytest.raises(ValueError, match=r"float in \[-1, 1\] or uint8; got torch.int64"):
        model.reconstruct(torch.zeros(2, 1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match=r"images must be \[n, C, H, W\], float in \[-1, 1\] or uint8; got torch.float32 \[16, 16\]"):
        vae.fit_vae(model, torch.zeros(16, 16), epochs=1, progress=False)


def test_fit_reduces_the_loss():
    model = small()
    images = torch.rand(64, 1, 16, 16) * 2 - 1
    history = vae.fit_vae(model, images, epochs=3, batch=32, progress=False)
    assert len(history) == 3 and history[-1]["loss"] < history[0]["loss"]


def test_uint8_images_are_the_same_images_as_floats():
    model = small().eval()
    pixels = torch.randint(0, 256, (6, 1, 16, 16), dtype=torch.uint8)
    as_float = pixels.float() / 127.5 - 1
    assert torch.equal(vae.as_images(pixels), as_float)
    a = model.reconstruct(pixels, torch.Generator().manual_seed(3))
    b = model.reconstruct(as_float, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.device == pixels.device
    out = model(pixels, torch.Generator().manual_seed(3))
    assert torch.equal(model.loss(pixels, out)["recon"], model.loss(as_float, out)["recon"])


def test_fit_takes_uint8_images_and_flips_half_of_each_batch(monkeypatch):
    seen = []
    model = small()
    real_loss = model.loss

    def spy(x, out):
        seen.append(x.clone())
        return real_loss(x, out)

    monkeypatch.setattr(model, "loss", spy)
    ramp = torch.arange(16, dtype=torch.uint8).repeat(64, 1, 16, 1) * 16        # brighter to the right
    vae.fit_vae(model, ramp, epochs=2, batch=32, hflip=True, progress=False)
    batch = torch.cat(seen)
    assert batch.dtype == torch.float32 and batch.min() >= -1 and batch.max() <= 1
    rising = batch[:, 0, 0, -1] > batch[:, 0, 0, 0]
    assert 0.25 < rising.float().mean() < 0.75          # some mirrored, some not
    ramp_f = vae.as_images(ramp[:1])[0]
    assert all(torch.equal(x, ramp_f) or torch.equal(x, ramp_f.flip(-1)) for x in batch)


def test_proxy_metrics():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert abs(vae.frechet_distance(a, a)) < 1e-6
    shifted = vae.frechet_distance(a, a + np.array([2.0, 0, 0, 0]))
    assert shifted == pytest.approx(4.0, abs=0.05)
    with pytest.raises(ValueError, match="same d"):
        vae.frechet_distance(a, a[:, :3])
    torch.manual_seed(0)
    images = torch.rand(200, 1, 16, 16) * 2 - 1
    labels = torch.arange(200) % 10
    images[:, :, :, :] += labels.view(-1, 1, 1, 1) / 5.0             # learnable: brightness encodes the label
    clf = vae.train_proxy_classifier(images, labels, epochs=15)
    score = vae.classifier_inception_score(clf, images)
    with torch.no_grad():
        p = clf(images).softmax(-1).double()
    by_hand = (p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean().exp().item()
    assert score == pytest.approx(by_hand, rel=1e-6)
    assert score > 3.0  # a classifier that learned the labels; an untrained one scores about 1 (max 10)
    assert vae.classifier_inception_score(clf, images[:1].repeat(50, 1, 1, 1)) == pytest.approx(1.0, abs=1e-6)
    assert vae.classifier_frechet_distance(clf, images, images) == pytest.approx(0.0, abs=1e-3)


def test_the_celeba_shaped_network_trains_on_random_rgb_64x64_uint8_images():
    # FSVAE's large network for CelebA, narrowed: one more block (512 channels there), three colour channels
    torch.manual_seed(0)
    model = vae.SpikingVAE(in_channels=3, size=64, T=2, latent=8, k=4, channels=(8, 8, 8, 8, 16), attention="tcja")
    noise = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)      # random pixels, not faces
    vae.fit_vae(model, noise, epochs=1, batch=2, hflip=True, progress=False)
    assert model.reconstruct(noise).shape == (4, 3, 64, 64) and model.sample(3).shape == (3, 3, 64, 64)


class Projection(torch.nn.Module):
    """A stand-in for Inception: a fixed random projection of the pixels to 6 features."""

    def __init__(self, pixels: int):
        super().__init__()
        self.register_buffer("w", torch.randn(pixels, 6, generator=torch.Generator().manual_seed(0)) / pixels ** 0.5)

    def forward(self, x):
        return x.flatten(1).float() @ self.w


class CornerClass(torch.nn.Module):
    """Logits that are sure of one of 4 classes, read from the top-left pixel (0, 80, 160 or 240)."""

    def forward(self, x):
        return 50.0 * torch.nn.functional.one_hot(x[:, 0, 0, 0].long() // 80, 4).float()


def test_fid_and_is_path_agrees_with_snnlib_formulas_on_a_stand_in_network():
    pytest.importorskip("torchmetrics")
    gen = torch.Generator().manual_seed(1)
    real = torch.rand(120, 1, 8, 8, generator=gen) * 2 - 1
    fake = (torch.rand(90, 1, 8, 8, generator=gen) * 1.6 - 0.6)
    net = Projection(3 * 8 * 8)
    got = vae.inception_metrics(real, fake, batch=7, device="cpu", network=net)   # 7: many batches
    as_rgb = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).repeat(1, 3, 1, 1)  # noqa: E731
    want = vae.frechet_distance(net(as_rgb(real)), net(as_rgb(fake)))
    assert got["fid"] == pytest.approx(want, rel=1e-4)
    # uint8 input is the same images
    assert vae.inception_metrics(as_rgb(real), as_rgb(fake), device="cpu", network=net)["fid"] == pytest.approx(got["fid"])

    torch.manual_seed(0)   # torchmetrics shuffles the samples into its 10 splits
    classes = torch.arange(400) % 4
    images = torch.zeros(400, 3, 8, 8, dtype=torch.uint8)
    images[:, :, 0, 0] = (classes * 80).to(torch.uint8)[:, None]
    four = vae.inception_metrics(images, images, batch=64, device="cpu", network=CornerClass())
    one = vae.inception_metrics(images, images[classes == 2], device="cpu", network=CornerClass())
    assert 3.7 < four["is"] <= 4.0 + 1e-6       # sure and evenly spread over 4 classes: IS ≈ 4
    assert one["is"] == pytest.approx(1.0)      # always the same class: IS = 1


def test_several_fake_sets_share_one_pass_over_the_real_images():
    pytest.importorskip("torchmetrics")
    gen = torch.Generator().manual_seed(2)
    real, a, b = (torch.rand(40, 1, 8, 8, generator=gen) * 2 - 1 for _ in range(3))
    net = Projection(3 * 8 * 8)
    both = vae.inception_metrics(real, {"a": a, "b": b * 0.5}, batch=16, device="cpu", network=net)
    for name, fake in (("a", a), ("b", b * 0.5)):
        alone = vae.inception_metrics(real, fake, batch=16, device="cpu", network=net)
        assert both[name]["fid"] == pytest.approx(alone["fid"], rel=1e-6)
