"""AdaBound and AdaBelief against their authors' packages (``adabound``, ``adabelief-pytorch``)
over 100 steps of a small network, plus first steps worked by hand."""

import numpy as np
import pytest
import torch

from nnplay.train.optimizers import AdaBelief, AdaBound

import adabound  # noqa: E402 - the authors' package, in the lock file
import adabelief_pytorch  # noqa: E402

# adabound 0.0.5 calls add_(Number, Tensor), which PyTorch deprecates
pytestmark = pytest.mark.filterwarnings("ignore:This overload of add_ is deprecated:UserWarning")
STEPS = 100


def train(make_opt, steps=STEPS, halve_lr_at=None):
    """A 3-4-2 tanh MLP fitted by full-batch MSE in float64; its parameters after ``steps``."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=g, dtype=torch.float64)
    y = torch.randn(32, 2, generator=g, dtype=torch.float64)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    opt = make_opt(list(net.parameters()))
    for step in range(steps):
        if step == halve_lr_at:              # what an LR scheduler does
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


def assert_same(ours, reference):
    start = train(lambda ps: torch.optim.SGD(ps, lr=0.0), steps=1)
    moved = max(float((a - s).abs().max()) for a, s in zip(ours, start))
    assert moved > 1e-2                      # the comparison is not between two resting networks
    for a, b in zip(ours, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


# Our AdaBound has the reference's arguments (it has no decoupled variant: ``AdaBoundW`` is not used).
ADABOUND_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.1, final_lr=0.01, gamma=0.5),                       # narrow band: steps hit the bounds
    dict(lr=0.1, final_lr=0.01, gamma=0.5, weight_decay=0.05, amsbound=True),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, final_lr=0.05, gamma=0.01),
]


@pytest.mark.parametrize("kwargs", ADABOUND_CASES)
def test_adabound_matches_the_authors_package(kwargs):
    assert_same(train(lambda ps: AdaBound(ps, **kwargs)),
                train(lambda ps: adabound.AdaBound(ps, **kwargs)))


def test_adabound_bounds_follow_an_lr_change_like_the_authors_package():
    kw = dict(lr=0.1, final_lr=0.01, gamma=0.5)
    assert_same(train(lambda ps: AdaBound(ps, **kw), halve_lr_at=40),
                train(lambda ps: adabound.AdaBound(ps, **kw), halve_lr_at=40))


# adabelief-pytorch 0.2.1 options that are our AdaBelief: rectify=False (ours has no RAdam-style
# rectification), weight_decouple=<our decoupled>, fixed_decay=False (decay scaled by lr),
# the same eps (added inside and outside the square root, as in both) and amsgrad.
ADABELIEF_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, eps=1e-8),
    dict(lr=0.01, weight_decay=0.1, decoupled=True),
    dict(lr=0.01, weight_decay=0.1, decoupled=False),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, decoupled=False, amsgrad=True),
]


@pytest.mark.parametrize("kwargs", ADABELIEF_CASES)
def test_adabelief_matches_the_authors_package(kwargs):
    ref = dict(kwargs)
    ref["weight_decouple"] = ref.pop("decoupled", True)
    assert_same(train(lambda ps: AdaBelief(ps, **kwargs)),
                train(lambda ps: adabelief_pytorch.AdaBelief(
                    ps, rectify=False, fixed_decay=False, print_change_log=False, **ref)))


# --- first steps worked by hand ------------------------------------------------------------
def one_step(opt_cls, g, theta0=0.0, **kw):
    p = torch.nn.Parameter(torch.full((len(g),), theta0, dtype=torch.float64))
    opt = opt_cls([p], **kw)
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    return p.detach().numpy() - theta0


def test_adabound_first_step_by_hand():
    """t=1: m = 0.1 g, sqrt(v) = sqrt(0.001)|g|, alpha_1 = lr sqrt(0.001) / 0.1, so the step size
    before clipping is lr / (0.1 |g|). lr=0.1, final_lr=0.01, gamma=0.5: band [0.01/3, 0.03].
    |g| = 1e4 -> 1e-4, clipped up to 0.01/3; |g| = 1e-4 -> 1e4, clipped down to 0.03;
    |g| = 50 -> 0.02, inside. The step is -eta * 0.1 g."""
    g = np.array([1e4, -1e-4, 50.0])
    eta = np.array([0.01 / 3, 0.03, 0.02])
    np.testing.assert_allclose(one_step(AdaBound, g, lr=0.1, final_lr=0.01, gamma=0.5),
                               -eta * 0.1 * g, rtol=1e-6)


def test_adabound_first_step_inside_the_band_is_adams():
    """Inside the bounds the first step is Adam's: -lr * sign(g)."""
    g = np.array([3.0, -0.5])
    np.testing.assert_allclose(one_step(AdaBound, g, lr=1e-3), -1e-3 * np.sign(g), rtol=1e-6)


def test_adabelief_first_step_by_hand():
    """t=1: m = 0.1 g, s = 0.001 (g - m)^2 + eps = 0.001 (0.9 g)^2 + eps, so m_hat = g and
    sqrt(s_hat) = 0.9 |g|: the first step is -lr / 0.9 * sign(g) (Adam's would be -lr sign(g))."""
    g = np.array([2.0, -0.3])
    np.testing.assert_allclose(one_step(AdaBelief, g, lr=0.01), -0.01 / 0.9 * np.sign(g), rtol=1e-6)


def test_adabelief_decoupled_weight_decay_only_shrinks_weights():
    """Zero gradient: decoupled decay gives theta_t = theta_0 (1 - lr wd)^t; the L2 form
    feeds wd*theta in as a gradient, so the weights move by about lr/0.9 at the first step."""
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = AdaBelief([p], lr=0.1, weight_decay=0.5, decoupled=True)
    for t in range(1, 5):
        p.grad = torch.zeros_like(p)
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), np.array([1.0, -2.0]) * 0.95 ** t, rtol=1e-9)
    coupled = one_step(AdaBelief, np.zeros(1), theta0=1.0, lr=0.1, weight_decay=0.5, decoupled=False)
    np.testing.assert_allclose(coupled, [-0.1 / 0.9], rtol=1e-6)


def test_state_keys():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    bound, belief = AdaBound([p], amsbound=True), AdaBelief([p], amsgrad=True)
    bound.step()
    belief.step()
    assert set(bound.state[p]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert set(belief.state[p]) == {"step", "exp_avg", "exp_avg_var", "max_exp_avg_var"}
    assert bound.state[p]["step"] == belief.state[p]["step"] == 1


@pytest.mark.parametrize("opt_cls", [AdaBound, AdaBelief])
@pytest.mark.parametrize("kwargs, name", [
    (dict(lr=-1), "lr"), (dict(eps=-1e-8), "eps"), (dict(weight_decay=-0.1), "weight_decay"),
    (dict(betas=(1.0, 0.999)), "beta1"), (dict(betas=(0.9, -0.1)), "beta2"),
])
def test_invalid_arguments_raise(opt_cls, kwargs, name):
    with pytest.raises(ValueError, match=f"Invalid {name}: received"):
        opt_cls([torch.nn.Parameter(torch.ones(1))], **kwargs)


def test_adabound_specific_invalid_arguments():
    params = [torch.nn.Parameter(torch.ones(1))]
    with pytest.raises(ValueError, match="Invalid lr: received -1, expected >= 0"):
        AdaBound(params, lr=-1)
    with pytest.raises(ValueError, match="Invalid final_lr"):
        AdaBound(params, final_lr=-0.1)
    with pytest.raises(ValueError, match="Invalid gamma"):
        AdaBound(params, gamma=0)


@pytest.mark.parametrize("opt_cls", [AdaBound, AdaBelief])
def test_sparse_gradients_are_rejected(opt_cls):
    emb = torch.nn.Embedding(5, 2, sparse=True)
    emb(torch.tensor([1, 3])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt_cls(emb.parameters()).step()


@pytest.mark.parametrize("opt_cls, kwargs", [
    (AdaBound, dict(lr=0.05)), (AdaBelief, dict(lr=0.05)),
    (AdaBound, dict(lr=0.05, amsbound=True)), (AdaBelief, dict(lr=0.05, weight_decay=1e-4)),
])
def test_least_squares_loss_falls(opt_cls, kwargs):
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(64, 5, generator=gen)
    b = a @ torch.randn(5, generator=gen) + 0.01 * torch.randn(64, generator=gen)
    w = torch.nn.Parameter(torch.zeros(5))
    opt = opt_cls([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((a @ w - b) ** 2).mean()
        loss.backward()
        return loss

    initial = closure().item()
    for _ in range(300):
        returned = opt.step(closure)
    assert isinstance(returned, torch.Tensor)
    assert closure().item() < 0.1 * initial
