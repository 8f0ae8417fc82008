"""AdaBound and AdaBelief checked against the papers' update rules, recomputed in numpy."""

import numpy as np
import pytest
import torch

from nnplay.train.optimizers import AdaBelief, AdaBound

THETA0 = np.array([[0.5, -1.2, 2.0], [0.0, 3.0, -0.7]])
GRADS = [  # fixed gradients fed for 5 steps; magnitudes span 1e-2..1e2
    np.array([[0.1, -2.0, 5.0], [100.0, -0.01, 0.3]]),
    np.array([[-0.3, -1.5, 4.0], [80.0, 0.02, -0.2]]),
    np.array([[0.2, 0.5, -6.0], [-50.0, 0.05, 0.1]]),
    np.array([[0.05, -1.0, 3.0], [120.0, -0.03, 0.4]]),
    np.array([[-0.1, 2.5, 1.0], [10.0, 0.01, -0.5]]),
]


def run_torch(opt_cls, grads=GRADS, **kwargs):
    p = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    opt = opt_cls([p], **kwargs)
    history = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        history.append(p.detach().numpy().copy())
    return history


def adabound_reference(lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                       weight_decay=0.0, amsbound=False, grads=GRADS):
    b1, b2 = betas
    theta, m, v, v_max = THETA0.copy(), np.zeros_like(THETA0), np.zeros_like(THETA0), np.zeros_like(THETA0)
    history = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - b1**t)
        v_hat = (v_max if amsbound else v) / (1 - b2**t)
        lower = final_lr * (1 - 1 / (gamma * t + 1))
        upper = final_lr * (1 + 1 / (gamma * t))
        eta = np.clip(lr / (np.sqrt(v_hat) + eps), lower, upper)
        theta = theta - eta * m_hat
        history.append(theta.copy())
    return history


def adabelief_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                        decoupled=True, amsgrad=False, grads=GRADS):
    b1, b2 = betas
    theta, m, s, s_max = THETA0.copy(), np.zeros_like(THETA0), np.zeros_like(THETA0), np.zeros_like(THETA0)
    history = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        s_max = np.maximum(s_max, s)
        m_hat = m / (1 - b1**t)
        s_hat = (s_max if amsgrad else s) / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(s_hat) + eps)
        history.append(theta.copy())
    return history


ADABOUND_CASES = [
    {},
    dict(lr=0.1, final_lr=0.01, gamma=0.5),  # narrow band: some entries hit each bound
    dict(lr=0.1, final_lr=0.01, gamma=0.5, weight_decay=0.1, amsbound=True),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.01),
]
ADABELIEF_CASES = [
    {},
    dict(lr=0.1, eps=1e-8),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, decoupled=True),
    dict(lr=0.05, eps=1e-6, weight_decay=0.1, decoupled=False, amsgrad=True),
]


@pytest.mark.parametrize("kwargs", ADABOUND_CASES)
def test_adabound_matches_hand_computed_rule(kwargs):
    for got, want in zip(run_torch(AdaBound, **kwargs), adabound_reference(**kwargs), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("kwargs", ADABELIEF_CASES)
def test_adabelief_matches_hand_computed_rule(kwargs):
    for got, want in zip(run_torch(AdaBelief, **kwargs), adabelief_reference(**kwargs), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_adabound_step_is_clipped_to_the_bounds():
    lr, final_lr, gamma = 0.1, 0.01, 0.5
    lower, upper = final_lr * (1 - 1 / (gamma + 1)), final_lr * (1 + 1 / gamma)  # t = 1
    g = np.array([[1e4, -1e4, 1e-4], [-1e-4, 1e4, 1e-4]])
    (theta1,) = run_torch(AdaBound, grads=[g], lr=lr, final_lr=final_lr, gamma=gamma)
    # at t=1, m_hat = g and |lr / sqrt(v_hat)| = lr/|g|: 1e-5 is below lower, 1e3 above upper
    eta = np.where(np.abs(g) > 1, lower, upper)
    np.testing.assert_allclose(THETA0 - theta1, eta * g, rtol=1e-6)


def test_adabound_bounds_follow_lr_changes():
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = AdaBound([p], lr=0.1, final_lr=0.01, gamma=0.5)
    opt.param_groups[0]["lr"] = 0.05  # e.g. a scheduler halved lr -> final_lr halves too
    p.grad = torch.tensor([1e4, 1e-4], dtype=torch.float64)
    opt.step()
    lower, upper = 0.005 * (1 - 1 / 1.5), 0.005 * (1 + 1 / 0.5)
    np.testing.assert_allclose(-p.detach().numpy(), [lower * 1e4, upper * 1e-4], rtol=1e-6)


def test_adabelief_decoupled_weight_decay_only_shrinks_weights():
    zero = [np.zeros_like(THETA0)] * 4
    got = run_torch(AdaBelief, grads=zero, lr=0.1, weight_decay=0.5, decoupled=True)
    for t, theta in enumerate(got, start=1):  # zero gradient: theta_t = theta_0 * (1 - lr*wd)^t
        np.testing.assert_allclose(theta, THETA0 * 0.95**t, rtol=1e-6)
    coupled = run_torch(AdaBelief, grads=zero, lr=0.1, weight_decay=0.5, decoupled=False)
    np.testing.assert_allclose(coupled[-1], adabelief_reference(
        lr=0.1, weight_decay=0.5, decoupled=False, grads=zero)[-1], rtol=1e-6)
    assert not np.allclose(coupled[-1], got[-1])


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
