import pytest
import torch

from snnlib import surrogate as sg

ALL = [sg.Sigmoid, sg.ATan, sg.PiecewiseQuadratic, sg.PiecewiseExp, sg.SoftSign, sg.SuperSpike, sg.Erf]
DEFAULT_ALPHA = {sg.Sigmoid: 4.0, sg.ATan: 2.0, sg.PiecewiseQuadratic: 1.0, sg.PiecewiseExp: 1.0,
                 sg.SoftSign: 2.0, sg.SuperSpike: 1.0, sg.Erf: 2.0}


@pytest.mark.parametrize("cls", ALL)
def test_defaults_are_spikingjellys(cls):
    assert cls().alpha == DEFAULT_ALPHA[cls]


@pytest.mark.parametrize("cls", ALL)
def test_forward_is_heaviside_with_equality_firing(cls):
    x = torch.tensor([-1.0, -1e-7, 0.0, 1e-7, 2.0])
    assert torch.equal(cls()(x), torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]))
    assert cls()(x.half()).dtype == torch.float16


@pytest.mark.parametrize("cls", ALL)
def test_backward_is_grad_times_derivative(cls):
    f = cls(alpha=1.7)
    x = torch.linspace(-3, 3, 101, requires_grad=True)
    g = torch.randn(101)
    (f(x) * g).sum().backward()
    torch.testing.assert_close(x.grad, g * f.derivative(x.detach()), rtol=0, atol=0)


@pytest.mark.parametrize("cls", ALL)
def test_derivative_is_the_slope_of_the_primitive(cls):
    f = cls(alpha=1.3)
    x = torch.linspace(-2.5, 2.5, 401, dtype=torch.float64)
    x = x[(x.abs() - 1 / 1.3).abs() > 1e-3]  # PiecewiseQuadratic has kinks at ±1/alpha
    eps = 1e-6
    numeric = (f.primitive(x + eps) - f.primitive(x - eps)) / (2 * eps)
    torch.testing.assert_close(numeric, f.derivative(x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cls", [c for c in ALL if c is not sg.SuperSpike])  # a step of height 2*alpha
def test_primitive_is_a_smooth_step(cls):
    f = cls(spiking=False)
    x = torch.tensor([-50.0, 0.0, 50.0])
    y = f(x)
    assert y[0] < 0.02 and abs(y[1] - 0.5) < 1e-6 and y[2] > 0.98
    assert torch.equal(y, f.primitive(x))


@pytest.mark.parametrize("cls", ALL)
def test_gradient_matches_spikingjelly(cls):
    sj = pytest.importorskip("spikingjelly.activation_based.surrogate")
    ours, theirs = cls(alpha=1.5), getattr(sj, cls.__name__)(alpha=1.5)
    x = torch.randn(1000) * 2
    g = torch.randn(1000)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ours(xa) * g).sum().backward()
    (theirs(xb) * g).sum().backward()
    assert torch.equal(ours(x), theirs(x))
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-6, atol=1e-7)


def test_from_spikingjelly_translates_builtins_only():
    sj = pytest.importorskip("spikingjelly.activation_based.surrogate")
    twin = sg.from_spikingjelly(sj.ATan(alpha=3.0))
    assert isinstance(twin, sg.ATan) and twin.alpha == 3.0
    assert sg.from_spikingjelly(lambda x: x) is None
    mine = sg.Sigmoid()
    assert sg.from_spikingjelly(mine) is mine


@pytest.mark.parametrize("alpha", [0, -1.0, float("nan"), float("inf"), "2", True])
def test_bad_alpha_is_rejected(alpha):
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        sg.Sigmoid(alpha=alpha)


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating-point tensor; got torch.int64"):
        sg.Sigmoid()(torch.tensor([1, 2]))

