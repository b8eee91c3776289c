"""snnlib.attention.PFA against its definition (LPST + AMC) and the official loop over ranks."""
import pytest
import torch

from snnlib import models
from snnlib.attention import PFA, compose_loop


def explicit_map(module, x):
    """A[t, n, c, h, w] = λ Σ_r v_t[n, r, t] v_c[n, r, c] v_s[n, r, h, w], factors written out by hand."""
    T, N, C, H, W = x.shape
    p = x.mean(dim=(3, 4))                                                    # [T, N, C]
    q = x.mean(dim=2)                                                         # [T, N, H, W]
    wt, bt = module.temporal_proj.weight, module.temporal_proj.bias            # [R, C], [R]
    wc, bc = module.channel_proj.weight, module.channel_proj.bias              # [R, T], [R]
    a = torch.zeros(T, N, C, H, W, dtype=x.dtype)
    for n in range(N):
        conv = torch.nn.functional.conv2d(q[:, n][None], module.spatial_conv.weight, module.spatial_conv.bias,
                                          padding=module.kernel_size // 2)[0]  # [R, H, W]
        for r in range(module.rank):
            v_t = torch.sigmoid(torch.stack([(wt[r] * p[t, n]).sum() + bt[r] for t in range(T)]))
            v_c = torch.sigmoid(torch.stack([(wc[r] * p[:, n, c]).sum() + bc[r] for c in range(C)]))
            v_s = torch.sigmoid(conv[r])
            a[:, n] += module.scale * v_t[:, None, None, None] * v_c[None, :, None, None] * v_s[None, None]
    return a


@pytest.mark.parametrize("reduce, fusion, k", [("mean", "mul", 3), ("sum", "add", 1), ("mean", "add", 5)])
def test_matches_the_definition(reduce, fusion, k):
    torch.manual_seed(0)
    module = PFA(T=4, C=3, rank=5, kernel_size=k, reduce=reduce, fusion=fusion).double()
    x = torch.randn(4, 2, 3, 5, 6, dtype=torch.float64)
    a = module.attention_map(x)
    torch.testing.assert_close(a, explicit_map(module, x))
    expected = torch.relu(a * x) if fusion == "mul" else torch.relu(a + x)
    torch.testing.assert_close(module(x), expected)


def test_equals_the_official_loop_over_ranks():
    torch.manual_seed(1)
    module = PFA(T=6, C=8, rank=7).double()
    x = (torch.rand(6, 3, 8, 9, 7) < 0.3).double()
    torch.testing.assert_close(module.attention_map(x), compose_loop(*module.factors(x), module.scale))


def test_rank_one_is_the_outer_product_of_its_factors():
    torch.manual_seed(2)
    module = PFA(T=5, C=4, rank=1).double()
    x = torch.rand(5, 2, 4, 3, 3, dtype=torch.float64)
    v_t, v_c, v_s = module.factors(x)
    outer = torch.einsum("nt,nc,nhw->tnchw", v_t[:, 0], v_c[:, 0], v_s[:, 0])
    torch.testing.assert_close(module.attention_map(x), outer)


def test_map_ranges_follow_the_reduction():
    torch.manual_seed(3)
    x = torch.rand(4, 2, 6, 5, 5)
    mean_map = PFA(4, 6, rank=16, reduce="mean").attention_map(x)
    sum_map = PFA(4, 6, rank=16, reduce="sum").attention_map(x)
    assert ((mean_map > 0) & (mean_map < 1)).all()
    assert ((sum_map > 0) & (sum_map < 16)).all() and sum_map.max() > 1


# counts of the official modules (reference/pfa.md, 5): the Fashion-MNIST and generation modules have
# no λ; the classification VGG's first module, 1,008, includes its never-trained λ (R more); the last,
# layer by layer: Conv2d(10, 64, 5), Linear(512, 64), Linear(10, 64), each with its bias
@pytest.mark.parametrize("T, C, rank, k, params", [
    (4, 128, 4, 3, 684), (16, 3, 64, 3, 10_624), (12, 2, 8, 3, 1_008 - 8),
    (10, 512, 64, 5, 10 * 64 * 25 + 64 + 512 * 64 + 64 + 10 * 64 + 64)])
def test_parameter_count(T, C, rank, k, params):
    assert models.count_parameters(PFA(T, C, rank=rank, kernel_size=k)) == params


def test_gradients_reach_all_three_projections_and_the_input():
    torch.manual_seed(4)
    module = PFA(4, 6, rank=3)
    x = torch.rand(4, 2, 6, 5, 5, requires_grad=True)
    module(x).sum().backward()
    for layer in (module.temporal_proj, module.channel_proj, module.spatial_conv):
        assert layer.weight.grad.abs().sum() > 0 and layer.bias.grad.abs().sum() > 0
    assert x.grad.abs().sum() > 0


def test_spatial_size_may_change_and_the_module_is_stateless():
    from spikingjelly.activation_based import functional

    module = PFA(3, 4, rank=2)
    for h, w in [(5, 5), (8, 3), (1, 1)]:
        assert module(torch.rand(3, 2, 4, h, w)).shape == (3, 2, 4, h, w)
    x = torch.rand(3, 2, 4, 6, 6)
    before = module(x)
    functional.reset_net(module)
    torch.testing.assert_close(module(x), before)


def test_bad_input_names_expected_and_received():
    module = PFA(T=4, C=6)
    with pytest.raises(ValueError, match="built for T=4, C=6; got T=5, C=6"):
        module(torch.rand(5, 2, 6, 3, 3))
    with pytest.raises(ValueError, match="built for T=4, C=6; got T=4, C=7"):
        module(torch.rand(4, 2, 7, 3, 3))
    with pytest.raises(ValueError, match=r"expects \[T, N, C, H, W\]; got shape \[4, 2, 6\]"):
        module(torch.rand(4, 2, 6))
    with pytest.raises(TypeError, match="floating-point tensor; got torch.int64"):
        module(torch.ones(4, 2, 6, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        PFA(4, 6, kernel_size=4)
    with pytest.raises(ValueError, match="reduce must be one of"):
        PFA(4, 6, reduce="max")
    with pytest.raises(ValueError, match="fusion must be one of"):
        PFA(4, 6, fusion="concat")
    with pytest.raises(ValueError, match="rank must be an integer >= 1; got 0"):
        PFA(4, 6, rank=0)


# --- the PFA paper's networks --------------------------------------------------------------------

count = models.count_parameters


def pfa_modules(net):
    return [m for m in net if isinstance(m, PFA)]


def test_pfa_vgg_places_five_modules_as_the_official_code():
    from snnlib import models

    net = models.PFAVGG.cifar10_dvs()
    mods = pfa_modules(net)
    assert [(m.T, m.C, m.rank) for m in mods] == [(12, 2, 8), (12, 128, 8), (12, 256, 8), (12, 512, 8), (12, 512, 8)]
    # on the (pooled) input, then right after every average pooling
    assert isinstance(net[0][0], torch.nn.AdaptiveAvgPool2d) and isinstance(net[1], PFA)
    for i, m in enumerate(net):
        if isinstance(m, PFA) and i > 1:
            assert isinstance(net[i - 1][0], torch.nn.AvgPool2d)
    # the PFA overhead of the official final recipe: 16,240 with the unused λ vectors (5 × 8) left out
    assert count(net) - count(models.PFAVGG.cifar10_dvs(attention=None)) == 16_240 - 40
    gesture = models.PFAVGG.dvs_gesture()
    assert [m.rank for m in pfa_modules(gesture)] == [32, 32, 32, 32, 64]
    assert count(gesture) - count(models.PFAVGG.dvs_gesture(attention=None)) == 100_672 - 192
    assert models.PFAVGG.ncaltech101()[-2][-1].out_features == 101


def test_pfa_networks_run_time_first():
    from snnlib import models

    torch.manual_seed(0)
    with torch.no_grad():
        assert models.PFAVGG.cifar10_dvs(T=2)(torch.rand(2, 1, 2, 128, 128)).shape == (2, 1, 10)
        assert models.FashionPFANet(T=2)(torch.rand(2, 1, 1, 28, 28)).shape == (2, 1, 10)
    for attention in ("pfa", "tcja", None):
        net = models.PFAVGG.small(T=4, attention=attention)
        out = net(torch.rand(4, 3, 2, 32, 32))
        assert out.shape == (4, 3, 10) and set(out.unique().tolist()) <= {0.0, 1.0}
        out.sum().backward()
        assert count(net) < 200_000


def test_fashion_net_uses_additive_summed_pfa_before_the_neuron():
    from snnlib import models
    from snnlib.neuron import LIF

    net = models.FashionPFANet()
    (i, m), = [(i, m) for i, m in enumerate(net) if isinstance(m, PFA)]
    assert (m.T, m.C, m.rank, m.reduce, m.fusion) == (4, 128, 4, "sum", "add")
    assert isinstance(net[i - 1][-1], torch.nn.BatchNorm2d) and isinstance(net[i + 1], LIF)
    assert count(net) - count(models.FashionPFANet(attention=None)) == 684
    with pytest.raises(ValueError, match="attention 'pfa' or None"):
        models.FashionPFANet(attention="tcja")
    with pytest.raises(ValueError, match="attention must be one of"):
        models.PFAVGG(attention="se")
    with pytest.raises(ValueError, match="ranks must give R for each of the 5"):
        models.PFAVGG(ranks=(8, 8))


def test_official_weight_gives_the_official_counts_and_changes_nothing_else():
    # reference/pfa.md 5: the classification VGG's PFA overhead, λ vectors included
    for net, attention_free, params in [
        (models.PFAVGG.cifar10_dvs(official_weight=True), models.PFAVGG.cifar10_dvs(attention=None), 16_240),
        (models.PFAVGG(T=10, ranks=16, official_weight=True), models.PFAVGG(T=10, attention=None), 30_880),
        (models.PFAVGG.dvs_gesture(official_weight=True), models.PFAVGG.dvs_gesture(attention=None), 100_672),
    ]:
        assert count(net) - count(attention_free) == params
    assert [count(m) for m in pfa_modules(models.PFAVGG.cifar10_dvs(official_weight=True))] == [
        1008, 2016, 3040, 5088, 5088]
    torch.manual_seed(5)
    plain = PFA(4, 6, rank=3)
    torch.manual_seed(5)
    official = PFA(4, 6, rank=3, official_weight=True)
    x = torch.rand(4, 2, 6, 5, 5)
    torch.testing.assert_close(official(x), plain(x))
    assert not official.weight.requires_grad and official.weight.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="official_weight must be True or False"):
        PFA(4, 6, official_weight=1)


@pytest.mark.parametrize("placement, after", [
    ("official", ["input", "pool", "pool", "pool", "pool"]),
    ("pools", ["pool", "pool", "pool", "pool"]),
    ("late", ["lif", "lif"]),
])
def test_placements_put_the_modules_where_documented(placement, after):
    from snnlib.neuron import LIF

    net = models.PFAVGG(T=3, ranks=2, width=2, size=16, placement=placement)
    where = []
    for i, m in enumerate(net):
        if isinstance(m, PFA):
            before = net[i - 1]
            where.append("lif" if isinstance(before, LIF) else
                         "pool" if isinstance(before[0], torch.nn.AvgPool2d) else
                         "input" if isinstance(before[0], torch.nn.AdaptiveAvgPool2d) else "?")
    assert where == after and net.placement == placement
    if placement == "late":  # the last two LIF layers, both before the last pooling
        lifs = [i for i, m in enumerate(net) if isinstance(m, LIF)]
        pfas = [i for i, m in enumerate(net) if isinstance(m, PFA)]
        assert [i - 1 for i in pfas] == lifs[-3:-1]
        assert [m.C for m in pfa_modules(net)] == [16, 16]
    assert net(torch.rand(3, 2, 2, 16, 16)).shape == (3, 2, 10)
    tcja = models.PFAVGG(T=3, attention="tcja", width=2, size=16, placement=placement, ranks=1)
    assert sum(isinstance(m, models.TCJA) if hasattr(models, "TCJA") else type(m).__name__ == "TCJA"
               for m in tcja) == len(after)


def test_placement_bad_inputs():
    with pytest.raises(ValueError, match="placement must be one of"):
        models.PFAVGG(placement="everywhere")
    with pytest.raises(ValueError, match="ranks must give R for each of the 2 PFA modules of placement 'late'"):
        models.PFAVGG(ranks=(8, 8, 8), placement="late")


def test_fewer_stages_keep_the_placements():
    net = models.PFAVGG(T=3, ranks=2, width=2, size=8, stages=2)
    assert [m.C for m in pfa_modules(net)] == [2, 4, 8]                 # input, after pool 1, after pool 2
    assert net(torch.rand(3, 2, 2, 8, 8)).shape == (3, 2, 10)
    assert net[-2][-1].in_features == 8 * 2 * 2
    late = models.PFAVGG(T=3, ranks=2, width=2, size=8, stages=2, placement="late")
    assert [m.C for m in pfa_modules(late)] == [8, 8]
    with pytest.raises(ValueError, match="stages must be 1, 2, 3 or 4; got 5"):
        models.PFAVGG(stages=5)
    with pytest.raises(ValueError, match="ranks must give R for each of the 3 PFA modules"):
        models.PFAVGG(stages=2, ranks=(1, 2))
