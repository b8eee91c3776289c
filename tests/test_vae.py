"""snnlib.vae: the official FSVAE's parameter counts, tdBN, neuron and layers against hand
formulas, autoregression, scheduled sampling, loss terms by hand, reproducible sampling, gradients,
the TCJA and read-out variants, bad inputs; the proxy metrics."""
import numpy as np
import pytest
import torch

from snnlib import vae
from snnlib.attention import TCJA


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These small networks run fastest on one thread (and a shared machine stays responsive)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(**kwargs):
    torch.manual_seed(0)
    return vae.SpikingVAE(in_channels=1, size=16, T=8, latent=8, k=5, channels=(8, 16, 16), **kwargs)


def test_official_configurations_have_the_official_parameter_counts():
    from snnlib.models import count_parameters

    mnist = vae.SpikingVAE.official("mnist")
    assert count_parameters(mnist) == 4_053_601 == vae.OFFICIAL_PARAMETERS["mnist"]
    parts = {"encoder": 388_800, "before_latent": 131_456, "prior": 1_484_544, "posterior": 1_517_312,
             "decoder_input": 134_144, "decoder": 387_744, "final_layer": 9_601}
    assert {name: count_parameters(getattr(mnist, name)) for name in parts} == parts
    assert count_parameters(vae.SpikingVAE.official("celeba")) == 6_681_571 == vae.OFFICIAL_PARAMETERS["celeba"]
    # three linear → tdBN(α=2) → LIF layers each: 2C→2C→4C→kC and C→2C→4C→kC
    C, k = 128, 20
    post = [(m.layer.in_features, m.layer.out_features, m.bn.alpha) for m in mnist.posterior.layers]
    prior = [(m.layer.in_features, m.layer.out_features, m.bn.alpha) for m in mnist.prior.layers]
    assert post == [(2 * C, 2 * C, 2), (2 * C, 4 * C, 2), (4 * C, k * C, 2)]
    assert prior == [(C, 2 * C, 2), (2 * C, 4 * C, 2), (4 * C, k * C, 2)]
    convs = [m for m in mnist.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 4 + 3 + 2 and all(c.bias is not None for c in convs)


def test_shapes_through_encoder_latents_and_decoder():
    model = small()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    z, pi_q, pi_p = model.encode(x, torch.Generator().manual_seed(0))
    assert z.shape == pi_q.shape == pi_p.shape == (8, 3, 8)
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert ((pi_q >= 0) & (pi_q <= 1)).all() and ((pi_q * 5) == (pi_q * 5).round()).all()   # means of k=5 spikes
    out = model(x)
    assert out.recon.shape == (3, 1, 16, 16) and out.recon.abs().max() <= 1
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 1, 16, 16)


def test_tdbn_against_the_hand_formula_in_training_and_evaluation():
    torch.manual_seed(0)
    bn = vae.TdBatchNorm(3, alpha=2.0)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, -1.0, 0.3]))
    x = torch.randn(4, 5, 3, 2, 2) * 3 + 1                          # [T, N, C, H, W]
    y = bn(x)
    for c in range(3):
        v = x[:, :, c].flatten().double()
        mean, var = v.mean(), ((v - v.mean()) ** 2).mean()          # biased, over T, N, H, W
        want = 2.0 * 0.2 * (v - mean) / torch.sqrt(var + 1e-5) * bn.weight[c].item() + bn.bias[c].item()
        assert torch.allclose(y[:, :, c].flatten().double(), want, atol=1e-5)
        n = v.numel()
        assert bn.running_mean[c].item() == pytest.approx(0.1 * mean.item(), rel=1e-5)
        assert bn.running_var[c].item() == pytest.approx(0.9 + 0.1 * var.item() * n / (n - 1), rel=1e-5)
    bn.eval()
    y = bn(x)
    rm, rv = bn.running_mean.view(1, 1, 3, 1, 1), bn.running_var.view(1, 1, 3, 1, 1)
    want = 0.4 * (x - rm) / torch.sqrt(rv + 1e-5) * bn.weight.view(1, 1, 3, 1, 1) + bn.bias.view(1, 1, 3, 1, 1)
    assert torch.allclose(y, want, atol=1e-6)
    lin = vae.TdBatchNorm(4).train()                                 # linear layers: [T, N, C], over T and N
    h = torch.randn(6, 3, 4)
    v = h.permute(2, 0, 1).reshape(4, -1)
    want = 0.2 * (v - v.mean(1, keepdim=True)) / torch.sqrt(v.var(1, unbiased=False, keepdim=True) + 1e-5)
    assert torch.allclose(lin(h).permute(2, 0, 1).reshape(4, -1), want, atol=1e-5)
    with pytest.raises(ValueError, match=r"TdBatchNorm\(4\) expects \[T, N, C=4, ...\]; got \[6, 3, 5\]"):
        lin(torch.randn(6, 3, 5))


def test_fsvae_neuron_and_surrogate_follow_the_official_definitions():
    lif = vae.fsvae_lif()
    x = torch.tensor([[0.1], [0.2], [0.0], [0.3], [0.2], [0.15]])    # [T, 1]
    s = lif(x)
    u, o, spikes = torch.tensor(0.0), torch.tensor(0.0), []             # float32, as the network computes
    for xt in x[:, 0]:
        u = 0.25 * u * (1 - o) + xt
        o = (u > torch.tensor(0.2)).float()                          # strict: u = V_th does not fire
        spikes.append(o.item())
    assert s[:, 0].tolist() == spikes
    assert spikes[4] == 0.0                                          # u = 0.2 exactly after a reset: silent
    # surrogate: 1/(2a) = 1 where |u| < 0.5, centred on u = 0 (not on the threshold 0.2)
    u = torch.tensor([-0.6, -0.49, 0.0, 0.19, 0.21, 0.49, 0.5, 0.69], requires_grad=True)
    out = vae.fsvae_spike(u)
    assert out.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    out.sum().backward()
    assert u.grad.tolist() == [0, 1, 1, 1, 1, 1, 0, 0]
    # the gradient flows through the reset factor (1 − o_{t−1}): not detached
    x = torch.tensor([[0.3], [0.1]], requires_grad=True)
    u0 = 0.3
    lif(x)[1].sum().backward()      # u_1 = 0.25·u_0·(1 − o_0) + x_1; o_0 = 1; d o_1/d x_0 via u_0 and o_0
    du1_dx0 = 0.25 * (1 - 1.0) * 1 + 0.25 * u0 * (-1.0) * 1.0         # through u_0 (window 1) and o_0 (window 1)
    assert x.grad[0, 0].item() == pytest.approx(du1_dx0)


def test_td_layers_against_a_hand_loop_over_steps():
    torch.manual_seed(0)
    layer = vae.td_conv(2, 3).eval()
    layer.bn.running_mean.uniform_(-0.2, 0.2)
    layer.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(5, 2, 2, 8, 8)
    conv, bn = layer.layer, layer.bn
    pre = torch.stack([conv(x[t]) for t in range(5)])
    pre = 0.2 * (pre - bn.running_mean.view(1, 1, 3, 1, 1)) / torch.sqrt(bn.running_var.view(1, 1, 3, 1, 1) + 1e-5)
    pre = pre * bn.weight.view(1, 1, 3, 1, 1) + bn.bias.view(1, 1, 3, 1, 1)
    u, o, want = torch.zeros_like(pre[0]), torch.zeros_like(pre[0]), []
    for t in range(5):
        u = 0.25 * u * (1 - o) + pre[t]
        o = (u > 0.2).float()
        want.append(o)
    assert torch.equal(layer(x), torch.stack(want))
    lin = vae.td_linear(6, 4, alpha=2).eval()                       # the posterior's/prior's layer
    h = torch.randn(5, 3, 6) * 3
    pre = 0.4 * torch.stack([lin.layer(h[t]) for t in range(5)]) / (1 + 1e-5) ** 0.5
    u, o, want = torch.zeros(3, 4), torch.zeros(3, 4), []
    for t in range(5):
        u = 0.25 * u * (1 - o) + pre[t]
        o = (u > 0.2).float()
        want.append(o)
    assert torch.equal(lin(h), torch.stack(want)) and torch.stack(want).sum() > 0
    up = vae.td_conv_transpose(3, 2)
    assert up(torch.rand(5, 2, 3, 4, 4)).shape == (5, 2, 2, 8, 8)
    last = vae.td_conv_transpose(3, 1, spiking=False)
    h = torch.rand(5, 2, 3, 4, 4)
    assert torch.allclose(last(h), torch.stack([last.layer(h[t]) for t in range(5)]))
    assert last.bn is None and last.spike is None and last.layer.stride == (1, 1)


def lively(model):
    """An untrained network in evaluation (running mean 0, variance 1) is nearly silent: wider tdBN
    gains make it spike."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, vae.TdBatchNorm):
                m.weight.uniform_(2.0, 6.0, generator=torch.Generator().manual_seed(0))
    return model


def test_prior_and_posterior_are_autoregressive_in_evaluation():
    model = lively(small()).eval()
    g = torch.Generator().manual_seed(0)
    e = (torch.rand(8, 6, 8, generator=g) < 0.5).float()            # encoder features [T, N, C]
    z = (torch.rand(8, 6, 8, generator=g) < 0.5).float()
    for t in (2, 5):
        z2 = z.clone()
        z2[t] = 1 - z2[t]                                            # change z_t only
        for net, args, args2 in ((model.prior, (z,), (z2,)), (model.posterior, (e, z), (e, z2))):
            a, b = net.conditional(*args), net.conditional(*args2)
            assert torch.equal(a[: t + 1], b[: t + 1])               # steps ≤ t see only z_<t
            assert not torch.equal(a[t + 1 :], b[t + 1 :])           # later steps do see it
        e2 = e.clone()
        e2[t] = 1 - e2[t]
        a, b = model.posterior.conditional(e, z), model.posterior.conditional(e2, z)
        assert torch.equal(a[:t], b[:t]) and not torch.equal(a[t], b[t])
    # the sampled path: z from posterior.sample equals teacher forcing on itself
    zs, q = model.posterior.sample(e, torch.Generator().manual_seed(1))
    assert torch.equal(q, model.posterior.conditional(e, zs))
    # in training, tdBN's statistics span time: a later z_t moves earlier steps too (documented)
    model.train()
    a, b = model.prior.conditional(z), model.prior.conditional(z2)
    assert not torch.equal(a[:5], b[:5])                             # z2 differs from z at t = 5 only


def test_scheduled_sampling_schedule_and_inputs():
    assert vae.scheduled_p(0, 150) == pytest.approx(0.1)
    assert vae.scheduled_p(75, 150) == pytest.approx(0.2)
    assert vae.scheduled_p(149, 150) == pytest.approx(0.1 + 0.2 * 149 / 150)
    prior = small().prior
    g = torch.Generator().manual_seed(0)
    z = (torch.rand(8, 16, 8, generator=g) < 0.5).float()
    shifted = torch.cat([torch.zeros_like(z[:1]), z[:-1]])
    prior.eval()
    assert torch.equal(prior.inputs(z, p=1.0), shifted)             # evaluation: never
    prior.train()
    assert torch.equal(prior.inputs(z, p=0.0), shifted)
    got = prior.inputs(z, p=1.0, generator=g)                        # every step from t = 5 on
    assert torch.equal(got[:6], shifted[:6])                         # inputs of steps 0..5: posterior samples
    for t in range(5, 7):                                            # input of step t+1: own prediction at t
        prob = prior(got[: t + 1])[-1].mean(-1)
        sure = (prob - 0.5).abs() > 0.01                             # away from the 1e-3 noise
        assert torch.equal(got[t + 1][sure], (prob[sure] > 0.5).float())
    # with p = 0.5 about half the steps t ≥ 5 switch: one coin per step for the whole batch
    switched = []
    for seed in range(40):
        got = prior.inputs(z, p=0.5, generator=torch.Generator().manual_seed(seed))
        switched += [not torch.equal(got[t + 1], z[t]) for t in range(5, 7)]
    assert 0.25 < np.mean(switched) < 0.75
    # fit_vae sets p at the start of each epoch as update_p(epoch, epochs)
    model = small()
    history = vae.fit_vae(model, torch.rand(32, 1, 16, 16) * 2 - 1, epochs=3, batch=16, progress=False)
    assert [h["p"] for h in history] == pytest.approx([0.1, 0.1 + 0.2 / 3, 0.1 + 0.4 / 3])


def test_loss_terms_against_hand_computation():
    pi_q = torch.tensor([[[0.2, 1.0]], [[0.6, 0.0]]])                # [T=2, N=1, C=2]
    pi_p = torch.tensor([[[0.0, 1.0]], [[0.2, 0.4]]])
    # FSVAE's PSP with tau 2: s_t = s_{t-1} + (x_t - s_{t-1}) / 2
    d0 = (pi_q[0] - pi_p[0]) / 2
    d1 = d0 + ((pi_q[1] - pi_p[1]) - d0) / 2
    expected = ((d0 ** 2).sum() + (d1 ** 2).sum()) / 4                 # torch.mean over T·N·C = 4
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


def test_gradients_reach_every_part():
    model = small()
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    model.loss(x, model(x, torch.Generator().manual_seed(0)))["loss"].backward()
    for name in ("encoder", "before_latent", "posterior", "prior", "decoder_input", "decoder", "final_layer"):
        grads = [p.grad for p in getattr(model, name).parameters() if p.grad is not None]
        assert grads and sum(g.abs().sum() for g in grads) > 0, name


def test_tcja_and_readout_variants_change_only_the_decoder():
    plain, tcja, mean_only = small(), small(attention="tcja"), small(readout="mean")
    assert (plain.readout, tcja.readout, mean_only.readout) == ("membrane", "mean", "mean")
    for part in ("encoder", "before_latent", "posterior", "prior", "decoder_input", "decoder"):
        a, b = getattr(plain, part).state_dict(), getattr(tcja, part).state_dict()
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    found = [m for m in tcja.final_layer if isinstance(m, TCJA)]
    assert len(found) == 1 and not any(isinstance(m, TCJA) for m in plain.modules())
    assert list(tcja.final_layer).index(found[0]) == 1                # after the last decoder LIF
    assert isinstance(tcja.final_layer[0].spike, vae.FSVAELIF)
    z = (torch.rand(8, 2, 8) < 0.5).float()

    def last_layer(m):
        h = m.decoder_input(z)
        return m.final_layer(m.decoder(h.view(8, 2, 16, 2, 2)))

    for m, read in ((tcja, lambda y: y.mean(0)), (mean_only, lambda y: y.mean(0)), (plain, vae.membrane_readout)):
        assert torch.allclose(m.decode(z), torch.tanh(read(last_layer(m))), atol=1e-6)


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
    with pytest.raises(ValueError, match="readout must be 'membrane' or 'mean'"):
        vae.SpikingVAE(readout="last")
    with pytest.raises(ValueError, match="channels must be a non-empty sequence of positive integers"):
        vae.SpikingVAE(size=4, channels=(0,))
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        vae.SpikingVAE(beta=-1.0)
    with pytest.raises(ValueError, match="dataset must be one of"):
        vae.SpikingVAE.official("cifar")
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        vae.SpikingVAE(T=0)
    with pytest.raises(ValueError, match=r"latents must be \[T=8, N, C=8\]"):
        model.decode(torch.zeros(3, 2, 8))
    with pytest.raises(ValueError, match=r"float in \[-1, 1\] or uint8; got torch.int64"):
        model.reconstruct(torch.zeros(2, 1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match=r"images must be \[n, C, H, W\], float in \[-1, 1\] or uint8; got torch.float32 \[16, 16\]"):
        vae.fit_vae(model, torch.zeros(16, 16), epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        vae.scheduled_p(0, 0)
    with pytest.raises(ValueError, match=r"FSVAELIF expects a float tensor \[T, ...\]"):
        vae.fsvae_lif()(torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="floating-point"):
        vae.fsvae_spike(torch.zeros(3, dtype=torch.long))


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
    model = vae.SpikingVAE(in_channels=3, size=64, T=3, latent=8, k=4, channels=(8, 8, 8, 8, 16), attention="tcja")
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
