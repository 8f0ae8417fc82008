"""make_optimizer: each optimizer's first steps against its update rule in numpy,
and every optimizer fits a least-squares problem."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nnplay.spec import TrainSpec
from nnplay.train.optimizers import AdaBelief, AdaBound, make_optimizer

THETA0 = np.array([1.0, -2.0, 0.5])
C = np.array([1.0, 3.0, 10.0])   # loss = 0.5 * sum(C * theta^2), so grad = C * theta
STEPS = 3


def run(name: str, **kw) -> list[np.ndarray]:
    p = torch.nn.Parameter(torch.tensor(THETA0))
    opt = make_optimizer(TrainSpec(optimizer=name, **kw), [p])
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        (0.5 * (torch.tensor(C) * p ** 2).sum()).backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def reference(update) -> list[np.ndarray]:
    theta, state, out = THETA0.copy(), {}, []
    for t in range(1, STEPS + 1):
        theta = update(theta, C * theta, state, t)
        out.append(theta.copy())
    return out


def check(name, update, **kw):
    for got, want in zip(run(name, **kw), reference(update)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


LR, MU = 0.05, 0.9


def test_sgd():
    check("sgd", lambda th, g, s, t: th - LR * g, lr=LR)


def test_sgd_weight_decay_adds_lambda_theta():
    check("sgd", lambda th, g, s, t: th - LR * (g + 0.1 * th), lr=LR, weight_decay=0.1)


def test_momentum():
    def upd(th, g, s, t):
        s["b"] = g if t == 1 else MU * s["b"] + g        # PyTorch: b = mu * b + g
        return th - LR * s["b"]
    check("momentum", upd, lr=LR, momentum=MU)


def test_nesterov():
    def upd(th, g, s, t):
        s["b"] = g if t == 1 else MU * s["b"] + g
        return th - LR * (g + MU * s["b"])               # look-ahead gradient
    check("nesterov", upd, lr=LR, momentum=MU)


def test_adagrad():
    def upd(th, g, s, t):
        s["G"] = s.get("G", 0) + g * g                    # sum of squared gradients
        return th - LR * g / (np.sqrt(s["G"]) + 1e-10)
    check("adagrad", upd, lr=LR)


def test_rmsprop_has_pytorchs_alpha():
    def upd(th, g, s, t):
        s["v"] = 0.99 * s.get("v", 0) + 0.01 * g * g      # alpha = 0.99, PyTorch's default
        return th - LR * g / (np.sqrt(s["v"]) + 1e-8)
    check("rmsprop", upd, lr=LR)


def adam_step(th, g, s, t, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    m_hat, v_hat = s["m"] / (1 - b1 ** t), s["v"] / (1 - b2 ** t)
    return th - lr * m_hat / (np.sqrt(v_hat) + eps)


def test_adam():
    check("adam", adam_step, lr=LR)


def test_adamw_decays_weights_decoupled():
    """Loshchilov & Hutter 2019: theta <- theta - lr*wd*theta, then the Adam step."""
    check("adamw", lambda th, g, s, t: adam_step(th * (1 - LR * 0.2), g, s, t), lr=LR, weight_decay=0.2)


def test_adamw_weight_decay_zero_means_none():
    """weight_decay = 0 is no decay (not PyTorch's AdamW default 0.01): AdamW is then Adam."""
    check("adamw", adam_step, lr=LR)
    assert run("adamw", lr=LR)[-1].tolist() == run("adam", lr=LR)[-1].tolist()


SPEC_FIELDS = {"lr", "weight_decay", "momentum", "nesterov", "fused"}


@pytest.mark.parametrize("name, cls, kw", [
    ("sgd", torch.optim.SGD, {}), ("momentum", torch.optim.SGD, dict(momentum=0.9)),
    ("nesterov", torch.optim.SGD, dict(momentum=0.9, nesterov=True)),
    ("adagrad", torch.optim.Adagrad, {}), ("rmsprop", torch.optim.RMSprop, {}),
    ("adam", torch.optim.Adam, {}), ("adamw", torch.optim.AdamW, {}), ("radam", torch.optim.RAdam, {}),
])
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_settings_the_spec_does_not_name_are_pytorchs_defaults(name, cls, kw, wd):
    p = [torch.nn.Parameter(torch.zeros(2))]
    ours = make_optimizer(TrainSpec(optimizer=name, lr=0.03, weight_decay=wd), p).defaults
    theirs = cls(p, lr=0.03, weight_decay=wd, **kw).defaults
    assert {k: v for k, v in ours.items() if k not in SPEC_FIELDS} == \
        {k: v for k, v in theirs.items() if k not in SPEC_FIELDS}
    assert ours["weight_decay"] == wd and ours["lr"] == 0.03


def test_classes():
    p = [torch.nn.Parameter(torch.zeros(2))]
    kinds = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
             "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "radam": torch.optim.RAdam,
             "adabound": AdaBound, "adabelief": AdaBelief}
    for name, cls in kinds.items():
        assert type(make_optimizer(TrainSpec(optimizer=name), p)) is cls
    assert make_optimizer(TrainSpec(optimizer="nesterov"), p).defaults["nesterov"] is True
    assert make_optimizer(TrainSpec(optimizer="momentum", momentum=0.7), p).defaults["momentum"] == 0.7


@pytest.mark.parametrize("name, lr", [
    ("sgd", 0.05), ("momentum", 0.02), ("nesterov", 0.02), ("adagrad", 0.3), ("rmsprop", 0.05),
    ("adam", 0.05), ("adamw", 0.05), ("radam", 0.05), ("adabound", 0.05), ("adabelief", 0.05),
])
def test_every_optimizer_fits_least_squares(name, lr):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=g)
    w_true = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0])
    y = X @ w_true + 0.5
    model = torch.nn.Linear(5, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = make_optimizer(TrainSpec(optimizer=name, lr=lr), model.parameters())
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = ((model(X).squeeze(1) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.05 * first, (name, first, loss.item())
