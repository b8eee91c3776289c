"""snnlib.attention.TCJA against the paper's formulas and the official code's layout."""
import pytest
import torch
from torch import nn

from snnlib import models
from snnlib.attention import CLA, PFA, TCJA, TLA
from snnlib.neuron import LIF


def same_padding(k):
    """PyTorch's padding='same' for a stride-1 conv: (k-1)//2 before, the rest after."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def paper_tla(z, w):
    """T_{i,j} = sum_n sum_m W^m_{(n,i)} Z_{(n, j+m-left)}: z [C, T] one sample, w [C_out, C_in, K]."""
    C, T = z.shape
    left, _ = same_padding(w.shape[-1])
    out = torch.zeros(C, T, dtype=torch.float64)
    for i in range(C):
        for j in range(T):
            for n in range(C):
                for m in range(w.shape[-1]):
                    t = j + m - left
                    if 0 <= t < T:
                        out[i, j] += w[i, n, m] * z[n, t]
    return out


def paper_cla(z, e):
    """C_{i,j} = sum_n sum_m E^m_{(n,j)} Z_{(i+m-left, n)}: z [C, T], e [T_out, T_in, K]."""
    C, T = z.shape
    left, _ = same_padding(e.shape[-1])
    out = torch.zeros(C, T, dtype=torch.float64)
    for i in range(C):
        for j in range(T):
            for n in range(T):
                for m in range(e.shape[-1]):
                    c = i + m - left
                    if 0 <= c < C:
                        out[i, j] += e[j, n, m] * z[c, n]
    return out


@pytest.mark.parametrize("k_time, k_channel", [(4, 4), (2, 4), (3, 1)])
def test_matches_the_paper_formulas(k_time, k_channel):
    torch.manual_seed(0)
    T, N, C = 5, 2, 6
    module = TCJA(T, C, k_time, k_channel).double()
    x = (torch.rand(T, N, C, 3, 4) < 0.3).double()
    f = module.attention_map(x)
    y = module(x)
    for n in range(N):
        z = x[:, n].mean(dim=(2, 3)).T  # [C, T], rows are channels as in the paper
        expected = torch.sigmoid(paper_tla(z, module.tla.weight) * paper_cla(z, module.cla.weight))
        torch.testing.assert_close(f[:, n].T, expected)
    torch.testing.assert_close(y, x * f[..., None, None])


# the official instances (kernel_size_t, kernel_size_c, T, C) and their counts, read off the official
# code's layers (reference/tcja.md, 1.4); ours take (T, C, k_time, k_channel) with the names swapped back
@pytest.mark.parametrize("official, ours, params", [
    ((4, 4, 20, 128), (20, 128, 4, 4), 67_136),
    ((4, 4, 10, 512), (10, 512, 4, 4), 1_048_976),
    ((4, 4, 14, 256), (14, 256, 4, 4), 262_928),
    ((2, 4, 14, 512), (14, 512, 4, 2), 1_048_968),
    ((2, 2, 10, 128), (10, 128, 2, 2), 32_968),
])
def test_parameter_count_matches_the_official_instances(official, ours, params):
    assert models.count_parameters(TCJA(*ours)) == params
    assert models.count_parameters(OfficialTCJA(*official)) == params


class OfficialTCJA(nn.Module):
    """The official module's layout (ridgerchu/TCJA src/layers.py), rebuilt from its description:
    `conv` (built with kernel_size_t) slides along channels, `conv_c` along time."""

    def __init__(self, kernel_size_t, kernel_size_c, T, channel):
        super().__init__()
        self.conv = nn.Conv1d(T, T, kernel_size_t, padding="same", bias=False)
        self.conv_c = nn.Conv1d(channel, channel, kernel_size_c, padding="same", bias=False)

    def forward(self, x_seq):                      # [T, N, C, H, W]
        z = x_seq.mean(dim=(3, 4)).transpose(0, 1)  # [N, T, C]
        a = self.conv(z).permute(1, 0, 2)           # along channels -> [T, N, C]
        b = self.conv_c(z.transpose(1, 2)).permute(2, 0, 1)  # along time -> [T, N, C]
        return x_seq * torch.sigmoid(a * b)[..., None, None]


def test_loads_a_state_dict_in_the_official_layout_despite_the_name_swap():
    torch.manual_seed(1)
    official = OfficialTCJA(kernel_size_t=2, kernel_size_c=4, T=14, channel=8)  # N-Caltech101's (2, 4, 14, C)
    ours = TCJA(T=14, C=8, k_time=4, k_channel=2)
    ours.load_official_state_dict({f"features.7.{k}": v for k, v in official.state_dict().items()})
    x = (torch.rand(14, 3, 8, 5, 5) < 0.4).float()
    torch.testing.assert_close(ours(x), official(x))
    with pytest.raises(ValueError, match=r"official weight for cla has shape \[14, 14, 2\].*needs \[14, 14, 4\]"):
        TCJA(T=14, C=8, k_time=4, k_channel=4).load_official_state_dict(official.state_dict())
    with pytest.raises(KeyError, match="conv_c.weight"):
        ours.load_official_state_dict({"conv.weight": official.conv.weight})


def test_fusion_and_ablations():
    torch.manual_seed(2)
    x = (torch.rand(4, 2, 6) < 0.5).float()  # [T, N, C] works too
    ccf, add = TCJA(4, 6), TCJA(4, 6, fusion="add")
    add.load_state_dict(ccf.state_dict())
    assert not torch.allclose(ccf(x), add(x))
    tla, cla = TLA(4, 6), CLA(4, 6)
    tla.tla.weight.data.copy_(ccf.tla.weight)
    cla.cla.weight.data.copy_(ccf.cla.weight)
    t = ccf._tla(ccf.tla, x)
    c = ccf._cla(ccf.cla, x)
    torch.testing.assert_close(tla.attention_map(x), torch.sigmoid(t))
    torch.testing.assert_close(cla.attention_map(x), torch.sigmoid(c))
    torch.testing.assert_close(add.attention_map(x), torch.sigmoid(t + c))
    assert sum(p.numel() for p in TLA(4, 6, 3).parameters()) == 6 * 6 * 3
    assert sum(p.numel() for p in CLA(4, 6, 3).parameters()) == 4 * 4 * 3


def test_bad_input_names_expected_and_received():
    module = TCJA(T=8, C=16)
    with pytest.raises(ValueError, match=r"built for T=8, C=16; got T=10, C=16"):
        module(torch.rand(10, 2, 16, 4, 4))
    with pytest.raises(ValueError, match=r"built for T=8, C=16; got T=8, C=32"):
        module(torch.rand(8, 2, 32, 4, 4))
    with pytest.raises(ValueError, match=r"\[T, N, C, H, W\] or \[T, N, C\]; got shape \[8, 16\]"):
        module(torch.rand(8, 16))
    with pytest.raises(TypeError, match="floating-point tensor; got torch.int64"):
        module(torch.ones(8, 2, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="fusion must be one of"):
        TCJA(8, 16, fusion="mul")
    with pytest.raises(ValueError, match="k_time must be an integer >= 1; got 0"):
        TCJA(8, 16, k_time=0)


def test_gradients_reach_both_convolutions():
    module = TCJA(6, 5)
    x = (torch.rand(6, 3, 5, 2, 2) < 0.5).float().requires_grad_()
    module(x).sum().backward()
    assert module.tla.weight.grad.abs().sum() > 0 and module.cla.weight.grad.abs().sum() > 0
    assert x.grad is not None


# --- the paper's networks ---------------------------------------------------------------------

count = models.count_parameters


@pytest.mark.parametrize("name, with_tcja, without", [
    ("DVSGestureNet", 1_832_576, 1_698_304),
    ("CIFAR10DVSNet", 11_369_450, 9_271_498),
    ("NCaltech101Net", 21_907_096, 20_595_200),
])
def test_paper_networks_have_the_official_parameter_counts(name, with_tcja, without):
    cls = getattr(models, name)
    assert count(cls(attention="tcja")) == with_tcja
    assert count(cls(attention=None)) == without


def test_tcja_sits_where_the_official_code_puts_it():
    def kernels(net):
        return [(m.T, m.C, m.k_time, m.k_channel) for m in net if isinstance(m, TCJA)]

    assert kernels(models.DVSGestureNet()) == [(20, 128, 4, 4)] * 2
    assert kernels(models.CIFAR10DVSNet()) == [(10, 512, 4, 4)] * 2
    # official TCJA(2, 4, 14, 512): its kernel_size_t=2 slides along channels (our k_channel)
    assert kernels(models.NCaltech101Net()) == [(14, 256, 4, 4), (14, 512, 4, 2)]
    # right after a LIF layer, before the pooling that follows
    net = models.CIFAR10DVSNet()
    for i, m in enumerate(net):
        if isinstance(m, TCJA):
            assert isinstance(net[i - 1], LIF) and isinstance(net[i + 1][0], nn.AvgPool2d)


def test_paper_networks_run_time_first_at_full_size():
    torch.manual_seed(0)
    with torch.no_grad():
        assert models.DVSGestureNet(T=2).eval()(torch.rand(2, 1, 2, 128, 128)).shape == (2, 1, 11)
        assert models.CIFAR10DVSNet(T=2).eval()(torch.rand(2, 1, 2, 128, 128)).shape == (2, 1, 10)
        assert models.NCaltech101Net(T=2, width=8).eval()(torch.rand(2, 1, 2, 180, 240)).shape == (2, 1, 101)


@pytest.mark.parametrize("name", ["DVSGestureNet", "CIFAR10DVSNet", "NCaltech101Net"])
@pytest.mark.parametrize("attention", models.ATTENTIONS)
def test_small_networks_train_with_every_attention_variant(name, attention):
    torch.manual_seed(0)
    net = getattr(models, name).small(T=4, attention=attention)
    expected = {"tcja": TCJA, "add": TCJA, "tla": TLA, "cla": CLA, "pfa": PFA, None: type(None)}[attention]
    found = [m for m in net if isinstance(m, (TCJA, TLA, CLA, PFA))]
    assert len(found) == (0 if attention is None else 2)
    assert all(type(m) is expected for m in found)
    assert all(m.fusion == ("add" if attention == "add" else "ccf") for m in found if isinstance(m, TCJA))
    out = net(torch.rand(4, 3, 2, 32, 32))
    assert out.shape == (4, 3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert count(net) < 200_000


def test_paper_networks_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"attention must be one of \['tcja', 'add', 'tla', 'cla', 'pfa', None\]; got 'se'"):
        models.DVSGestureNet(attention="se")
    with pytest.raises(ValueError, match="size must be a power of two"):
        models.DVSGestureNet(size=48)
    with pytest.raises(ValueError, match="too small for 4"):
        models.CIFAR10DVSNet(size=8)
    with pytest.raises(ValueError, match=r"size must be \(height, width\)"):
        models.NCaltech101Net(size=180)
    with pytest.raises(ValueError, match="T=20, C=128; got T=8"):
        models.DVSGestureNet(T=20).eval()(torch.rand(8, 1, 2, 128, 128))


def test_seq_dropout_shares_one_mask_over_time():
    from snnlib.layers import SeqDropout

    drop = SeqDropout(0.5).train()
    y = drop(torch.ones(6, 4, 32))
    assert torch.equal(y[0], y[5]) and set(y.unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(drop.eval()(torch.ones(3, 2)), torch.ones(3, 2))


def test_cost_counts_parameters_and_flops_and_restores_the_mode():
    # by hand: Conv2d(2, 4, 3) 2·4·3·3 + 4 = 76, BatchNorm2d(4) 4 + 4 = 8 (its running statistics are
    # buffers), Linear(4, 5) 4·5 + 5 = 25 counted once though it is used twice
    shared = nn.Linear(4, 5)
    assert models.count_parameters(nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), shared, shared)) == 109
    net = models.DVSGestureNet.small(T=4).train()
    # one TCJA: two Conv1d over the squeezed [C, T] matrix, 2 FLOPs per multiply-add
    T, C = 5, 7
    assert models.count_flops(TCJA(T, C, 3, 2), torch.rand(T, 1, C, 2, 2)) == 2 * (C * C * 3 * T + T * T * 2 * C)
    assert models.count_flops(net, torch.rand(4, 1, 2, 32, 32)) > 0 and net.training
