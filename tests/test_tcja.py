"""snnlib.attention.TCJA against the paper's formulas and the official code's layout."""
import pytest
import torch
from torch import nn

from snnlib import models
from snnlib.attention import CLA, ECA, PFA, SE, TCJA, TLA, TemporalAttention, eca_kernel_size
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
    expected = {"tcja": TCJA, "add": TCJA, "tla": TLA, "cla": CLA, "pfa": PFA, "eca": ECA,
                "ta": TemporalAttention, "se": SE, None: type(None)}[attention]
    found = [m for m in net if isinstance(m, (TCJA, TLA, CLA, PFA, ECA, TemporalAttention, SE))]
    assert len(found) == (0 if attention is None else 2)
    assert all(type(m) is expected for m in found)
    assert all(m.fusion == ("add" if attention == "add" else "ccf") for m in found if isinstance(m, TCJA))
    out = net(torch.rand(4, 3, 2, 32, 32))
    assert out.shape == (4, 3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert count(net) < 200_000


def test_paper_networks_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"attention must be one of \['tcja', 'add', 'tla', 'cla', 'eca', 'ta', 'se', "
                                         r"'pfa', None\]; got 'cbam'"):
        models.DVSGestureNet(attention="cbam")
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


# --- the modules TCJA grew from (ECA, TA-SNN, SE) ---------------------------------------------


def test_eca_matches_its_formula_by_loop():
    # F[t, c] = sigmoid(sum_m w_m Z[t, c + m - (k-1)/2]), zeros outside, at each step and sample
    torch.manual_seed(3)
    T, N, C, k = 3, 2, 7, 3
    module = ECA(T, C, k=k).double()
    x = torch.rand(T, N, C, 4, 5, dtype=torch.float64)
    z = x.mean(dim=(3, 4))
    w = module.conv.weight[0, 0]
    expected = torch.zeros(T, N, C, dtype=torch.float64)
    for t in range(T):
        for n in range(N):
            for c in range(C):
                s = 0.0
                for m in range(k):
                    j = c + m - (k - 1) // 2
                    if 0 <= j < C:
                        s = s + w[m] * z[t, n, j]
                expected[t, n, c] = torch.sigmoid(s)
    torch.testing.assert_close(module.attention_map(x), expected)
    torch.testing.assert_close(module(x), x * expected[..., None, None])
    assert count(module) == k


def test_eca_kernel_follows_the_paper_rule():
    # k = |(log2 C + 1) / 2|_odd
    assert [eca_kernel_size(c) for c in (8, 16, 64, 128, 256, 512)] == [3, 3, 3, 5, 5, 5]
    assert ECA(4, 128).k == 5
    with pytest.raises(ValueError, match="must be odd"):
        ECA(4, 8, k=4)


@pytest.mark.parametrize("branches", ["avg", "avg+max"])
def test_temporal_attention_matches_its_formula_by_loop(branches):
    # s[t] = mean_{c,h,w} X[t]; F[t] = sigmoid(W2 relu(W1 s)) (+ the same on the max), one gate per step
    torch.manual_seed(4)
    T, N, C = 8, 3, 5
    module = TemporalAttention(T, C, reduction=4, branches=branches).double()
    x = torch.rand(T, N, C, 3, 2, dtype=torch.float64)
    W1, W2 = module.fc1.weight, module.fc2.weight             # [2, 8], [8, 2]
    expected = torch.zeros(T, N, C, dtype=torch.float64)
    for n in range(N):
        stats = [[x[t, n].mean() for t in range(T)]]
        if branches == "avg+max":
            stats.append([x[t, n].max() for t in range(T)])
        for t in range(T):
            score = 0.0
            for s in stats:
                for h in range(W1.shape[0]):
                    hidden = sum(W1[h, u] * s[u] for u in range(T))
                    score = score + W2[t, h] * torch.relu(hidden)
            expected[t, n, :] = torch.sigmoid(score)
    torch.testing.assert_close(module.attention_map(x), expected)
    torch.testing.assert_close(module(x), x * expected[..., None, None])
    assert count(module) == 2 * T * (T // 4)


def test_se_matches_its_formula_by_loop():
    torch.manual_seed(5)
    T, N, C = 2, 2, 32
    module = SE(T, C, reduction=16).double()
    x = torch.rand(T, N, C, 2, 2, dtype=torch.float64)
    z = x.mean(dim=(3, 4))
    l1, l2 = module.fc1, module.fc2
    expected = torch.zeros(T, N, C, dtype=torch.float64)
    for t in range(T):
        for n in range(N):
            hidden = [torch.relu(l1.bias[h] + sum(l1.weight[h, c] * z[t, n, c] for c in range(C))) for h in range(2)]
            for c in range(C):
                expected[t, n, c] = torch.sigmoid(l2.bias[c] + sum(l2.weight[c, h] * hidden[h] for h in range(2)))
    torch.testing.assert_close(module.attention_map(x), expected)
    assert count(module) == 2 * C * C // 16 + C // 16 + C


@pytest.mark.parametrize("cls", [ECA, TemporalAttention, SE])
def test_prior_modules_reject_bad_input_before_any_work(cls):
    module = cls(8, 16)
    with pytest.raises(ValueError, match=r"built for T=8, C=16; got T=10, C=16"):
        module(torch.rand(10, 2, 16, 4, 4))
    with pytest.raises(ValueError, match=r"built for T=8, C=16; got T=8, C=32"):
        module.attention_map(torch.rand(8, 2, 32, 4, 4))
    with pytest.raises(TypeError, match="floating-point tensor"):
        module(torch.ones(8, 2, 16, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        cls(0, 16)
    if cls is TemporalAttention:
        with pytest.raises(ValueError, match="branches must be one of"):
            cls(8, 16, branches="max")


@pytest.mark.parametrize("attention", [None, "tcja", "add", "tla", "cla", "eca", "ta", "se"])
def test_attention_conv_snn_puts_attention_after_lif_before_pooling(attention):
    torch.manual_seed(0)
    net = models.AttentionConvSNN(T=4, in_channels=2, size=(8, 20), channels=(4, 8), attention=attention)
    gates = [i for i, m in enumerate(net) if isinstance(m, (TCJA, TLA, CLA, ECA, TemporalAttention, SE))]
    assert len(gates) == (0 if attention is None else 2)
    for i in gates:
        assert isinstance(net[i - 1], LIF) and isinstance(net[i + 1][0], nn.MaxPool2d)
    out = net(torch.rand(4, 3, 2, 8, 20))
    assert out.shape == (4, 3, 10)
    out.sum().backward()
    with pytest.raises(ValueError, match="too small"):
        models.AttentionConvSNN(T=4, in_channels=2, size=2)
    with pytest.raises(ValueError, match="attention must be one of"):
        models.AttentionConvSNN(T=4, in_channels=2, size=8, attention="cbam")
