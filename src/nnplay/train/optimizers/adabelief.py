"""AdaBelief optimizer, written from the equations in the paper."""

import torch
from torch.optim import Optimizer


class AdaBelief(Optimizer):
    """Adam that scales steps by the variance of the gradient around its EMA (the "belief").

    m = b1*m + (1-b1)*g
    s = b2*s + (1-b2)*(g - m)^2 + eps                (s = max(s_max, s) if amsgrad)
    m_hat = m / (1-b1^t);  s_hat = s / (1-b2^t)
    theta = theta - lr * m_hat / (sqrt(s_hat) + eps)
    weight_decay: decoupled=True shrinks theta = theta*(1 - lr*weight_decay) before the
    step (AdamW style); decoupled=False adds an L2 term g = g + weight_decay*theta.
    The same as the authors' package ``adabelief-pytorch`` 0.2.1 with rectify=False and
    fixed_decay=False (the tests compare them); its default rectify=True is RAdam's warm-up.

    Paper: Zhuang et al. 2020, https://arxiv.org/abs/2010.07468
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0,
                 decoupled=True, amsgrad=False):
        for name, value in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            if not value >= 0.0:
                raise ValueError(f"Invalid {name}: received {value}, expected >= 0")
        for name, value in (("beta1", betas[0]), ("beta2", betas[1])):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"Invalid {name}: received {value}, expected in [0, 1)")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled=decoupled, amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise RuntimeError("AdaBelief does not support sparse gradients")
                if wd != 0 and group["decoupled"]:
                    p.mul_(1 - lr * wd)
                elif wd != 0:
                    grad = grad.add(p, alpha=wd)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_var"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_var"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                exp_avg, exp_avg_var = state["exp_avg"], state["exp_avg_var"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                diff = grad - exp_avg
                exp_avg_var.mul_(beta2).addcmul_(diff, diff, value=1 - beta2).add_(eps)
                s = exp_avg_var
                if group["amsgrad"]:
                    s = state["max_exp_avg_var"]
                    torch.maximum(s, exp_avg_var, out=s)
                m_hat = exp_avg / (1 - beta1 ** t)
                s_hat = s / (1 - beta2 ** t)
                p.sub_(lr * m_hat / (s_hat.sqrt() + eps))
        return loss
